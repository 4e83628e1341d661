-- Search mirrors: every insert, update or delete of index rows copies their search_vector and folded title
-- into rustok.index_products_text / rustok.index_content_text (see sql/migrations/index/index_0002_search.sql:
-- under forced RLS `@@` cannot use an index on the index tables themselves). Statement-level triggers with
-- transition tables: a flush or reindex batch of N rows is one statement per mirror, not N. This file keeps
-- the content mirror; index_products' two mirrors (text and browse) share one trigger function
-- (sql/triggers/index/index_browse.sql), one call per statement instead of two.

create or replace function rustok.tg_index_search__mirror() returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
/* Keeps the search mirror of index_content rows equal to them, for a whole statement: `changed` holds the
   new rows (INSERT, UPDATE) or the old ones (DELETE). An update that changes neither the vector nor the
   title writes nothing, but still fills a missing mirror row (so `rustok reindex` fills the mirror of a
   database upgraded with index rows). */
begin
    if not exists (select 1 from changed) then  -- e.g. the UPDATE half of an upsert that only inserted
        return null;
    end if;
    if tg_op = 'DELETE' then
        delete from rustok.index_content_text t using changed c
        where t.tenant_id = c.tenant_id and t.node_id = c.node_id;
    else
        insert into rustok.index_content_text as t (tenant_id, node_id, search_vector, title_folded)
        select c.tenant_id, c.node_id, c.search_vector, lower(public.unaccent(coalesce(c.title, '')))
        from changed c
        on conflict (tenant_id, node_id) do update
            set search_vector = excluded.search_vector, title_folded = excluded.title_folded
            where (t.search_vector, t.title_folded) is distinct from (excluded.search_vector, excluded.title_folded);
    end if;
    return null;
end
$$;

drop trigger if exists _710_index_search_mirror on index_content;
create or replace trigger _710_index_search_mirror_insert after insert on index_content
    referencing new table as changed for each statement execute function rustok.tg_index_search__mirror();
create or replace trigger _710_index_search_mirror_update after update on index_content
    referencing new table as changed for each statement execute function rustok.tg_index_search__mirror();
create or replace trigger _710_index_search_mirror_delete after delete on index_content
    referencing old table as changed for each statement execute function rustok.tg_index_search__mirror();
