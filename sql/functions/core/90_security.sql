-- Security upkeep, run after every migrate: row-level security and the tenant policy on every table and
-- partition that has tenant_id (tables of modules not written yet included), grants for the application
-- role on parent tables only, and EXECUTE on the public API functions.

create or replace function rustok._secure_table(rel regclass) returns void
language plpgsql volatile as $$
/* Forces RLS on one tenant table and gives it the tenant policy. Parents get the application role's DML
   grants; partitions get none (they are reached through their parent). */
declare
    tenant_column name := case when rel = 'public.tenants'::regclass then 'id' else 'tenant_id' end;
    is_partition boolean := (select c.relispartition from pg_class c where c.oid = rel);
begin
    execute format('alter table %s enable row level security, force row level security', rel);
    if not exists (select 1 from pg_policy p where p.polrelid = rel and p.polname = 'tenant_isolation') then
        execute format('create policy tenant_isolation on %s using (%I = (select rustok.current_tenant_id())) '
                       'with check (%I = (select rustok.current_tenant_id()))', rel, tenant_column, tenant_column);
    end if;
    if is_partition then
        execute format('revoke all on %s from rustok_app, rustok_clients', rel);
    elsif rel = 'public.tenants'::regclass then
        execute format('grant select, insert, update on %s to rustok_app', rel);
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
