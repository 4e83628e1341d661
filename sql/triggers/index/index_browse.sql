-- index_products' two mirrors, kept by one statement trigger function (rustok.tg_index_products__mirrors):
-- the search mirror rustok.index_products_text (vector, folded title, category slugs and what a search's
-- filters, sorts and facets read, index_0013; see sql/triggers/index/index_search.sql for why the mirrors
-- exist) and the browse mirror with its facet counts
-- (rustok.index_products_browse / index_products_facets, index_0009_browse): every statement writing
-- index_products hands the browse rows of the products it changed, before and after, to
-- rustok._index_browse_apply in the same transaction. An update is only passed on to the browse mirror for
-- products whose prices, stock flag, categories, tags, creation time or title changed (most recomputations
-- change none of them). One function for both: an upsert fires the INSERT and the UPDATE statement triggers, so two
-- functions cost four calls per flush.

create or replace function rustok.tg_index_products__mirrors() returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
/* Statement trigger on index_products: `added` holds the new rows (INSERT, UPDATE), `removed` the old ones
   (UPDATE, DELETE). The search mirror takes the new rows (an update that changes none of its columns writes
   nothing, but still fills a missing mirror row, so `rustok reindex` fills the mirror of an upgraded
   database) or loses the old ones; the browse rows (rustok._index_browse_rows) of the old rows are replaced
   by those of the new ones in the browse mirror and the facet counts. SECURITY DEFINER: the mirrors and
   counts are closed to clients; only the rows of this statement are touched. */
declare
    gone rustok.index_products_browse[];
    fresh rustok.index_products_browse[];
begin
    if tg_op = 'UPDATE' then  -- (a separate test: `added` does not exist for a DELETE)
        if not exists (select 1 from added) then  -- the UPDATE half of an upsert that only inserted
            return null;
        end if;
    end if;
    if tg_op = 'DELETE' then
        delete from rustok.index_products_text t using removed a
        where t.tenant_id = a.tenant_id and t.product_id = a.product_id;
    else
        insert into rustok.index_products_text as t (tenant_id, product_id, search_vector, title_folded,
                                                     category_slugs, title, min_price, prices, has_stock,
                                                     categories, tags, created_at)
        select a.tenant_id, a.product_id, a.search_vector, lower(public.unaccent(a.title)), a.category_slugs,
               a.title, a.min_price, a.prices, a.has_stock, a.categories, a.tags, a.created_at
        from added a
        on conflict (tenant_id, product_id) do update
            set search_vector = excluded.search_vector, title_folded = excluded.title_folded,
                category_slugs = excluded.category_slugs, title = excluded.title, min_price = excluded.min_price,
                prices = excluded.prices, has_stock = excluded.has_stock, categories = excluded.categories,
                tags = excluded.tags, created_at = excluded.created_at
            where (t.search_vector, t.title_folded, t.category_slugs, t.title, t.min_price, t.prices, t.has_stock,
                   t.categories, t.tags, t.created_at)
                  is distinct from (excluded.search_vector, excluded.title_folded, excluded.category_slugs,
                                    excluded.title, excluded.min_price, excluded.prices, excluded.has_stock,
                                    excluded.categories, excluded.tags, excluded.created_at);
    end if;
    if tg_op = 'INSERT' then
        select array_agg(r) into fresh
        from added a
        cross join lateral rustok._index_browse_rows(a.tenant_id, a.product_id, a.prices, a.has_stock, a.categories,
                                                     a.tags, a.created_at, a.title) r;
    elsif tg_op = 'DELETE' then
        select array_agg(r) into gone
        from removed a
        cross join lateral rustok._index_browse_rows(a.tenant_id, a.product_id, a.prices, a.has_stock, a.categories,
                                                     a.tags, a.created_at, a.title) r;
    else
        with moved as materialized (
            select o.tenant_id, o.product_id, o.prices as old_prices, o.has_stock as old_stock,
                   o.categories as old_categories, o.tags as old_tags, o.created_at as old_created,
                   o.title as old_title, n.prices, n.has_stock, n.categories, n.tags, n.created_at, n.title
            from removed o join added n on n.tenant_id = o.tenant_id and n.product_id = o.product_id
            where (o.prices, o.has_stock, o.categories, o.tags, o.created_at, o.title)
                  is distinct from (n.prices, n.has_stock, n.categories, n.tags, n.created_at, n.title))
        select (select array_agg(r) from moved m
                cross join lateral rustok._index_browse_rows(m.tenant_id, m.product_id, m.old_prices, m.old_stock,
                                                             m.old_categories, m.old_tags, m.old_created,
                                                             m.old_title) r),
               (select array_agg(r) from moved m
                cross join lateral rustok._index_browse_rows(m.tenant_id, m.product_id, m.prices, m.has_stock,
                                                             m.categories, m.tags, m.created_at, m.title) r)
        into gone, fresh;
    end if;
    if gone is not null or fresh is not null then
        perform rustok._index_browse_apply(gone, fresh);
    end if;
    return null;
end
$$;

drop trigger if exists _710_index_search_mirror_insert on index_products;
drop trigger if exists _710_index_search_mirror_update on index_products;
drop trigger if exists _710_index_search_mirror_delete on index_products;
drop trigger if exists _720_index_browse_insert on index_products;
drop trigger if exists _720_index_browse_update on index_products;
drop trigger if exists _720_index_browse_delete on index_products;
create or replace trigger _710_index_products_mirrors_insert after insert on index_products
    referencing new table as added for each statement execute function rustok.tg_index_products__mirrors();
create or replace trigger _710_index_products_mirrors_update after update on index_products
    referencing old table as removed new table as added for each statement
    execute function rustok.tg_index_products__mirrors();
create or replace trigger _710_index_products_mirrors_delete after delete on index_products
    referencing old table as removed for each statement execute function rustok.tg_index_products__mirrors();
