-- Modules: installed = a row in `modules` (written by migrate); enabled = a row in `tenant_modules`.
-- The dependency rules live in the trigger on tenant_modules (sql/triggers/core/tenant_modules.sql), so a
-- plain INSERT or UPDATE from psql obeys them too; these functions are the API over it.

create or replace function rustok._modules_in_dependency_order()
returns table (slug text, depth int)
language sql stable as $$
    /* Installed modules, each after the modules it depends on. */
    with recursive walk (slug, depth) as (
        select m.slug::text, 0 from public.modules m where m.dependencies = '{}'
        union all
        select m.slug::text, w.depth + 1
        from public.modules m join walk w on w.slug = any (m.dependencies)
        where w.depth < 32
    )
    select w.slug, max(w.depth) from walk w group by w.slug order by max(w.depth), w.slug
$$;

create or replace function rustok.is_module_enabled(module text) returns boolean
language sql stable parallel safe as $$
    /* Whether the module is enabled for the current tenant. */
    select coalesce((select tm.enabled from public.tenant_modules tm
                     where tm.tenant_id = rustok.current_tenant_id() and tm.module_slug = module), false)
$$;

create or replace function rustok.require_module(module text) returns void
language plpgsql stable parallel safe as $$
/* Raises MODULE_DISABLED unless the module is enabled for the current tenant (TENANT_REQUIRED without one). */
begin
    perform rustok.require_tenant();
    if not rustok.is_module_enabled(module) then
        perform rustok.raise('MODULE_DISABLED', 'module is not enabled for this tenant',
                             jsonb_build_object('module', module));
    end if;
end
$$;

create or replace function rustok._set_module_enabled(module text, enable boolean) returns jsonb
language plpgsql volatile as $$
/* Shared body of enable_module and disable_module. */
declare
    tenant uuid := rustok.require_tenant();
begin
    perform rustok.require_permission('modules.manage');
    if not exists (select 1 from public.modules m where m.slug = module) then
        perform rustok.raise('MODULE_UNKNOWN', 'no installed module has this slug',
                             jsonb_build_object('module', module));
    end if;
    if enable then  -- the trigger on tenant_modules emits ModuleEnabled / ModuleDisabled for a real change
        insert into public.tenant_modules as tm (tenant_id, module_slug, enabled)
        values (tenant, module, true)
        on conflict (tenant_id, module_slug) do update set enabled = true where not tm.enabled;
    else
        update public.tenant_modules tm set enabled = false
        where tm.tenant_id = tenant and tm.module_slug = module and tm.enabled;
    end if;
    return rustok.list_modules();
end
$$;

create or replace function rustok.enable_module(module text) returns jsonb
language sql volatile as $$
    /* Enables a module for the current tenant; emits ModuleEnabled. Raises MODULE_UNKNOWN,
       MODULE_DEPENDENCY_DISABLED, FORBIDDEN. Returns the tenant's module list. */
    select rustok._set_module_enabled(module, true)
$$;

create or replace function rustok.disable_module(module text) returns jsonb
language sql volatile as $$
    /* Disables a module for the current tenant; emits ModuleDisabled. Raises MODULE_UNKNOWN,
       MODULE_REQUIRED (an enabled module depends on it), FORBIDDEN. Returns the tenant's module list. */
    select rustok._set_module_enabled(module, false)
$$;

create or replace function rustok.list_modules() returns jsonb
language sql stable as $$
    /* Installed modules with whether each is enabled for the current tenant (ModuleResponse list). */
    select coalesce(jsonb_agg(jsonb_build_object(
               'slug', m.slug, 'name', m.name, 'description', m.description, 'version', m.version,
               'dependencies', to_jsonb(m.dependencies), 'enabled', coalesce(tm.enabled, false))
           order by o.depth, m.slug), '[]'::jsonb)
    from public.modules m
    join rustok._modules_in_dependency_order() o on o.slug = m.slug
    left join public.tenant_modules tm
        on tm.tenant_id = rustok.require_tenant() and tm.module_slug = m.slug
$$;

create or replace function rustok._register_module(
    slug text, name text, description text, version text, dependencies text[])
returns void
language sql volatile as $$
    /* Records an installed module (called by `rustok migrate` from the Python registry). */
    insert into public.modules as m (slug, name, description, version, dependencies)
    values (slug, name, description, version, dependencies)
    on conflict (slug) do update set name = excluded.name, description = excluded.description,
        version = excluded.version, dependencies = excluded.dependencies
$$;
