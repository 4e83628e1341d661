-- Orders: place_order turns a cart into an order in one transaction (stock taken under ordered row locks,
-- discount usage counted, a per-tenant display id, prices and titles snapshotted into the lines, OrderPlaced);
-- the status workflow; reads (order managers: every order of the tenant; customers: their own).
--
-- Lock order, the same everywhere so concurrent orders queue instead of deadlocking: the cart, then the
-- inventory levels in (variant, location) order, then the discount, then the tenant's order counter.
-- set_order_status locks the order, then the levels.

create or replace function rustok._commerce_order_json(o public.commerce_orders) returns jsonb
language sql stable as $$
    /* The Order shape: totals as Money, the snapshotted lines, addresses and shipping option. */
    select jsonb_build_object(
        'id', rustok.ulid(o.id), 'displayId', o.display_id, 'status', o.status,
        'customerId', rustok.ulid(o.customer_id), 'cartId', rustok.ulid(o.cart_id), 'email', o.email,
        'currencyCode', o.currency_code,
        'subtotal', rustok._commerce_money(o.subtotal, o.currency_code),
        'discountTotal', rustok._commerce_money(o.discount_total, o.currency_code),
        'taxTotal', rustok._commerce_money(o.tax_total, o.currency_code),
        'shippingTotal', rustok._commerce_money(o.shipping_total, o.currency_code),
        'total', rustok._commerce_money(o.total, o.currency_code),
        'discountCode', o.discount_code, 'regionId', rustok.ulid(o.region_id),
        'shippingOption', o.shipping_option, 'shippingAddress', o.shipping_address,
        'billingAddress', o.billing_address,
        'lines', coalesce((
            select jsonb_agg(jsonb_build_object(
                       'id', rustok.ulid(l.id), 'variantId', rustok.ulid(l.variant_id),
                       'productId', rustok.ulid(l.product_id), 'title', l.title, 'variantTitle', l.variant_title,
                       'sku', l.sku, 'quantity', l.quantity,
                       'unitPrice', rustok._commerce_money(l.unit_price, o.currency_code),
                       'subtotal', rustok._commerce_money(l.subtotal, o.currency_code))
                   order by l.position)
            from public.commerce_order_lines l
            where l.tenant_id = o.tenant_id and l.order_id = o.id and l.created_at = o.created_at), '[]'::jsonb),
        'createdAt', o.created_at, 'updatedAt', o.updated_at)
$$;

create or replace function rustok._commerce_order_visible(o public.commerce_orders) returns boolean
language sql stable as $$
    /* Whether the caller may read the order (docs/commerce.md, "Who owns a cart and an order"): order managers
       read every order; a signed-in customer their own. A guest order (customer_id null, also an order whose
       customer was deleted) is no customer's. False, never null, for no order and for anonymous callers. */
    select o.id is not null and (rustok.has_permission('orders.manage') or rustok.is_current_user(o.customer_id))
$$;

create or replace function rustok._commerce_take_stock(c public.commerce_carts, lines jsonb) returns jsonb
language plpgsql volatile as $$
/* Takes the stock of the cart's lines (as collected by place_order) for an order: locks the levels in
   order, releases expired reservations and the cart's own (re-taken at once, under the same locks), then
   takes each line's quantity from its locations' available stock; backorderable variants take the rest
   from their first location. Returns {variant id: [{locationId, quantity}]}. Raises INSUFFICIENT_STOCK. */
declare
    line record;
    allocation jsonb;
    short int;
    taken jsonb := '{}';
    fallback uuid;
begin
    if exists (select 1 from jsonb_to_recordset(lines) as x (variant_id uuid, manage_inventory boolean,
                                                              allow_backorder boolean)
               where x.manage_inventory and x.allow_backorder and not exists (
                   select 1 from public.commerce_inventory_levels l
                   where l.tenant_id = c.tenant_id and l.variant_id = x.variant_id)) then
        fallback := rustok._commerce_default_location();
        insert into public.commerce_inventory_levels (tenant_id, variant_id, location_id)
        select c.tenant_id, x.variant_id, fallback
        from jsonb_to_recordset(lines) as x (variant_id uuid, manage_inventory boolean, allow_backorder boolean)
        where x.manage_inventory and x.allow_backorder
        order by x.variant_id
        on conflict do nothing;
    end if;
    perform rustok._commerce_lock_stock(array(
        select x.variant_id from jsonb_to_recordset(lines) as x (variant_id uuid, manage_inventory boolean)
        where x.manage_inventory
        union
        select r.variant_id from public.commerce_reservations r where r.tenant_id = c.tenant_id and r.cart_id = c.id));
    delete from public.commerce_reservations r where r.tenant_id = c.tenant_id and r.cart_id = c.id;

    for line in select x.variant_id, x.quantity, x.allow_backorder
                from jsonb_to_recordset(lines) as x (variant_id uuid, quantity int, manage_inventory boolean,
                                                     allow_backorder boolean)
                where x.manage_inventory order by x.variant_id loop
        allocation := rustok._commerce_allocate(line.variant_id, line.quantity);
        short := line.quantity - rustok._commerce_allocated(allocation);
        if short > 0 then
            if not line.allow_backorder then
                perform rustok.raise('INSUFFICIENT_STOCK', 'not enough stock',
                                     jsonb_build_object('field', 'lines', 'variantId', rustok.ulid(line.variant_id),
                                                        'requested', line.quantity,
                                                        'available', line.quantity - short));
            end if;
            allocation := allocation || jsonb_build_array(jsonb_build_object(
                'locationId', (select l.location_id from public.commerce_inventory_levels l
                               where l.tenant_id = c.tenant_id and l.variant_id = line.variant_id
                               order by l.location_id limit 1),
                'quantity', short));
        end if;
        update public.commerce_inventory_levels l
        set stocked_quantity = l.stocked_quantity - a.quantity, updated_at = now()
        from (select (x ->> 'locationId')::uuid as location_id, sum((x ->> 'quantity')::int) as quantity
              from jsonb_array_elements(allocation) x group by 1) a
        where l.tenant_id = c.tenant_id and l.variant_id = line.variant_id and l.location_id = a.location_id;
        taken := taken || jsonb_build_object(line.variant_id::text, allocation);
    end loop;
    return taken;
end
$$;

create or replace function rustok.place_order(cart_id uuid, email text default null,
                                              shipping_address jsonb default null, billing_address jsonb default null)
returns jsonb
language plpgsql volatile as $$
/* Turns a cart into an order in one transaction: prices now (snapshotted with titles and SKU into the lines),
   stock taken (no oversell: see _commerce_take_stock), the discount's use counted, the next display id of the
   tenant, the cart completed; emits OrderPlaced {order_id, display_id, customer_id, total, currency}.
   email defaults to the cart's, then the signed-in user's; the billing address to the shipping address.
   Where it goes is decided as the cart's checkout steps decide it (_commerce_order_destination): a shipping
   address given here is set on the cart as set_cart_shipping_address sets it (the region, so tax and
   currency, follow from its country), else the cart's is taken; with regions, the order needs one in a
   served country and, when the region has shipping options, one chosen (set_cart_shipping_option). Tax
   and shipping come from _commerce_cart_totals, as the cart shows them. Anonymous callers may (guest
   checkout). Raises NOT_FOUND (cart; a product no longer for sale), INVALID_STATE (already an order; empty
   cart), VALIDATION_FAILED (email, addresses; details.field shippingAddress, shippingAddress.countryCode or
   shippingOptionId with reason required or not_served), REGION_CURRENCY_MISMATCH, PRICE_NOT_FOUND,
   DISCOUNT_INVALID, INSUFFICIENT_STOCK. Returns the Order. */
declare
    c public.commerce_carts;
    o public.commerce_orders;
    d public.commerce_discounts;
    line record;
    lines jsonb := '[]';
    subtotal bigint := 0;
    discountable bigint := 0;
    order_email text;
    shipping jsonb;
    billing jsonb;
    taken jsonb;
    totals record;
    problem text;
    display bigint;
    new_id uuid := rustok.gen_id();
begin
    perform rustok.require_module('commerce');
    c := rustok._commerce_cart_for_update(cart_id);
    order_email := coalesce(rustok._input_email(to_jsonb(place_order.email)), c.email,
                            (select u.email from public.users u
                             where u.tenant_id = c.tenant_id and rustok.is_current_user(u.id)));
    if order_email is null then
        perform rustok._input_invalid('email', 'required', 'an email address is required');
    end if;
    c := rustok._commerce_order_destination(c, shipping_address);
    shipping := c.shipping_address;
    billing := coalesce(rustok._commerce_address(billing_address, 'billingAddress'), shipping);

    for line in select * from rustok._commerce_cart_lines(c) loop
        if not line.purchasable then
            perform rustok.raise('NOT_FOUND', 'a product in the cart is no longer for sale',
                                 jsonb_build_object('field', 'lines', 'variantId', rustok.ulid(line.variant_id)));
        end if;
        if line.unit_price is null then
            perform rustok.raise('PRICE_NOT_FOUND', 'the variant has no price in the cart''s currency',
                                 jsonb_build_object('field', 'lines', 'variantId', rustok.ulid(line.variant_id),
                                                    'currencyCode', c.currency_code));
        end if;
        subtotal := subtotal + line.unit_price * line.quantity;
        discountable := discountable + case when line.discountable then line.unit_price * line.quantity else 0 end;
        lines := lines || jsonb_build_array(to_jsonb(line));
    end loop;
    if jsonb_array_length(lines) = 0 then
        perform rustok.raise('INVALID_STATE', 'the cart is empty', jsonb_build_object('field', 'cartId', 'reason', 'empty'));
    end if;

    taken := rustok._commerce_take_stock(c, lines);

    if c.discount_id is not null then
        select * into d from public.commerce_discounts cd
        where cd.tenant_id = c.tenant_id and cd.id = c.discount_id
        for update;
        problem := rustok._commerce_discount_problem(d, c.currency_code);
        if problem is not null then
            perform rustok.raise('DISCOUNT_INVALID', 'the discount code cannot be used',
                                 jsonb_build_object('field', 'discountCode', 'reason', problem));
        end if;
    end if;
    select * into totals from rustok._commerce_cart_totals(c, subtotal, discountable);
    if c.discount_id is not null then  -- counted after the totals, which see the code as still usable
        update public.commerce_discounts cd set usage_count = cd.usage_count + 1
        where cd.tenant_id = d.tenant_id and cd.id = d.id;
    end if;

    insert into public.commerce_order_counters as oc (tenant_id, last_display_id) values (c.tenant_id, 1)
    on conflict (tenant_id) do update set last_display_id = oc.last_display_id + 1
    returning oc.last_display_id into display;

    insert into public.commerce_orders (
        tenant_id, id, created_at, updated_at, display_id, customer_id, cart_id, email, currency_code, subtotal,
        discount_total, tax_total, shipping_total, total, discount_code, region_id, shipping_option, shipping_address,
        billing_address)
    values (
        c.tenant_id, new_id, rustok._commerce_id_time(new_id), rustok._commerce_id_time(new_id), display,
        coalesce(c.customer_id, case when rustok.current_user_role() = 'customer' then rustok.current_user_id() end),
        c.id, order_email, c.currency_code, subtotal, totals.discount_total, totals.tax_total, totals.shipping_total,
        totals.total, case when c.discount_id is not null then d.code end, c.region_id,
        (select jsonb_build_object('id', rustok.ulid(s.id), 'name', s.name,
                                   'amount', rustok._commerce_money(s.amount, c.currency_code))
         from public.commerce_shipping_options s where s.tenant_id = c.tenant_id and s.id = c.shipping_option_id
           and s.is_active),
        shipping, billing)
    returning * into o;

    insert into public.commerce_order_lines (tenant_id, order_id, created_at, position, variant_id, product_id, title,
                                             variant_title, sku, quantity, unit_price, subtotal, allocations)
    select o.tenant_id, o.id, o.created_at, x.n - 1, x.variant_id, x.product_id, x.product_title, x.variant_title,
           x.sku, x.quantity, x.unit_price, x.unit_price * x.quantity,
           coalesce(taken -> x.variant_id::text, '[]'::jsonb)
    from rows from (jsonb_to_recordset(lines) as (variant_id uuid, product_id uuid, product_title text,
                                                  variant_title text, sku text, quantity int, unit_price bigint))
         with ordinality as x (variant_id, product_id, product_title, variant_title, sku, quantity, unit_price, n);
    update public.commerce_carts cc set status = 'completed', order_id = o.id, completed_at = now(),
                                        email = order_email
    where cc.tenant_id = c.tenant_id and cc.id = c.id;

    perform rustok.publish_event('OrderPlaced', jsonb_build_object(
        'order_id', rustok.ulid(o.id), 'display_id', o.display_id, 'customer_id', rustok.ulid(o.customer_id),
        'total', o.total, 'currency', o.currency_code));
    return rustok._commerce_order_json(o);
end
$$;

create or replace function rustok._commerce_return_stock(o public.commerce_orders) returns void
language plpgsql volatile as $$
/* Puts the stock an order took back where it came from (levels locked in order; variants or locations
   deleted since are skipped); emits InventoryAdjusted for each level. */
declare
    returned record;
begin
    perform rustok._commerce_lock_stock(array(
        select distinct l.variant_id from public.commerce_order_lines l
        where l.tenant_id = o.tenant_id and l.order_id = o.id and l.created_at = o.created_at
          and l.variant_id is not null));
    for returned in
        update public.commerce_inventory_levels lvl
        set stocked_quantity = lvl.stocked_quantity + a.quantity, updated_at = now()
        from (select l.variant_id, l.product_id, (x ->> 'locationId')::uuid as location_id,
                     sum((x ->> 'quantity')::int) as quantity
              from public.commerce_order_lines l, jsonb_array_elements(l.allocations) x
              where l.tenant_id = o.tenant_id and l.order_id = o.id and l.created_at = o.created_at
              group by 1, 2, 3) a
        where lvl.tenant_id = o.tenant_id and lvl.variant_id = a.variant_id and lvl.location_id = a.location_id
        returning lvl.variant_id, a.product_id, lvl.location_id, a.quantity, lvl.stocked_quantity,
                  lvl.reserved_quantity
    loop
        perform rustok.publish_event('InventoryAdjusted', jsonb_build_object(
            'variant_id', rustok.ulid(returned.variant_id), 'product_id', rustok.ulid(returned.product_id),
            'location_id', rustok.ulid(returned.location_id),
            'delta', returned.quantity, 'stocked_quantity', returned.stocked_quantity,
            'available_quantity', returned.stocked_quantity - returned.reserved_quantity,
            'reason', 'order ' || o.status, 'order_id', rustok.ulid(o.id)));
    end loop;
end
$$;

create or replace function rustok.set_order_status(order_id uuid, status text) returns jsonb
language plpgsql volatile as $$
/* Moves an order along its workflow: pending → paid | canceled; paid → fulfilled | canceled | refunded;
   fulfilled → completed | refunded; completed → refunded. Canceling, or refunding before fulfilment, returns
   the stock. Emits OrderPaid, OrderFulfilled, OrderCompleted, OrderCanceled or OrderRefunded {order_id,
   display_id, from, to}. Needs orders.manage; a customer may cancel their own pending order (never a guest
   order: rustok._commerce_order_visible). Raises
   UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, VALIDATION_FAILED (unknown status), INVALID_STATE (not allowed from
   the current status; details from, to, allowed). Returns the Order. */
declare
    o public.commerce_orders;
    manager boolean := rustok.has_permission('orders.manage');
    new_status text;
    old_status text;
    allowed text[];
begin
    perform rustok.require_module('commerce');
    if not manager and rustok.current_user_id() is null then
        perform rustok.raise('UNAUTHENTICATED', 'sign in first', jsonb_build_object('permission', 'orders.manage'));
    end if;
    new_status := rustok._input_choice(to_jsonb(set_order_status.status), 'status',
                                       '{pending,paid,fulfilled,completed,canceled,refunded}', required => true);
    select * into o from public.commerce_orders co
    where co.tenant_id = rustok.require_tenant() and co.id = set_order_status.order_id
      and co.created_at = rustok._commerce_id_time(set_order_status.order_id)
    for update;
    if not rustok._commerce_order_visible(o) then
        perform rustok.raise('NOT_FOUND', 'no such order', jsonb_build_object('field', 'id'));
    end if;
    if not manager and not (new_status = 'canceled' and o.status = 'pending') then
        perform rustok.raise('FORBIDDEN', 'customers may only cancel their pending orders',
                             jsonb_build_object('permission', 'orders.manage'));
    end if;
    old_status := o.status;
    allowed := case old_status
        when 'pending' then '{paid,canceled}'
        when 'paid' then '{fulfilled,canceled,refunded}'
        when 'fulfilled' then '{completed,refunded}'
        when 'completed' then '{refunded}'
        else '{}' end;
    if not new_status = any (allowed) then
        perform rustok.raise('INVALID_STATE', 'the order cannot move to this status from its current one',
                             jsonb_build_object('field', 'status', 'from', old_status, 'to', new_status,
                                                'allowed', to_jsonb(allowed)));
    end if;
    update public.commerce_orders co set status = new_status, updated_at = now()
    where co.tenant_id = o.tenant_id and co.id = o.id and co.created_at = o.created_at
    returning * into o;
    if new_status = 'canceled' or (new_status = 'refunded' and old_status = 'paid') then
        perform rustok._commerce_return_stock(o);
    end if;
    perform rustok.publish_event('Order' || initcap(new_status), jsonb_build_object(
        'order_id', rustok.ulid(o.id), 'display_id', o.display_id, 'customer_id', rustok.ulid(o.customer_id),
        'from', old_status, 'to', new_status));
    return rustok._commerce_order_json(o);
end
$$;

create or replace function rustok.order_by_id(order_id uuid) returns jsonb
language plpgsql stable as $$
/* One order, or null: any order of the tenant for orders.manage, their own for a signed-in customer.
   Raises UNAUTHENTICATED for an anonymous caller. */
declare
    manager boolean := rustok.has_permission('orders.manage');
begin
    perform rustok.require_module('commerce');
    if not manager and rustok.current_user_id() is null then
        perform rustok.raise('UNAUTHENTICATED', 'sign in first', jsonb_build_object('permission', 'orders.manage'));
    end if;
    return (select rustok._commerce_order_json(o) from public.commerce_orders o
            where o.tenant_id = rustok.current_tenant_id() and o.id = order_by_id.order_id
              and o.created_at = rustok._commerce_id_time(order_by_id.order_id)
              and rustok._commerce_order_visible(o));
end
$$;

create or replace function rustok.list_orders(first int default 20, after text default null,
                                              filter jsonb default null)
returns jsonb
language plpgsql stable as $$
/* Orders, newest first, as a connection (cursor = order id): every order of the tenant for orders.manage
   (filter: status, customerId, email), a signed-in customer's own otherwise (filter: status). Raises
   UNAUTHENTICATED (anonymous), INVALID_ID, VALIDATION_FAILED (page size, status). */
declare
    manager boolean := rustok.has_permission('orders.manage');
    page int;
    after_id uuid;
    status_filter text;
    customer uuid;
    email_filter text;
    nodes jsonb;
begin
    perform rustok.require_module('commerce');
    if not manager and rustok.current_user_id() is null then
        perform rustok.raise('UNAUTHENTICATED', 'sign in first', jsonb_build_object('permission', 'orders.manage'));
    end if;
    page := rustok._page_size(first);
    after_id := rustok._page_after(after);
    filter := rustok._input_object(filter, 'filter');
    status_filter := rustok._input_choice(filter -> 'status', 'filter.status',
                                          '{pending,paid,fulfilled,completed,canceled,refunded}');
    customer := case when manager then rustok._input_id(filter -> 'customerId', 'filter.customerId') end;
    email_filter := lower(rustok._input_text(filter -> 'email', 'filter.email', 255));

    select coalesce(jsonb_agg(rustok._commerce_order_json(o) order by o.id desc), '[]'::jsonb)
    into nodes
    from (select * from public.commerce_orders o
          where o.tenant_id = rustok.current_tenant_id()
            and (after_id is null or (o.id < after_id and o.created_at <= rustok._commerce_id_time(after_id)))
            and (status_filter is null or o.status = status_filter)
            and (manager or rustok.is_current_user(o.customer_id))  -- _commerce_order_visible, manager asked once
            and (customer is null or o.customer_id = customer)
            and (email_filter is null or o.email = email_filter)
          order by o.id desc
          limit page + 1) o;
    return rustok._page_connection(nodes, page, after);
end
$$;
