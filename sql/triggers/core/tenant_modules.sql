-- The module dependency rules, on the table itself, and the events of every change: enabling needs every dependency enabled; disabling (or
-- deleting) is refused while an enabled module depends on it. Changes per tenant are serialised so two
-- concurrent changes cannot each pass their check and together break the rule.

create or replace function rustok.tg_tenant_modules__check_dependencies() returns trigger
language plpgsql as $$
/* BEFORE INSERT/UPDATE/DELETE on tenant_modules. Raises MODULE_DEPENDENCY_DISABLED or MODULE_REQUIRED. */
declare
    row_tenant uuid := coalesce(new.tenant_id, old.tenant_id);
    missing text[];
    dependents text[];
begin
    perform pg_advisory_xact_lock(hashtextextended('rustok.tenant_modules:' || row_tenant::text, 0));
    if tg_op <> 'DELETE' and new.enabled then
        select array_agg(dep order by dep) into missing
        from public.modules m, unnest(m.dependencies) dep
        where m.slug = new.module_slug
          and not exists (select 1 from public.tenant_modules tm
                          where tm.tenant_id = row_tenant and tm.module_slug = dep and tm.enabled);
        if missing is not null then
            perform rustok.raise('MODULE_DEPENDENCY_DISABLED', 'enable the modules it depends on first',
                                 jsonb_build_object('module', new.module_slug, 'missing', to_jsonb(missing)));
        end if;
    end if;
    if tg_op = 'DELETE' and not exists (select 1 from public.tenants t where t.id = row_tenant) then
        return old;  -- the tenant itself is being deleted: its modules go with it
    end if;
    if tg_op = 'DELETE' or (old.enabled and (not new.enabled
            or (new.tenant_id, new.module_slug) is distinct from (old.tenant_id, old.module_slug))) then
        select array_agg(tm.module_slug::text order by tm.module_slug) into dependents
        from public.tenant_modules tm join public.modules m on m.slug = tm.module_slug
        where tm.tenant_id = row_tenant and tm.enabled and old.module_slug = any (m.dependencies);
        if dependents is not null then
            perform rustok.raise('MODULE_REQUIRED', 'disable the modules that depend on it first',
                                 jsonb_build_object('module', old.module_slug, 'dependents', to_jsonb(dependents)));
        end if;
    end if;
    return coalesce(new, old);
end
$$;

create or replace trigger _200_check_dependencies before insert or update or delete on public.tenant_modules
    for each row execute function rustok.tg_tenant_modules__check_dependencies();

create or replace function rustok.tg_tenant_modules__emit_events() returns trigger
language plpgsql as $$
/* AFTER INSERT/UPDATE/DELETE on tenant_modules: ModuleEnabled / ModuleDisabled for every real change, in
   the same transaction — from the API, the CLI or a plain statement in psql alike (on_enable/on_disable
   hooks run on these events). Nothing when the tenant itself is being deleted. */
declare
    was_on boolean := tg_op <> 'INSERT' and old.enabled;
    is_on boolean := tg_op <> 'DELETE' and new.enabled;
    row_tenant uuid := coalesce(new.tenant_id, old.tenant_id);
begin
    if was_on is distinct from is_on
       and exists (select 1 from public.tenants t where t.id = row_tenant) then
        perform rustok._publish_event_for(row_tenant, case when is_on then 'ModuleEnabled' else 'ModuleDisabled' end,
                                          jsonb_build_object('module', coalesce(new.module_slug, old.module_slug)));
    end if;
    return null;
end
$$;

create or replace trigger _900_emit_events after insert or update or delete on public.tenant_modules
    for each row execute function rustok.tg_tenant_modules__emit_events();
