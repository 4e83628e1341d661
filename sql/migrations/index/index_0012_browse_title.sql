-- depends: index_0011_pending_owner
-- The catalogue sorted by name (the storefront's "Name", search sort `title`) took the general path: every
-- index row of the tenant filtered, counted and sorted for each page (gen-001, 35,468 products: ~150 ms). The
-- browse mirror gets the sort key, `title_key` = lower(title) as the search computes it, and a btree for an
-- ordered scan; without filters the page is that scan and the kept counts. Existing rows are filled one
-- tenant at a time (index_products is under forced RLS).
alter table rustok.index_products_browse add column title_key text;
do $$
declare
    t uuid;
begin
    for t in select id from public.tenants loop
        perform set_config('rustok.tenant_id', t::text, true);
        update rustok.index_products_browse b set title_key = lower(i.title)
        from public.index_products i
        where i.tenant_id = t and b.tenant_id = t and b.product_id = i.product_id;
    end loop;
    perform set_config('rustok.tenant_id', '', true);
end
$$;
alter table rustok.index_products_browse alter column title_key set not null;
create index index_products_browse_title on rustok.index_products_browse (tenant_id, currency, title_key, product_id);
analyze rustok.index_products_browse;
