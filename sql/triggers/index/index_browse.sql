-- Browse mirror and facet counts (rustok.index_products_browse / index_products_facets, index_0009_browse):
-- every statement writing index_products hands the browse rows of the products it changed, before and after,
-- to rustok._index_browse_apply in the same transaction. An update is only passed on for products whose
-- prices, stock flag, categories, tags or creation time changed (most recomputations change none of them).

create or replace function rustok.tg_index_browse__sync() returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
/* Statement trigger on index_products: `added` holds the new rows (INSERT, UPDATE), `removed` the old ones
   (UPDATE, DELETE); their browse rows (rustok._index_browse_rows) replace each other in the mirror and the
   facet counts. SECURITY DEFINER: the mirror and counts are closed to clients; only the rows of this
   statement are touched. */
declare
    gone rustok.index_products_browse[];
    fresh rustok.index_products_browse[];
begin
    if tg_op = 'INSERT' then
        select array_agg(r) into fresh
        from added a
        cross join lateral rustok._index_browse_rows(a.tenant_id, a.product_id, a.prices, a.has_stock, a.categories,
                                                     a.tags, a.created_at) r;
    elsif tg_op = 'DELETE' then
        select array_agg(r) into gone
        from removed a
        cross join lateral rustok._index_browse_rows(a.tenant_id, a.product_id, a.prices, a.has_stock, a.categories,
                                                     a.tags, a.created_at) r;
    else
        with moved as materialized (
            select o.tenant_id, o.product_id, o.prices as old_prices,
                   o.has_stock as old_stock, o.categories as old_categories, o.tags as old_tags,
                   o.created_at as old_created, n.prices, n.has_stock, n.categories, n.tags, n.created_at
            from removed o join added n on n.tenant_id = o.tenant_id and n.product_id = o.product_id
            where (o.prices, o.has_stock, o.categories, o.tags, o.created_at)
                  is distinct from (n.prices, n.has_stock, n.categories, n.tags, n.created_at))
        select (select array_agg(r) from moved m
                cross join lateral rustok._index_browse_rows(m.tenant_id, m.product_id, m.old_prices, m.old_stock,
                                                             m.old_categories, m.old_tags, m.old_created) r),
               (select array_agg(r) from moved m
                cross join lateral rustok._index_browse_rows(m.tenant_id, m.product_id, m.prices, m.has_stock,
                                                             m.categories, m.tags, m.created_at) r)
        into gone, fresh;
    end if;
    if gone is not null or fresh is not null then
        perform rustok._index_browse_apply(gone, fresh);
    end if;
    return null;
end
$$;

create or replace trigger _720_index_browse_insert after insert on index_products
    referencing new table as added for each statement execute function rustok.tg_index_browse__sync();
create or replace trigger _720_index_browse_update after update on index_products
    referencing old table as removed new table as added for each statement execute function rustok.tg_index_browse__sync();
create or replace trigger _720_index_browse_delete after delete on index_products
    referencing old table as removed for each statement execute function rustok.tg_index_browse__sync();
