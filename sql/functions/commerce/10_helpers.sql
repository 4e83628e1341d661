-- Commerce helpers: input validation (money, currencies, handles, text, addresses) and the Money shape.
-- Each raises a registered error with details.field naming the input (GraphQL path style: variants[0].sku).

create or replace function rustok._commerce_money(amount bigint, currency text) returns jsonb
language sql immutable parallel safe as $$
    /* The Money shape: an integer amount of the currency's minor units and the ISO 4217 code. */
    select case when amount is not null then jsonb_build_object('amount', amount, 'currencyCode', currency) end
$$;

create or replace function rustok._commerce_currency(code text, field text default 'currencyCode') returns text
language plpgsql stable as $$
/* An ISO 4217 code (any case) as stored (upper case). Raises VALIDATION_FAILED when missing, CURRENCY_UNKNOWN
   when it is not an ISO 4217 currency. */
declare
    normalized text := upper(btrim(coalesce(code, '')));
begin
    if normalized = '' then
        perform rustok.raise('VALIDATION_FAILED', 'a currency code is required', jsonb_build_object('field', field));
    end if;
    if not exists (select 1 from public.commerce_currencies c where c.code::text = normalized) then
        perform rustok.raise('CURRENCY_UNKNOWN', 'not an ISO 4217 currency code',
                             jsonb_build_object('field', field, 'currencyCode', left(code, 16)));
    end if;
    return normalized;
end
$$;

create or replace function rustok._commerce_object(value jsonb, field text, required boolean default true)
returns jsonb
language plpgsql immutable as $$
/* A JSON object input; null becomes '{}' unless required. Raises VALIDATION_FAILED. */
begin
    if value is null or jsonb_typeof(value) = 'null' then
        if required then
            perform rustok.raise('VALIDATION_FAILED', 'an object is required', jsonb_build_object('field', field));
        end if;
        return '{}'::jsonb;
    end if;
    if jsonb_typeof(value) <> 'object' then
        perform rustok.raise('VALIDATION_FAILED', 'must be an object', jsonb_build_object('field', field));
    end if;
    return value;
end
$$;

create or replace function rustok._commerce_array(value jsonb, field text, max_items int default 100)
returns jsonb
language plpgsql immutable as $$
/* A JSON array input (null or absent: empty), at most max_items long. Raises VALIDATION_FAILED. */
begin
    if value is null or jsonb_typeof(value) = 'null' then
        return '[]'::jsonb;
    end if;
    if jsonb_typeof(value) <> 'array' then
        perform rustok.raise('VALIDATION_FAILED', 'must be a list', jsonb_build_object('field', field));
    end if;
    if jsonb_array_length(value) > max_items then
        perform rustok.raise('VALIDATION_FAILED', format('at most %s items', max_items),
                             jsonb_build_object('field', field, 'max', max_items));
    end if;
    return value;
end
$$;

create or replace function rustok._commerce_int(value jsonb, field text, min_value bigint, max_value bigint)
returns bigint
language plpgsql immutable as $$
/* An integer from JSON (a number without fraction, or a string of digits: amounts above 2^53 travel as text)
   within [min_value, max_value]; JSON null or SQL null gives null. Raises VALIDATION_FAILED (reason
   not_integer or out_of_range). Never a float. */
declare
    text_value text;
begin
    if value is null or jsonb_typeof(value) = 'null' then
        return null;
    end if;
    text_value := value #>> '{}';
    if jsonb_typeof(value) not in ('number', 'string') or text_value !~ '^\s*-?[0-9]{1,19}\s*$' then
        perform rustok.raise('VALIDATION_FAILED', 'must be an integer',
                             jsonb_build_object('field', field, 'reason', 'not_integer'));
    end if;
    if text_value::numeric < min_value or text_value::numeric > max_value then
        perform rustok.raise('VALIDATION_FAILED', format('must be between %s and %s', min_value, max_value),
                             jsonb_build_object('field', field, 'reason', 'out_of_range',
                                                'min', min_value, 'max', max_value));
    end if;
    return text_value::bigint;
end
$$;

create or replace function rustok._commerce_amount(value jsonb, field text default 'amount') returns bigint
language sql immutable as $$
    /* A money amount in minor units: an integer from 0 to 10^15. Raises VALIDATION_FAILED. */
    select rustok._commerce_int(value, field, 0, 1000000000000000)
$$;

create or replace function rustok._commerce_bool(value jsonb, field text, default_value boolean) returns boolean
language plpgsql immutable as $$
/* A JSON boolean; null or absent gives the default. Raises VALIDATION_FAILED. */
begin
    if value is null or jsonb_typeof(value) = 'null' then
        return default_value;
    end if;
    if jsonb_typeof(value) <> 'boolean' then
        perform rustok.raise('VALIDATION_FAILED', 'must be true or false', jsonb_build_object('field', field));
    end if;
    return value::boolean;
end
$$;

create or replace function rustok._commerce_text(value jsonb, field text, max_length int, required boolean default false)
returns text
language plpgsql immutable as $$
/* A JSON string, trimmed; empty counts as absent (null). Raises VALIDATION_FAILED when required and absent,
   not a string, or longer than max_length. */
declare
    result text;
begin
    if value is not null and jsonb_typeof(value) not in ('string', 'null') then
        perform rustok.raise('VALIDATION_FAILED', 'must be a string', jsonb_build_object('field', field));
    end if;
    result := nullif(btrim(value #>> '{}'), '');
    if result is null and required then
        perform rustok.raise('VALIDATION_FAILED', 'is required', jsonb_build_object('field', field));
    end if;
    if length(result) > max_length then
        perform rustok.raise('VALIDATION_FAILED', format('at most %s characters', max_length),
                             jsonb_build_object('field', field, 'max', max_length));
    end if;
    return result;
end
$$;

create or replace function rustok._commerce_handle(value text, title text, field text default 'handle') returns text
language plpgsql immutable as $$
/* A handle as given (lower-case letters and digits in dash-separated words, at most 255), or made from the
   title when none is given. Raises VALIDATION_FAILED (e.g. a title without Latin letters needs a handle). */
declare
    result text := nullif(btrim(value), '');
begin
    if result is null then
        result := btrim(left(regexp_replace(lower(coalesce(title, '')), '[^a-z0-9]+', '-', 'g'), 255), '-');
    end if;
    if result !~ '^[a-z0-9]+(-[a-z0-9]+)*$' or length(result) > 255 then
        perform rustok.raise('VALIDATION_FAILED', 'a handle is lower-case letters, digits and dashes',
                             jsonb_build_object('field', field));
    end if;
    return result;
end
$$;

create or replace function rustok._commerce_id(value jsonb, field text) returns uuid
language plpgsql immutable as $$
/* An id inside a JSON input (ULID or UUID text); null stays null. Raises INVALID_ID with the field. */
begin
    if value is null or jsonb_typeof(value) = 'null' then
        return null;
    end if;
    if jsonb_typeof(value) <> 'string' or (value #>> '{}') !~* '^([0-7][0-9A-HJKMNP-TV-Z]{25}|[0-9A-F]{8}-?[0-9A-F]{4}-?[0-9A-F]{4}-?[0-9A-F]{4}-?[0-9A-F]{12})$' then
        perform rustok.raise('INVALID_ID', 'not a ULID or UUID', jsonb_build_object('field', field));
    end if;
    return rustok.parse_id(value #>> '{}');
end
$$;

create or replace function rustok._commerce_ids(value jsonb, field text) returns uuid[]
language sql immutable as $$
    /* A list of ids inside a JSON input, distinct, in order of first appearance. Raises INVALID_ID,
       VALIDATION_FAILED. */
    select coalesce(array_agg(id order by n), '{}') from (
        select distinct on (rustok._commerce_id(e, field || '[' || (i - 1) || ']'))
               rustok._commerce_id(e, field || '[' || (i - 1) || ']') as id, i as n
        from jsonb_array_elements(rustok._commerce_array(value, field, 100)) with ordinality as t (e, i)
        order by 1, i) ids
$$;

create or replace function rustok._commerce_email(value text, field text default 'email') returns text
language plpgsql immutable as $$
/* An email address, lower-cased; null stays null. Raises VALIDATION_FAILED. */
declare
    normalized text := lower(btrim(value));
begin
    if normalized is null or normalized = '' then
        return null;
    end if;
    if normalized !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' or length(normalized) > 255 then
        perform rustok.raise('VALIDATION_FAILED', 'not an email address', jsonb_build_object('field', field));
    end if;
    return normalized;
end
$$;

create or replace function rustok._commerce_address(value jsonb, field text) returns jsonb
language plpgsql immutable as $$
/* A postal address: known keys only, strings of at most 255 characters, countryCode ISO 3166-1 alpha-2 (upper
   case). Null stays null. Raises VALIDATION_FAILED naming the key. */
declare
    result jsonb := '{}';
    key text;
    item text;
begin
    if value is null or jsonb_typeof(value) = 'null' then
        return null;
    end if;
    perform rustok._commerce_object(value, field);
    for key in select jsonb_object_keys(value) loop
        if key not in ('firstName', 'lastName', 'company', 'address1', 'address2', 'city', 'province',
                       'postalCode', 'countryCode', 'phone') then
            perform rustok.raise('VALIDATION_FAILED', 'unknown address field',
                                 jsonb_build_object('field', field || '.' || left(key, 64)));
        end if;
        item := rustok._commerce_text(value -> key, field || '.' || key, 255);
        if key = 'countryCode' and item is not null then
            item := upper(item);
            if item !~ '^[A-Z]{2}$' then
                perform rustok.raise('VALIDATION_FAILED', 'an ISO 3166-1 alpha-2 country code',
                                     jsonb_build_object('field', field || '.countryCode'));
            end if;
        end if;
        if item is not null then
            result := result || jsonb_build_object(key, item);
        end if;
    end loop;
    return result;
end
$$;
