-- Tags: made by naming them on a node (createNode/updateNode tags); listed here for editors and readers.

create or replace function rustok.list_tags() returns jsonb
language plpgsql stable as $$
/* The tenant's tags by name, each with nodeCount: how many pages and posts carry it that the caller may
   read (rustok._node_readable: every one for content.manage; live ones, and a signed-in author's own, for
   everybody else). Only content.manage sees a tag no readable node carries, so a draft's or a scheduled
   post's tag stays unknown until the post is live. Raises MODULE_DISABLED, TENANT_REQUIRED. */
declare
    tenant uuid := rustok.current_tenant_id();
    see_all boolean;
begin
    perform rustok.require_module('content');
    see_all := rustok.has_permission('content.manage');
    return (
        select coalesce(jsonb_agg(jsonb_build_object('id', rustok.ulid(t.id), 'name', t.name, 'slug', t.slug,
                                                     'nodeCount', t.node_count)
                                  order by lower(t.name), t.id), '[]'::jsonb)
        from (select t.id, t.name, t.slug,
                     (select count(*) from public.node_tags nt
                      join public.nodes n on n.tenant_id = nt.tenant_id and n.id = nt.node_id
                      where nt.tenant_id = tenant and nt.tag_id = t.id and n.kind in ('page', 'post')
                        and rustok._node_readable(n.status, n.published_at, n.author_id, see_all)) as node_count
              from public.tags t where t.tenant_id = tenant) t
        where see_all or t.node_count > 0);
end
$$;
