-- commerce_inventory_levels.reserved_quantity is the sum of the level's reservations: every insert, delete
-- or change of a reservation moves it, whoever writes (the checkout functions or psql). Writers lock the
-- levels in (variant, location) order first (sql/functions/commerce/40_inventory.sql).

create or replace function rustok.tg_commerce_reservations__reserved_quantity() returns trigger
language plpgsql as $$
/* AFTER INSERT/UPDATE/DELETE on commerce_reservations: moves reserved_quantity of the levels concerned. */
begin
    if tg_op in ('DELETE', 'UPDATE') then
        update public.commerce_inventory_levels l set reserved_quantity = l.reserved_quantity - old.quantity
        where l.tenant_id = old.tenant_id and l.variant_id = old.variant_id and l.location_id = old.location_id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        update public.commerce_inventory_levels l set reserved_quantity = l.reserved_quantity + new.quantity
        where l.tenant_id = new.tenant_id and l.variant_id = new.variant_id and l.location_id = new.location_id;
    end if;
    return null;
end
$$;

create or replace trigger _200_reserved_quantity after insert or update or delete on public.commerce_reservations
    for each row execute function rustok.tg_commerce_reservations__reserved_quantity();
