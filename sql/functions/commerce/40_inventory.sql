-- Inventory: stock locations, adjustments, and the locking discipline every writer of stock follows.
--
-- No oversell: whoever changes stock of several variants first locks their commerce_inventory_levels rows
-- FOR UPDATE in (variant_id, location_id) order (rustok._commerce_lock_stock), then reads availability and
-- writes. Concurrent checkouts queue on the rows they share and never deadlock; a single-row adjustment
-- takes one lock and waits for nothing else. reserved_quantity is kept equal to the sum of the level's
-- reservations by a trigger (sql/triggers/commerce/commerce_reservations.sql).

create or replace function rustok._commerce_default_location() returns uuid
language plpgsql volatile as $$
/* The tenant's default stock location (handle 'default'), created on first use. */
declare
    location uuid;
begin
    select l.id into location from public.commerce_stock_locations l
    where l.tenant_id = rustok.require_tenant() and l.handle = 'default';
    if location is null then
        insert into public.commerce_stock_locations (tenant_id, name, handle)
        values (rustok.current_tenant_id(), 'Default', 'default')
        on conflict (tenant_id, handle) do nothing
        returning id into location;
    end if;
    if location is null then  -- created meanwhile by a concurrent transaction
        select l.id into location from public.commerce_stock_locations l
        where l.tenant_id = rustok.current_tenant_id() and l.handle = 'default';
    end if;
    return location;
end
$$;

create or replace function rustok._commerce_level_json(l public.commerce_inventory_levels) returns jsonb
language sql immutable parallel safe as $$
    /* The InventoryLevel shape. */
    select jsonb_build_object(
        'variantId', rustok.ulid(l.variant_id), 'locationId', rustok.ulid(l.location_id),
        'stockedQuantity', l.stocked_quantity, 'reservedQuantity', l.reserved_quantity,
        'availableQuantity', l.stocked_quantity - l.reserved_quantity, 'updatedAt', l.updated_at)
$$;

create or replace function rustok._commerce_lock_stock(variant_ids uuid[]) returns int
language plpgsql volatile as $$
/* Locks the inventory levels of these variants in (variant, location) order, then releases their expired
   reservations (so expiry never depends on a sweep having run); returns how many it released. */
declare
    released int;
begin
    perform 1 from public.commerce_inventory_levels l
    where l.tenant_id = rustok.current_tenant_id() and l.variant_id = any (variant_ids)
    order by l.variant_id, l.location_id
    for update;
    delete from public.commerce_reservations r
    where r.tenant_id = rustok.current_tenant_id() and r.variant_id = any (variant_ids) and r.expires_at <= now();
    get diagnostics released = row_count;
    return released;
end
$$;

create or replace function rustok._commerce_allocate(variant_id uuid, quantity int) returns jsonb
language sql stable as $$
    /* Where `quantity` of a variant can come from: the available stock (stocked - reserved) of its locations in
       location order, as [{"locationId": uuid, "quantity": n}]; short when there is not enough. The caller holds
       the level locks. */
    select coalesce(jsonb_agg(jsonb_build_object('locationId', a.location_id, 'quantity', a.take)
                              order by a.location_id), '[]'::jsonb)
    from (select l.location_id,
                 least(l.stocked_quantity - l.reserved_quantity,
                       _commerce_allocate.quantity - coalesce(sum(l.stocked_quantity - l.reserved_quantity) over (
                           order by l.location_id rows between unbounded preceding and 1 preceding), 0)) as take
          from public.commerce_inventory_levels l
          where l.tenant_id = rustok.current_tenant_id() and l.variant_id = _commerce_allocate.variant_id
            and l.stocked_quantity - l.reserved_quantity > 0) a
    where a.take > 0
$$;

create or replace function rustok._commerce_allocated(allocations jsonb) returns int
language sql immutable parallel safe as $$
    /* The total quantity of an allocation list. */
    select coalesce(sum((a ->> 'quantity')::int), 0)::int from jsonb_array_elements(allocations) a
$$;

create or replace function rustok.create_stock_location(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Creates a stock location {name, handle (from the name when absent)}; emits StockLocationCreated. Needs
   products.manage. Raises FORBIDDEN/UNAUTHENTICATED, VALIDATION_FAILED, CONFLICT (handle). Returns
   {id, name, handle}. */
declare
    l public.commerce_stock_locations;
    location_name text;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('products.manage');
    input := rustok._input_object(input, 'input', required => true);
    location_name := rustok._input_text(input -> 'name', 'name', 255, required => true);
    insert into public.commerce_stock_locations as sl (tenant_id, name, handle)
    values (rustok.require_tenant(), location_name, rustok._commerce_handle(input -> 'handle', location_name))
    on conflict (tenant_id, handle) do nothing
    returning * into l;
    if l.id is null then
        perform rustok.raise('CONFLICT', 'the handle is taken', jsonb_build_object('field', 'handle'));
    end if;
    perform rustok.publish_event('StockLocationCreated', jsonb_build_object('location_id', rustok.ulid(l.id)));
    return jsonb_build_object('id', rustok.ulid(l.id), 'name', l.name, 'handle', l.handle);
end
$$;

create or replace function rustok.adjust_inventory(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Adds delta (negative: removes) to a variant's stock at a location {variantId, locationId (default: the
   default location), delta, reason}; emits InventoryAdjusted. Stock that is reserved cannot be removed.
   Needs products.manage. Raises FORBIDDEN/UNAUTHENTICATED, NOT_FOUND (variant, location), VALIDATION_FAILED
   (delta missing, zero or beyond ±10^9), INSUFFICIENT_STOCK (removing more than is available), INVALID_ID.
   Returns the InventoryLevel. */
declare
    v public.commerce_variants;
    location uuid;
    delta int;
    lvl public.commerce_inventory_levels;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('products.manage');
    input := rustok._input_object(input, 'input', required => true);
    select * into v from public.commerce_variants cv
    where cv.tenant_id = rustok.require_tenant() and cv.id = rustok._input_id(input -> 'variantId', 'variantId');
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such variant', jsonb_build_object('field', 'variantId'));
    end if;
    location := rustok._input_id(input -> 'locationId', 'locationId');
    if location is null then
        location := rustok._commerce_default_location();
    elsif not exists (select 1 from public.commerce_stock_locations sl
                      where sl.tenant_id = v.tenant_id and sl.id = location) then
        perform rustok.raise('NOT_FOUND', 'no such stock location', jsonb_build_object('field', 'locationId'));
    end if;
    delta := rustok._input_int(input -> 'delta', 'delta', -1000000000, 1000000000, required => true);
    if delta = 0 then
        perform rustok._input_invalid('delta', 'zero', 'delta must not be zero');
    end if;

    insert into public.commerce_inventory_levels (tenant_id, variant_id, location_id)
    values (v.tenant_id, v.id, location)
    on conflict do nothing;
    update public.commerce_inventory_levels l
    set stocked_quantity = l.stocked_quantity + delta, updated_at = now()
    where l.tenant_id = v.tenant_id and l.variant_id = v.id and l.location_id = location
      and (delta > 0 or l.stocked_quantity + delta >= l.reserved_quantity)
    returning * into lvl;
    if lvl.variant_id is null then
        perform rustok.raise('INSUFFICIENT_STOCK', 'cannot remove more than is available',
                             jsonb_build_object('field', 'delta', 'variantId', rustok.ulid(v.id), 'requested', -delta,
                                                'available', (select l.stocked_quantity - l.reserved_quantity
                                                              from public.commerce_inventory_levels l
                                                              where l.tenant_id = v.tenant_id and l.variant_id = v.id
                                                                and l.location_id = location)));
    end if;
    perform rustok.publish_event('InventoryAdjusted', jsonb_build_object(
        'variant_id', rustok.ulid(v.id), 'product_id', rustok.ulid(v.product_id), 'location_id', rustok.ulid(location),
        'delta', delta, 'stocked_quantity', lvl.stocked_quantity,
        'available_quantity', lvl.stocked_quantity - lvl.reserved_quantity,
        'reason', rustok._input_text(input -> 'reason', 'reason', 255)));
    return rustok._commerce_level_json(lvl);
end
$$;

create or replace function rustok.release_expired_reservations() returns int
language plpgsql volatile as $$
/* Releases the tenant's expired checkout reservations (checkouts also release them for the variants they
   touch, so this is housekeeping); returns how many. Needs products.manage. */
declare
    variant_ids uuid[];
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('products.manage');
    select coalesce(array_agg(distinct r.variant_id), '{}') into variant_ids
    from public.commerce_reservations r
    where r.tenant_id = rustok.require_tenant() and r.expires_at <= now();
    return rustok._commerce_lock_stock(variant_ids);
end
$$;
