-- Request context: tenant, user and role, set transaction-locally so a pooled connection never carries one
-- request's tenant into the next. An unset or reset setting reads as '' and means "none". rustok.set_context
-- is also where revocation takes effect: it checks the tenant and the user against the database in the
-- statement every API call already runs, so a switched-off tenant, a disabled or deleted user and a changed
-- role count from the next statement on, in every process.

create or replace function rustok.set_context(tenant_id uuid, user_id uuid default null, role text default null)
returns void
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
/* Sets the transaction's tenant, user and role after checking them against the database, so that every
   statement that starts with it (every API call does) acts for its tenant and user as they are now:
   - the tenant must exist (NOT_FOUND, details.field 'tenant'; with a user UNAUTHENTICATED, details.reason
     'user': a deleted tenant's users went with it, so a token naming them is over) and be switched on
     (TENANT_INACTIVE). Only an operator (psql as owner or superuser) or a background session (`rustok
     worker`: the session setting rustok.background = 'on') enters a switched-off tenant, and only without a
     user;
   - a user must exist in that tenant and be active, whoever asks (UNAUTHENTICATED, details.reason 'user';
     also for a user without a tenant);
   - the role in force is the user's role as stored now, none without a user. `role` is what the caller was
     told (an access token's claim, as old as the token) and is not used.
   SECURITY DEFINER: it reads tenants and users whatever the caller may read. */
declare
    tenant_active boolean;
    account_status text;
    account_role text;
begin
    perform set_config('rustok.tenant_id', coalesce(tenant_id::text, ''), true),
            set_config('rustok.user_id', coalesce(user_id::text, ''), true);
    if tenant_id is null then
        perform set_config('rustok.role', '', true);
        if user_id is not null then
            perform rustok.raise('UNAUTHENTICATED', 'a user needs their tenant', jsonb_build_object('reason', 'user'));
        end if;
        return;
    end if;
    -- the tenants and users policies let this read through: the tenant is set above, the owner is an operator
    select t.is_active, u.status, u.role into tenant_active, account_status, account_role
    from public.tenants t left join public.users u on u.tenant_id = t.id and u.id = set_context.user_id
    where t.id = set_context.tenant_id;
    if tenant_active is null and user_id is not null then
        perform rustok.raise('UNAUTHENTICATED', 'no such active user', jsonb_build_object('reason', 'user'));
    elsif tenant_active is null then
        perform rustok.raise('NOT_FOUND', 'no such tenant', jsonb_build_object('field', 'tenant'));
    end if;
    if not tenant_active and (user_id is not null or not rustok._may_enter_switched_off()) then
        perform rustok.raise('TENANT_INACTIVE', 'the tenant is switched off');
    end if;
    if user_id is not null and account_status is distinct from 'active' then
        perform rustok.raise('UNAUTHENTICATED', 'no such active user', jsonb_build_object('reason', 'user'));
    end if;
    perform set_config('rustok.role', coalesce(account_role, ''), true);
end
$$;

create or replace function rustok._may_enter_switched_off() returns boolean
language sql stable as $$
    /* Whether the session may enter a switched-off tenant (without a user): an operator's (its role, SET
       ROLE's or else the session's, is not a client role; or a superuser), or a background session of
       `rustok worker` (rustok.background = 'on'), which still works off the tenant's events. Asked from
       inside set_context, a SECURITY DEFINER function, where current_user is the owner: hence not
       rustok.is_operator(). */
    select not pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user), 'rustok_clients', 'MEMBER')
        or current_setting('is_superuser') = 'on'
        or coalesce(current_setting('rustok.background', true), '') = 'on'
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
