-- updated_at upkeep for the core tables.

create or replace function rustok.tg__set_updated_at() returns trigger
language plpgsql as $$
/* BEFORE UPDATE: stamps updated_at with the statement time. */
begin
    new.updated_at := now();
    return new;
end
$$;

create or replace trigger _100_timestamps before update on public.tenants
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.users
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.tenant_modules
    for each row execute function rustok.tg__set_updated_at();
