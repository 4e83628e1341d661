-- Input rules: the one vocabulary every module checks its requests with (docs/adding-a-module.md).
--
-- Each helper takes one JSON value (SQL null and JSON null both mean "absent"; a scalar argument goes in as
-- to_jsonb(arg)) and the field's path as the client names it: `title`, `variants[0].sku`, `filter.status`
-- (rustok._input_field: the fields of the `input` argument go without the `input.` prefix). A refusal is
-- VALIDATION_FAILED (INVALID_ID for an id) with one details shape, made by rustok._input_invalid:
-- {field, reason, ...the rule's own keys}. The reasons: required; type (expected); too_long (maxLength);
-- too_short (minLength); not_allowed (allowed); out_of_range (min, max); too_many (maxItems); unknown (a key
-- the object does not take); format (an e-mail address, a slug, a date and time). A module's own rules use
-- rustok._input_invalid with reasons of their own (duplicate, not_served, ...).
--
-- Empty text: text is trimmed, and what is left empty is absent (null): an optional field sent as "" is
-- null, a required one is refused (reason required). So no column holds two kinds of nothing ('' and null),
-- a unique column (a SKU) never collides on '', and a form that clears a field clears it. Only verbatim text
-- (verbatim => true: bodies, where leading spaces and emptiness are content) is kept as given.
--
-- Applied before the migrations (file 05, see py/rustok/migrate.py): table CHECKs call rustok.is_email.

create or replace function rustok._input_field(parent text, key text) returns text
language sql immutable parallel safe as $$
    /* The path of a key of an object at `parent`: parent.key, or the bare key at the top of the `input`
       argument (or with no parent). Raises nothing. */
    select case when coalesce(parent, '') in ('', 'input') then key else parent || '.' || key end
$$;

create or replace function rustok._input_invalid(field text, reason text, message text,
                                                 rule jsonb default '{}') returns void
language plpgsql immutable parallel safe as $$
/* Raises VALIDATION_FAILED with the one details shape: {field, reason} and the rule's own keys (maxLength,
   allowed, min, max, ...). The one place that shape is made. */
begin
    perform rustok.raise('VALIDATION_FAILED', message,
                         jsonb_build_object('field', field, 'reason', reason) || coalesce(rule, '{}'));
end
$$;

create or replace function rustok._input_type(value jsonb, field text, expected text) returns boolean
language plpgsql immutable parallel safe as $$
/* False for an absent value (SQL or JSON null), true for one of the JSON type `expected` ('string',
   'number', 'boolean', 'object', 'array'). Raises VALIDATION_FAILED (reason type, details.expected)
   otherwise. */
begin
    if value is null or jsonb_typeof(value) = 'null' then
        return false;
    end if;
    if jsonb_typeof(value) <> expected then
        perform rustok._input_invalid(field, 'type', format('expected %s', expected),
                                      jsonb_build_object('expected', expected));
    end if;
    return true;
end
$$;

create or replace function rustok._input_text(value jsonb, field text, max_length int, required boolean default false,
                                              min_length int default null, verbatim boolean default false)
returns text
language plpgsql immutable parallel safe as $$
/* A string, trimmed; null when absent or empty (see the head of this file; verbatim: as given, "" kept).
   Raises VALIDATION_FAILED: reason type (not a string), required, too_long (maxLength), too_short
   (minLength). */
declare
    result text;
begin
    if rustok._input_type(value, field, 'string') then
        result := case when verbatim then value #>> '{}' else nullif(btrim(value #>> '{}'), '') end;
    end if;
    if result is null then
        if required then
            perform rustok._input_invalid(field, 'required', 'required');
        end if;
        return null;
    end if;
    if length(result) > max_length then
        perform rustok._input_invalid(field, 'too_long', format('at most %s characters', max_length),
                                      jsonb_build_object('maxLength', max_length));
    end if;
    if length(result) < min_length then
        perform rustok._input_invalid(field, 'too_short', format('at least %s characters', min_length),
                                      jsonb_build_object('minLength', min_length));
    end if;
    return result;
end
$$;

create or replace function rustok._input_choice(value jsonb, field text, allowed text[], required boolean default false)
returns text
language plpgsql immutable parallel safe as $$
/* One of `allowed`, in any case, answered as `allowed` spells it (GraphQL sends enum values upper-cased, SQL
   stores them as listed); null when absent. Raises VALIDATION_FAILED: reason not_allowed (details.allowed),
   required, type. */
declare
    given text := rustok._input_text(value, field, null, required);
    result text;
begin
    if given is null then
        return null;
    end if;
    select a into result from unnest(allowed) a where lower(a) = lower(given) limit 1;
    if result is null then
        perform rustok._input_invalid(field, 'not_allowed', 'not an allowed value',
                                      jsonb_build_object('allowed', to_jsonb(allowed)));
    end if;
    return result;
end
$$;

create or replace function rustok._input_int(value jsonb, field text, min_value bigint, max_value bigint,
                                             required boolean default false)
returns bigint
language plpgsql immutable parallel safe as $$
/* An integer within [min_value, max_value]: a JSON number without a fraction, or a string of digits (amounts
   above 2^53 travel as text); null when absent or "". Never a float. Raises VALIDATION_FAILED: reason type
   (expected integer), out_of_range (min, max), required. */
declare
    digits text := value #>> '{}';
begin
    if value is null or jsonb_typeof(value) = 'null' or (jsonb_typeof(value) = 'string' and btrim(digits) = '') then
        if required then
            perform rustok._input_invalid(field, 'required', 'required');
        end if;
        return null;
    end if;
    if jsonb_typeof(value) not in ('number', 'string') or digits !~ '^\s*-?[0-9]{1,19}\s*$' then
        perform rustok._input_invalid(field, 'type', 'expected an integer', '{"expected": "integer"}');
    end if;
    if digits::numeric < min_value or digits::numeric > max_value then
        perform rustok._input_invalid(field, 'out_of_range', format('must be between %s and %s', min_value, max_value),
                                      jsonb_build_object('min', min_value, 'max', max_value));
    end if;
    return digits::bigint;
end
$$;

create or replace function rustok._input_amount(value jsonb, field text, required boolean default false)
returns bigint
language sql immutable parallel safe as $$
    /* A money amount in minor units: an integer from 0 to 10^15 (rustok._input_int). Raises
       VALIDATION_FAILED. */
    select rustok._input_int(value, field, 0, 1000000000000000, required)
$$;

create or replace function rustok._input_bool(value jsonb, field text, default_value boolean default null)
returns boolean
language plpgsql immutable parallel safe as $$
/* A JSON boolean; default_value when absent. Raises VALIDATION_FAILED (reason type, expected boolean). */
begin
    if not rustok._input_type(value, field, 'boolean') then
        return default_value;
    end if;
    return value::boolean;
end
$$;

create or replace function rustok._input_id(value jsonb, field text, required boolean default false) returns uuid
language plpgsql immutable parallel safe as $$
/* An id (ULID or UUID text, rustok._id_of_text); null when absent or empty. Raises INVALID_ID
   (details.field) for anything else, VALIDATION_FAILED (required). */
declare
    given text;
    id uuid;
begin
    if value is not null and jsonb_typeof(value) not in ('string', 'null') then
        perform rustok.raise('INVALID_ID', 'not a ULID or UUID', jsonb_build_object('field', field));
    end if;
    given := rustok._input_text(value, field, null, required);
    if given is null then
        return null;
    end if;
    id := rustok._id_of_text(given);
    if id is null then
        perform rustok.raise('INVALID_ID', 'not a ULID or UUID', jsonb_build_object('field', field));
    end if;
    return id;
end
$$;

create or replace function rustok._input_object(value jsonb, field text, required boolean default false,
                                               allowed text[] default null)
returns jsonb
language plpgsql immutable parallel safe as $$
/* A JSON object; '{}' when absent (unless required). With `allowed`, every key must be one of them. Raises
   VALIDATION_FAILED: reason type (expected object), required, unknown (details.field names the key). */
declare
    unknown text;
begin
    if not rustok._input_type(value, field, 'object') then
        if required then
            perform rustok._input_invalid(field, 'required', 'required');
        end if;
        return '{}';
    end if;
    if allowed is not null then
        select k into unknown from jsonb_object_keys(value) k where k <> all (allowed) order by k limit 1;
        if unknown is not null then
            perform rustok._input_invalid(rustok._input_field(field, left(unknown, 64)), 'unknown', 'unknown field');
        end if;
    end if;
    return value;
end
$$;

create or replace function rustok._input_array(value jsonb, field text, max_items int) returns jsonb
language plpgsql immutable parallel safe as $$
/* A JSON array of at most max_items; '[]' when absent. Raises VALIDATION_FAILED: reason type (expected
   array), too_many (maxItems). */
begin
    if not rustok._input_type(value, field, 'array') then
        return '[]';
    end if;
    if jsonb_array_length(value) > max_items then
        perform rustok._input_invalid(field, 'too_many', format('at most %s items', max_items),
                                      jsonb_build_object('maxItems', max_items));
    end if;
    return value;
end
$$;

create or replace function rustok._input_ids(value jsonb, field text, max_items int default 100) returns uuid[]
language sql immutable parallel safe as $$
    /* A list of ids (rustok._input_id, each named field[i]), distinct, in order of first appearance; '{}'
       when absent. Raises INVALID_ID, VALIDATION_FAILED. */
    select coalesce(array_agg(ids.id order by ids.n), '{}') from (
        select distinct on (x.id) x.id, x.n
        from (select rustok._input_id(e, format('%s[%s]', field, i - 1), true) as id, i as n
              from jsonb_array_elements(rustok._input_array(value, field, max_items)) with ordinality as t (e, i)) x
        order by x.id, x.n) ids
$$;

create or replace function rustok._input_instant(value jsonb, field text) returns timestamptz
language plpgsql stable parallel safe as $$
/* An ISO 8601 date and time with its offset ('2030-01-01T09:00:00Z', '…+02:00'); null when absent. Raises
   VALIDATION_FAILED (reason format) for anything else, PostgreSQL's own words ('now', 'tomorrow',
   'infinity'), a date alone, month 13 or an offset of +99:00 (every data exception) included. */
declare
    given text := rustok._input_text(value, field, 64);
begin
    if given is null then
        return null;
    end if;
    if given ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$' then
        begin
            return given::timestamptz;
        exception when data_exception then
            null;  -- reported below
        end;
    end if;
    perform rustok._input_invalid(field, 'format', 'not an ISO 8601 date and time with offset');
    return null;
end
$$;

create or replace function rustok.is_email(value text) returns boolean
language sql immutable parallel safe as $$
    /* Whether value is an e-mail address as stored: local@domain.tld without spaces or a second @, lower
       case, at most 255 characters. The one rule: rustok._input_email and the CHECKs on users.email,
       commerce_carts.email and commerce_orders.email. False, never null. */
    select coalesce(value = lower(value) and length(value) <= 255 and value ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$', false)
$$;

create or replace function rustok._input_email(value jsonb, field text default 'email', required boolean default false)
returns text
language plpgsql immutable parallel safe as $$
/* An e-mail address, trimmed and lower-cased (rustok.is_email); null when absent. Raises VALIDATION_FAILED:
   reason format, required, type, too_long. */
declare
    result text := lower(rustok._input_text(value, field, 255, required));
begin
    if result is not null and not rustok.is_email(result) then
        perform rustok._input_invalid(field, 'format', 'not an email address');
    end if;
    return result;
end
$$;

create or replace function rustok.is_slug(value text) returns boolean
language sql immutable parallel safe as $$
    /* Whether value is a slug (a handle): lowercase ASCII letters and digits in words joined by single dashes
       ('summer-sale-2030'), the rule of the slug and handle CHECKs. False, never null. */
    select coalesce(value ~ '^[a-z0-9]+(-[a-z0-9]+)*$', false)
$$;

create or replace function rustok._input_slug(value jsonb, field text, max_length int default 255) returns text
language plpgsql immutable parallel safe as $$
/* A slug (rustok.is_slug) of at most max_length characters; null when absent. Raises VALIDATION_FAILED:
   reason format, too_long, type. */
declare
    result text := rustok._input_text(value, field, max_length);
begin
    if result is not null and not rustok.is_slug(result) then
        perform rustok._input_invalid(field, 'format', 'lowercase letters, digits and single dashes');
    end if;
    return result;
end
$$;
