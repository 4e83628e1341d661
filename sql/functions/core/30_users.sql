-- Users as the API shows them: the current user, the tenant's user list (keyset-paginated, 25_pagination.sql),
-- role and status changes and users created by an admin, under one super_admin rule.

create or replace function rustok._user_json(u public.users) returns jsonb
language sql stable parallel safe as $$
    /* The UserResponse shape (never the password hash). */
    select jsonb_build_object(
        'id', rustok.ulid(u.id), 'email', u.email, 'role', u.role, 'status', u.status,
        'displayName', u.display_name, 'createdAt', u.created_at, 'updatedAt', u.updated_at)
$$;

create or replace function rustok._display_name(value text) returns text
language sql immutable parallel safe as $$
    /* The name a user shows to others (comment authors, the moderation queue): trimmed, null when empty, at
       most 255 characters. Raises VALIDATION_FAILED (displayName). */
    select rustok._input_text(to_jsonb(value), 'displayName', 255)
$$;

create or replace function rustok._role_field(role text) returns text
language sql stable as $$
    /* A role's slug (any case) as the roles table has it. Raises VALIDATION_FAILED (field role, reason
       required or not_allowed with the roles allowed). */
    select rustok._input_choice(to_jsonb(role), 'role', array(select r.slug::text from public.roles r order by r.slug),
                                required => true)
$$;

create or replace function rustok.set_display_name(display_name text) returns jsonb
language plpgsql volatile as $$
/* The signed-in user changes the name others see (empty removes it); emits UserUpdated {user_id}. Raises
   UNAUTHENTICATED, VALIDATION_FAILED (displayName). Returns the UserResponse. */
declare
    account public.users;
    new_name text := rustok._display_name(set_display_name.display_name);
begin
    perform rustok.require_tenant();
    update public.users u set display_name = new_name, updated_at = now()
    where u.tenant_id = rustok.current_tenant_id() and rustok.is_current_user(u.id)
    returning * into account;
    if account.id is null then
        perform rustok.raise('UNAUTHENTICATED', 'sign in first');
    end if;
    perform rustok.publish_event('UserUpdated', jsonb_build_object('user_id', rustok.ulid(account.id)));
    return rustok._user_json(account);
end
$$;

create or replace function rustok.me() returns jsonb
language sql stable as $$
    /* The signed-in user, or null for an anonymous request. */
    select rustok._user_json(u) from public.users u
    where u.tenant_id = rustok.current_tenant_id() and rustok.is_current_user(u.id)
$$;

create or replace function rustok.current_tenant() returns jsonb
language sql stable as $$
    /* The request's tenant (TenantResponse), or null when none is set. */
    select rustok._tenant_json(t) from public.tenants t where t.id = rustok.current_tenant_id()
$$;

create or replace function rustok.list_users(first int default 20, after text default null) returns jsonb
language plpgsql stable as $$
/* The tenant's users, oldest first, as a connection (cursor = user id). Needs users.read; raises
   FORBIDDEN/UNAUTHENTICATED, INVALID_ID for a bad cursor, VALIDATION_FAILED for a bad page size. */
declare
    page int;
    after_id uuid;
    nodes jsonb;
begin
    perform rustok.require_tenant();
    perform rustok.require_permission('users.read');
    page := rustok._page_size(first);
    after_id := rustok._page_after(after);
    select coalesce(jsonb_agg(rustok._user_json(u) order by u.id), '[]'::jsonb)
    into nodes
    from (select * from public.users u
          where u.tenant_id = rustok.current_tenant_id() and (after_id is null or u.id > after_id)
          order by u.id limit page + 1) u;
    return rustok._page_connection(nodes, page, after);
end
$$;

create or replace function rustok._require_super_admin_for(variadic roles text[]) returns void
language plpgsql stable as $$
/* The platform rule for super_admin: only a super_admin (or an operator) grants, takes or creates that role.
   Raises FORBIDDEN (details.permission 'super_admin') when one of the roles is super_admin and the caller
   is neither. */
begin
    if 'super_admin' = any (roles) and not rustok.is_operator()
       and rustok.current_user_role() is distinct from 'super_admin' then
        perform rustok.raise('FORBIDDEN', 'only a super_admin grants or takes super_admin',
                             jsonb_build_object('permission', 'super_admin'));
    end if;
end
$$;

create or replace function rustok._other_user_for_update(user_id uuid) returns public.users
language plpgsql volatile as $$
/* A user of the current tenant whose role or status an admin is about to change, locked for the change.
   Raises NOT_FOUND, and FORBIDDEN (details.field 'userId') for the caller themselves: nobody changes their
   own role or switches themselves off. */
declare
    target public.users;
begin
    select * into target from public.users u
    where u.tenant_id = rustok.current_tenant_id() and u.id = _other_user_for_update.user_id
    for update;
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such user', jsonb_build_object('userId', rustok.ulid(user_id)));
    end if;
    if rustok.is_current_user(target.id) then
        perform rustok.raise('FORBIDDEN', 'you cannot change your own account this way',
                             jsonb_build_object('field', 'userId'));
    end if;
    return target;
end
$$;

create or replace function rustok.set_user_role(user_id uuid, role text) returns jsonb
language plpgsql volatile as $$
/* Changes a user's role, in force from the user's next statement on (rustok.set_context reads it); emits
   UserRoleChanged (the users trigger). Needs users.manage; only a super_admin grants or takes super_admin;
   nobody changes their own role. Raises FORBIDDEN, NOT_FOUND, VALIDATION_FAILED. */
declare
    target public.users;
    new_role text;
begin
    perform rustok.require_tenant();
    perform rustok.require_permission('users.manage');
    new_role := rustok._role_field(set_user_role.role);
    target := rustok._other_user_for_update(set_user_role.user_id);
    perform rustok._require_super_admin_for(target.role, new_role);
    update public.users u set role = new_role
    where u.tenant_id = target.tenant_id and u.id = target.id
    returning * into target;
    return rustok._user_json(target);
end
$$;

create or replace function rustok.set_user_status(user_id uuid, status text) returns jsonb
language plpgsql volatile as $$
/* Switches a user on ('active') or off ('disabled'). Off takes effect at once, in every process
   (rustok.set_context refuses the user from the next statement on: access tokens, open event streams), and
   revokes every refresh token of theirs (UserSessionsRevoked, reason 'disabled'): switched on again, they
   sign in again. Emits UserStatusChanged (the users trigger) when the status changes. Needs users.manage;
   only a super_admin switches a super_admin; nobody switches themselves. Raises UNAUTHENTICATED/FORBIDDEN,
   NOT_FOUND, VALIDATION_FAILED (status), TENANT_REQUIRED. Returns the UserResponse. */
declare
    target public.users;
    new_status text;
begin
    perform rustok.require_tenant();
    perform rustok.require_permission('users.manage');
    new_status := rustok._input_choice(to_jsonb(set_user_status.status), 'status', '{active,disabled}', true);
    target := rustok._other_user_for_update(set_user_status.user_id);
    perform rustok._require_super_admin_for(target.role);
    if target.status is distinct from new_status then
        update public.users u set status = new_status
        where u.tenant_id = target.tenant_id and u.id = target.id
        returning * into target;
    end if;
    if target.status = 'disabled' and rustok._revoke_refresh_tokens(user_id => target.id) > 0 then
        perform rustok.publish_event('UserSessionsRevoked',
                                     jsonb_build_object('user_id', rustok.ulid(target.id), 'reason', 'disabled'));
    end if;
    return rustok._user_json(target);
end
$$;

create or replace function rustok.user_by_id(user_id uuid) returns jsonb
language plpgsql stable as $$
/* One user of the tenant by id (a primary-key lookup): yourself always, anyone with users.read.
   Null when there is no such user in this tenant. Raises UNAUTHENTICATED/FORBIDDEN. */
begin
    if not rustok.is_current_user(user_id) then
        perform rustok.require_permission('users.read');
    end if;
    return (select rustok._user_json(u) from public.users u
            where u.tenant_id = rustok.current_tenant_id() and u.id = user_id);
end
$$;

create or replace function rustok.create_user(email text, password_hash text, role text default 'customer',
                                              display_name text default null)
returns jsonb
language plpgsql volatile as $$
/* Creates a user of the current tenant with a role (an admin inviting a colleague); the password is hashed
   by the caller (Python's argon2id, as for registration). Emits UserRegistered. Needs users.manage; only a
   super_admin creates a super_admin. Raises UNAUTHENTICATED/FORBIDDEN, VALIDATION_FAILED (email, password,
   role, displayName), CONFLICT (email taken), TENANT_REQUIRED. */
declare
    user_id uuid;
    account public.users;
    new_role text;
    new_name text;
begin
    perform rustok.require_tenant();
    perform rustok.require_permission('users.manage');
    new_role := rustok._role_field(create_user.role);
    new_name := rustok._display_name(create_user.display_name);
    perform rustok._require_super_admin_for(new_role);
    user_id := rustok._insert_user(email, password_hash, new_role);
    update public.users u set display_name = new_name
    where u.tenant_id = rustok.current_tenant_id() and u.id = user_id
    returning * into account;
    return rustok._user_json(account);
end
$$;
