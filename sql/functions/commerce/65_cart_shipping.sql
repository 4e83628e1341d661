-- Where a cart goes and how: its shipping address (the region follows from the country) and its shipping
-- option (one of that region's), and what an order needs of them. Totals follow from these through
-- rustok._commerce_cart_totals, the rule orders are priced by. Each change emits CartShippingUpdated; a cart's
-- reservations are kept (stock is the same whatever the destination). place_order decides through the same
-- functions, so GraphQL, the storefront and psql get the same totals and the same refusals.

create or replace function rustok.shipping_countries() returns jsonb
language plpgsql stable as $$
/* The countries the tenant's regions ship to, by country code: [{countryCode, regionId, regionName,
   currencyCode}] — what a checkout offers. Anonymous callers may. */
begin
    perform rustok.require_module('commerce');
    return (select coalesce(jsonb_agg(jsonb_build_object(
                       'countryCode', rc.country_code, 'regionId', rustok.ulid(r.id), 'regionName', r.name,
                       'currencyCode', r.currency_code) order by rc.country_code), '[]'::jsonb)
            from public.commerce_region_countries rc
            join public.commerce_regions r on r.tenant_id = rc.tenant_id and r.id = rc.region_id
            where rc.tenant_id = rustok.current_tenant_id());
end
$$;

create or replace function rustok._commerce_has_regions(tenant_id uuid) returns boolean
language sql stable as $$
    /* Whether the tenant's regions ship to any country: then every order needs an address in one of them. */
    select exists (select 1 from public.commerce_region_countries rc
                   where rc.tenant_id = _commerce_has_regions.tenant_id)
$$;

create or replace function rustok._commerce_cart_shipping_updated(c public.commerce_carts) returns void
language plpgsql volatile as $$
/* Emits CartShippingUpdated {cart_id, region_id, country_code, shipping_option_id}. */
begin
    perform rustok.publish_event('CartShippingUpdated', jsonb_build_object(
        'cart_id', rustok.ulid(c.id), 'region_id', rustok.ulid(c.region_id),
        'country_code', c.shipping_address ->> 'countryCode',
        'shipping_option_id', rustok.ulid(c.shipping_option_id)));
end
$$;

create or replace function rustok._commerce_ship_to(c public.commerce_carts, address jsonb, field text)
returns public.commerce_carts
language plpgsql volatile as $$
/* The one rule for where a cart goes, whoever sets it (set_cart_shipping_address, or place_order given an
   address): the address (AddressInput; countryCode required) and, from its country, the cart's region; a
   shipping option of another region is dropped. When the tenant has regions the country must be one they
   ship to, in the cart's currency; a tenant without regions takes any country (no region: no tax, no
   shipping). Writes both to the cart (locked by the caller) and emits CartShippingUpdated when either
   changes. Raises VALIDATION_FAILED (details.field: field and the address key; reason required: no country,
   not_served: no region ships to it), REGION_CURRENCY_MISMATCH. Returns the cart. */
declare
    r public.commerce_regions;
    new_address jsonb;
begin
    new_address := rustok._commerce_address(address, field);
    if new_address is null or not new_address ? 'countryCode' then
        perform rustok._input_invalid(field || '.countryCode', 'required', 'a country is required');
    end if;
    select cr.* into r from public.commerce_region_countries rc
    join public.commerce_regions cr on cr.tenant_id = rc.tenant_id and cr.id = rc.region_id
    where rc.tenant_id = c.tenant_id and rc.country_code = new_address ->> 'countryCode';
    if not found and rustok._commerce_has_regions(c.tenant_id) then
        perform rustok._input_invalid(field || '.countryCode', 'not_served', 'no region ships to this country');
    end if;
    if r.currency_code <> c.currency_code then
        perform rustok.raise('REGION_CURRENCY_MISMATCH', 'the region of this country uses another currency',
                             jsonb_build_object('field', field || '.countryCode',
                                                'countryCode', new_address ->> 'countryCode',
                                                'currencyCode', c.currency_code,
                                                'regionCurrencyCode', r.currency_code));
    end if;
    if new_address is not distinct from c.shipping_address and r.id is not distinct from c.region_id then
        return c;
    end if;
    update public.commerce_carts cc
    set shipping_address = new_address, region_id = r.id,
        shipping_option_id = case when cc.region_id = r.id then cc.shipping_option_id end, updated_at = now()
    where cc.tenant_id = c.tenant_id and cc.id = c.id
    returning * into c;
    perform rustok._commerce_cart_shipping_updated(c);
    return c;
end
$$;

create or replace function rustok._commerce_order_destination(c public.commerce_carts, address jsonb)
returns public.commerce_carts
language plpgsql volatile as $$
/* Where an order of the cart goes, for place_order: the address given, else the cart's, through
   _commerce_ship_to (so the region, hence tax and currency, follow from its country exactly as the cart's
   checkout steps set them, and a region changed since is caught). Then, when the tenant has regions, the
   order needs an address (VALIDATION_FAILED, details.field shippingAddress, reason required) and, when its
   region has active shipping options, one of them chosen (VALIDATION_FAILED, details.field
   shippingOptionId, reason required). A tenant without regions needs no address: nothing it charges
   depends on one. Raises what _commerce_ship_to raises too. Returns the cart. */
declare
    given jsonb := rustok._commerce_address(address, 'shippingAddress');
begin
    if coalesce(given, c.shipping_address) is not null then
        c := rustok._commerce_ship_to(c, coalesce(given, c.shipping_address), 'shippingAddress');
    end if;
    if not rustok._commerce_has_regions(c.tenant_id) then
        return c;
    end if;
    if c.shipping_address is null then
        perform rustok._input_invalid('shippingAddress', 'required', 'a shipping address is required');
    end if;
    if exists (select 1 from public.commerce_shipping_options s
               where s.tenant_id = c.tenant_id and s.region_id = c.region_id and s.is_active)
       and not exists (select 1 from public.commerce_shipping_options s
                       where s.tenant_id = c.tenant_id and s.region_id = c.region_id and s.is_active
                         and s.id = c.shipping_option_id) then
        perform rustok._input_invalid('shippingOptionId', 'required', 'choose one of the region''s shipping options');
    end if;
    return c;
end
$$;

create or replace function rustok.set_cart_shipping_address(cart_id uuid, address jsonb) returns jsonb
language plpgsql volatile as $$
/* Sets the cart's shipping address and, from its country, its region (rustok._commerce_ship_to: a shipping
   option of another region is dropped; with regions, the country must be served in the cart's currency).
   Emits CartShippingUpdated when it changes. Anonymous callers may (guest carts). Raises NOT_FOUND (cart),
   INVALID_STATE (already an order), VALIDATION_FAILED (address; details.reason not_served: no region ships
   to the country), REGION_CURRENCY_MISMATCH. Returns the Cart. */
declare
    c public.commerce_carts;
begin
    perform rustok.require_module('commerce');
    c := rustok._commerce_cart_for_update(cart_id);
    c := rustok._commerce_ship_to(c, address, 'address');
    return rustok._commerce_cart_json(c);
end
$$;

create or replace function rustok.set_cart_shipping_option(cart_id uuid, shipping_option_id uuid) returns jsonb
language plpgsql volatile as $$
/* Sets the cart's shipping option: an active option of the cart's region (set by its shipping address);
   null removes it. Emits CartShippingUpdated. Anonymous callers may (guest carts). Raises NOT_FOUND (cart;
   an option not of the cart's region), INVALID_STATE (already an order; details.reason no_region: no
   shipping address yet). Returns the Cart. */
declare
    c public.commerce_carts;
begin
    perform rustok.require_module('commerce');
    c := rustok._commerce_cart_for_update(cart_id);
    if c.region_id is null then
        perform rustok.raise('INVALID_STATE', 'set the shipping address first',
                             jsonb_build_object('field', 'cartId', 'reason', 'no_region'));
    end if;
    if shipping_option_id is not null and not exists (
            select 1 from public.commerce_shipping_options s
            where s.tenant_id = c.tenant_id and s.region_id = c.region_id
              and s.id = set_cart_shipping_option.shipping_option_id and s.is_active) then
        perform rustok.raise('NOT_FOUND', 'no such shipping option in the cart''s region',
                             jsonb_build_object('field', 'shippingOptionId'));
    end if;
    update public.commerce_carts cc
    set shipping_option_id = set_cart_shipping_option.shipping_option_id, updated_at = now()
    where cc.tenant_id = c.tenant_id and cc.id = c.id
    returning * into c;
    perform rustok._commerce_cart_shipping_updated(c);
    return rustok._commerce_cart_json(c);
end
$$;
