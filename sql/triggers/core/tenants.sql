-- Writes to tenants: the application role holds INSERT/UPDATE (create_tenant runs with the caller's
-- rights), so the permission rule sits on the table, where a direct statement meets it too.

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
