-- Commerce helpers: the Money shape and the commerce rules of input (currencies, handles, countries, postal
-- addresses), built on the core's input rules (sql/functions/core/05_input.sql), so each refusal names its
-- field by path (variants[0].sku) with the one details shape.

create or replace function rustok._commerce_money(amount bigint, currency text) returns jsonb
language sql immutable parallel safe as $$
    /* The Money shape: an integer amount of the currency's minor units and the ISO 4217 code. Raises
       nothing. */
    select case when amount is not null then jsonb_build_object('amount', amount, 'currencyCode', currency) end
$$;

create or replace function rustok._commerce_currency(value jsonb, field text default 'currencyCode',
                                                     required boolean default true)
returns text
language plpgsql stable as $$
/* An ISO 4217 code (any case) as stored (upper case); null when absent and not required. Raises
   VALIDATION_FAILED (required, type), CURRENCY_UNKNOWN when it is not an ISO 4217 currency. */
declare
    given text := upper(rustok._input_text(value, field, null, required));
begin
    if given is not null and not exists (select 1 from public.commerce_currencies c where c.code::text = given) then
        perform rustok.raise('CURRENCY_UNKNOWN', 'not an ISO 4217 currency code',
                             jsonb_build_object('field', field, 'currencyCode', left(given, 16)));
    end if;
    return given;
end
$$;

create or replace function rustok._commerce_handle(value jsonb, title text, field text default 'handle') returns text
language plpgsql immutable as $$
/* A handle as given (a slug of at most 255: rustok._input_slug), or made from the title when none is given.
   Raises VALIDATION_FAILED (reason format; e.g. a title without Latin letters or digits needs a handle). */
declare
    result text := rustok._input_slug(value, field, 255);
begin
    if result is null then
        result := btrim(left(regexp_replace(lower(coalesce(title, '')), '[^a-z0-9]+', '-', 'g'), 255), '-');
        if not rustok.is_slug(result) then
            perform rustok._input_invalid(field, 'format', 'the title gives no handle: give one');
        end if;
    end if;
    return result;
end
$$;

create or replace function rustok._commerce_country(value jsonb, field text, required boolean default false)
returns text
language plpgsql immutable parallel safe as $$
/* An ISO 3166-1 alpha-2 country code (any case) in upper case; null when absent. Raises VALIDATION_FAILED
   (reason format, required, type). */
declare
    code text := upper(rustok._input_text(value, field, null, required));
begin
    if code !~ '^[A-Z]{2}$' then
        perform rustok._input_invalid(field, 'format', 'an ISO 3166-1 alpha-2 country code');
    end if;
    return code;
end
$$;

create or replace function rustok._commerce_address(value jsonb, field text) returns jsonb
language plpgsql immutable as $$
/* A postal address: known keys only, strings of at most 255 characters (empty ones left out), countryCode
   ISO 3166-1 alpha-2 (upper case). Null when absent. Raises VALIDATION_FAILED naming the key
   (field.countryCode). */
declare
    result jsonb := '{}';
    key text;
    item text;
begin
    if not rustok._input_type(value, field, 'object') then
        return null;
    end if;
    perform rustok._input_object(value, field, allowed => '{firstName,lastName,company,address1,address2,city,'
                                                          'province,postalCode,countryCode,phone}');
    for key in select jsonb_object_keys(value) loop
        item := case when key = 'countryCode'
                     then rustok._commerce_country(value -> key, rustok._input_field(field, key))
                     else rustok._input_text(value -> key, rustok._input_field(field, key), 255) end;
        if item is not null then
            result := result || jsonb_build_object(key, item);
        end if;
    end loop;
    return result;
end
$$;
