-- Request context: tenant, user and role, set transaction-locally so a pooled connection never carries one
-- request's tenant into the next. An unset or reset setting reads as '' and means "none".

create or replace function rustok.set_context(tenant_id uuid, user_id uuid default null, role text default null)
returns void
language plpgsql volatile as $$
/* Sets the transaction's tenant, user and role. Raises VALIDATION_FAILED for an unknown role. */
begin
    if role is not null and not exists (select 1 from public.roles r where r.slug = set_context.role) then
        perform rustok.raise('VALIDATION_FAILED', 'unknown role', jsonb_build_object('role', role));
    end if;
    perform set_config('rustok.tenant_id', coalesce(tenant_id::text, ''), true),
            set_config('rustok.user_id', coalesce(user_id::text, ''), true),
            set_config('rustok.role', coalesce(role, ''), true);
end
$$;

create or replace function rustok.current_tenant_id() returns uuid
language sql stable parallel safe as $$
    /* The transaction's tenant, or null. Policies call it as (select …) so it runs once per query. */
    select nullif(current_setting('rustok.tenant_id', true), '')::uuid
$$;

create or replace function rustok.current_user_id() returns uuid
language sql stable parallel safe as $$
    /* The transaction's user, or null for an anonymous request or an operator. */
    select nullif(current_setting('rustok.user_id', true), '')::uuid
$$;

create or replace function rustok.is_current_user(user_id uuid) returns boolean
language sql stable parallel safe as $$
    /* Whether user_id is the signed-in user: false, never null, when nobody is signed in or user_id is null
       (a guest cart, a deleted author), so `not rustok.is_current_user(…)` cannot let anyone through. The one
       place that compares with rustok.current_user_id() (tests/sql/test_access_catalog.sql keeps it so); not
       STRICT, which would answer null. Inlined by the planner: `u.id = …` still uses an index. Raises nothing. */
    select user_id is not null and rustok.current_user_id() is not null and user_id = rustok.current_user_id()
$$;

create or replace function rustok.current_user_role() returns text
language sql stable parallel safe as $$
    /* The transaction's role (super_admin, admin, manager, customer), or null. */
    select nullif(current_setting('rustok.role', true), '')
$$;

create or replace function rustok.require_tenant() returns uuid
language plpgsql stable parallel safe as $$
/* The transaction's tenant; raises TENANT_REQUIRED when none is set. */
declare
    tenant uuid := rustok.current_tenant_id();
begin
    if tenant is null then
        perform rustok.raise('TENANT_REQUIRED', 'no tenant set; call rustok.set_context first');
    end if;
    return tenant;
end
$$;

create or replace function rustok.is_operator() returns boolean
language sql stable parallel safe as $$
    /* True for a database operator (psql as owner or superuser), false for the API's and analysts' roles.
       One expression, no query: the tenants policy asks it (through has_permission) in every statement
       reading tenants. The GUC is_superuser follows SET ROLE; inside a SECURITY DEFINER function (owned by
       rustok_owner, not a client) the first test already holds. */
    select not pg_has_role(current_user, 'rustok_clients', 'MEMBER') or current_setting('is_superuser') = 'on'
$$;
