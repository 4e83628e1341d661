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

create or replace function rustok._client_role_settings() returns table (role name, name text, value text)
language plpgsql stable as $$
/* The role settings rustok._secure_client_roles gives the client roles, role-wide (so in every database of
   the server, the maintenance database too): the analysts' (rustok._analytics_role_settings) and the
   application role's (rustok._app_role_settings, both in later files: hence PL/pgSQL). value null: reset, no
   limit. Raises nothing. */
begin
    return query
        select 'rustok_analytics'::name, s.name, s.value from rustok._analytics_role_settings() s
        union all
        select 'rustok_app'::name, s.name, s.value from rustok._app_role_settings() s;
end
$$;

create or replace function rustok._secure_client_roles() returns text[]
language plpgsql volatile as $$
/* Run by `rustok migrate` as the role it connects with, not as rustok_owner. Gives the client roles their
   settings role-wide (rustok._client_role_settings()): a role may give itself settings, role-wide or IN
   DATABASE any database, and a per-database one overrides the role-wide one, so the analysts' own settings
   are all dropped and the managed ones of every client role are reset in every database. Caps the analysts'
   connections (analytics.connection_limit) and lets rustok_app use the server's reserved connections
   (pg_use_reserved_connections), so no other role can take the slots the API needs. As a superuser, closes
   the guarded pg_catalog functions. Returns what it could not do, for migrate to report as warnings: what
   only a superuser may do (rustok.enforce_analytics_limits() then covers what it can), a server without
   reserved connections, maintenance databases open to every role. Raises nothing of its own. */
declare
    superuser boolean := (select r.rolsuper from pg_roles r where r.rolname = current_user);
    connection_limit int := (select l.connection_limit from rustok._analytics_limits() l);
    s record;
    skipped text[] := '{}';
begin
    for s in
        select r.rolname as role, d.datname
        from pg_db_role_setting x join pg_roles r on r.oid = x.setrole join pg_database d on d.oid = x.setdatabase
        where r.rolname = 'rustok_analytics'
    loop
        execute format('alter role %I in database %I reset all', s.role, s.datname);
    end loop;
    execute 'alter role rustok_analytics reset all';
    for s in
        select c.role, c.name, c.value, d.datname,  -- datname null: role-wide
               superuser or (select p.context from pg_settings p where p.name = c.name) <> 'superuser' as settable
        from rustok._client_role_settings() c
        cross join lateral (select null::name
                            union all
                            select d.datname from pg_db_role_setting x join pg_database d on d.oid = x.setdatabase
                            where x.setrole = c.role::regrole and x.setdatabase <> 0) d (datname)
        order by c.role, c.name, d.datname nulls first
    loop
        if not s.settable then
            if s.datname is null and s.value is not null and not exists (
                    select 1 from pg_db_role_setting x
                    where x.setrole = s.role::regrole and x.setdatabase = 0
                      and format('%s=%s', s.name, s.value) = any (x.setconfig)) then
                skipped := skipped || format('setting %s of %s (only a superuser may set it)', s.name, s.role);
            end if;
        elsif s.datname is not null then
            execute format('alter role %I in database %I reset %I', s.role, s.datname, s.name);
        elsif s.value is null then
            execute format('alter role %I reset %I', s.role, s.name);
        else
            execute format('alter role %I set %I = %L', s.role, s.name, s.value);
        end if;
    end loop;
    execute format('alter role rustok_analytics connection limit %s', coalesce(connection_limit, -1));
    if not pg_has_role('rustok_app', 'pg_use_reserved_connections', 'MEMBER') then
        begin
            grant pg_use_reserved_connections to rustok_app;
        exception when insufficient_privilege then
            skipped := skipped
                || 'rustok_app cannot use the reserved connections: grant it pg_use_reserved_connections '
                   '(only a superuser, or a role with ADMIN on it, may)'::text;
        end;
    end if;
    if current_setting('reserved_connections')::int = 0 then
        skipped := skipped || 'the server reserves no connections (reserved_connections = 0): another role can take '
                              'every connection slot and leave the API none; set reserved_connections in '
                              'postgresql.conf (the embedded server: 20) and restart the server'::text;
    end if;
    skipped := skipped || array(
        select format('every role may connect to the maintenance database %I (CONNECT for PUBLIC): the analysts'' '
                      'role settings and the watchdog hold there, but revoke it (`revoke connect, temporary on '
                      'database %I from public`) unless other programs need it', d.datname, d.datname)
        from pg_database d
        where d.datname in ('postgres', 'template1') and d.datallowconn
          and has_database_privilege('rustok_analytics', d.oid, 'CONNECT')
        order by d.datname);
    if superuser then
        perform rustok._close_catalog_functions();
    else
        skipped := skipped || 'advisory lock, transaction id and large object functions stay open to PUBLIC '
                              '(only a superuser may revoke them)'::text;
    end if;
    return skipped;
end
$$;
