-- Security upkeep, run after every migrate: row-level security and the tenant policy on every table and
-- partition that has tenant_id (tables of modules not written yet included), grants for the application
-- role on parent tables only, EXECUTE on schema rustok by an allow-list per client role, and (as the
-- migrating role) the pg_catalog functions that let a client hold up others closed to PUBLIC.

create or replace function rustok._secure_table(rel regclass) returns void
language plpgsql volatile as $$
/* Forces RLS on one tenant table and (re)creates its tenant policy. Parents get the application role's
   grants; partitions get none (they are reached through their parent). Two tables differ: `tenants`
   (keyed by id; holders of tenants.manage see every tenant) and the append-only `event_outbox`. */
declare
    is_partition boolean := (select c.relispartition from pg_class c where c.oid = rel);
    predicate text := '(tenant_id = (select rustok.current_tenant_id()))';
begin
    if rel = 'public.tenants'::regclass then
        predicate := '(id = (select rustok.current_tenant_id()) or (select rustok.has_permission(''tenants.manage'')))';
    end if;
    execute format('alter table %s enable row level security, force row level security', rel);
    execute format('drop policy if exists tenant_isolation on %s', rel);
    execute format('create policy tenant_isolation on %s using %s with check %s', rel, predicate, predicate);
    if is_partition then
        execute format('revoke all on %s from rustok_app, rustok_clients', rel);
    elsif rel = 'public.tenants'::regclass then
        execute format('grant select, insert, update on %s to rustok_app', rel);
    elsif rel = 'public.event_outbox'::regclass then
        execute format('grant select, insert on %s to rustok_app', rel);
    else
        execute format('grant select, insert, update, delete on %s to rustok_app', rel);
    end if;
end
$$;

create or replace function rustok._tenant_tables() returns setof regclass
language sql stable as $$
    /* Every table and partition in schema public that holds tenant data: it has tenant_id, or it is tenants. */
    select c.oid::regclass
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p')
      and (c.relname = 'tenants' or exists (
              select 1 from pg_attribute a
              where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
    order by c.relispartition, c.relname
$$;

create or replace function rustok._operator_functions() returns setof name
language sql immutable as $$
    /* Core functions no client role may execute: they change the schema, the grants, role settings or the
       module registry when an operator migrates or maintains the database (`rustok migrate`, `rustok
       maintain`, as the owner or a superuser). Most would fail for a client on ownership anyway; refusing
       EXECUTE says so before they try. Besides these, no client gets a trigger function (PostgreSQL fires
       triggers without asking for EXECUTE) or a tenant import hook (`_after_tenant_import__*`, run by
       `rustok tenant import`). */
    select name from unnest(array[
        '_after_migrate', '_grant_api', '_secure_table', '_register_module', 'maintain_partitions',
        '_create_partition', '_close_catalog_functions', '_secure_client_roles', '_start_commit_order'
    ]::name[]) name
$$;

create or replace function rustok._execute_allow_list() returns table (grantee name, function_name name)
language plpgsql stable as $$
/* The allow-list of EXECUTE on schema rustok: which client role may run which functions, by name (every
   overload). '*' is the whole API: every function but those of rustok._operator_functions(), trigger
   functions and import hooks. A role not listed, PUBLIC included, may run nothing, so a new function is
   open to analysts only when a line here names it. A module adds lines by defining
   rustok._execute_allow_list__<module>() with the same columns. Raises nothing. */
declare
    hook regproc;
begin
    return query values
        ('rustok_app'::name, '*'::name),                 -- the API, the worker and `rustok db psql`
        -- analysts: name a tenant and read its index rows (issue 17 adds its read functions here)
        ('rustok_analytics', 'set_context'),
        ('rustok_analytics', 'current_tenant_id'),       -- the tenant policy calls it as the reader
        ('rustok_analytics', 'current_user_id'),
        ('rustok_analytics', 'current_user_role'),
        ('rustok_analytics', 'tenant_id_by_slug'),
        ('rustok_analytics', 'ulid'),
        ('rustok_analytics', 'parse_id'),
        ('rustok_analytics', 'raise'),                   -- set_context and parse_id refuse through it
        ('rustok_analytics', 'error_sqlstate'),
        ('rustok_analytics', 'error_codes');
    for hook in
        select p.oid::regproc from pg_proc p
        where p.pronamespace = 'rustok'::regnamespace and p.proname like '\_execute\_allow\_list\_\_%'
        order by p.proname
    loop
        return query execute format('select h.grantee::name, h.function_name::name from %s() h', hook);
    end loop;
end
$$;

create or replace function rustok._grant_api() returns void
language plpgsql volatile as $$
/* EXECUTE on rustok's functions exactly as rustok._execute_allow_list() says: revoked from PUBLIC and from
   every role that holds it, then granted per role (one GRANT each). Raises undefined_object for a listed
   role that does not exist. */
declare
    r record;
begin
    for r in
        select distinct a.grantee::regrole as role
        from pg_proc p cross join lateral aclexplode(p.proacl) a
        where p.pronamespace = 'rustok'::regnamespace and a.grantee not in (0, p.proowner)
    loop
        execute format('revoke all on all functions in schema rustok from %s', r.role);
    end loop;
    execute 'revoke all on all functions in schema rustok from public';
    for r in
        select l.grantee, string_agg(p.oid::regprocedure::text, ', ' order by p.oid) as functions
        from rustok._execute_allow_list() l
        join pg_proc p on p.pronamespace = 'rustok'::regnamespace
                      and (p.proname = l.function_name
                           or (l.function_name = '*'
                               and p.prorettype <> 'trigger'::regtype
                               and p.proname not like '\_after\_tenant\_import\_\_%'
                               and p.proname not in (select rustok._operator_functions())))
        group by l.grantee
    loop
        execute format('grant execute on function %s to %I', r.functions, r.grantee);
    end loop;
end
$$;

create or replace function rustok._after_migrate() returns void
language plpgsql volatile as $$
/* Everything that must hold after any migrate: partitions, tenant security, grants. */
declare
    rel regclass;
begin
    perform rustok.maintain_partitions();
    for rel in select * from rustok._tenant_tables() loop
        perform rustok._secure_table(rel);
    end loop;
    perform rustok._grant_api();
    grant usage on schema rustok to rustok_clients;
    grant usage on all sequences in schema public to rustok_app;
    grant select on public.roles, public.permissions, public.role_permissions, public.modules to rustok_clients;
end
$$;

create or replace function rustok._guarded_catalog_functions() returns table (fn regprocedure, for_api boolean)
language sql stable as $$
    /* The pg_catalog functions PUBLIC may not execute in this database. With them any role that can log in
       takes a lock tenant writes wait for (advisory locks: the index, slug, category and module locks, the
       worker's handler locks, `rustok migrate`), holds a transaction id (event delivery waits for every
       open one), or writes (large objects, WAL messages). for_api: the owner and the roles with the whole
       API ('*' in rustok._execute_allow_list()) get it back, because the API uses it. */
    select p.oid::regprocedure, g.for_api
    from (values ('^pg_(try_)?advisory_', true),
                 ('^(txid_current|pg_current_xact_id)$', true),
                 ('^pg_notify$', true),
                 ('^(lo_create|lo_creat|lo_from_bytea)$', false),
                 ('^pg_logical_emit_message$', false)) g (pattern, for_api)
    join pg_proc p on p.pronamespace = 'pg_catalog'::regnamespace and p.proname ~ g.pattern
$$;

create or replace function rustok._close_catalog_functions() returns void
language plpgsql volatile as $$
/* Revokes rustok._guarded_catalog_functions() from PUBLIC in this database and grants the API's share to
   rustok_owner and the whole-API roles. Only the owner of pg_catalog can: a superuser. Raises
   insufficient_privilege otherwise (rustok._secure_client_roles asks first). */
declare
    api text := (select string_agg(format('%I', l.grantee), ', ')
                 from rustok._execute_allow_list() l where l.function_name = '*');
    closed text := (select string_agg(g.fn::text, ', ') from rustok._guarded_catalog_functions() g);
    opened text := (select string_agg(g.fn::text, ', ') from rustok._guarded_catalog_functions() g where g.for_api);
begin
    execute format('revoke all on function %s from public', closed);
    execute format('grant execute on function %s to rustok_owner%s', opened, coalesce(', ' || api, ''));
end
$$;

create or replace function rustok._secure_client_roles() returns text[]
language plpgsql volatile as $$
/* Run by `rustok migrate` as the role it connects with, not as rustok_owner: gives rustok_analytics its
   settings in this database (rustok._analytics_role_settings(), replacing any it set on itself) and, as a
   superuser, closes the guarded pg_catalog functions. Returns what a migrating role that is not superuser
   could not do, for migrate to report (rustok.enforce_analytics_limits() then covers it). Raises nothing
   of its own. */
declare
    superuser boolean := (select r.rolsuper from pg_roles r where r.rolname = current_user);
    s record;
    skipped text[] := '{}';
begin
    execute format('alter role rustok_analytics in database %I reset all', current_database());
    for s in select * from rustok._analytics_role_settings() loop
        if not superuser and (select c.context from pg_settings c where c.name = s.name) = 'superuser' then
            skipped := skipped || format('setting %s of rustok_analytics (only a superuser may set it)', s.name);
        else
            execute format('alter role rustok_analytics in database %I set %I = %L', current_database(), s.name, s.value);
        end if;
    end loop;
    if superuser then
        perform rustok._close_catalog_functions();
    else
        skipped := skipped || 'advisory lock, transaction id and large object functions stay open to PUBLIC '
                              '(only a superuser may revoke them)'::text;
    end if;
    return skipped;
end
$$;
