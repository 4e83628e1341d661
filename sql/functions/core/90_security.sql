-- Security upkeep, run after every migrate: row-level security and the tenant policy on every table and
-- partition that has tenant_id (tables of modules not written yet included), grants for the application
-- role on parent tables only, and EXECUTE on the public API functions.

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

create or replace function rustok._grant_api() returns void
language plpgsql volatile as $$
/* EXECUTE on rustok's functions for the client roles and nobody else (PUBLIC included). Underscore helpers
   are included because the public functions, being SECURITY INVOKER, call them with the caller's rights;
   the ones that change schema fail for clients on ownership anyway. */
begin
    execute 'revoke all on all functions in schema rustok from public';
    execute 'grant execute on all functions in schema rustok to rustok_clients';
    -- the relay's cross-tenant reads and consumer positions: the API role only, not every client role
    revoke execute on function rustok.read_events(bigint, bigint, int, uuid), rustok.event_head(),
        rustok.ack_events(text, bigint, bigint), rustok.consumer_position(text) from rustok_clients;
    grant execute on function rustok.read_events(bigint, bigint, int, uuid), rustok.event_head(),
        rustok.ack_events(text, bigint, bigint), rustok.consumer_position(text) to rustok_app;
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
