-- Categories: the tree never gets a cycle, whoever writes it (the API, psql); updated_at upkeep.

create or replace function rustok.tg_categories__check_tree() returns trigger
language plpgsql as $$
/* BEFORE INSERT OR UPDATE OF parent_id: the new parent may not be the category itself or one of its
   descendants. Raises CATEGORY_CYCLE (details.field 'parentId'). */
begin
    if new.parent_id is null or (tg_op = 'UPDATE' and new.parent_id is not distinct from old.parent_id) then
        return new;
    end if;
    perform rustok._lock_category_tree(new.tenant_id);
    if exists (
        with recursive up (id, parent_id, steps) as (
            select c.id, c.parent_id, 0 from public.categories c
            where c.tenant_id = new.tenant_id and c.id = new.parent_id
            union all
            select c.id, c.parent_id, up.steps + 1 from public.categories c
            join up on c.tenant_id = new.tenant_id and c.id = up.parent_id
            where up.steps < 10000
        )
        select 1 from up where up.id = new.id
    ) then
        perform rustok.raise('CATEGORY_CYCLE', 'a category cannot be placed under itself or its descendants',
                             jsonb_build_object('field', 'parentId'));
    end if;
    return new;
end
$$;

create or replace trigger _100_check_tree before insert or update of parent_id on public.categories
    for each row execute function rustok.tg_categories__check_tree();
create or replace trigger _100_timestamps before update on public.categories
    for each row execute function rustok.tg__set_updated_at();
