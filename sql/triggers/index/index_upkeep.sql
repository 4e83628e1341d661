-- Index upkeep: triggers on every source table record the product or node ids a change affects
-- (rustok._index_touch into index_pending); the deferred constraint trigger on index_pending recomputes each
-- once at commit (rustok._index_flush). Triggers on other modules' tables are named _7NN_index_*.
-- Tables written in bulk (products, variants, prices, stock, category and tag links, nodes, bodies, node tags)
-- have statement-level triggers with transition tables (rustok.tg_index__touch_rows): one insert into
-- index_pending per tenant per statement, whatever the number of rows - a bulk import of N products with
-- 3 variants and 6 prices costs a few statements, not 10 N trigger calls. Renames keep row triggers (a
-- trigger with a column list cannot have transition tables; they are rare). A rename (category, tag,
-- author, price list, search language) first takes the tenant's index lock exclusive (rustok._index_lock),
-- so it finds every row linked to it by a transaction that already recomputed, and any transaction
-- recomputing later waits for it and sees the new name.

create or replace function rustok.tg_index__touch_rows() returns trigger
language plpgsql volatile as $$
/* Statement-level (AFTER INSERT / UPDATE / DELETE ... FOR EACH STATEMENT): records the ids the statement's
   rows affect, one rustok._index_touch per tenant. Its transition tables: `changed` (the new rows; for a
   DELETE the old ones) and, for an UPDATE, `previous` (the old rows, read where a row can move to another
   product or node). TG_ARGV[0] names the source (the parent's name, for partitioned tables). One query per
   call (and per old side of an update): this runs for every statement of every single-row write. */
begin
    case tg_argv[0]
    when 'commerce_products' then
        perform rustok._index_touch(c.t, 'product', c.ids)
        from (select c.tenant_id as t, array_agg(c.id) as ids from changed c group by 1) c;
    when 'commerce_variants', 'commerce_product_categories', 'commerce_product_tags', 'commerce_product_options',
         'commerce_variant_option_values' then
        perform rustok._index_touch(c.t, 'product', c.ids)
        from (select c.tenant_id as t, array_agg(distinct c.product_id) as ids from changed c group by 1) c;
        if tg_op = 'UPDATE' then
            perform rustok._index_touch(c.t, 'product', c.ids)
            from (select c.tenant_id as t, array_agg(distinct c.product_id) as ids from previous c group by 1) c;
        end if;
    when 'commerce_prices', 'commerce_inventory_levels' then
        perform rustok._index_touch(r.t, 'product', r.ids)
        from (select v.tenant_id as t, array_agg(distinct v.product_id) as ids
              from (select distinct c.tenant_id, c.variant_id from changed c) c
              join public.commerce_variants v on v.tenant_id = c.tenant_id and v.id = c.variant_id
              group by 1) r;
        if tg_op = 'UPDATE' then
            perform rustok._index_touch(r.t, 'product', r.ids)
            from (select v.tenant_id as t, array_agg(distinct v.product_id) as ids
                  from (select distinct c.tenant_id, c.variant_id from previous c) c
                  join public.commerce_variants v on v.tenant_id = c.tenant_id and v.id = c.variant_id
                  group by 1) r;
        end if;
    when 'commerce_product_option_values' then
        perform rustok._index_touch(r.t, 'product', r.ids)
        from (select o.tenant_id as t, array_agg(distinct o.product_id) as ids
              from (select distinct c.tenant_id, c.option_id from changed c) c
              join public.commerce_product_options o on o.tenant_id = c.tenant_id and o.id = c.option_id
              group by 1) r;
    when 'nodes' then
        perform rustok._index_touch(c.t, 'content', c.ids)
        from (select c.tenant_id as t, array_agg(c.id) as ids from changed c where c.kind <> 'comment'
              group by 1) c;
    when 'bodies', 'node_tags' then
        perform rustok._index_touch(c.t, 'content', c.ids)
        from (select c.tenant_id as t, array_agg(distinct c.node_id) as ids from changed c group by 1) c;
        if tg_op = 'UPDATE' then
            perform rustok._index_touch(c.t, 'content', c.ids)
            from (select c.tenant_id as t, array_agg(distinct c.node_id) as ids from previous c group by 1) c;
        end if;
    end case;
    return null;
end
$$;

create or replace function rustok.tg_index__touch() returns trigger
language plpgsql volatile as $$
/* Row-level, for renames (UPDATE OF name, slug, ...): records what the change affects, after taking the
   tenant's index lock of the kind exclusive. TG_ARGV[0] names the source. */
declare
    r record := new;
begin
    case tg_argv[0]
    when 'commerce_categories' then
        perform rustok._index_lock(r.tenant_id, 'product');
        perform rustok._index_touch(r.tenant_id, 'product', array(
            select pc.product_id from public.commerce_product_categories pc
            where pc.tenant_id = r.tenant_id and pc.category_id = r.id));
    when 'commerce_price_lists' then
        perform rustok._index_lock(r.tenant_id, 'product');
        perform rustok._index_touch(r.tenant_id, 'product', array(
            select distinct v.product_id from public.commerce_prices pr
            join public.commerce_variants v on v.tenant_id = pr.tenant_id and v.id = pr.variant_id
            where pr.tenant_id = r.tenant_id and pr.price_list_id = r.id));
    when 'categories' then
        perform rustok._index_lock(r.tenant_id, 'content');
        perform rustok._index_touch(r.tenant_id, 'content', array(
            select n.id from public.nodes n
            where n.tenant_id = r.tenant_id and n.category_id = r.id and n.kind <> 'comment'));
    when 'tags' then
        perform rustok._index_lock(r.tenant_id, 'content');
        perform rustok._index_touch(r.tenant_id, 'content', array(
            select nt.node_id from public.node_tags nt where nt.tenant_id = r.tenant_id and nt.tag_id = r.id));
    when 'users' then
        perform rustok._index_lock(r.tenant_id, 'content');
        perform rustok._index_touch(r.tenant_id, 'content', array(
            select n.id from public.nodes n
            where n.tenant_id = r.tenant_id and n.author_id = r.id and n.kind <> 'comment'));
    when 'tenants' then
        -- the flush's order: content before product (rustok._index_flush goes by kind), or a language change
        -- and a transaction flushing both kinds could each hold the lock the other waits for
        perform rustok._index_lock(r.id, 'content');
        perform rustok._index_lock(r.id, 'product');
        perform rustok._index_touch(r.id, 'product', array(
            select p.id from public.commerce_products p where p.tenant_id = r.id));
        perform rustok._index_touch(r.id, 'content', array(
            select n.id from public.nodes n where n.tenant_id = r.id and n.kind <> 'comment'));
    end case;
    return null;
end
$$;

create or replace function rustok.tg_index_pending__flush() returns trigger
language plpgsql volatile as $$
/* At commit (deferred): recomputes all of the transaction's pending ids (rustok._index_flush_all). Queued
   once per flush, not per pending row: its WHEN (rustok._index_flush_arm) is evaluated as each row is
   inserted, and is true only for the first since the last flush. */
begin
    perform rustok._index_flush_all();
    return null;
end
$$;

drop trigger if exists _700_index_flush on public.index_pending;
create constraint trigger _700_index_flush after insert on public.index_pending
    deferrable initially deferred for each row when (rustok._index_flush_arm())
    execute function rustok.tg_index_pending__flush();

-- statement-level upkeep triggers (insert, update, delete) on every bulk-written source table
do $$
declare
    source text;
begin
    foreach source in array array['commerce_products', 'commerce_variants', 'commerce_prices',
        'commerce_inventory_levels', 'commerce_product_categories', 'commerce_product_tags',
        'commerce_product_options', 'commerce_product_option_values', 'commerce_variant_option_values',
        'nodes', 'bodies', 'node_tags'] loop
        execute format('drop trigger if exists _700_index_touch on public.%I', source);
        execute format('create or replace trigger _700_index_touch_insert after insert on public.%I
            referencing new table as changed for each statement
            execute function rustok.tg_index__touch_rows(%L)', source, source);
        execute format('create or replace trigger _700_index_touch_update after update on public.%I
            referencing old table as previous new table as changed for each statement
            execute function rustok.tg_index__touch_rows(%L)', source, source);
        execute format('create or replace trigger _700_index_touch_delete after delete on public.%I
            referencing old table as changed for each statement
            execute function rustok.tg_index__touch_rows(%L)', source, source);
    end loop;
end
$$;
create or replace trigger _700_index_touch after update of name, handle, position on public.commerce_categories
    for each row execute function rustok.tg_index__touch('commerce_categories');
create or replace trigger _700_index_touch
    after update of status, starts_at, ends_at, customer_group_id on public.commerce_price_lists
    for each row execute function rustok.tg_index__touch('commerce_price_lists');
create or replace trigger _700_index_touch after update of name, slug on public.categories
    for each row execute function rustok.tg_index__touch('categories');
create or replace trigger _700_index_touch after update of name, slug on public.tags
    for each row execute function rustok.tg_index__touch('tags');
create or replace trigger _700_index_touch after update of display_name on public.users
    for each row when (old.display_name is distinct from new.display_name)
    execute function rustok.tg_index__touch('users');
create or replace trigger _700_index_touch after update of settings on public.tenants
    for each row when (old.settings ->> 'search_language' is distinct from new.settings ->> 'search_language')
    execute function rustok.tg_index__touch('tenants');
