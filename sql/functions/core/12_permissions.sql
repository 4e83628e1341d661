-- Permissions: roles are tenant-scoped (users.role); what a role may do is data (role_permissions).

create or replace function rustok.has_permission(permission text) returns boolean
language plpgsql stable parallel safe as $$
/* True when the transaction's role holds the permission; operators (psql as owner) hold all. PL/pgSQL so
   the lookup's plan is kept for the session (a SQL function with a sub-select is planned at every call, and
   the tenants policy calls this in every statement reading tenants); operators return before it, so it is
   only ever run outside SECURITY DEFINER functions, whose own search_path would make the kept plan
   replanned at each switch. */
begin
    if rustok.is_operator() then
        return true;
    end if;
    return exists (select 1 from public.role_permissions rp
                   where rp.role = rustok.current_user_role() and rp.permission = has_permission.permission);
end
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
