-- The index rule, in one place: what the row of a product or a node is (rustok._index_products_fresh,
-- rustok._index_content_fresh). Upkeep, reindex and verify all call these.

create or replace function rustok._index_text(cfg regconfig, value text, weight "char") returns tsvector
language sql stable as $$
    /* A weighted tsvector of accent-folded text in the tenant's configuration. */
    select setweight(to_tsvector(cfg, public.unaccent(coalesce(value, ''))), weight)
$$;

create or replace function rustok._index_products_fresh(tenant uuid, ids uuid[]) returns setof public.index_products
language sql stable as $$
    /* The index rows of these products as they should be now: only published ones. `variants` carries each
       variant's option values, guest price per currency and stock state (what the storefront's product page
       shows); `prices` (per currency min/max) and min_price/max_price come from the same guest prices:
       rustok._commerce_guest_prices, the rule of rustok.variant_price for a guest buying one, inlined here
       as one index-driven query per product for all its variants and currencies, asked once (lateral gp)
       for both (it replaced 6 calls of _commerce_price per product, which cost more than the rest of the
       row). Everything is joined per product (lateral, by the write tables' keys), so the plan is right for
       1 id or 5,000 whatever the estimates. The text search configuration is looked up once (a materialized CTE). */
    with cfg as materialized (select rustok._search_config(_index_products_fresh.tenant) as c)
    select p.tenant_id, p.id, p.title, p.subtitle, p.handle, p.description, p.status,
           (pz.mins)[1], (pz.maxs)[1], coalesce(pz.currencies, '{}'), coalesce(pz.prices, '{}'),
           coalesce(vs.total, 0), coalesce(vs.has, false), coalesce(cat.categories, '[]'), coalesce(cat.ids, '{}'),
           coalesce(cat.slugs, '{}'),
           coalesce(tg.tags, '{}'), p.metadata ->> 'metaTitle', p.metadata ->> 'metaDescription',
           rustok._index_text(cfg.c, p.title, 'A')
             || rustok._index_text(cfg.c, concat_ws(' ', p.subtitle, array_to_string(tg.tags, ' ')), 'B')
             || rustok._index_text(cfg.c, p.description, 'C'),
           p.created_at, null::timestamptz, now(), coalesce(op.options, '[]'), coalesce(vs.variants, '[]')
    from (select distinct u.id from unnest(_index_products_fresh.ids) u (id)) k
    join public.commerce_products p on p.tenant_id = _index_products_fresh.tenant and p.id = k.id
    cross join cfg
    left join lateral (
        -- the guest unit price of each variant per currency, asked once per product
        select array_agg(g.variant_id) as variant_ids, array_agg(g.currency_code) as currencies,
               array_agg(g.amount) as amounts
        from rustok._commerce_guest_prices(p.tenant_id, array[p.id]) g
    ) gp on true
    left join lateral (
        select jsonb_agg(jsonb_build_object('title', o.title, 'values', coalesce(
                   (select jsonb_agg(ov.value order by ov.position, ov.value)
                    from public.commerce_product_option_values ov
                    where ov.tenant_id = o.tenant_id and ov.option_id = o.id), '[]'))
                   order by o.position, o.title) as options
        from public.commerce_product_options o
        where o.tenant_id = p.tenant_id and o.product_id = p.id
    ) op on true
    left join lateral (
        -- the product's variants: option values, guest unit price per currency, stock
        select jsonb_agg(jsonb_build_object(
                   'id', rustok.ulid(v.id), 'title', v.title, 'sku', v.sku,
                   'options', coalesce(vo.options, '[]'), 'prices', coalesce(vp.prices, '{}'),
                   'available', case when v.manage_inventory then s.available end,
                   'inStock', not v.manage_inventory or v.allow_backorder or s.available > 0)
                   order by v.position, v.id) as variants,
               coalesce(sum(s.available) filter (where v.manage_inventory), 0)::int as total,
               coalesce(bool_or(not v.manage_inventory or v.allow_backorder or s.available > 0), false) as has
        from public.commerce_variants v
        cross join lateral (select coalesce(sum(l.stocked_quantity - l.reserved_quantity), 0)::int as available
                            from public.commerce_inventory_levels l
                            where l.tenant_id = v.tenant_id and l.variant_id = v.id) s
        left join lateral (select jsonb_agg(jsonb_build_object('option', o.title, 'value', ov.value)
                                            order by o.position, o.title) as options
                           from public.commerce_variant_option_values vo
                           join public.commerce_product_options o on o.tenant_id = vo.tenant_id and o.id = vo.option_id
                           join public.commerce_product_option_values ov
                             on ov.tenant_id = vo.tenant_id and ov.id = vo.option_value_id
                           where vo.tenant_id = v.tenant_id and vo.variant_id = v.id) vo on true
        left join lateral (select jsonb_object_agg(x.currency, x.amount) as prices
                           from unnest(gp.variant_ids, gp.currencies, gp.amounts) x (variant_id, currency, amount)
                           where x.variant_id = v.id) vp on true
        where v.tenant_id = p.tenant_id and v.product_id = p.id
    ) vs on true
    left join lateral (
        -- per currency: the lowest and highest of the variants' guest prices
        select array_agg(c.cur order by c.cur)::char(3)[] as currencies, array_agg(c.mn order by c.cur) as mins,
               array_agg(c.mx order by c.cur) as maxs,
               jsonb_object_agg(c.cur, jsonb_build_object('min', c.mn, 'max', c.mx)) as prices
        from (select x.currency as cur, min(x.amount) as mn, max(x.amount) as mx
              from unnest(gp.currencies, gp.amounts) x (currency, amount)
              group by x.currency) c
    ) pz on true
    left join lateral (
        select jsonb_agg(jsonb_build_object('id', rustok.ulid(c.id), 'handle', c.handle, 'name', c.name)
                         order by c.position, c.handle) as categories,
               array_agg(c.id order by c.position, c.handle) as ids,
               array_agg(c.handle::text order by c.position, c.handle) as slugs
        from public.commerce_product_categories pc
        join public.commerce_categories c on c.tenant_id = pc.tenant_id and c.id = pc.category_id
        where pc.tenant_id = p.tenant_id and pc.product_id = p.id
    ) cat on true
    left join lateral (
        select array_agg(t.value::text order by t.value) as tags
        from public.commerce_product_tags t
        where t.tenant_id = p.tenant_id and t.product_id = p.id
    ) tg on true
    where p.status = 'published'
$$;

create or replace function rustok._index_content_fresh(tenant uuid, ids uuid[]) returns setof public.index_content
language sql stable as $$
    /* The index rows of these nodes as they should be: published pages and posts (scheduled ones too; readers
       filter published_at <= now()). Tags are slugs; the vector weighs title A, excerpt and tag names B,
       body C. The text search configuration is looked up once (a materialized CTE). */
    with cfg as materialized (select rustok._search_config(_index_content_fresh.tenant) as c)
    select n.tenant_id, n.id, n.kind, n.title, n.slug, n.excerpt, left(b.body, 300), n.status, n.author_id,
           u.display_name, n.category_id, c.name, c.slug, coalesce(tg.slugs, '{}'), n.parent_id, n.reply_count,
           n.meta_title, n.meta_description,
           rustok._index_text(cfg.c, n.title, 'A')
             || rustok._index_text(cfg.c, concat_ws(' ', n.excerpt, array_to_string(tg.names, ' ')), 'B')
             || rustok._index_text(cfg.c, b.body, 'C'),
           n.created_at, n.published_at, now(), b.body, b.format
    from (select distinct u.id from unnest(_index_content_fresh.ids) u (id)) k
    join public.nodes n on n.tenant_id = _index_content_fresh.tenant and n.id = k.id
    cross join cfg
    left join public.bodies b on b.tenant_id = n.tenant_id and b.node_id = n.id
    left join public.users u on u.tenant_id = n.tenant_id and u.id = n.author_id
    left join public.categories c on c.tenant_id = n.tenant_id and c.id = n.category_id
    left join lateral (
        select array_agg(t.slug::text order by t.slug) as slugs, array_agg(t.name::text order by t.slug) as names
        from public.node_tags nt join public.tags t on t.tenant_id = nt.tenant_id and t.id = nt.tag_id
        where nt.tenant_id = n.tenant_id and nt.node_id = n.id
    ) tg on true
    where n.kind in ('page', 'post') and n.status = 'published'
      and n.published_at is not null
$$;

create or replace function rustok._index_lock_key(tenant uuid, kind text, id uuid default null) returns bigint
language sql immutable parallel safe as $$
    /* The advisory lock key of one index row, or (id null) of a tenant's whole index of a kind. */
    select hashtextextended('rustok.index:' || tenant::text || ':' || kind || ':' || coalesce(id::text, '*'), 0)
$$;

create or replace function rustok._index_lock(tenant uuid, kind text, ids uuid[] default null) returns void
language plpgsql volatile as $$
/* Serializes recomputations (held to the end of the transaction). A recomputation takes the tenant's index
   lock of the kind shared and each id's lock exclusive (in id order; above 64 ids the tenant lock exclusive
   instead, so a bulk load does not fill the lock table); ids null: the tenant lock exclusive (what a rename
   of a category, tag, author or price list takes before looking for the rows it affects). The statement that
   computes runs after the locks are granted, so under READ COMMITTED it sees everything the transaction
   that held them committed: two transactions that changed different rows behind one index row, or one that
   links a product to a category while another renames it, can no longer each compute from the other's old
   state. */
begin
    if ids is null or cardinality(ids) > 64 then
        perform pg_advisory_xact_lock(rustok._index_lock_key(tenant, kind));
    else
        perform pg_advisory_xact_lock_shared(rustok._index_lock_key(tenant, kind));
        perform pg_advisory_xact_lock(rustok._index_lock_key(tenant, kind, x.id))
        from (select distinct u.id from unnest(ids) u (id) order by u.id) x;
    end if;
end
$$;

create or replace function rustok._index_refresh(tenant uuid, kind text, ids uuid[],
                                                  rewrite boolean default false) returns int
language plpgsql volatile as $$
/* Recomputes the index rows of these ids (products or nodes) of the tenant: takes the index locks
   (rustok._index_lock), then upserts the fresh rows - a row equal to the stored one (indexed_at aside) is
   not rewritten unless `rewrite` (a reindex: it also refills missing search-mirror rows through the
   mirror's update trigger), so upkeep of an edit that changes nothing the index shows (a barcode,
   updated_at) writes no row, index entry or mirror row, and indexed_at is when the row last changed - and,
   only when fewer fresh rows came back than ids went in, deletes those that should not exist (compared with
   the array of kept ids: an anti-join with the fresh rows was planned as a nested loop, quadratic in the
   batch; a DELETE in the upsert's statement fired the mirror's delete trigger on every flush). Runs with
   `tenant` as the current tenant (switching if needed). Returns how many ids it recomputed. */
declare
    previous text := current_setting('rustok.tenant_id', true);
    kept uuid[];
begin
    if ids is null or cardinality(ids) = 0 then
        return 0;
    end if;
    if previous is distinct from tenant::text then
        perform set_config('rustok.tenant_id', tenant::text, true);
    end if;
    perform rustok._index_lock(tenant, kind, ids);
    if kind = 'product' then
        with fresh as materialized (select * from rustok._index_products_fresh(tenant, ids)),
        upserted as (
            insert into public.index_products as i select * from fresh
            on conflict (tenant_id, product_id) do update set
                title = excluded.title, subtitle = excluded.subtitle, handle = excluded.handle,
                description = excluded.description, status = excluded.status, min_price = excluded.min_price,
                max_price = excluded.max_price, currencies = excluded.currencies, prices = excluded.prices,
                total_stock = excluded.total_stock, has_stock = excluded.has_stock, categories = excluded.categories,
                category_ids = excluded.category_ids, category_slugs = excluded.category_slugs, tags = excluded.tags,
                meta_title = excluded.meta_title, meta_description = excluded.meta_description,
                search_vector = excluded.search_vector, created_at = excluded.created_at,
                published_at = excluded.published_at, indexed_at = excluded.indexed_at, options = excluded.options,
                variants = excluded.variants
            where _index_refresh.rewrite
               or (i.title, i.subtitle, i.handle, i.description, i.status, i.min_price, i.max_price, i.currencies,
                   i.prices, i.total_stock, i.has_stock, i.categories, i.category_ids, i.category_slugs, i.tags,
                   i.meta_title, i.meta_description, i.search_vector, i.created_at, i.published_at, i.options,
                   i.variants)
                  is distinct from
                  (excluded.title, excluded.subtitle, excluded.handle, excluded.description, excluded.status,
                   excluded.min_price, excluded.max_price, excluded.currencies, excluded.prices, excluded.total_stock,
                   excluded.has_stock, excluded.categories, excluded.category_ids, excluded.category_slugs,
                   excluded.tags, excluded.meta_title, excluded.meta_description, excluded.search_vector,
                   excluded.created_at, excluded.published_at, excluded.options, excluded.variants))
        select coalesce(array_agg(f.product_id), '{}') into kept from fresh f;
        if cardinality(kept) < cardinality(ids) then
            delete from public.index_products i
            where i.tenant_id = tenant and i.product_id = any (ids) and i.product_id <> all (kept);
        end if;
    elsif kind = 'content' then
        with fresh as materialized (select * from rustok._index_content_fresh(tenant, ids)),
        upserted as (
            insert into public.index_content as i select * from fresh
            on conflict (tenant_id, node_id) do update set
                kind = excluded.kind, title = excluded.title, slug = excluded.slug, excerpt = excluded.excerpt,
                body_preview = excluded.body_preview, status = excluded.status, author_id = excluded.author_id,
                author_name = excluded.author_name, category_id = excluded.category_id,
                category_name = excluded.category_name, category_slug = excluded.category_slug, tags = excluded.tags,
                parent_id = excluded.parent_id, reply_count = excluded.reply_count, meta_title = excluded.meta_title,
                meta_description = excluded.meta_description, search_vector = excluded.search_vector,
                created_at = excluded.created_at, published_at = excluded.published_at,
                indexed_at = excluded.indexed_at, body = excluded.body, body_format = excluded.body_format
            where _index_refresh.rewrite
               or (i.kind, i.title, i.slug, i.excerpt, i.body_preview, i.status, i.author_id, i.author_name,
                   i.category_id, i.category_name, i.category_slug, i.tags, i.parent_id, i.reply_count, i.meta_title,
                   i.meta_description, i.search_vector, i.created_at, i.published_at, i.body, i.body_format)
                  is distinct from
                  (excluded.kind, excluded.title, excluded.slug, excluded.excerpt, excluded.body_preview,
                   excluded.status, excluded.author_id, excluded.author_name, excluded.category_id,
                   excluded.category_name, excluded.category_slug, excluded.tags, excluded.parent_id,
                   excluded.reply_count, excluded.meta_title, excluded.meta_description, excluded.search_vector,
                   excluded.created_at, excluded.published_at, excluded.body, excluded.body_format))
        select coalesce(array_agg(f.node_id), '{}') into kept from fresh f;
        if cardinality(kept) < cardinality(ids) then
            delete from public.index_content i
            where i.tenant_id = tenant and i.node_id = any (ids) and i.node_id <> all (kept);
        end if;
    else
        perform rustok._input_invalid('kind', 'not_allowed', 'unknown index kind',
                                      '{"allowed": ["product", "content"]}');
    end if;
    if previous is distinct from tenant::text then
        perform set_config('rustok.tenant_id', coalesce(previous, ''), true);
    end if;
    return cardinality(ids);
end
$$;
