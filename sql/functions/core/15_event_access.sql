-- Event streams (SSE, GraphQL subscriptions): who may read a tenant's events, and a subscriber's catch-up
-- read. The relay reads every tenant's events with rustok.read_events and delivers each only to the
-- subscribers of its tenant; a subscriber that resumes or falls behind reads its own tenant's here.

create or replace function rustok.authorize_event_stream() returns uuid
language plpgsql stable as $$
/* Checks that the current user may stream the current tenant's events (permission events.read) and returns
   the tenant. Raises UNAUTHENTICATED when nobody is signed in, FORBIDDEN without the permission,
   TENANT_REQUIRED without a tenant, TENANT_INACTIVE for a switched-off tenant, and UNAUTHENTICATED
   (details.reason = 'user') when the signed-in user no longer exists or is disabled. */
declare
    tenant uuid;
begin
    perform rustok.require_permission('events.read');
    tenant := rustok.require_tenant();
    if not exists (select 1 from public.tenants t where t.id = tenant and t.is_active) then
        perform rustok.raise('TENANT_INACTIVE', 'the tenant is switched off');
    end if;
    if rustok.current_user_id() is not null and not exists (
            select 1 from public.users u
            where u.tenant_id = tenant and rustok.is_current_user(u.id) and u.status = 'active') then
        perform rustok.raise('UNAUTHENTICATED', 'no such active user', jsonb_build_object('reason', 'user'));
    end if;
    return tenant;
end
$$;

create or replace function rustok.read_tenant_events(after_commit_seq bigint, after_position bigint,
                                                     max_count int default 100)
returns table (commit_seq bigint, "position" bigint, id uuid, tenant_id uuid, actor_id uuid, type text, data jsonb,
               occurred_at timestamptz)
language sql stable as $$
    /* The current tenant's committed events after a cursor, in commit order (rustok.read_events for this
       tenant only), after rustok.authorize_event_stream(): it raises what that raises. */
    select * from rustok.read_events(after_commit_seq, after_position, max_count, rustok.authorize_event_stream())
$$;
