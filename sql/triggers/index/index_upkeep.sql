-- Index upkeep: a row trigger on every source table records the product or node ids a change affects
-- (rustok._index_touch into index_pending); the deferred constraint trigger on index_pending recomputes each
-- once at commit (rustok._index_flush). Triggers on other modules' tables are named _7NN_index_*. A rename
-- (category, tag, author, price list, search language) first takes the tenant's index lock exclusive
-- (rustok._index_lock), so it finds every row linked to it by a transaction that already recomputed, and
-- any transaction recomputing later waits for it and sees the new name.

create or replace function rustok.tg_index__touch() returns trigger
language plpgsql volatile as $$
/* Records what a row change affects; TG_ARGV[0] names the source (partitions report their own names). */
declare
    r record := case when tg_op = 'DELETE' then old else new end;
    o record := case when tg_op = 'INSERT' then new else old end;
    ids uuid[];
begin
    case tg_argv[0]
    when 'commerce_products' then
        perform rustok._index_touch(r.tenant_id, 'product', array[r.id]);
    when 'commerce_variants', 'commerce_product_categories', 'commerce_product_tags', 'commerce_product_options',
         'commerce_variant_option_values' then
        perform rustok._index_touch(r.tenant_id, 'product', array[r.product_id, o.product_id]);
    when 'commerce_prices', 'commerce_inventory_levels' then
        perform rustok._index_touch(r.tenant_id, 'product', array(
            select v.product_id from public.commerce_variants v
            where v.tenant_id = r.tenant_id and v.id in (r.variant_id, o.variant_id)));
    when 'commerce_product_option_values' then
        perform rustok._index_touch(r.tenant_id, 'product', array(
            select po.product_id from public.commerce_product_options po
            where po.tenant_id = r.tenant_id and po.id in (r.option_id, o.option_id)));
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
    when 'nodes' then
        if r.kind <> 'comment' then
            perform rustok._index_touch(r.tenant_id, 'content', array[r.id]);
        end if;
    when 'bodies', 'node_tags' then
        perform rustok._index_touch(r.tenant_id, 'content', array[r.node_id, o.node_id]);
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
        perform rustok._index_lock(r.id, 'product');
        perform rustok._index_lock(r.id, 'content');
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
/* At commit (deferred): the first firing recomputes all of the transaction's pending ids; later firings find
   nothing pending (rustok._index_flush_all). */
begin
    perform rustok._index_flush_all();
    return null;
end
$$;

drop trigger if exists _700_index_flush on public.index_pending;
create constraint trigger _700_index_flush after insert on public.index_pending
    deferrable initially deferred for each row execute function rustok.tg_index_pending__flush();

create or replace trigger _700_index_touch after insert or update or delete on public.commerce_products
    for each row execute function rustok.tg_index__touch('commerce_products');
create or replace trigger _700_index_touch after insert or update or delete on public.commerce_variants
    for each row execute function rustok.tg_index__touch('commerce_variants');
create or replace trigger _700_index_touch after insert or update or delete on public.commerce_prices
    for each row execute function rustok.tg_index__touch('commerce_prices');
create or replace trigger _700_index_touch after insert or update or delete on public.commerce_inventory_levels
    for each row execute function rustok.tg_index__touch('commerce_inventory_levels');
create or replace trigger _700_index_touch after insert or update or delete on public.commerce_product_categories
    for each row execute function rustok.tg_index__touch('commerce_product_categories');
create or replace trigger _700_index_touch after insert or update or delete on public.commerce_product_tags
    for each row execute function rustok.tg_index__touch('commerce_product_tags');
create or replace trigger _700_index_touch after insert or update or delete on public.commerce_product_options
    for each row execute function rustok.tg_index__touch('commerce_product_options');
create or replace trigger _700_index_touch after insert or update or delete on public.commerce_product_option_values
    for each row execute function rustok.tg_index__touch('commerce_product_option_values');
create or replace trigger _700_index_touch after insert or update or delete on public.commerce_variant_option_values
    for each row execute function rustok.tg_index__touch('commerce_variant_option_values');
create or replace trigger _700_index_touch after update of name, handle, position on public.commerce_categories
    for each row execute function rustok.tg_index__touch('commerce_categories');
create or replace trigger _700_index_touch
    after update of status, starts_at, ends_at, customer_group_id on public.commerce_price_lists
    for each row execute function rustok.tg_index__touch('commerce_price_lists');
create or replace trigger _700_index_touch after insert or update or delete on public.nodes
    for each row execute function rustok.tg_index__touch('nodes');
create or replace trigger _700_index_touch after insert or update or delete on public.bodies
    for each row execute function rustok.tg_index__touch('bodies');
create or replace trigger _700_index_touch after insert or update or delete on public.node_tags
    for each row execute function rustok.tg_index__touch('node_tags');
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
