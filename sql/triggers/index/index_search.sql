-- Search mirrors: every insert, update or delete of an index row copies its search_vector and folded title
-- into rustok.index_products_text / rustok.index_content_text (see sql/migrations/index/index_0002_search.sql:
-- under forced RLS `@@` cannot use an index on the index tables themselves).

create or replace function rustok.tg_index_search__mirror() returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
/* Keeps the search mirror of an index_products / index_content row equal to it; an update that changes
   neither the vector nor the title (stock, prices, …) writes nothing, but still fills a missing mirror row
   (so `rustok reindex` fills the mirrors of a database upgraded with index rows). */
begin
    if tg_table_name = 'index_products' then
        if tg_op = 'DELETE' then
            delete from rustok.index_products_text t
            where t.tenant_id = old.tenant_id and t.product_id = old.product_id;
        end if;
        if tg_op in ('INSERT', 'UPDATE') then
            insert into rustok.index_products_text as t (tenant_id, product_id, search_vector, title_folded)
            values (new.tenant_id, new.product_id, new.search_vector, lower(public.unaccent(new.title)))
            on conflict (tenant_id, product_id) do update
                set search_vector = excluded.search_vector, title_folded = excluded.title_folded
                where (t.search_vector, t.title_folded) is distinct from (excluded.search_vector, excluded.title_folded);
        end if;
    else
        if tg_op = 'DELETE' then
            delete from rustok.index_content_text t where t.tenant_id = old.tenant_id and t.node_id = old.node_id;
        end if;
        if tg_op in ('INSERT', 'UPDATE') then
            insert into rustok.index_content_text as t (tenant_id, node_id, search_vector, title_folded)
            values (new.tenant_id, new.node_id, new.search_vector, lower(public.unaccent(coalesce(new.title, ''))))
            on conflict (tenant_id, node_id) do update
                set search_vector = excluded.search_vector, title_folded = excluded.title_folded
                where (t.search_vector, t.title_folded) is distinct from (excluded.search_vector, excluded.title_folded);
        end if;
    end if;
    return null;
end
$$;

create or replace trigger _710_index_search_mirror after insert or update or delete on index_products
    for each row execute function rustok.tg_index_search__mirror();
create or replace trigger _710_index_search_mirror after insert or update or delete on index_content
    for each row execute function rustok.tg_index_search__mirror();
