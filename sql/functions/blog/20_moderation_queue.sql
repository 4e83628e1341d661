-- The moderation queue: pending comments across every post, for the admin's comment moderation screen and
-- its dashboard count.

create or replace function rustok.list_pending_comments(first int default 20, after text default null)
returns jsonb
language plpgsql stable as $$
/* Pending comments the current user may moderate, oldest first, as a connection (cursor = comment id) with
   totalCount: every pending comment for content.manage, those on the user's own posts otherwise. Each node
   is a Comment plus postTitle. Needs comments.moderate. Raises UNAUTHENTICATED/FORBIDDEN, MODULE_DISABLED,
   INVALID_ID (cursor), VALIDATION_FAILED (page size). */
declare
    tenant uuid := rustok.current_tenant_id();
    see_all boolean;
    page int;
    after_id uuid;
    nodes jsonb;
    total bigint;
begin
    perform rustok.require_module('blog');
    perform rustok.require_permission('comments.moderate');
    page := rustok._page_size(first);
    after_id := rustok._page_after(after);
    see_all := rustok.has_permission('content.manage');
    with queue as materialized (
        select c.*, p.title as post_title
        from public.nodes c
        join public.nodes p on p.tenant_id = c.tenant_id and p.id = c.root_id
        where c.tenant_id = tenant and c.moderation = 'pending'
          and (see_all or rustok.is_current_user(p.author_id)))
    select (select count(*) from queue),
           coalesce(jsonb_agg(rustok._comment_json(
               rustok.ulid(q.id), rustok.ulid(q.root_id),
               case when q.parent_id <> q.root_id then rustok.ulid(q.parent_id) end,
               rustok.ulid(q.author_id), u.display_name, b.body, q.depth, q.position, q.reply_count,
               q.moderation, q.created_at, q.updated_at)::jsonb || jsonb_build_object('postTitle', q.post_title)
               order by q.id), '[]'::jsonb)
    into total, nodes
    from (select * from queue where after_id is null or queue.id > after_id order by queue.id limit page + 1) q
    left join public.users u on u.tenant_id = tenant and u.id = q.author_id
    left join public.bodies b on b.tenant_id = tenant and b.node_id = q.id;
    return rustok._page_connection(nodes, page, after) || jsonb_build_object('totalCount', total);
end
$$;
