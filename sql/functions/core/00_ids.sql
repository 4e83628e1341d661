-- Ids: ULIDs stored as uuid (48-bit millisecond time, 80 random bits), made here and in Python alike.

create or replace function rustok.gen_id() returns uuid
language sql volatile parallel safe as $$
    /* A new ULID as uuid: time-ordered by millisecond, like rustok.ids.new_id() in Python. */
    select encode(
        substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
        || substring(uuid_send(gen_random_uuid()) from 7),
        'hex')::uuid
$$;

create or replace function rustok.ulid(id uuid) returns text
language plpgsql immutable strict parallel safe as $$
/* The 26-character Crockford base32 form of an id, as the API shows it. */
declare
    bits varbit := B'00' || ('x' || replace(id::text, '-', ''))::bit(128);
    alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    result text := '';
begin
    for i in 0..25 loop
        result := result || substr(alphabet, substring(bits from i * 5 + 1 for 5)::int + 1, 1);
    end loop;
    return result;
end
$$;

create or replace function rustok.parse_id(value text) returns uuid
language plpgsql immutable parallel safe as $$
/* ULID (26 chars, any case) or UUID text to uuid. Raises INVALID_ID for anything else, null included. */
declare
    s text := upper(btrim(coalesce(value, '')));
    alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    bits varbit := B'';
begin
    if s ~ '^[0-7][0-9A-HJKMNP-TV-Z]{25}$' then
        for i in 1..26 loop
            bits := bits || (strpos(alphabet, substr(s, i, 1)) - 1)::bit(5);
        end loop;
        return (lpad(to_hex(substring(bits from 3 for 64)::bit(64)::bigint), 16, '0')
             || lpad(to_hex(substring(bits from 67 for 64)::bit(64)::bigint), 16, '0'))::uuid;
    elsif s ~ '^[0-9A-F]{8}-?[0-9A-F]{4}-?[0-9A-F]{4}-?[0-9A-F]{4}-?[0-9A-F]{12}$' then
        return s::uuid;
    end if;
    perform rustok.raise('INVALID_ID', 'not a ULID or UUID', jsonb_build_object('value', left(value, 64)));
    return null;
end
$$;
