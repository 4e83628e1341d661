-- What a checkout needs set up: regions (currency, countries, tax rate), shipping options, discount codes.
-- Operators and order managers call these (psql or a future admin API); carts and orders read them.

create or replace function rustok._commerce_region_json(r public.commerce_regions) returns jsonb
language sql stable as $$
    /* The Region shape: currency, countries, tax rate (basis points) and shipping options. */
    select jsonb_build_object(
        'id', rustok.ulid(r.id), 'name', r.name, 'currencyCode', r.currency_code,
        'countries', coalesce((select jsonb_agg(c.country_code order by c.country_code)
                               from public.commerce_region_countries c
                               where c.tenant_id = r.tenant_id and c.region_id = r.id), '[]'::jsonb),
        'taxRate', (select jsonb_build_object('name', t.name, 'code', t.code, 'rate', t.rate)
                    from public.commerce_tax_rates t where t.tenant_id = r.tenant_id and t.region_id = r.id),
        'shippingOptions', coalesce((
            select jsonb_agg(jsonb_build_object('id', rustok.ulid(s.id), 'name', s.name, 'isActive', s.is_active,
                                                'amount', rustok._commerce_money(s.amount, r.currency_code))
                             order by s.amount, s.name)
            from public.commerce_shipping_options s
            where s.tenant_id = r.tenant_id and s.region_id = r.id), '[]'::jsonb))
$$;

create or replace function rustok.set_tax_rate(region_id uuid, input jsonb) returns jsonb
language plpgsql volatile as $$
/* Sets a region's tax rate {name, code, rate (basis points: 2000 = 20%, 0..100000)}; emits TaxRateSet. Needs
   orders.manage. Raises FORBIDDEN/UNAUTHENTICATED, NOT_FOUND, VALIDATION_FAILED. Returns the Region. */
declare
    r public.commerce_regions;
    new_rate int;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('orders.manage');
    input := rustok._input_object(input, 'input', required => true);
    select * into r from public.commerce_regions cr
    where cr.tenant_id = rustok.require_tenant() and cr.id = set_tax_rate.region_id;
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such region', jsonb_build_object('field', 'regionId'));
    end if;
    new_rate := rustok._input_int(input -> 'rate', 'rate', 0, 100000, required => true);
    insert into public.commerce_tax_rates as t (tenant_id, region_id, name, code, rate)
    values (r.tenant_id, r.id, coalesce(rustok._input_text(input -> 'name', 'name', 255), 'Tax'),
            rustok._input_text(input -> 'code', 'code', 64), new_rate)
    on conflict on constraint commerce_tax_rates_tenant_id_region_id_key
    do update set name = excluded.name, code = excluded.code, rate = excluded.rate, updated_at = now();
    perform rustok.publish_event('TaxRateSet', jsonb_build_object('region_id', rustok.ulid(r.id), 'rate', new_rate));
    return rustok._commerce_region_json(r);
end
$$;

create or replace function rustok.create_region(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Creates a region {name, currencyCode, countries: ["DE", …] (each in one region only), taxRate: {name, code,
   rate}}; emits RegionCreated. Needs orders.manage. Raises FORBIDDEN/UNAUTHENTICATED, VALIDATION_FAILED,
   CURRENCY_UNKNOWN, CONFLICT (name, or a country already in another region). Returns the Region. */
declare
    r public.commerce_regions;
    country jsonb;
    i int;
    code text;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('orders.manage');
    input := rustok._input_object(input, 'input', required => true);
    insert into public.commerce_regions as cr (tenant_id, name, currency_code)
    values (rustok.require_tenant(), rustok._input_text(input -> 'name', 'name', 255, required => true),
            rustok._commerce_currency(input -> 'currencyCode'))
    on conflict (tenant_id, name) do nothing
    returning * into r;
    if r.id is null then
        perform rustok.raise('CONFLICT', 'a region has this name', jsonb_build_object('field', 'name'));
    end if;
    for country, i in select e, n - 1 from jsonb_array_elements(
            rustok._input_array(input -> 'countries', 'countries', 250)) with ordinality as t (e, n) loop
        code := rustok._commerce_country(country, format('countries[%s]', i), required => true);
        insert into public.commerce_region_countries (tenant_id, country_code, region_id)
        values (r.tenant_id, code, r.id)
        on conflict do nothing;
        if not found then
            perform rustok.raise('CONFLICT', 'the country belongs to another region',
                                 jsonb_build_object('field', format('countries[%s]', i)));
        end if;
    end loop;
    if input -> 'taxRate' is not null and jsonb_typeof(input -> 'taxRate') <> 'null' then
        perform rustok.set_tax_rate(r.id, input -> 'taxRate');
    end if;
    perform rustok.publish_event('RegionCreated', jsonb_build_object(
        'region_id', rustok.ulid(r.id), 'currency', r.currency_code));
    return rustok._commerce_region_json(r);
end
$$;

create or replace function rustok.create_shipping_option(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Creates a shipping option {regionId, name, amount (minor units of the region's currency)}; emits
   ShippingOptionCreated. Needs orders.manage. Raises FORBIDDEN/UNAUTHENTICATED, NOT_FOUND (region),
   VALIDATION_FAILED (amount), CONFLICT (name in the region), INVALID_ID. Returns {id, name, amount}. */
declare
    r public.commerce_regions;
    s public.commerce_shipping_options;
    new_amount bigint;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('orders.manage');
    input := rustok._input_object(input, 'input', required => true);
    select * into r from public.commerce_regions cr
    where cr.tenant_id = rustok.require_tenant() and cr.id = rustok._input_id(input -> 'regionId', 'regionId');
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such region', jsonb_build_object('field', 'regionId'));
    end if;
    new_amount := rustok._input_amount(input -> 'amount', 'amount', required => true);
    insert into public.commerce_shipping_options as so (tenant_id, region_id, name, amount)
    values (r.tenant_id, r.id, rustok._input_text(input -> 'name', 'name', 255, required => true), new_amount)
    on conflict (tenant_id, region_id, name) do nothing
    returning * into s;
    if s.id is null then
        perform rustok.raise('CONFLICT', 'the region has an option of this name', jsonb_build_object('field', 'name'));
    end if;
    perform rustok.publish_event('ShippingOptionCreated', jsonb_build_object(
        'shipping_option_id', rustok.ulid(s.id), 'region_id', rustok.ulid(r.id)));
    return jsonb_build_object('id', rustok.ulid(s.id), 'name', s.name,
                              'amount', rustok._commerce_money(s.amount, r.currency_code));
end
$$;

create or replace function rustok._commerce_discount_problem(d public.commerce_discounts, currency text)
returns text
language sql stable as $$
    /* Why a discount cannot be used now for a cart in this currency, or null when it can. */
    select case
        when d.id is null then 'unknown'
        when not d.is_active then 'inactive'
        when d.starts_at is not null and d.starts_at > now() then 'not_started'
        when d.ends_at is not null and d.ends_at <= now() then 'expired'
        when d.usage_limit is not null and d.usage_count >= d.usage_limit then 'usage_limit_reached'
        when d.kind = 'fixed' and d.currency_code::text <> currency then 'currency_mismatch'
    end
$$;

create or replace function rustok.create_discount(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Creates a discount code {code (stored upper case), kind (percentage|fixed), value (percent 1..100, or minor
   units), currencyCode (fixed only), startsAt, endsAt, usageLimit, isActive}; emits DiscountCreated. Needs
   orders.manage. Raises FORBIDDEN/UNAUTHENTICATED, VALIDATION_FAILED, CURRENCY_UNKNOWN, CONFLICT (code).
   Returns the Discount. */
declare
    d public.commerce_discounts;
    new_code text;
    new_kind text;
    new_value bigint;
    new_currency text;
    starts timestamptz;
    ends timestamptz;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('orders.manage');
    input := rustok._input_object(input, 'input', required => true);
    new_code := upper(rustok._input_text(input -> 'code', 'code', 64, required => true));
    if new_code !~ '^[A-Z0-9][A-Z0-9_-]*$' then
        perform rustok._input_invalid('code', 'format', 'letters, digits, dashes and underscores');
    end if;
    new_kind := rustok._input_choice(input -> 'kind', 'kind', '{percentage,fixed}', required => true);
    if new_kind = 'percentage' then
        new_value := rustok._input_int(input -> 'value', 'value', 1, 100, required => true);
        if rustok._input_text(input -> 'currencyCode', 'currencyCode', null) is not null then
            perform rustok._input_invalid('currencyCode', 'not_allowed', 'a percentage has no currency');
        end if;
    else
        new_value := rustok._input_int(input -> 'value', 'value', 1, 1000000000000000, required => true);
        new_currency := rustok._commerce_currency(input -> 'currencyCode');
    end if;
    starts := rustok._input_instant(input -> 'startsAt', 'startsAt');
    ends := rustok._input_instant(input -> 'endsAt', 'endsAt');
    if starts is not null and ends is not null and ends <= starts then
        perform rustok._input_invalid('endsAt', 'before_start', 'endsAt must be after startsAt');
    end if;
    insert into public.commerce_discounts as cd (tenant_id, code, kind, value, currency_code, starts_at, ends_at,
                                                 usage_limit, is_active)
    values (rustok.require_tenant(), new_code, new_kind, new_value, new_currency, starts, ends,
            rustok._input_int(input -> 'usageLimit', 'usageLimit', 1, 2147483647),
            rustok._input_bool(input -> 'isActive', 'isActive', true))
    on conflict (tenant_id, code) do nothing
    returning * into d;
    if d.id is null then
        perform rustok.raise('CONFLICT', 'the code is taken', jsonb_build_object('field', 'code'));
    end if;
    perform rustok.publish_event('DiscountCreated', jsonb_build_object('discount_id', rustok.ulid(d.id), 'code', d.code));
    return jsonb_build_object('id', rustok.ulid(d.id), 'code', d.code, 'kind', d.kind, 'value', d.value,
                              'currencyCode', d.currency_code, 'startsAt', d.starts_at, 'endsAt', d.ends_at,
                              'usageLimit', d.usage_limit, 'usageCount', d.usage_count, 'isActive', d.is_active);
end
$$;
