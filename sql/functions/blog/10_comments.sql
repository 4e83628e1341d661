-- Blog comments: threaded comments on posts (content nodes of kind 'comment'; content's triggers keep their
-- thread columns and reply counters), moderation, and the thread read in one query in thread order.
-- Who sees what: approved comments under a post the reader may read, plus their own; everything for
-- content.manage and for the post's author with comments.moderate. A comment hidden from a reader hides
-- its replies too. Events: NodeCreated and CommentAdded, CommentModerated (NodeDeleted comes from content).

create or replace function rustok._comment_json(
    id text, post text, parent text, author text, author_name text, body text, depth int, "position" int,
    reply_count int, moderation text, created_at timestamptz, updated_at timestamptz)
returns json
language sql immutable parallel safe as $$
    /* The Comment response from its parts (ids as ULID text; parent null for a comment on the post). json,
       not jsonb: a thread of 10,000 is built four times faster, and keys keep this order. */
    select json_build_object(
        'id', id, 'nodeId', post, 'parentId', parent, 'authorId', author, 'authorName', author_name,
        'body', coalesce(body, ''), 'depth', depth, 'position', "position", 'replyCount', reply_count,
        'moderation', moderation, 'createdAt', created_at, 'updatedAt', updated_at)
$$;

create or replace function rustok._comments_json(tenant uuid, post uuid, comments public.nodes[]) returns json
language sql stable as $$
    /* Comment responses for comments of one post, as a JSON array in the order given. One statement: each
       ULID is made once (a comment's own is reused as its replies' parentId, an author's for all their
       comments), bodies and author names are joined. */
    with c as materialized (
        select x.*, rustok.ulid(x.id) as ulid from unnest(comments) with ordinality as x
    ), authors as (
        select a.author_id, rustok.ulid(a.author_id) as ulid, u.display_name
        from (select distinct c.author_id from c where c.author_id is not null) a
        left join public.users u on u.tenant_id = tenant and u.id = a.author_id
    )
    select coalesce(json_agg(rustok._comment_json(
               c.ulid, (select rustok.ulid(post)),
               case when c.parent_id <> c.root_id then coalesce(p.ulid, rustok.ulid(c.parent_id)) end,
               a.ulid, a.display_name, b.body, c.depth, c.position, c.reply_count, c.moderation, c.created_at,
               c.updated_at) order by c.ordinality), '[]'::json)
    from c
    left join c p on p.id = c.parent_id
    left join authors a on a.author_id = c.author_id
    left join public.bodies b on b.tenant_id = tenant and b.node_id = c.id
$$;

create or replace function rustok._visible_thread(tenant uuid, post uuid, see_all boolean)
returns setof public.nodes
language sql stable as $$
    /* The post's comments the reader may see, in thread order, in one statement. A comment is visible when
       see_all, approved, or the reader's own, and no comment above it is hidden: a running maximum, over
       the hidden comments before it, of the end of each one's subtree (path || '~') says whether it lies
       inside one. */
    select w.tenant_id, w.id, w.parent_id, w.root_id, w.author_id, w.kind, w.title, w.slug, w.excerpt,
           w.category_id, w.status, w.moderation, w.position, w.depth, w.reply_count, w.path, w.meta_title,
           w.meta_description, w.metadata, w.created_at, w.updated_at, w.published_at
    from (
        select x.*, rustok._comment_shown(x.moderation, x.author_id, see_all) as visible,
               max(case when not rustok._comment_shown(x.moderation, x.author_id, see_all) then x.path || '~' end)
                   over (order by x.path rows between unbounded preceding and 1 preceding) as hidden_until
        from public.nodes x
        where x.tenant_id = tenant and x.root_id = post  -- only comments have a root_id (the trigger sees to it)
    ) w
    where w.visible and (w.hidden_until is null or w.path >= w.hidden_until)
$$;

create or replace function rustok._commentable_post(post_id uuid) returns public.nodes
language plpgsql stable as $$
/* The post a comment request names, when the current user may read it. Raises NOT_FOUND (details.field
   'nodeId'). */
declare
    post public.nodes;
begin
    select * into post from public.nodes p where p.tenant_id = rustok.current_tenant_id() and p.id = post_id;
    if post.kind is distinct from 'post' or not rustok._node_visible(post) then
        perform rustok.raise('NOT_FOUND', 'no such post', jsonb_build_object('field', 'nodeId'));
    end if;
    return post;
end
$$;

create or replace function rustok._comments_need_approval(tenant uuid) returns boolean
language sql stable as $$
    /* The tenant's blog setting commentsNeedApproval (tenant_modules.settings); true unless set to false. */
    select coalesce((select tm.settings -> 'commentsNeedApproval' <> 'false'::jsonb
                     from public.tenant_modules tm where tm.tenant_id = tenant and tm.module_slug = 'blog'), true)
$$;

create or replace function rustok._check_comment_rate(tenant uuid) returns void
language plpgsql stable as $$
/* The per-user rate of new comments: at most the tenant's blog setting commentsPerMinute (default 10) in
   the last minute, for a user without comments.moderate (moderators are not limited). Each comment is
   rendered on every view of its post, so one account must not pour thousands of them in. Raises
   RATE_LIMITED (details.retryAfter: seconds until the oldest of them leaves the minute). */
declare
    allowed int := coalesce((select (tm.settings ->> 'commentsPerMinute')::int from public.tenant_modules tm
                             where tm.tenant_id = tenant and tm.module_slug = 'blog'
                               and jsonb_typeof(tm.settings -> 'commentsPerMinute') = 'number'), 10);
    recent int;
    oldest timestamptz;
begin
    if rustok.has_permission('comments.moderate') then
        return;
    end if;
    select count(*), min(n.created_at) into recent, oldest from (
        select x.created_at from public.nodes x
        where x.tenant_id = tenant and rustok.is_current_user(x.author_id) and x.kind = 'comment'
          and x.created_at > now() - interval '1 minute'
        limit allowed) n;
    if recent >= allowed then
        perform rustok.raise('RATE_LIMITED', 'too many comments; wait a moment', jsonb_build_object(
            'field', 'body', 'limit', allowed,
            'retryAfter', greatest(1, ceil(extract(epoch from oldest + interval '1 minute' - now()))::int)));
    end if;
end
$$;

create or replace function rustok.list_comments(node_id uuid, first int default 20, after text default null)
returns jsonb
language plpgsql stable as $$
/* A post's comments the current user may see, in thread order, as a connection (cursor = comment id). Reads
   the thread in path order from the cursor, in batches, and stops when the page is full, so a page costs
   what it shows (plus what it skips), however long the thread: a hidden comment above the cursor is found
   among the cursor's own ancestors, and a hidden comment met on the way hides its subtree (the range up to
   path || '~'). Raises NOT_FOUND (no post the user may read; details.field 'nodeId', or 'after' for a cursor
   that is not a comment of this post), INVALID_ID, VALIDATION_FAILED (page size), MODULE_DISABLED. */
declare
    tenant uuid := rustok.current_tenant_id();
    post public.nodes;
    see_all boolean;
    page int;
    batch int;
    last_path text collate "C";
    hidden_until text collate "C";
    x public.nodes;
    fetched int;
    shown public.nodes[] := '{}';
begin
    perform rustok.require_module('blog');
    page := rustok._page_size(first);
    batch := page + 50;
    post := rustok._commentable_post(node_id);
    see_all := rustok._sees_all_comments(post);
    if after is not null then
        select t.path into last_path from public.nodes t
        where t.tenant_id = tenant and t.root_id = post.id and t.id = rustok._page_after(after);
        if not found then
            perform rustok.raise('NOT_FOUND', 'no such comment on this post', jsonb_build_object('field', 'after'));
        end if;
        select max(a.path || '~') into hidden_until from public.nodes a
        where a.tenant_id = tenant and a.root_id = post.id
          and a.path in (select left(last_path, k) from generate_series(8, length(last_path), 8) k)
          and not rustok._comment_shown(a.moderation, a.author_id, see_all);
    end if;
    <<pages>>
    loop
        fetched := 0;
        for x in
            select * from public.nodes t
            where t.tenant_id = tenant and t.root_id = post.id and (last_path is null or t.path > last_path)
            order by t.path
            limit batch
        loop
            fetched := fetched + 1;
            last_path := x.path;
            continue when hidden_until is not null and x.path < hidden_until;
            if not rustok._comment_shown(x.moderation, x.author_id, see_all) then
                hidden_until := x.path || '~';
                continue;
            end if;
            shown := shown || x;
            exit pages when cardinality(shown) > page;
        end loop;
        exit when fetched < batch;
    end loop;
    return rustok._connection(rustok._comments_json(tenant, post.id, shown[1:page])::jsonb, cardinality(shown) > page,
                              after);
end
$$;

create or replace function rustok.comment_tree(node_id uuid) returns json
language plpgsql stable as $$
/* A post's whole comment tree the current user may see, in thread order, as one JSON array of Comment,
   built by one statement (each comment's depth says how far to indent it). json rather than jsonb: it is
   built for sending, four times faster for a large thread. Raises NOT_FOUND, MODULE_DISABLED. */
declare
    tenant uuid := rustok.current_tenant_id();
    post public.nodes;
    see_all boolean;
begin
    perform rustok.require_module('blog');
    post := rustok._commentable_post(node_id);
    see_all := rustok._sees_all_comments(post);
    return rustok._comments_json(tenant, post.id, array(
        select v from rustok._visible_thread(tenant, post.id, see_all) v order by v.path));
end
$$;

create or replace function rustok.add_comment(node_id uuid, parent_id uuid, body text) returns jsonb
language plpgsql volatile as $$
/* Adds a comment to a live post, or a reply to one of its comments the user can see (parent_id). Customers'
   comments wait for approval ('pending') when the tenant's blog setting commentsNeedApproval is on (the
   default); comments of users with comments.moderate are approved at once. Emits NodeCreated and
   CommentAdded. Returns the Comment. Raises UNAUTHENTICATED/FORBIDDEN (comments.write), NOT_FOUND (post or
   parent comment; details.field), NOT_PUBLISHED (the post is a draft, archived or scheduled),
   VALIDATION_FAILED (body: 1 to 10,000 characters; a thread deeper than 50), RATE_LIMITED (more than the
   blog setting commentsPerMinute, default 10, in the last minute: rustok._check_comment_rate),
   MODULE_DISABLED. */
declare
    tenant uuid := rustok.current_tenant_id();
    post public.nodes;
    parent public.nodes;
    text_ text;
    c public.nodes;
begin
    perform rustok.require_module('blog');
    perform rustok.require_permission('comments.write');
    text_ := rustok._input_text(to_jsonb(body), 'body', 10000, required => true);
    perform rustok._check_comment_rate(tenant);
    post := rustok._commentable_post(node_id);
    if not rustok._node_is_live(post.status, post.published_at) then
        perform rustok.raise('NOT_PUBLISHED', 'comments open once the post is published and its time has come',
                             jsonb_build_object('field', 'nodeId', 'status', post.status));
    end if;
    if add_comment.parent_id is not null then
        select * into parent from public.nodes p
        where p.tenant_id = tenant and p.id = add_comment.parent_id and p.root_id = post.id and p.kind = 'comment';
        if parent.id is null or not rustok._node_visible(parent) then
            perform rustok.raise('NOT_FOUND', 'no such comment on this post', jsonb_build_object('field', 'parentId'));
        end if;
    end if;
    insert into public.nodes (tenant_id, kind, parent_id, author_id, status, published_at, moderation)
    values (tenant, 'comment', coalesce(add_comment.parent_id, post.id), rustok.current_user_id(), 'published', now(),
            case when rustok.has_permission('comments.moderate') or not rustok._comments_need_approval(tenant)
                 then 'approved' else 'pending' end)
    returning * into c;
    insert into public.bodies (tenant_id, node_id, body, format) values (tenant, c.id, text_, 'markdown');
    perform rustok.publish_event('NodeCreated', jsonb_build_object(
        'node_id', rustok.ulid(c.id), 'kind', c.kind, 'author_id', rustok.ulid(c.author_id)));
    perform rustok.publish_event('CommentAdded', jsonb_build_object(
        'comment_id', rustok.ulid(c.id), 'node_id', rustok.ulid(post.id),
        'parent_id', rustok.ulid(add_comment.parent_id), 'author_id', rustok.ulid(c.author_id), 'moderation', c.moderation));
    return (rustok._comments_json(tenant, post.id, array[c]) -> 0)::jsonb;
end
$$;

create or replace function rustok.moderate_comment(id uuid, status text) returns jsonb
language plpgsql volatile as $$
/* Sets a comment's moderation status (pending, approved, spam); the parent's reply_count follows (a trigger).
   Needs comments.moderate, and content.manage unless the comment is on the moderator's own post. Emits
   CommentModerated when it changed. Returns the Comment. Raises UNAUTHENTICATED/FORBIDDEN, NOT_FOUND,
   VALIDATION_FAILED (unknown status), MODULE_DISABLED. */
declare
    tenant uuid := rustok.current_tenant_id();
    c public.nodes;
    post public.nodes;
    previous text;
    new_status text;
begin
    perform rustok.require_module('blog');
    perform rustok.require_permission('comments.moderate');
    new_status := rustok._input_choice(to_jsonb(status), 'status', '{pending,approved,spam}', required => true);
    select * into c from public.nodes x
    where x.tenant_id = tenant and x.id = moderate_comment.id and x.kind = 'comment'
    for update;
    if found then
        select * into post from public.nodes p where p.tenant_id = tenant and p.id = c.root_id;
    end if;
    if c.id is null or not rustok._node_visible(post) then
        perform rustok.raise('NOT_FOUND', 'no such comment', jsonb_build_object('id', rustok.ulid(moderate_comment.id)));
    end if;
    if not rustok.has_permission('content.manage') and not rustok.is_current_user(post.author_id) then
        perform rustok.raise('FORBIDDEN', 'only the post''s author or a content manager moderates its comments',
                             jsonb_build_object('permission', 'content.manage'));
    end if;
    previous := c.moderation;
    if previous <> new_status then
        update public.nodes x set moderation = new_status
        where x.tenant_id = tenant and x.id = c.id
        returning * into c;
        perform rustok.publish_event('CommentModerated', jsonb_build_object(
            'comment_id', rustok.ulid(c.id), 'node_id', rustok.ulid(post.id), 'status', c.moderation,
            'previous', previous));
    end if;
    return (rustok._comments_json(tenant, post.id, array[c]) -> 0)::jsonb;
end
$$;
