-- Reading nodes: the response shape, one node by id or by slug, and the filtered, keyset-paginated list.
-- Everyone may read (anonymous readers included); what they see follows rustok._node_visible.

create or replace function rustok._node_json(n public.nodes) returns jsonb
language plpgsql stable as $$
/* The ContentNode response: the node, its body, author name, category and tags. (PL/pgSQL, so its lookups
   are planned once per session rather than once per row of a list.) */
begin
    return (
        select jsonb_build_object(
            'id', rustok.ulid(n.id), 'kind', n.kind, 'status', n.status,
            'isLive', rustok._node_is_live(n.status, n.published_at) and coalesce(n.moderation, 'approved') = 'approved',
            'title', n.title, 'slug', n.slug, 'excerpt', n.excerpt,
            'body', coalesce(b.body, ''), 'format', coalesce(b.format, 'markdown'),
            'parentId', rustok.ulid(n.parent_id), 'authorId', rustok.ulid(n.author_id), 'authorName', u.display_name,
            'categoryId', rustok.ulid(n.category_id),
            'category', case when c.id is not null
                             then jsonb_build_object('id', rustok.ulid(c.id), 'name', c.name, 'slug', c.slug) end,
            'tags', coalesce((select jsonb_agg(jsonb_build_object('id', rustok.ulid(t.id), 'name', t.name, 'slug', t.slug)
                                               order by t.slug)
                              from public.node_tags nt
                              join public.tags t on t.tenant_id = nt.tenant_id and t.id = nt.tag_id
                              where nt.tenant_id = n.tenant_id and nt.node_id = n.id), '[]'::jsonb),
            'metaTitle', n.meta_title, 'metaDescription', n.meta_description, 'metadata', n.metadata,
            'position', n.position, 'depth', n.depth, 'replyCount', n.reply_count, 'moderation', n.moderation,
            'createdAt', n.created_at, 'updatedAt', n.updated_at, 'publishedAt', n.published_at)
        from (values (1)) as one (x)
        left join public.bodies b on b.tenant_id = n.tenant_id and b.node_id = n.id
        left join public.users u on u.tenant_id = n.tenant_id and u.id = n.author_id
        left join public.categories c on c.tenant_id = n.tenant_id and c.id = n.category_id);
end
$$;

create or replace function rustok.node_by_id(id uuid) returns jsonb
language plpgsql stable as $$
/* One node (ContentNode) by id, or null when there is none the current user may read. Raises
   MODULE_DISABLED, TENANT_REQUIRED. */
declare
    n public.nodes;
begin
    perform rustok.require_module('content');
    select * into n from public.nodes x where x.tenant_id = rustok.current_tenant_id() and x.id = node_by_id.id;
    return case when rustok._node_visible(n) then rustok._node_json(n) end;
end
$$;

create or replace function rustok.node_by_slug(kind text, slug text) returns jsonb
language plpgsql stable as $$
/* One node (ContentNode) by kind and slug, or null when there is none the current user may read. Raises
   VALIDATION_FAILED for an unknown kind, MODULE_DISABLED, TENANT_REQUIRED. */
declare
    n public.nodes;
    node_kind text;
begin
    perform rustok.require_module('content');
    node_kind := rustok._input_choice(to_jsonb(kind), 'kind', '{page,post,comment}', required => true);
    select * into n from public.nodes x
    where x.tenant_id = rustok.current_tenant_id() and x.kind = node_kind and x.slug = node_by_slug.slug;
    return case when rustok._node_visible(n) then rustok._node_json(n) end;
end
$$;

create or replace function rustok.list_nodes(first int default 20, after text default null, filter jsonb default null)
returns jsonb
language plpgsql stable as $$
/* Nodes the current user may read, newest first, as a connection (cursor = node id). filter: {kind, status,
   categoryId, tag (a tag's slug or name), authorId}; without a kind, pages and posts (comments are listed
   per post by list_comments). The page's ids come from a statement planned for this call's values (EXECUTE
   with a constant text and USING), so each filter combination gets its own index.
   Raises VALIDATION_FAILED (unknown filter field, kind or status; page size), INVALID_ID, MODULE_DISABLED. */
declare
    tenant uuid := rustok.current_tenant_id();
    page int;
    after_id uuid;
    f jsonb;
    ids uuid[];
    result jsonb;
begin
    perform rustok.require_module('content');
    page := rustok._page_size(first);
    after_id := rustok._page_after(after);
    f := rustok._input_object(filter, 'filter', allowed => '{kind,status,categoryId,tag,authorId}');
    execute $page$
        select coalesce(array_agg(n.id order by n.id desc), '{}') from (
            select n.id from public.nodes n
            where n.tenant_id = $1
              and (n.kind = $2 or ($2 is null and n.kind <> 'comment'))
              and ($3 is null or n.status = $3)
              and ($4 is null or n.category_id = $4)
              and ($5 is null or n.author_id = $5)
              and ($6 is null or exists (
                      select 1 from public.node_tags nt
                      join public.tags t on t.tenant_id = nt.tenant_id and t.id = nt.tag_id
                      where nt.tenant_id = $1 and nt.node_id = n.id and t.slug = $6))
              and ($7 is null or n.id < $7)
              and ($8                                             -- content.manage sees everything
                   or case when n.kind <> 'comment'               -- rustok._node_visible's rule, per row
                           then rustok._node_readable(n.status, n.published_at, n.author_id, false)
                           else exists (
                               select 1 from public.nodes r
                               where r.tenant_id = $1 and r.id = n.root_id
                                 and rustok._node_readable(r.status, r.published_at, r.author_id, false)
                                 and (rustok._sees_all_comments(r)
                                      or (rustok._node_is_live(n.status, n.published_at)
                                          and rustok._comment_path_visible(n)))) end)
            order by n.id desc
            limit $9) n
    $page$
    into ids
    using tenant,
          rustok._input_choice(f -> 'kind', 'filter.kind', '{page,post,comment}'),
          rustok._input_choice(f -> 'status', 'filter.status', '{draft,published,archived}'),
          rustok._input_id(f -> 'categoryId', 'filter.categoryId'),
          rustok._input_id(f -> 'authorId', 'filter.authorId'),
          rustok._slugify(rustok._input_text(f -> 'tag', 'filter.tag', 64), 64),
          after_id,
          rustok.has_permission('content.manage'),
          page + 1;
    select coalesce(jsonb_agg(rustok._node_json(n) order by n.id desc), '[]'::jsonb) into result
    from public.nodes n
    where n.tenant_id = tenant and n.id = any (ids[1:page]);
    return rustok._connection(result, cardinality(ids) > page, after);
end
$$;
