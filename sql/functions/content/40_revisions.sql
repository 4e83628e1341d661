-- Body revisions: listed newest first for whoever may change the node, and restored. Restoring is itself a
-- body change, so the version it replaces is kept as a revision too (tg_bodies__keep_revision).

create or replace function rustok._revision_json(r public.body_revisions) returns jsonb
language sql stable parallel safe as $$
    /* The NodeRevision response. */
    select jsonb_build_object(
        'id', rustok.ulid(r.id), 'nodeId', rustok.ulid(r.node_id), 'number', r.number, 'body', r.body,
        'format', r.format, 'writtenAt', r.written_at, 'replacedAt', r.replaced_at,
        'replacedBy', rustok.ulid(r.replaced_by))
$$;

create or replace function rustok.list_node_revisions(node_id uuid, first int default 20, after text default null)
returns jsonb
language plpgsql stable as $$
/* A node's earlier bodies, newest first, as a connection (cursor = revision id), for whoever may change the
   node. Raises UNAUTHENTICATED, NOT_FOUND, FORBIDDEN, INVALID_ID, VALIDATION_FAILED (page size),
   MODULE_DISABLED. */
declare
    n public.nodes;
    page int;
    after_number int;
    result jsonb;
begin
    perform rustok.require_module('content');
    page := rustok._page_size(first);
    n := rustok._editable_node(node_id, lock_row => false);
    if after is not null then
        select r.number into after_number from public.body_revisions r
        where r.tenant_id = n.tenant_id and r.node_id = n.id and r.id = rustok._page_after(after);
        if not found then
            perform rustok.raise('NOT_FOUND', 'no such revision of this node', jsonb_build_object('field', 'after'));
        end if;
    end if;
    select coalesce(jsonb_agg(rustok._revision_json(r) order by r.number desc), '[]'::jsonb)
    into result
    from (select * from public.body_revisions r
          where r.tenant_id = n.tenant_id and r.node_id = n.id and (after_number is null or r.number < after_number)
          order by r.number desc limit page + 1) r;
    return rustok._page_connection(result, page, after);
end
$$;

create or replace function rustok.restore_revision(node_id uuid, revision_id uuid) returns jsonb
language plpgsql volatile as $$
/* Makes an earlier body (and its format) current again; the body it replaces becomes a new revision. Emits
   RevisionRestored and NodeUpdated. Returns the ContentNode. Raises UNAUTHENTICATED, NOT_FOUND (node, or a
   revision of another node: details.field 'revisionId'), FORBIDDEN, MODULE_DISABLED. */
declare
    n public.nodes;
    r public.body_revisions;
begin
    perform rustok.require_module('content');
    n := rustok._editable_node(node_id);
    select * into r from public.body_revisions x
    where x.tenant_id = n.tenant_id and x.node_id = n.id and x.id = revision_id;
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such revision of this node', jsonb_build_object('field', 'revisionId'));
    end if;
    insert into public.bodies as b (tenant_id, node_id, body, format)
    values (n.tenant_id, n.id, r.body, r.format)
    on conflict on constraint bodies_pkey do update set body = excluded.body, format = excluded.format;
    perform rustok.publish_event('RevisionRestored', jsonb_build_object(
        'node_id', rustok.ulid(n.id), 'revision_id', rustok.ulid(r.id), 'number', r.number));
    perform rustok.publish_event('NodeUpdated', jsonb_build_object('node_id', rustok.ulid(n.id), 'kind', n.kind));
    return rustok._node_json(n);
end
$$;
