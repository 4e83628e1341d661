-- Bodies: the weighted search vector (title A, excerpt B, body C, in the tenant's text-search configuration)
-- and the revision kept for every change of body or format.

create or replace function rustok.tg_bodies__search_vector() returns trigger
language plpgsql as $$
/* BEFORE INSERT OR UPDATE: recomputes search_vector from the node's title and excerpt and the body (HTML tags
   dropped); stamps updated_at when the body or its format changed. */
declare
    config regconfig := rustok._search_config(new.tenant_id);
    title text;
    excerpt text;
begin
    select n.title, n.excerpt into title, excerpt from public.nodes n
    where n.tenant_id = new.tenant_id and n.id = new.node_id;
    new.search_vector :=
        setweight(to_tsvector(config, coalesce(title, '')), 'A')
        || setweight(to_tsvector(config, coalesce(excerpt, '')), 'B')
        || setweight(to_tsvector(config, case when new.format = 'html'
                                              then regexp_replace(new.body, '<[^>]*>', ' ', 'g')
                                              else new.body end), 'C');
    if tg_op = 'UPDATE' and (new.body is distinct from old.body or new.format is distinct from old.format) then
        new.updated_at := now();
    end if;
    return new;
end
$$;

create or replace function rustok.tg_bodies__keep_revision() returns trigger
language plpgsql as $$
/* AFTER UPDATE OF body, format: the version being replaced becomes the node's next numbered revision. The
   body row is locked by the update, so concurrent edits of one body number their revisions in turn. */
begin
    insert into public.body_revisions (tenant_id, node_id, number, body, format, written_at, replaced_by)
    values (old.tenant_id, old.node_id,
            coalesce((select max(r.number) from public.body_revisions r
                      where r.tenant_id = old.tenant_id and r.node_id = old.node_id), 0) + 1,
            old.body, old.format, old.updated_at, rustok.current_user_id());
    return null;
end
$$;

create or replace trigger _200_search_vector before insert or update on public.bodies
    for each row execute function rustok.tg_bodies__search_vector();
create or replace trigger _300_keep_revision after update of body, format on public.bodies
    for each row when (old.body is distinct from new.body or old.format is distinct from new.format)
    execute function rustok.tg_bodies__keep_revision();
