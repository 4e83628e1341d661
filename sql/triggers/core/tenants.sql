-- Writes to tenants: the application role holds INSERT/UPDATE (create_tenant runs with the caller's
-- rights), so the permission rule sits on the table, where a direct statement meets it too; and switching a
-- tenant on or off, or changing what names it, emits its event there, for the same reason.

create or replace function rustok.tg_tenants__check_permission() returns trigger
language plpgsql as $$
/* BEFORE INSERT/UPDATE on tenants: creating a tenant, renaming its slug or switching it on or off needs
   tenants.manage; changing its name or settings needs settings.manage (an admin of that tenant). */
begin
    if tg_op = 'INSERT' or new.slug is distinct from old.slug or new.is_active is distinct from old.is_active
       or new.id is distinct from old.id then
        perform rustok.require_permission('tenants.manage');
    else
        perform rustok.require_permission('settings.manage');
    end if;
    return new;
end
$$;

create or replace trigger _050_check_permission before insert or update on public.tenants
    for each row execute function rustok.tg_tenants__check_permission();

create or replace function rustok.tg_tenants__emit_events() returns trigger
language plpgsql as $$
/* AFTER UPDATE on tenants, in that tenant, from the API (rustok.set_tenant_active) or a plain statement in
   psql alike: TenantDeactivated / TenantActivated {tenant_id} when is_active changes (the realtime relay ends
   the tenant's open event streams on TenantDeactivated), TenantUpdated {tenant_id, changed} when its slug,
   name or settings change (`changed` lists which; every API process drops what it cached about tenants:
   slug and host lookups, the shop). */
declare
    changed text[] := array_remove(array[
        case when new.slug is distinct from old.slug then 'slug' end,
        case when new.name is distinct from old.name then 'name' end,
        case when new.settings is distinct from old.settings then 'settings' end], null);
begin
    if new.is_active is distinct from old.is_active then
        perform rustok._publish_event_for(new.id, case when new.is_active then 'TenantActivated'
                                                       else 'TenantDeactivated' end,
                                          jsonb_build_object('tenant_id', rustok.ulid(new.id)));
    end if;
    if changed <> '{}' then
        perform rustok._publish_event_for(new.id, 'TenantUpdated',
                                          jsonb_build_object('tenant_id', rustok.ulid(new.id), 'changed', changed));
    end if;
    return null;
end
$$;

create or replace trigger _900_emit_events after update of is_active, slug, name, settings on public.tenants
    for each row execute function rustok.tg_tenants__emit_events();
