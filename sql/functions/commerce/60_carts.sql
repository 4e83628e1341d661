-- Carts: a guest's (anyone holding its id) or a customer's (that customer, and holders of orders.manage),
-- decided by rustok._commerce_cart_visible alone; lines priced by rustok.variant_price's rule; totals computed
-- here (subtotal, discount, tax, shipping, total); checkout reservations. Anonymous requests may use carts.
-- Any change to a cart's lines or discount releases its reservations (the checkout starts again).

create or replace function rustok._commerce_cart_lines(c public.commerce_carts)
returns table (line_id uuid, variant_id uuid, product_id uuid, product_title text, variant_title text, sku text,
               quantity int, unit_price bigint, original_unit_price bigint, discountable boolean,
               purchasable boolean, manage_inventory boolean, allow_backorder boolean, created_at timestamptz)
language sql stable as $$
    /* The cart's lines with their unit prices now (null: no price in the cart's currency) and what checkout
       needs to know about each variant, in the order they were added. */
    select l.id, l.variant_id, v.product_id, p.title, v.title, v.sku, l.quantity, pr.amount, pr.original_amount,
           p.discountable, p.status = 'published', v.manage_inventory, v.allow_backorder, l.created_at
    from public.commerce_cart_lines l
    join public.commerce_variants v on v.tenant_id = l.tenant_id and v.id = l.variant_id
    join public.commerce_products p on p.tenant_id = v.tenant_id and p.id = v.product_id
    left join lateral rustok._commerce_price(l.variant_id, c.currency_code, l.quantity, c.customer_id) pr on true
    where l.tenant_id = c.tenant_id and l.cart_id = c.id
    order by l.created_at, l.id
$$;

create or replace function rustok._commerce_cart_totals(
    c public.commerce_carts, subtotal bigint, discountable_subtotal bigint,
    out discount_total bigint, out tax_total bigint, out shipping_total bigint, out total bigint,
    out discount_code text)
language plpgsql stable as $$
/* The cart's totals from its subtotal (and the part of it from discountable products): the discount (a
   percentage of the discountable subtotal, or a fixed amount up to it; nothing while the code is not valid),
   the region's tax on the discounted subtotal, the shipping option's price. Rounding is half away from zero
   in exact numeric arithmetic. */
declare
    d public.commerce_discounts;
    rate int;
begin
    discount_total := 0;
    if c.discount_id is not null then
        select * into d from public.commerce_discounts cd where cd.tenant_id = c.tenant_id and cd.id = c.discount_id;
        discount_code := d.code;
        if rustok._commerce_discount_problem(d, c.currency_code) is null then
            discount_total := case d.kind
                when 'percentage' then round(discountable_subtotal::numeric * d.value / 100)::bigint
                else least(d.value, discountable_subtotal) end;
        end if;
    end if;
    select t.rate into rate from public.commerce_tax_rates t where t.tenant_id = c.tenant_id and t.region_id = c.region_id;
    tax_total := round((subtotal - discount_total)::numeric * coalesce(rate, 0) / 10000)::bigint;
    shipping_total := coalesce((select s.amount from public.commerce_shipping_options s
                                where s.tenant_id = c.tenant_id and s.id = c.shipping_option_id and s.is_active), 0);
    total := subtotal - discount_total + tax_total + shipping_total;
end
$$;

create or replace function rustok._commerce_cart_json(c public.commerce_carts) returns jsonb
language plpgsql stable as $$
/* The Cart shape: lines with unit prices and line subtotals, totals, shipping address, shipping option (and
   the region's active ones to choose from), discount code, and until when its checkout holds stock
   (reservedUntil). */
declare
    lines jsonb;
    subtotal bigint;
    discountable bigint;
    item_count int;
    totals record;
begin
    select coalesce(jsonb_agg(jsonb_build_object(
               'id', rustok.ulid(l.line_id), 'variantId', rustok.ulid(l.variant_id),
               'productId', rustok.ulid(l.product_id), 'title', l.product_title, 'variantTitle', l.variant_title,
               'sku', l.sku, 'quantity', l.quantity,
               'unitPrice', rustok._commerce_money(l.unit_price, c.currency_code),
               'originalUnitPrice', rustok._commerce_money(l.original_unit_price, c.currency_code),
               'subtotal', rustok._commerce_money(l.unit_price * l.quantity, c.currency_code))
           order by l.created_at, l.line_id), '[]'::jsonb),
           coalesce(sum(l.unit_price * l.quantity), 0),
           coalesce(sum(l.unit_price * l.quantity) filter (where l.discountable), 0),
           coalesce(sum(l.quantity), 0)
    into lines, subtotal, discountable, item_count
    from rustok._commerce_cart_lines(c) l;
    select * into totals from rustok._commerce_cart_totals(c, subtotal, discountable);
    return jsonb_build_object(
        'id', rustok.ulid(c.id), 'status', c.status, 'email', c.email, 'customerId', rustok.ulid(c.customer_id),
        'currencyCode', c.currency_code, 'regionId', rustok.ulid(c.region_id),
        'shippingAddress', c.shipping_address,
        'availableShippingOptions', coalesce((
            select jsonb_agg(jsonb_build_object('id', rustok.ulid(s.id), 'name', s.name,
                                                'amount', rustok._commerce_money(s.amount, c.currency_code))
                             order by s.amount, s.name)
            from public.commerce_shipping_options s
            where s.tenant_id = c.tenant_id and s.region_id = c.region_id and s.is_active), '[]'::jsonb),
        'shippingOption', (select jsonb_build_object('id', rustok.ulid(s.id), 'name', s.name,
                                                     'amount', rustok._commerce_money(s.amount, c.currency_code))
                           from public.commerce_shipping_options s
                           where s.tenant_id = c.tenant_id and s.id = c.shipping_option_id),
        'discountCode', totals.discount_code, 'lines', lines, 'itemCount', item_count,
        'subtotal', rustok._commerce_money(subtotal, c.currency_code),
        'discountTotal', rustok._commerce_money(totals.discount_total, c.currency_code),
        'taxTotal', rustok._commerce_money(totals.tax_total, c.currency_code),
        'shippingTotal', rustok._commerce_money(totals.shipping_total, c.currency_code),
        'total', rustok._commerce_money(totals.total, c.currency_code),
        'orderId', rustok.ulid(c.order_id),
        'reservedUntil', (select min(r.expires_at) from public.commerce_reservations r
                          where r.tenant_id = c.tenant_id and r.cart_id = c.id and r.expires_at > now()),
        'createdAt', c.created_at, 'updatedAt', c.updated_at);
end
$$;

create or replace function rustok._commerce_cart_visible(c public.commerce_carts) returns boolean
language sql stable as $$
    /* Whether the caller may read and change the cart (docs/commerce.md, "Who owns a cart and an order"): a
       guest cart (made anonymously) is anyone's who holds its id; a customer's cart is that customer's and
       order managers'. False, never null, for no cart, and for a customer's cart when nobody is signed in. */
    select c.id is not null
           and (c.customer_id is null or rustok.is_current_user(c.customer_id) or rustok.has_permission('orders.manage'))
$$;

create or replace function rustok._commerce_cart_for_update(cart_id uuid) returns public.commerce_carts
language plpgsql volatile as $$
/* Locks a cart the caller may change. Raises NOT_FOUND (also for someone else's cart), INVALID_STATE (the
   cart became an order). */
declare
    c public.commerce_carts;
begin
    select * into c from public.commerce_carts cc
    where cc.tenant_id = rustok.require_tenant() and cc.id = _commerce_cart_for_update.cart_id
    for update;
    if not found or not rustok._commerce_cart_visible(c) then
        perform rustok.raise('NOT_FOUND', 'no such cart', jsonb_build_object('field', 'cartId'));
    end if;
    if c.status <> 'active' then
        perform rustok.raise('INVALID_STATE', 'the cart is already an order',
                             jsonb_build_object('field', 'cartId', 'status', c.status));
    end if;
    return c;
end
$$;

create or replace function rustok._commerce_release_cart(c public.commerce_carts) returns int
language plpgsql volatile as $$
/* Releases the cart's checkout reservations (levels locked in order first); returns how many. */
declare
    released int;
begin
    if not exists (select 1 from public.commerce_reservations r where r.tenant_id = c.tenant_id and r.cart_id = c.id) then
        return 0;
    end if;
    perform rustok._commerce_lock_stock(array(select distinct r.variant_id from public.commerce_reservations r
                                              where r.tenant_id = c.tenant_id and r.cart_id = c.id));
    delete from public.commerce_reservations r where r.tenant_id = c.tenant_id and r.cart_id = c.id;
    get diagnostics released = row_count;
    return released;
end
$$;

create or replace function rustok._commerce_put_line(c public.commerce_carts, variant_id uuid, quantity int,
                                                     adding boolean, field text default 'variantId')
returns void
language plpgsql volatile as $$
/* Adds quantity to the cart's line of a variant (adding) or sets it. The variant must be of a published
   product, have a price in the cart's currency for that quantity, and (when its stock is managed without
   backorders) enough available stock (expired reservations count as available). No lock is taken: the
   order takes the stock under locks, and refuses then if it is gone. Raises VALIDATION_FAILED (quantity), NOT_FOUND, PRICE_NOT_FOUND,
   INSUFFICIENT_STOCK. */
declare
    v public.commerce_variants;
    new_quantity bigint;
    available bigint;
begin
    perform rustok._input_int(to_jsonb(quantity), 'quantity', 1, 100000, required => true);
    select cv.* into v from public.commerce_variants cv
    join public.commerce_products p on p.tenant_id = cv.tenant_id and p.id = cv.product_id
    where cv.tenant_id = c.tenant_id and cv.id = _commerce_put_line.variant_id and p.status = 'published';
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such product variant for sale', jsonb_build_object('field', field));
    end if;
    new_quantity := quantity + case when adding then coalesce((
        select l.quantity from public.commerce_cart_lines l
        where l.tenant_id = c.tenant_id and l.cart_id = c.id and l.variant_id = v.id), 0) else 0 end;
    perform rustok._input_int(to_jsonb(new_quantity), 'quantity', 1, 100000);
    if not exists (select 1 from rustok._commerce_price(v.id, c.currency_code, new_quantity::int, c.customer_id)) then
        perform rustok.raise('PRICE_NOT_FOUND', 'the variant has no price in the cart''s currency',
                             jsonb_build_object('field', field, 'variantId', rustok.ulid(v.id),
                                                'currencyCode', c.currency_code));
    end if;
    if v.manage_inventory and not v.allow_backorder then
        select coalesce(sum(l.stocked_quantity - l.reserved_quantity), 0)
               + coalesce((select sum(r.quantity) from public.commerce_reservations r  -- expired: as good as free
                           where r.tenant_id = v.tenant_id and r.variant_id = v.id and r.expires_at <= now()), 0)
        into available
        from public.commerce_inventory_levels l where l.tenant_id = v.tenant_id and l.variant_id = v.id;
        if available < new_quantity then
            perform rustok.raise('INSUFFICIENT_STOCK', 'not enough stock',
                                 jsonb_build_object('field', 'quantity', 'variantId', rustok.ulid(v.id),
                                                    'requested', new_quantity, 'available', greatest(available, 0)));
        end if;
    end if;
    insert into public.commerce_cart_lines as l (tenant_id, cart_id, variant_id, quantity, created_at)
    values (c.tenant_id, c.id, v.id, new_quantity, clock_timestamp())  -- lines keep the order they were added in
    on conflict on constraint commerce_cart_lines_tenant_id_cart_id_variant_id_key
    do update set quantity = excluded.quantity, updated_at = now();
end
$$;

create or replace function rustok._commerce_touch_cart(c public.commerce_carts) returns jsonb
language plpgsql volatile as $$
/* Stamps the cart's updated_at and returns its Cart shape. */
begin
    update public.commerce_carts cc set updated_at = now() where cc.tenant_id = c.tenant_id and cc.id = c.id
    returning * into c;
    return rustok._commerce_cart_json(c);
end
$$;

create or replace function rustok.cart_by_id(cart_id uuid) returns jsonb
language plpgsql stable as $$
/* A cart the caller may see (a guest cart, their own, or any with orders.manage), or null. */
begin
    perform rustok.require_module('commerce');
    return (select rustok._commerce_cart_json(c) from public.commerce_carts c
            where c.tenant_id = rustok.current_tenant_id() and c.id = cart_by_id.cart_id
              and rustok._commerce_cart_visible(c));
end
$$;

create or replace function rustok.create_cart(input jsonb default null) returns jsonb
language plpgsql volatile as $$
/* Creates a cart for the signed-in customer (or a guest cart) {currencyCode (default: the region's), regionId,
   shippingOptionId (of that region), email, lines: [{variantId, quantity}]}. Anonymous callers may. Raises
   VALIDATION_FAILED, CURRENCY_UNKNOWN, NOT_FOUND (region, shipping option, variant), PRICE_NOT_FOUND,
   INSUFFICIENT_STOCK, INVALID_ID. Returns the Cart. */
declare
    c public.commerce_carts;
    r public.commerce_regions;
    region uuid;
    currency text;
    shipping uuid;
    item jsonb;
    i int;
begin
    perform rustok.require_module('commerce');
    input := rustok._input_object(input, 'input');
    region := rustok._input_id(input -> 'regionId', 'regionId');
    if region is not null then
        select * into r from public.commerce_regions cr where cr.tenant_id = rustok.require_tenant() and cr.id = region;
        if not found then
            perform rustok.raise('NOT_FOUND', 'no such region', jsonb_build_object('field', 'regionId'));
        end if;
    end if;
    currency := rustok._commerce_currency(input -> 'currencyCode', required => false);
    if currency is not null then
        if r.id is not null and currency <> r.currency_code::text then
            perform rustok._input_invalid('currencyCode', 'region_currency', 'the region uses another currency');
        end if;
    elsif r.id is not null then
        currency := r.currency_code;
    else
        perform rustok._input_invalid('currencyCode', 'required', 'a currency code or a region is required');
    end if;
    shipping := rustok._input_id(input -> 'shippingOptionId', 'shippingOptionId');
    if shipping is not null and not exists (
            select 1 from public.commerce_shipping_options s
            where s.tenant_id = rustok.current_tenant_id() and s.region_id = r.id and s.id = shipping and s.is_active) then
        perform rustok.raise('NOT_FOUND', 'no such shipping option in the cart''s region',
                             jsonb_build_object('field', 'shippingOptionId'));
    end if;
    insert into public.commerce_carts (tenant_id, customer_id, email, currency_code, region_id, shipping_option_id)
    values (rustok.require_tenant(), rustok.current_user_id(),
            rustok._input_email(input -> 'email'), currency, r.id, shipping)
    returning * into c;
    for item, i in select e, n - 1 from jsonb_array_elements(
            rustok._input_array(input -> 'lines', 'lines', 100)) with ordinality as t (e, n) loop
        perform rustok._input_object(item, format('lines[%s]', i), required => true);
        perform rustok._commerce_put_line(
            c, rustok._input_id(item -> 'variantId', format('lines[%s].variantId', i)),
            rustok._input_int(item -> 'quantity', format('lines[%s].quantity', i), -2147483648, 2147483647)::int,
            true, format('lines[%s].variantId', i));
    end loop;
    return rustok._commerce_cart_json(c);
end
$$;

create or replace function rustok.add_cart_line(cart_id uuid, variant_id uuid, quantity int) returns jsonb
language plpgsql volatile as $$
/* Adds quantity of a variant to the cart (to its line when there is one). Raises NOT_FOUND (cart, variant),
   INVALID_STATE (the cart is an order), VALIDATION_FAILED (quantity < 1), PRICE_NOT_FOUND,
   INSUFFICIENT_STOCK. Returns the Cart. */
declare
    c public.commerce_carts;
begin
    perform rustok.require_module('commerce');
    c := rustok._commerce_cart_for_update(cart_id);
    perform rustok._commerce_release_cart(c);
    perform rustok._commerce_put_line(c, variant_id, quantity, true);
    return rustok._commerce_touch_cart(c);
end
$$;

create or replace function rustok.update_cart_line(cart_id uuid, line_id uuid, quantity int) returns jsonb
language plpgsql volatile as $$
/* Sets a line's quantity (0 removes the line). Raises NOT_FOUND (cart, line), INVALID_STATE,
   VALIDATION_FAILED (negative), PRICE_NOT_FOUND (no price for the new tier), INSUFFICIENT_STOCK. */
declare
    c public.commerce_carts;
    line public.commerce_cart_lines;
begin
    perform rustok.require_module('commerce');
    c := rustok._commerce_cart_for_update(cart_id);
    select * into line from public.commerce_cart_lines l
    where l.tenant_id = c.tenant_id and l.cart_id = c.id and l.id = update_cart_line.line_id;
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such line in the cart', jsonb_build_object('field', 'lineId'));
    end if;
    perform rustok._input_int(to_jsonb(quantity), 'quantity', 0, 100000, required => true);
    perform rustok._commerce_release_cart(c);
    if quantity = 0 then
        delete from public.commerce_cart_lines l where l.tenant_id = c.tenant_id and l.id = line.id;
    else
        perform rustok._commerce_put_line(c, line.variant_id, quantity, false);
    end if;
    return rustok._commerce_touch_cart(c);
end
$$;

create or replace function rustok.remove_cart_line(cart_id uuid, line_id uuid) returns jsonb
language plpgsql volatile as $$
/* Removes a line from the cart. Raises NOT_FOUND (cart, line), INVALID_STATE. Returns the Cart. */
declare
    c public.commerce_carts;
begin
    perform rustok.require_module('commerce');
    c := rustok._commerce_cart_for_update(cart_id);
    perform rustok._commerce_release_cart(c);
    delete from public.commerce_cart_lines l
    where l.tenant_id = c.tenant_id and l.cart_id = c.id and l.id = remove_cart_line.line_id;
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such line in the cart', jsonb_build_object('field', 'lineId'));
    end if;
    return rustok._commerce_touch_cart(c);
end
$$;

create or replace function rustok.apply_discount(cart_id uuid, code text) returns jsonb
language plpgsql volatile as $$
/* Applies a discount code (any case) to the cart; null or empty removes the cart's code. Raises NOT_FOUND
   (cart), INVALID_STATE, DISCOUNT_INVALID (details.reason: unknown, inactive, not_started, expired,
   usage_limit_reached, currency_mismatch). Returns the Cart. */
declare
    c public.commerce_carts;
    d public.commerce_discounts;
    problem text;
begin
    perform rustok.require_module('commerce');
    c := rustok._commerce_cart_for_update(cart_id);
    if nullif(btrim(code), '') is not null then
        select * into d from public.commerce_discounts cd
        where cd.tenant_id = c.tenant_id and cd.code = upper(btrim(apply_discount.code));
        problem := rustok._commerce_discount_problem(d, c.currency_code);
        if problem is not null then
            perform rustok.raise('DISCOUNT_INVALID', 'the discount code cannot be used',
                                 jsonb_build_object('field', 'code', 'reason', problem));
        end if;
    end if;
    update public.commerce_carts cc set discount_id = d.id
    where cc.tenant_id = c.tenant_id and cc.id = c.id
    returning * into c;
    return rustok._commerce_touch_cart(c);
end
$$;

create or replace function rustok.start_checkout(cart_id uuid, ttl_seconds int default 900) returns jsonb
language plpgsql volatile as $$
/* Reserves the stock of the cart's lines for ttl_seconds (60..86400; the Cart's reservedUntil says until
   when), replacing any earlier reservation of the cart; emits CheckoutStarted. Backorderable variants
   reserve what there is. Raises NOT_FOUND, INVALID_STATE (an order already, or empty),
   INSUFFICIENT_STOCK, VALIDATION_FAILED (ttl). */
declare
    c public.commerce_carts;
    line record;
    allocation jsonb;
    expires timestamptz;
begin
    perform rustok.require_module('commerce');
    c := rustok._commerce_cart_for_update(cart_id);
    perform rustok._input_int(to_jsonb(ttl_seconds), 'ttlSeconds', 60, 86400, required => true);
    if not exists (select 1 from public.commerce_cart_lines l where l.tenant_id = c.tenant_id and l.cart_id = c.id) then
        perform rustok.raise('INVALID_STATE', 'the cart is empty', jsonb_build_object('field', 'cartId', 'reason', 'empty'));
    end if;
    expires := now() + make_interval(secs => ttl_seconds);
    perform rustok._commerce_lock_stock(array(
        select l.variant_id from public.commerce_cart_lines l where l.tenant_id = c.tenant_id and l.cart_id = c.id
        union
        select r.variant_id from public.commerce_reservations r where r.tenant_id = c.tenant_id and r.cart_id = c.id));
    delete from public.commerce_reservations r where r.tenant_id = c.tenant_id and r.cart_id = c.id;
    for line in select l.variant_id, l.quantity, l.allow_backorder from rustok._commerce_cart_lines(c) l
                where l.manage_inventory order by l.variant_id loop
        allocation := rustok._commerce_allocate(line.variant_id, line.quantity);
        if rustok._commerce_allocated(allocation) < line.quantity and not line.allow_backorder then
            perform rustok.raise('INSUFFICIENT_STOCK', 'not enough stock',
                                 jsonb_build_object('field', 'lines', 'variantId', rustok.ulid(line.variant_id),
                                                    'requested', line.quantity,
                                                    'available', rustok._commerce_allocated(allocation)));
        end if;
        insert into public.commerce_reservations (tenant_id, cart_id, variant_id, location_id, quantity, expires_at)
        select c.tenant_id, c.id, line.variant_id, (a ->> 'locationId')::uuid, (a ->> 'quantity')::int, expires
        from jsonb_array_elements(allocation) a;
    end loop;
    perform rustok.publish_event('CheckoutStarted', jsonb_build_object(
        'cart_id', rustok.ulid(c.id), 'expires_at', expires));
    return rustok._commerce_cart_json(c);
end
$$;

create or replace function rustok.cancel_checkout(cart_id uuid) returns jsonb
language plpgsql volatile as $$
/* Releases the stock the cart's checkout reserved; emits CheckoutCanceled when there was any. Raises
   NOT_FOUND, INVALID_STATE. Returns the Cart. */
declare
    c public.commerce_carts;
begin
    perform rustok.require_module('commerce');
    c := rustok._commerce_cart_for_update(cart_id);
    if rustok._commerce_release_cart(c) > 0 then
        perform rustok.publish_event('CheckoutCanceled', jsonb_build_object('cart_id', rustok.ulid(c.id)));
    end if;
    return rustok._commerce_cart_json(c);
end
$$;
