-- Permissions: roles are tenant-scoped (users.role); what a role may do is data (role_permissions).

create or replace function rustok.has_permission(permission text) returns boolean
language sql stable parallel safe as $$
    /* True when the transaction's role holds the permission; operators (psql as owner) hold all. */
    select rustok.is_operator() or exists (
        select 1 from public.role_permissions rp
        where rp.role = rustok.current_user_role() and rp.permission = has_permission.permission)
$$;

create or replace function rustok.require_permission(permission text) returns void
language plpgsql stable parallel safe as $$
/* Raises UNAUTHENTICATED when nobody is signed in, FORBIDDEN when the role lacks the permission. */
begin
    if rustok.has_permission(permission) then
        return;
    end if;
    if rustok.current_user_id() is null then
        perform rustok.raise('UNAUTHENTICATED', 'sign in first', jsonb_build_object('permission', permission));
    end if;
    perform rustok.raise('FORBIDDEN', 'permission required', jsonb_build_object('permission', permission));
end
$$;
