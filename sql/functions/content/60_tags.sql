-- Tags: made by naming them on a node (createNode/updateNode tags); listed here for editors and readers.

create or replace function rustok.list_tags() returns jsonb
language plpgsql stable as $$
/* The tenant's tags by name, each with nodeCount: how many pages and posts carry it that the caller may
   read in bulk (every node for content.manage, live ones for everybody else). Raises MODULE_DISABLED. */
declare
    tenant uuid := rustok.current_tenant_id();
    see_all boolean := rustok.has_permission('content.manage');
begin
    perform rustok.require_module('content');
    return (
        select coalesce(jsonb_agg(jsonb_build_object(
                   'id', rustok.ulid(t.id), 'name', t.name, 'slug', t.slug,
                   'nodeCount', (select count(*) from public.node_tags nt
                                 join public.nodes n on n.tenant_id = nt.tenant_id and n.id = nt.node_id
                                 where nt.tenant_id = tenant and nt.tag_id = t.id
                                   and (see_all or rustok._node_is_live(n.status, n.published_at))))
                   order by lower(t.name), t.id), '[]'::jsonb)
        from public.tags t where t.tenant_id = tenant);
end
$$;
