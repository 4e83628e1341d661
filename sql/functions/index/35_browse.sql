-- Browsing products without a search term: the catalogue's first page, totalCount and facets from the narrow
-- mirror rustok.index_products_browse and the per-tenant counts rustok.index_products_facets
-- (index_0009_browse; kept by sql/triggers/index/index_browse.sql), read by rustok.search_products (SECURITY
-- DEFINER) with an explicit tenant filter, as the text mirrors are. See docs/index.md ("Browsing without a
-- search term").

create or replace function rustok._search_price_bucket(price bigint) returns bigint
language sql immutable parallel safe as $$
    /* The lower bound of the facet bucket of a price in minor units: [0, 1000), [1000, 5000), [5000, 10000),
       [10000, 50000), [50000, ∞); null for no price or a negative one. */
    select case when price < 0 then null when price < 1000 then 0 when price < 5000 then 1000
                when price < 10000 then 5000 when price < 50000 then 10000 when price >= 50000 then 50000 end
$$;

create or replace function rustok._search_price_bucket_max(lo bigint) returns bigint
language sql immutable parallel safe as $$
    /* The (exclusive) upper bound of the bucket starting at lo; null for the last. */
    select case lo when 0 then 1000 when 1000 then 5000 when 5000 then 10000 when 10000 then 50000 end
$$;

create or replace function rustok._index_browse_rows(tenant_id uuid, product_id uuid, prices jsonb,
                                                     has_stock boolean, categories jsonb, tags text[],
                                                     created_at timestamptz, title text)
returns setof rustok.index_products_browse
language sql immutable parallel safe as $$
    /* The browse-mirror rows of one index_products row (its columns: a transition table's rows are records):
       one per currency in `prices`, with its min (a search without a currency takes the general path).
       newest_key and title_key are the search's sort keys for `newest` and `title`, computed by the same
       expressions; category handles and names in the order of `categories`. */
    select _index_browse_rows.tenant_id, e.key, _index_browse_rows.product_id, (e.value ->> 'min')::bigint,
           -extract(epoch from _index_browse_rows.created_at)::float8, _index_browse_rows.has_stock,
           array(select x.v ->> 'handle' from jsonb_array_elements(_index_browse_rows.categories)
                 with ordinality x (v, n) order by n),
           array(select x.v ->> 'name' from jsonb_array_elements(_index_browse_rows.categories)
                 with ordinality x (v, n) order by n),
           _index_browse_rows.tags, lower(_index_browse_rows.title)
    from jsonb_each(_index_browse_rows.prices) e
$$;

create or replace function rustok._index_browse_facets(price bigint, category_slugs text[], category_names text[],
                                                       tags text[])
returns table (facet text, value text, label text)
language sql immutable parallel safe as $$
    /* What one browse-mirror row counts for: the total, each category (handle, name), each tag, its price
       bucket. It counts in scope `every product` and, when in stock, also in scope `in stock`. */
    select 'total'::text, ''::text, ''::text
    union all
    select 'category', c.slug, c.name from unnest(category_slugs, category_names) c (slug, name)
    union all
    select 'tag', g, '' from unnest(tags) g
    union all
    select 'price', b::text, '' from rustok._search_price_bucket(price) b where b is not null
$$;

create or replace function rustok._index_browse_apply(gone rustok.index_products_browse[],
                                                      fresh rustok.index_products_browse[]) returns void
language plpgsql volatile as $$
/* Replaces the browse-mirror rows of the products in `gone` (their rows before a change: all of them are
   deleted) by `fresh`, and adds the difference to the facet counts (rows whose count reaches 0 are removed).
   Takes each tenant's browse lock first (transaction advisory lock, tenants in order): count updates of one
   tenant are serialized until commit, so two flushes never lock count rows in crossing order. Only deletes
   (`fresh` null) can come from a tenant being deleted, whose counts are left to the cascade. Each step runs
   only when it has rows: a new product (the common write) is two inserts. Called by the upkeep trigger (as
   the owner). */
declare
    tenants uuid[];
begin
    select array_agg(distinct x.tenant_id order by x.tenant_id) into tenants
    from unnest(coalesce(gone, '{}') || coalesce(fresh, '{}')) x;
    if fresh is null then
        tenants := array(select t.id from public.tenants t where t.id = any (tenants) order by t.id);
    end if;
    if coalesce(cardinality(tenants), 0) = 0 then
        return;
    end if;
    perform pg_advisory_xact_lock(rustok._index_lock_key(t, 'browse')) from unnest(tenants) t;
    if gone is not null then
        delete from rustok.index_products_browse b
        using (select distinct g.tenant_id, g.product_id from unnest(gone) g) g
        where b.tenant_id = g.tenant_id and b.product_id = g.product_id;
    end if;
    if fresh is not null then
        insert into rustok.index_products_browse as b select * from unnest(fresh)
        on conflict (tenant_id, currency, product_id) do update
            set price = excluded.price, newest_key = excluded.newest_key, has_stock = excluded.has_stock,
                category_slugs = excluded.category_slugs, category_names = excluded.category_names,
                tags = excluded.tags, title_key = excluded.title_key;
    end if;
    with delta as materialized (
        -- both scopes from one pass: every product, and (FILTER) those in stock
        select r.tenant_id, r.currency, k.facet, k.value, k.label, sum(r.sign) as every,
               coalesce(sum(r.sign) filter (where r.has_stock), 0) as stocked
        from (select g.*, -1 as sign from unnest(gone) g union all select f.*, 1 from unnest(fresh) f) r
        cross join lateral rustok._index_browse_facets(r.price, r.category_slugs, r.category_names, r.tags) k
        where r.tenant_id = any (tenants)
        group by 1, 2, 3, 4, 5)
    insert into rustok.index_products_facets as c (tenant_id, currency, in_stock_only, facet, value, label, count)
    select d.tenant_id, d.currency, s.scoped, d.facet, d.value, d.label, case when s.scoped then d.stocked else d.every end
    from delta d cross join (values (false), (true)) s (scoped)
    where case when s.scoped then d.stocked else d.every end <> 0
    order by 1, 2, 3, 4, 5, 6
    on conflict (tenant_id, currency, in_stock_only, facet, value, label) do update set count = c.count + excluded.count;
    if gone is not null then  -- only a decrement reaches 0
        delete from rustok.index_products_facets c where c.tenant_id = any (tenants) and c.count = 0;
    end if;
end
$$;

create or replace function rustok._index_verify_browse()
returns table (index_name text, target_id uuid, problem text, columns text[])
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* The browse mirror and facet counts of the current tenant against its index rows, for
       rustok.index_verify: a mirror row 'missing', 'extra' or 'stale' (the differing columns; target_id the
       product, columns start with currency=…), and a facet count 'missing', 'extra' or 'stale' (target_id
       null; columns name the count: currency=…, in_stock_only=…, facet=…, value=…, label=…, count=<stored>/<expected>).
       SECURITY DEFINER because both tables are closed to clients; the explicit filter on the current tenant is
       the boundary (the owner's policy lets every row through). */
    with t as (select rustok.current_tenant_id() as id),
    expected as materialized (
        select r.*
        from public.index_products i join t on i.tenant_id = t.id
        cross join lateral rustok._index_browse_rows(i.tenant_id, i.product_id, i.prices, i.has_stock, i.categories,
                                                     i.tags, i.created_at, i.title) r),
    stored as materialized (select b.* from rustok.index_products_browse b join t on b.tenant_id = t.id),
    expected_counts as (
        select e.currency, s.scoped as in_stock_only, k.facet, k.value, k.label, count(*) as count
        from expected e
        cross join (values (false), (true)) s (scoped)
        cross join lateral rustok._index_browse_facets(e.price, e.category_slugs, e.category_names, e.tags) k
        where not s.scoped or e.has_stock
        group by 1, 2, 3, 4, 5),
    stored_counts as (select c.* from rustok.index_products_facets c join t on c.tenant_id = t.id)
    select 'index_products_browse'::text, coalesce(e.product_id, s.product_id),
           case when s.product_id is null then 'missing' when e.product_id is null then 'extra' else 'stale' end,
           array['currency=' || coalesce(e.currency, s.currency)] || case when e.product_id is not null and s.product_id is not null then array_remove(array[
               case when s.price is distinct from e.price then 'price' end,
               case when s.newest_key is distinct from e.newest_key then 'newest_key' end,
               case when s.has_stock is distinct from e.has_stock then 'has_stock' end,
               case when s.category_slugs is distinct from e.category_slugs then 'category_slugs' end,
               case when s.category_names is distinct from e.category_names then 'category_names' end,
               case when s.tags is distinct from e.tags then 'tags' end,
               case when s.title_key is distinct from e.title_key then 'title_key' end], null) else '{}' end
    from expected e full join stored s on s.currency = e.currency and s.product_id = e.product_id
    where e.product_id is null or s.product_id is null
       or (s.price, s.newest_key, s.has_stock, s.category_slugs, s.category_names, s.tags, s.title_key)
          is distinct from (e.price, e.newest_key, e.has_stock, e.category_slugs, e.category_names, e.tags, e.title_key)
    union all
    select 'index_products_facets'::text, null::uuid,
           case when s.count is null then 'missing' when e.count is null then 'extra' else 'stale' end,
           array['currency=' || coalesce(e.currency, s.currency),
                 'in_stock_only=' || coalesce(e.in_stock_only, s.in_stock_only),
                 'facet=' || coalesce(e.facet, s.facet), 'value=' || coalesce(e.value, s.value),
                 'label=' || coalesce(e.label, s.label),
                 'count=' || coalesce(s.count::text, 'none') || '/' || coalesce(e.count::text, 'none')]
    from expected_counts e
    full join stored_counts s on (s.currency, s.in_stock_only, s.facet, s.value, s.label)
                               = (e.currency, e.in_stock_only, e.facet, e.value, e.label)
    where s.count is distinct from e.count
$$;

create or replace function rustok._search_facets_json(counts rustok.index_products_facets[]) returns jsonb
language sql immutable parallel safe as $$
    /* The connection's `facets` {categories, tags, priceBuckets} from facet counts of one scope (rows with
       count 0 are ignored): categories by handle (the least name as label), most frequent first, then by value;
       tags likewise; price buckets by their lower bound. */
    select jsonb_build_object(
        'categories', coalesce((select jsonb_agg(jsonb_build_object('value', v, 'label', l, 'count', n)
                                                 order by n desc, v)
                                from (select c.value as v, min(c.label) as l, sum(c.count)::bigint as n
                                      from unnest(counts) c where c.facet = 'category' and c.count > 0
                                      group by 1) s), '[]'::jsonb),
        'tags', coalesce((select jsonb_agg(jsonb_build_object('value', v, 'label', v, 'count', n) order by n desc, v)
                          from (select c.value as v, sum(c.count)::bigint as n
                                from unnest(counts) c where c.facet = 'tag' and c.count > 0
                                group by 1) s), '[]'::jsonb),
        'priceBuckets', coalesce((select jsonb_agg(jsonb_build_object('min', lo, 'max',
                                                                      rustok._search_price_bucket_max(lo), 'count', n)
                                                   order by lo)
                                  from (select c.value::bigint as lo, sum(c.count)::bigint as n
                                        from unnest(counts) c where c.facet = 'price' and c.count > 0
                                        group by 1) s), '[]'::jsonb))
$$;

create or replace function rustok._search_products_browse(f jsonb, cur text, lo bigint, hi bigint, srt text, page int,
                                                          k jsonb, out ids uuid[], out kns float8[], out kts text[],
                                                          out prices bigint[], out total bigint, out facets jsonb)
language plpgsql stable set plan_cache_mode = force_custom_plan as $$
/* rustok.search_products without a search term, in a currency (any sort; a cursor of that sort): the page's
   ids, sort keys (number and text, as the general path's) and prices (page + 1 rows, after the cursor),
   totalCount and facets, from the browse mirror of the current tenant. Without a category, tag or price
   filter (in stock or not filtered) the count and facets are the kept counts and the page an ordered index
   scan; otherwise the filtered mirror rows (found through the GIN index) are counted. The keys: `title`
   sorts by (title_key, id) with the number key 0, the others by (number key, id) with the text key ''.
   Custom plans only: the absent filters and the sort fold away, so the conditions left can use the indexes.
   Called by search_products as its owner (the mirror is closed to clients). */
declare
    tenant uuid := rustok.current_tenant_id();
    stock boolean := case when f -> 'inStock' is null or f -> 'inStock' = 'null' then null
                          else (f ->> 'inStock')::boolean end;
    cat text := f ->> 'category';
    tg text := f ->> 'tag';
    by_title boolean := srt = 'title';
    -- no cursor: start below every key (keys are finite or +infinity; product ids are never the nil uuid)
    k0 float8 := coalesce((k ->> 0)::float8, '-infinity');
    k1 text := coalesce(k ->> 1, '');
    k2 uuid := coalesce((k ->> 2)::uuid, '00000000-0000-0000-0000-000000000000');
    counts rustok.index_products_facets[];
begin
    if cat is null and tg is null and lo is null and hi is null and stock is not false then
        select array_agg(c) into counts
        from rustok.index_products_facets c
        where c.tenant_id = tenant and c.currency = cur and c.in_stock_only = coalesce(stock, false);
        total := coalesce((select sum(c.count) from unnest(counts) c where c.facet = 'total'), 0);
        select array_agg(p.product_id order by p.kn, p.kt, p.product_id),
               array_agg(p.kn order by p.kn, p.kt, p.product_id), array_agg(p.kt order by p.kn, p.kt, p.product_id),
               array_agg(p.price order by p.kn, p.kt, p.product_id)
        into ids, kns, kts, prices
        from (select b.product_id, b.price, x.kn, x.kt
              from rustok.index_products_browse b
              cross join lateral (select case srt when 'newest' then b.newest_key
                                                  when 'price_asc' then coalesce(b.price::float8, 'infinity'::float8)
                                                  when 'price_desc' then coalesce(-b.price::float8, 'infinity'::float8)
                                                  else 0::float8 end as kn,
                                         case when by_title then b.title_key else '' end as kt) x
              where b.tenant_id = tenant and b.currency = cur and (stock is null or b.has_stock)
                and ((not by_title and (x.kn, b.product_id) > (k0, k2))
                     or (by_title and (b.title_key, b.product_id) > (k1, k2)))
              order by x.kn, x.kt, b.product_id
              limit page + 1) p;
    else
        with m as materialized (
            select b.product_id, b.price, b.category_slugs, b.category_names, b.tags,
                   case srt when 'newest' then b.newest_key
                            when 'price_asc' then coalesce(b.price::float8, 'infinity'::float8)
                            when 'price_desc' then coalesce(-b.price::float8, 'infinity'::float8)
                            else 0::float8 end as kn,
                   case when by_title then b.title_key else '' end as kt
            from rustok.index_products_browse b
            where b.tenant_id = tenant and b.currency = cur
              and (stock is null or b.has_stock = stock)
              and (cat is null or b.category_slugs @> array[cat])
              and (tg is null or b.tags @> array[tg])
              and (lo is null or b.price >= lo) and (hi is null or b.price <= hi)
              -- implied by the two above (rounding to float8 keeps >= and <=), and an index condition on the
              -- price_asc index: a price range alone reads only its rows
              and (lo is null or coalesce(b.price::float8, 'infinity'::float8) >= lo)
              and (hi is null or coalesce(b.price::float8, 'infinity'::float8) <= hi)
        ), page_rows as (
            select * from m where (m.kn, m.kt, m.product_id) > (k0, k1, k2)
            order by m.kn, m.kt, m.product_id limit page + 1
        )
        select (select array_agg(p.product_id order by p.kn, p.kt, p.product_id) from page_rows p),
               (select array_agg(p.kn order by p.kn, p.kt, p.product_id) from page_rows p),
               (select array_agg(p.kt order by p.kn, p.kt, p.product_id) from page_rows p),
               (select array_agg(p.price order by p.kn, p.kt, p.product_id) from page_rows p),
               (select count(*) from m),
               -- the keys of rustok._index_browse_facets, aggregated per facet (a hash aggregate each, the
               -- arrays unnested in the select list: a function scan per row cost three times as much)
               (select array_agg(row(tenant, cur, false, c.facet, c.value, c.label, c.n)::rustok.index_products_facets)
                from (select 'category' as facet, x.slug as value, x.name as label, count(*) as n
                      from (select unnest(m.category_slugs) as slug, unnest(m.category_names) as name from m) x
                      group by 2, 3
                      union all
                      select 'tag', x.tag, '', count(*) from (select unnest(m.tags) as tag from m) x group by 2
                      union all
                      select 'price', x.lo::text, '', count(*)
                      from (select rustok._search_price_bucket(m.price) as lo from m) x
                      where x.lo is not null group by x.lo) c)
        into ids, kns, kts, prices, total, counts;
    end if;
    facets := rustok._search_facets_json(counts);
end
$$;

create or replace function rustok._search_product_node(i public.index_products, price bigint, rank float8,
                                                       currency_prices jsonb) returns jsonb
language sql stable parallel safe as $$
    /* One product of a search connection: its index row as the catalogue shows it, with the price in the
       search's currency, the rank and its prices per currency ([{currencyCode, min, max}], built by the
       page's query). One expression, so it is inlined into the search's query (with a sub-select in it, it
       was run as a function of its own for every row of the page: 0.1 ms each). */
    select jsonb_build_object(
        'id', rustok.ulid(i.product_id), 'title', i.title, 'subtitle', i.subtitle,
        'handle', i.handle, 'description', i.description, 'minPrice', i.min_price,
        'maxPrice', i.max_price, 'price', price, 'currencies', to_jsonb(i.currencies),
        'prices', currency_prices,
        'totalStock', i.total_stock, 'inStock', i.has_stock, 'categories', i.categories,
        'categorySlugs', to_jsonb(i.category_slugs), 'tags', to_jsonb(i.tags),
        'metaTitle', i.meta_title, 'metaDescription', i.meta_description,
        'createdAt', i.created_at, 'rank', rank)
$$;

create or replace function rustok._index_browse_rebuild() returns void
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
/* Rebuilds the current tenant's browse mirror and facet counts from its index rows (the end of
   `rustok reindex` of products, through rustok.index_reindex_prune): repairs whatever index_verify reports
   for them. Holds the tenant's browse lock (rustok._index_browse_apply) until commit. SECURITY DEFINER: both
   tables are closed to clients; only the current tenant's rows are written. */
declare
    tenant uuid := rustok.require_tenant();
begin
    perform pg_advisory_xact_lock(rustok._index_lock_key(tenant, 'browse'));
    delete from rustok.index_products_browse b where b.tenant_id = tenant;
    delete from rustok.index_products_facets c where c.tenant_id = tenant;
    insert into rustok.index_products_browse
    select r.*
    from public.index_products i
    cross join lateral rustok._index_browse_rows(i.tenant_id, i.product_id, i.prices, i.has_stock, i.categories,
                                                 i.tags, i.created_at, i.title) r
    where i.tenant_id = tenant;
    insert into rustok.index_products_facets (tenant_id, currency, in_stock_only, facet, value, label, count)
    select tenant, b.currency, s.scoped, k.facet, k.value, k.label, count(*)
    from rustok.index_products_browse b
    cross join (values (false), (true)) s (scoped)
    cross join lateral rustok._index_browse_facets(b.price, b.category_slugs, b.category_names, b.tags) k
    where b.tenant_id = tenant and (not s.scoped or b.has_stock)
    group by 1, 2, 3, 4, 5, 6;
end
$$;
