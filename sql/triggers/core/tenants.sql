-- Writes to tenants: the application role holds INSERT/UPDATE (create_tenant runs with the caller's
-- rights), so the permission rule sits on the table, where a direct statement meets it too; and switching a
-- tenant on or off emits its event there, for the same reason.

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
/* AFTER UPDATE OF is_active on tenants: TenantDeactivated / TenantActivated {tenant_id} in that tenant, from
   the API (rustok.set_tenant_active) or a plain statement in psql alike; the realtime relay ends the
   tenant's open event streams on TenantDeactivated. */
begin
    if new.is_active is distinct from old.is_active then
        perform rustok._publish_event_for(new.id, case when new.is_active then 'TenantActivated'
                                                       else 'TenantDeactivated' end,
                                          jsonb_build_object('tenant_id', rustok.ulid(new.id)));
    end if;
    return null;
end
$$;

create or replace trigger _900_emit_events after update of is_active on public.tenants
    for each row execute function rustok.tg_tenants__emit_events();
