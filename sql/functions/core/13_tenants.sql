-- Tenants: creation (with an optional first admin), switching on and off, listing, lookup by slug.

create or replace function rustok._tenant_json(t public.tenants) returns jsonb
language sql stable parallel safe as $$
    /* The TenantResponse shape. */
    select jsonb_build_object(
        'id', rustok.ulid(t.id), 'slug', t.slug, 'name', t.name, 'isActive', t.is_active,
        'settings', t.settings, 'createdAt', t.created_at, 'updatedAt', t.updated_at)
$$;

create or replace function rustok.create_tenant(
    slug text, name text, admin_email text default null, admin_password_hash text default null)
returns jsonb
language plpgsql volatile as $$
/* Creates a tenant, enables every installed module in dependency order (ModuleEnabled each), optionally
   with a first user of role admin, and emits TenantCreated (and UserRegistered for the admin). Operators and super_admins only.
   Raises FORBIDDEN, VALIDATION_FAILED (slug, name, email), CONFLICT (slug taken). The caller's context is
   restored afterwards. */
declare
    caller_tenant text := current_setting('rustok.tenant_id', true);
    caller_user text := current_setting('rustok.user_id', true);
    caller_role text := current_setting('rustok.role', true);
    new_tenant public.tenants;
    new_slug text;
    new_name text;
    admin_id uuid;
    module text;
begin
    perform rustok.require_permission('tenants.manage');
    new_slug := rustok._input_text(to_jsonb(create_tenant.slug), 'slug', 64, required => true);
    new_name := rustok._input_text(to_jsonb(create_tenant.name), 'name', 255, required => true);
    if new_slug !~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$' then  -- the tenants CHECK: a host-name label
        perform rustok._input_invalid('slug', 'format', 'lowercase letters, digits and dashes, at most 64');
    end if;
    if (admin_email is null) <> (admin_password_hash is null) then
        perform rustok._input_invalid('adminEmail', 'required', 'admin email and password go together');
    end if;
    perform set_config('rustok.tenant_id', rustok.gen_id()::text, true);  -- not set_context: no such tenant yet
    insert into public.tenants (id, slug, name)
    values (rustok.current_tenant_id(), new_slug, new_name)
    on conflict on constraint tenants_slug_key do nothing
    returning * into new_tenant;
    if new_tenant.id is null then
        perform rustok.raise('CONFLICT', 'tenant slug taken', jsonb_build_object('field', 'slug'));
    end if;

    for module in select m.slug from rustok._modules_in_dependency_order() m loop
        insert into public.tenant_modules (tenant_id, module_slug, enabled) values (new_tenant.id, module, true);
    end loop;

    perform rustok.publish_event('TenantCreated', jsonb_build_object('tenant_id', rustok.ulid(new_tenant.id)));
    if admin_email is not null then
        admin_id := rustok._insert_user(admin_email, admin_password_hash, 'admin');
    end if;

    perform set_config('rustok.tenant_id', coalesce(caller_tenant, ''), true),
            set_config('rustok.user_id', coalesce(caller_user, ''), true),
            set_config('rustok.role', coalesce(caller_role, ''), true);
    return rustok._tenant_json(new_tenant)
        || jsonb_build_object('adminUserId', case when admin_id is not null then rustok.ulid(admin_id) end);
end
$$;

create or replace function rustok._insert_user(email text, password_hash text, role text) returns uuid
language plpgsql volatile as $$
/* Inserts a user into the current tenant and emits UserRegistered. Raises VALIDATION_FAILED, CONFLICT. */
declare
    normalized text := rustok._input_email(to_jsonb(email), 'email', required => true);
    user_id uuid;
begin
    if coalesce(password_hash, '') = '' then
        perform rustok._input_invalid('password', 'required', 'password hash is required');
    end if;
    if exists (select 1 from public.users u
               where u.tenant_id = rustok.current_tenant_id() and u.email = normalized) then
        perform rustok.raise('CONFLICT', 'email already registered', jsonb_build_object('field', 'email'));
    end if;
    insert into public.users (tenant_id, email, password_hash, role)
    values (rustok.require_tenant(), normalized, password_hash, role)
    returning id into user_id;
    perform rustok.publish_event('UserRegistered',
                                 jsonb_build_object('user_id', rustok.ulid(user_id), 'email', normalized));
    return user_id;
end
$$;

create or replace function rustok.list_tenants() returns jsonb
language plpgsql stable as $$
/* Every tenant, oldest first (operators and super_admins: the tenants policy shows them all tenants).
   Raises FORBIDDEN otherwise. */
begin
    perform rustok.require_permission('tenants.manage');
    return coalesce((select jsonb_agg(rustok._tenant_json(t) order by t.created_at, t.id)
                     from public.tenants t), '[]'::jsonb);
end
$$;

create or replace function rustok.set_tenant_active(tenant_id uuid, is_active boolean) returns jsonb
language plpgsql volatile as $$
/* Switches a tenant on or off (tenants.manage: super_admins and operators). Off takes effect at once, in
   every process: rustok.set_context refuses the tenant from the next statement on (its users' tokens,
   anonymous requests naming it, open event streams). Emits TenantActivated / TenantDeactivated (the tenants
   trigger) in that tenant when it changes. A signed-in caller cannot switch off their own tenant. Raises
   UNAUTHENTICATED/FORBIDDEN, NOT_FOUND, VALIDATION_FAILED (isActive). Returns the TenantResponse. */
declare
    caller_tenant text := current_setting('rustok.tenant_id', true);
    target public.tenants;
begin
    perform rustok.require_permission('tenants.manage');
    if is_active is null then
        perform rustok._input_invalid('isActive', 'required', 'isActive is required');
    end if;
    if not is_active and tenant_id = rustok.current_tenant_id() and rustok.current_user_id() is not null then
        perform rustok.raise('FORBIDDEN', 'you cannot switch off your own tenant',
                             jsonb_build_object('field', 'tenantId'));
    end if;
    -- in that tenant's context, as create_tenant does: the event belongs to it (the outbox policy)
    perform set_config('rustok.tenant_id', coalesce(tenant_id::text, ''), true);
    update public.tenants t set is_active = set_tenant_active.is_active
    where t.id = set_tenant_active.tenant_id and t.is_active is distinct from set_tenant_active.is_active
    returning * into target;
    if target.id is null then
        select * into target from public.tenants t where t.id = set_tenant_active.tenant_id;
    end if;
    perform set_config('rustok.tenant_id', coalesce(caller_tenant, ''), true);
    if target.id is null then
        perform rustok.raise('NOT_FOUND', 'no such tenant', jsonb_build_object('tenantId', rustok.ulid(tenant_id)));
    end if;
    return rustok._tenant_json(target);
end
$$;

create or replace function rustok.tenant_id_by_slug(slug text) returns uuid
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* The id of the tenant with this slug, or null: how an anonymous request names its tenant. A switched-off
       tenant's id too: rustok.set_context refuses it (TENANT_INACTIVE), in every statement, so an id the API
       keeps for a while never outlives the switch. */
    select t.id from public.tenants t where t.slug = tenant_id_by_slug.slug
$$;
