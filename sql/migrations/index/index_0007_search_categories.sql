-- depends: index_0006_reindex_schedule
-- A storefront search names a category most of the time. The product mirror carries category_slugs and its GIN
-- index becomes (tenant_id, search_vector, category_slugs): the category narrows the text matches inside the
-- index, before any heap visit (on the largest generated tenant a common word matched 1,500 of 38,000 rows,
-- every one fetched from the mirror and then from index_products to be dropped by the category filter).
alter table rustok.index_products_text add column category_slugs text[] not null default '{}';
drop index rustok.index_products_text_search;
create index index_products_text_search on rustok.index_products_text
    using gin (tenant_id, search_vector, category_slugs) with (fastupdate = on, gin_pending_list_limit = 256);

-- existing rows: index_products is under forced RLS, so the owner reads it one tenant at a time
do $$
declare
    t uuid;
begin
    for t in select id from public.tenants loop
        perform set_config('rustok.tenant_id', t::text, true);
        update rustok.index_products_text m set category_slugs = i.category_slugs
        from public.index_products i
        where i.tenant_id = t and m.tenant_id = t and m.product_id = i.product_id and i.category_slugs <> '{}';
    end loop;
    perform set_config('rustok.tenant_id', '', true);
end
$$;
