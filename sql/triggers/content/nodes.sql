-- Nodes: the place of a node in its tree (parent rules, comment threads), reply counters, timestamps, and the
-- body's search vector when the title or excerpt changes. On the table, so psql writes obey them too.

create or replace function rustok.tg_nodes__place_in_tree() returns trigger
language plpgsql as $$
/* BEFORE INSERT. A page's parent is a page, a post's a post; a comment's parent is a post or a comment, and
   the comment gets its thread columns: root_id (the post), depth (0 under the post), position (next among
   its siblings) and path (the ancestors' positions and its own, 8 hex digits each: thread order is path
   order). The parent row is locked first (FOR NO KEY UPDATE), so concurrent replies to one parent queue
   here and take distinct positions. Raises VALIDATION_FAILED (details.field 'parentId') for a missing or wrong-kind parent or a
   thread deeper than 50 replies. */
declare
    parent public.nodes;
begin
    if new.parent_id is null then
        if new.kind = 'comment' then
            perform rustok._input_invalid('parentId', 'required', 'a comment needs a parent');
        end if;
        new.root_id := null;
        new.path := null;
        new.depth := 0;
        return new;
    end if;
    select * into parent from public.nodes p
    where p.tenant_id = new.tenant_id and p.id = new.parent_id
    for no key update;
    if not found then
        perform rustok._input_invalid('parentId', 'not_found', 'no such parent in this tenant');
    end if;
    if new.kind <> 'comment' then
        if parent.kind <> new.kind then
            perform rustok._input_invalid('parentId', 'kind_mismatch', 'the parent must be of the same kind',
                                          jsonb_build_object('parentKind', parent.kind));
        end if;
        new.root_id := null;
        new.path := null;
        new.depth := parent.depth + 1;
        return new;
    end if;
    if parent.kind not in ('post', 'comment') then
        perform rustok._input_invalid('parentId', 'kind_mismatch', 'comments go under a post or another comment',
                                      jsonb_build_object('parentKind', parent.kind));
    end if;
    new.position := coalesce((select max(s.position) + 1 from public.nodes s
                              where s.tenant_id = new.tenant_id and s.parent_id = new.parent_id
                                and s.kind = 'comment'), 0);
    if parent.kind = 'comment' then
        if parent.depth >= 50 then
            perform rustok._input_invalid('parentId', 'too_deep', 'the thread is too deep', '{"max": 50}');
        end if;
        new.root_id := parent.root_id;
        new.depth := parent.depth + 1;
        new.path := parent.path || lpad(to_hex(new.position), 8, '0');
    else
        new.root_id := parent.id;
        new.depth := 0;
        new.path := lpad(to_hex(new.position), 8, '0');
    end if;
    return new;
end
$$;

create or replace function rustok.tg_nodes__keep_place() returns trigger
language plpgsql as $$
/* BEFORE UPDATE. A node's kind, parent and thread columns never change (move nothing, so no tree can get a
   cycle or a stale path); updated_at is stamped unless only the reply counter moved. Raises
   VALIDATION_FAILED (details.field). */
begin
    if new.kind <> old.kind then
        perform rustok._input_invalid('kind', 'not_updatable', 'a node''s kind does not change');
    end if;
    if new.parent_id is distinct from old.parent_id or new.root_id is distinct from old.root_id
       or new.path is distinct from old.path or new.depth <> old.depth
       or (new.kind = 'comment' and new.position <> old.position) then
        perform rustok._input_invalid('parentId', 'not_updatable', 'a node''s place in its tree does not change');
    end if;
    if (to_jsonb(new) - 'reply_count' - 'updated_at') is distinct from (to_jsonb(old) - 'reply_count' - 'updated_at') then
        new.updated_at := now();
    end if;
    return new;
end
$$;

create or replace function rustok.tg_nodes__count_replies() returns trigger
language plpgsql as $$
/* AFTER INSERT, UPDATE OF moderation, DELETE of a comment: the parent's reply_count counts its approved
   direct replies. One UPDATE … SET reply_count = reply_count ± 1 per change: the row lock makes concurrent
   changes add up instead of overwriting each other. */
declare
    delta int := case when tg_op <> 'DELETE' and new.moderation = 'approved' then 1 else 0 end
               - case when tg_op <> 'INSERT' and old.moderation = 'approved' then 1 else 0 end;
    child public.nodes := case when tg_op = 'DELETE' then old else new end;
begin
    if delta <> 0 then
        update public.nodes p set reply_count = p.reply_count + delta
        where p.tenant_id = child.tenant_id and p.id = child.parent_id;
    end if;
    return null;
end
$$;

create or replace function rustok.tg_nodes__refresh_search() returns trigger
language plpgsql as $$
/* AFTER UPDATE OF title, excerpt: the body's search vector is recomputed (its trigger reads the node). */
begin
    update public.bodies b set search_vector = null where b.tenant_id = new.tenant_id and b.node_id = new.id;
    return null;
end
$$;

create or replace trigger _100_place_in_tree before insert on public.nodes
    for each row execute function rustok.tg_nodes__place_in_tree();
create or replace trigger _100_keep_place before update on public.nodes
    for each row execute function rustok.tg_nodes__keep_place();
create or replace trigger _300_count_replies_insert after insert on public.nodes
    for each row when (new.kind = 'comment' and new.moderation = 'approved')
    execute function rustok.tg_nodes__count_replies();
create or replace trigger _300_count_replies_update after update of moderation on public.nodes
    for each row when (new.kind = 'comment' and old.moderation is distinct from new.moderation)
    execute function rustok.tg_nodes__count_replies();
create or replace trigger _300_count_replies_delete after delete on public.nodes
    for each row when (old.kind = 'comment' and old.moderation = 'approved')
    execute function rustok.tg_nodes__count_replies();
create or replace trigger _400_refresh_search after update of title, excerpt on public.nodes
    for each row when (old.title is distinct from new.title or old.excerpt is distinct from new.excerpt)
    execute function rustok.tg_nodes__refresh_search();
