-- Writing nodes: create, update, publish (now or scheduled), unpublish, delete. Each checks the module and
-- the user's rights first, validates the whole request before writing, and emits its events in the same
-- transaction: NodeCreated, NodeUpdated, NodePublished, NodeDeleted (the manifest's DomainEvent).

create or replace function rustok._node_body(value jsonb) returns text
language sql immutable parallel safe as $$
    /* A node's body as given (verbatim: leading spaces matter in Markdown, "" is an empty body), at most
       1,000,000 characters; null when absent. Raises VALIDATION_FAILED (body). */
    select rustok._input_text(value, 'body', 1000000, verbatim => true)
$$;

create or replace function rustok._category_ref(tenant uuid, value jsonb, field text default 'categoryId')
returns uuid
language plpgsql stable as $$
/* The category an id field names, checked to exist in this tenant; null when absent or null. Raises
   INVALID_ID, NOT_FOUND (details.field). */
declare
    category_id uuid := rustok._input_id(value, field);
begin
    if category_id is not null and not exists (
            select 1 from public.categories c where c.tenant_id = tenant and c.id = category_id) then
        perform rustok.raise('NOT_FOUND', 'no such category', jsonb_build_object('field', field));
    end if;
    return category_id;
end
$$;

create or replace function rustok._set_node_tags(tenant uuid, node_id uuid, tags jsonb) returns boolean
language plpgsql volatile as $$
/* Makes the node's tags exactly `tags` (a list of at most 50 names of 1 to 64 characters; null = none),
   creating tags that do not exist yet (matched by slug). Returns whether the links changed. Raises
   VALIDATION_FAILED (details.field 'tags' or 'tags[i]'; reason format for a name without a letter or
   digit). */
declare
    item jsonb;
    i int;
    tag_name text;
    tag_slug text;
    names text[] := '{}';
    slugs text[] := '{}';
    removed int;
    added int;
begin
    for item, i in select e, n - 1 from jsonb_array_elements(rustok._input_array(tags, 'tags', 50))
                                        with ordinality as t (e, n) loop
        tag_name := rustok._input_text(item, format('tags[%s]', i), 64, required => true);
        tag_slug := rustok._slugify(tag_name, 64);
        if tag_slug = '' then
            perform rustok._input_invalid(format('tags[%s]', i), 'format', 'a tag name needs a letter or digit');
        end if;
        if tag_slug <> all (slugs) then  -- the first name given for a slug names the tag
            names := names || tag_name;
            slugs := slugs || tag_slug;
        end if;
    end loop;
    insert into public.tags (tenant_id, name, slug)
    select tenant, w.name, w.slug from unnest(names, slugs) as w (name, slug)
    on conflict do nothing;
    delete from public.node_tags nt
    using public.tags t
    where nt.tenant_id = tenant and nt.node_id = _set_node_tags.node_id
      and t.tenant_id = nt.tenant_id and t.id = nt.tag_id and t.slug <> all (slugs);
    get diagnostics removed = row_count;
    insert into public.node_tags (tenant_id, node_id, tag_id)
    select tenant, _set_node_tags.node_id, t.id from public.tags t
    where t.tenant_id = tenant and t.slug = any (slugs)
    on conflict do nothing;
    get diagnostics added = row_count;
    return removed + added > 0;
end
$$;

create or replace function rustok.create_node(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Creates a page or post with its body, category and tags (CreateNodeRequest: kind, title, slug, excerpt,
   body, format, status, publishedAt, parentId, categoryId, tags, metaTitle, metaDescription, metadata,
   position); the slug comes from the title when not given (numbered on collision). Status 'published' (with
   an optional publishedAt, which schedules) needs content.publish. Emits NodeCreated, and NodePublished when
   published. Returns the ContentNode. Raises UNAUTHENTICATED/FORBIDDEN (content.write), VALIDATION_FAILED
   (unknown field, kind, status or format; a comment, which add_comment creates; a parent of another kind),
   CONFLICT (slug taken), NOT_FOUND (parent or category), INVALID_ID, MODULE_DISABLED. */
declare
    tenant uuid := rustok.current_tenant_id();
    req jsonb;
    new_kind text;
    new_title text;
    given_slug text;
    base text;
    new_format text;
    new_status text;
    publish_at timestamptz;
    parent uuid;
    category uuid;
    n public.nodes;
    attempt int := 0;
begin
    perform rustok.require_module('content');
    perform rustok.require_permission('content.write');
    req := rustok._input_object(input, 'input', allowed => '{kind,title,slug,excerpt,body,format,status,publishedAt,'
                                                           'parentId,categoryId,tags,metaTitle,metaDescription,'
                                                           'metadata,position}');
    new_kind := rustok._input_choice(req -> 'kind', 'kind', '{page,post}', required => true);  -- comments: add_comment
    new_title := rustok._input_text(req -> 'title', 'title', 255, required => true);
    given_slug := rustok._input_slug(req -> 'slug', 'slug');
    new_format := coalesce(rustok._input_choice(req -> 'format', 'format', '{markdown,html}'), 'markdown');
    new_status := coalesce(rustok._input_choice(req -> 'status', 'status', '{draft,published,archived}'), 'draft');
    publish_at := rustok._input_instant(req -> 'publishedAt', 'publishedAt');
    if publish_at is not null and new_status <> 'published' then
        perform rustok._input_invalid('publishedAt', 'needs_published', 'publishedAt goes with status published');
    end if;
    if new_status = 'published' then
        perform rustok.require_permission('content.publish');
        publish_at := coalesce(publish_at, now());
    end if;
    parent := rustok._input_id(req -> 'parentId', 'parentId');
    if parent is not null then
        select * into n from public.nodes p where p.tenant_id = tenant and p.id = parent;
        if not rustok._node_visible(n) then
            perform rustok.raise('NOT_FOUND', 'no such parent', jsonb_build_object('field', 'parentId'));
        elsif n.kind <> new_kind then
            perform rustok._input_invalid('parentId', 'kind_mismatch', 'the parent must be of the same kind',
                                          jsonb_build_object('parentKind', n.kind));
        end if;
        n := null;
    end if;
    category := rustok._category_ref(tenant, req -> 'categoryId');
    base := coalesce(nullif(rustok._slugify(new_title), ''), new_kind);
    if given_slug is null then
        perform rustok._lock_slug(tenant, new_kind, base);
    end if;
    loop
        insert into public.nodes (tenant_id, kind, title, slug, excerpt, status, published_at, parent_id,
                                  author_id, category_id, meta_title, meta_description, metadata, position)
        values (tenant, new_kind, new_title, coalesce(given_slug, rustok._free_node_slug(tenant, new_kind, base)),
                rustok._input_text(req -> 'excerpt', 'excerpt', 100000), new_status, publish_at, parent,
                rustok.current_user_id(), category, rustok._input_text(req -> 'metaTitle', 'metaTitle', 255),
                rustok._input_text(req -> 'metaDescription', 'metaDescription', 500),
                rustok._input_object(req -> 'metadata', 'metadata'), rustok._content_position(req -> 'position'))
        on conflict on constraint nodes_tenant_id_kind_slug_key do nothing
        returning * into n;
        exit when n.id is not null;
        attempt := attempt + 1;
        if given_slug is not null or attempt >= 5 then
            perform rustok.raise('CONFLICT', 'slug taken', jsonb_build_object('field', 'slug'));
        end if;
    end loop;
    insert into public.bodies (tenant_id, node_id, body, format)
    values (tenant, n.id, coalesce(rustok._node_body(req -> 'body'), ''), new_format);
    perform rustok._set_node_tags(tenant, n.id, req -> 'tags');
    perform rustok.publish_event('NodeCreated', jsonb_build_object(
        'node_id', rustok.ulid(n.id), 'kind', n.kind, 'author_id', rustok.ulid(n.author_id)));
    if n.status = 'published' then
        perform rustok.publish_event('NodePublished', jsonb_build_object(
            'node_id', rustok.ulid(n.id), 'kind', n.kind, 'published_at', n.published_at));
    end if;
    return rustok._node_json(n);
end
$$;

create or replace function rustok.update_node(id uuid, input jsonb) returns jsonb
language plpgsql volatile as $$
/* Changes a node (UpdateNodeRequest: title, slug, excerpt, body, format, status, publishedAt, categoryId,
   tags, metaTitle, metaDescription, metadata, position; a comment: body and metadata). Absent fields stay;
   slug null regenerates it from the title. A body or format change keeps the old body as a revision.
   Publishing, and moving a published node back, need content.publish. Emits NodeUpdated when anything
   changed, NodePublished when it became published (or its publication time moved). Returns the ContentNode.
   Raises UNAUTHENTICATED, NOT_FOUND, FORBIDDEN (not the author, without content.manage), VALIDATION_FAILED,
   CONFLICT (slug taken), INVALID_ID, MODULE_DISABLED. */
declare
    tenant uuid := rustok.current_tenant_id();
    req jsonb;
    prev public.nodes;
    n public.nodes;
    new_status text;
    publish_at timestamptz;
    new_slug text;
    new_body text;
    new_format text;
    body_changed boolean := false;
    tags_changed boolean := false;
begin
    perform rustok.require_module('content');
    prev := rustok._editable_node(id);
    req := rustok._input_object(input, 'input',
                                allowed => case when prev.kind = 'comment' then '{body,metadata}'::text[]
                                                else '{title,slug,excerpt,body,format,status,publishedAt,categoryId,'
                                                     'tags,metaTitle,metaDescription,metadata,position}' end);
    n := prev;
    if req ? 'title' then
        n.title := rustok._input_text(req -> 'title', 'title', 255, required => true);
    end if;
    if req ? 'slug' then
        new_slug := rustok._input_slug(req -> 'slug', 'slug');
        if new_slug is null then
            new_slug := coalesce(nullif(rustok._slugify(n.title), ''), n.kind);
            if new_slug is distinct from prev.slug then
                new_slug := rustok._free_node_slug(tenant, n.kind, new_slug);
            end if;
        elsif new_slug is distinct from prev.slug and exists (
                select 1 from public.nodes x where x.tenant_id = tenant and x.kind = n.kind and x.slug = new_slug) then
            perform rustok.raise('CONFLICT', 'slug taken', jsonb_build_object('field', 'slug'));
        end if;
        n.slug := new_slug;
    end if;
    if req ? 'excerpt' then
        n.excerpt := rustok._input_text(req -> 'excerpt', 'excerpt', 100000);
    end if;
    new_status := rustok._input_choice(req -> 'status', 'status', '{draft,published,archived}',
                                       required => req ? 'status');
    publish_at := rustok._input_instant(req -> 'publishedAt', 'publishedAt');
    if publish_at is not null and coalesce(new_status, prev.status) <> 'published' then
        perform rustok._input_invalid('publishedAt', 'needs_published', 'publishedAt goes with status published');
    end if;
    if new_status is not null or publish_at is not null then
        n.status := coalesce(new_status, prev.status);
        if n.status = 'published' then
            n.published_at := coalesce(publish_at,
                                       case when prev.status = 'published' then prev.published_at end, now());
        elsif n.status = 'draft' then
            n.published_at := null;
        end if;
        if 'published' in (n.status, prev.status)
           and (n.status, n.published_at) is distinct from (prev.status, prev.published_at) then
            perform rustok.require_permission('content.publish');
        end if;
    end if;
    if req ? 'categoryId' then
        n.category_id := rustok._category_ref(tenant, req -> 'categoryId');
    end if;
    if req ? 'metaTitle' then
        n.meta_title := rustok._input_text(req -> 'metaTitle', 'metaTitle', 255);
    end if;
    if req ? 'metaDescription' then
        n.meta_description := rustok._input_text(req -> 'metaDescription', 'metaDescription', 500);
    end if;
    if req ? 'metadata' then
        n.metadata := rustok._input_object(req -> 'metadata', 'metadata');
    end if;
    if req ? 'position' then
        n.position := rustok._content_position(req -> 'position');
    end if;
    new_body := rustok._node_body(req -> 'body');
    new_format := rustok._input_choice(req -> 'format', 'format', '{markdown,html}');

    update public.nodes x set title = n.title, slug = n.slug, excerpt = n.excerpt, status = n.status,
        published_at = n.published_at, category_id = n.category_id, meta_title = n.meta_title,
        meta_description = n.meta_description, metadata = n.metadata, position = n.position
    where x.tenant_id = prev.tenant_id and x.id = prev.id
    returning * into n;
    if new_body is not null or new_format is not null then
        insert into public.bodies as b (tenant_id, node_id, body, format)
        values (tenant, n.id, coalesce(new_body, ''), coalesce(new_format, 'markdown'))
        on conflict (tenant_id, node_id) do update
            set body = coalesce(new_body, b.body), format = coalesce(new_format, b.format)
            where (b.body, b.format) is distinct from (coalesce(new_body, b.body), coalesce(new_format, b.format));
        body_changed := found;
    end if;
    if req ? 'tags' then
        tags_changed := rustok._set_node_tags(tenant, n.id, req -> 'tags');
    end if;

    if body_changed or tags_changed
       or (to_jsonb(n) - 'updated_at') is distinct from (to_jsonb(prev) - 'updated_at') then
        perform rustok.publish_event('NodeUpdated', jsonb_build_object('node_id', rustok.ulid(n.id), 'kind', n.kind));
    end if;
    if n.status = 'published' and (prev.status, prev.published_at) is distinct from (n.status, n.published_at) then
        perform rustok.publish_event('NodePublished', jsonb_build_object(
            'node_id', rustok.ulid(n.id), 'kind', n.kind, 'published_at', n.published_at));
    end if;
    return rustok._node_json(n);
end
$$;

create or replace function rustok.publish_node(id uuid, at timestamptz default null) returns jsonb
language plpgsql volatile as $$
/* Publishes a page or post now, or at `at` (a future time schedules it: readers see it from then on, no job
   needed). Publishing what is already live without `at` changes nothing. Emits NodePublished (with
   published_at) when something changed. Needs content.publish and the right to change the node. Returns the
   ContentNode. Raises UNAUTHENTICATED, NOT_FOUND, FORBIDDEN, VALIDATION_FAILED (a comment), MODULE_DISABLED. */
declare
    n public.nodes;
    when_ timestamptz;
begin
    perform rustok.require_module('content');
    n := rustok._editable_node(id);
    if n.kind = 'comment' then
        perform rustok._input_invalid('id', 'is_comment', 'comments are moderated, not published');
    end if;
    perform rustok.require_permission('content.publish');
    when_ := coalesce(at, case when rustok._node_is_live(n.status, n.published_at) then n.published_at end, now());
    if n.status = 'published' and n.published_at = when_ then
        return rustok._node_json(n);
    end if;
    update public.nodes x set status = 'published', published_at = when_
    where x.tenant_id = n.tenant_id and x.id = n.id
    returning * into n;
    perform rustok.publish_event('NodePublished', jsonb_build_object(
        'node_id', rustok.ulid(n.id), 'kind', n.kind, 'published_at', n.published_at));
    return rustok._node_json(n);
end
$$;

create or replace function rustok.unpublish_node(id uuid) returns jsonb
language plpgsql volatile as $$
/* Takes a published (or scheduled) page or post back to draft; anything else is left as it is. Emits
   NodeUpdated when it changed. Needs content.publish and the right to change the node. Returns the
   ContentNode. Raises UNAUTHENTICATED, NOT_FOUND, FORBIDDEN, VALIDATION_FAILED (a comment), MODULE_DISABLED. */
declare
    n public.nodes;
begin
    perform rustok.require_module('content');
    n := rustok._editable_node(id);
    if n.kind = 'comment' then
        perform rustok._input_invalid('id', 'is_comment', 'comments are moderated, not published');
    end if;
    perform rustok.require_permission('content.publish');
    if n.status <> 'published' then
        return rustok._node_json(n);
    end if;
    update public.nodes x set status = 'draft', published_at = null
    where x.tenant_id = n.tenant_id and x.id = n.id
    returning * into n;
    perform rustok.publish_event('NodeUpdated', jsonb_build_object(
        'node_id', rustok.ulid(n.id), 'kind', n.kind, 'status', n.status));
    return rustok._node_json(n);
end
$$;

create or replace function rustok.delete_node(id uuid) returns text
language plpgsql volatile as $$
/* Deletes a node with its body, revisions, tag links and (for a post or comment) its comments. A page or
   post that has children of its own kind is refused: move or delete them first. Emits NodeDeleted. Returns
   the deleted node's id. Raises UNAUTHENTICATED, NOT_FOUND, FORBIDDEN, INVALID_STATE, MODULE_DISABLED. */
declare
    n public.nodes;
    children bigint;
begin
    perform rustok.require_module('content');
    n := rustok._editable_node(id);
    if n.kind <> 'comment' then
        select count(*) into children from public.nodes c
        where c.tenant_id = n.tenant_id and c.parent_id = n.id and c.kind = n.kind;
        if children > 0 then
            perform rustok.raise('INVALID_STATE', 'it has children; delete or move them first',
                                 jsonb_build_object('field', 'id', 'children', children));
        end if;
    end if;
    delete from public.nodes x where x.tenant_id = n.tenant_id and x.id = n.id;
    perform rustok.publish_event('NodeDeleted', jsonb_build_object(
        'node_id', rustok.ulid(n.id), 'kind', n.kind, 'parent_id', rustok.ulid(n.parent_id)));
    return rustok.ulid(n.id);
end
$$;
