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
/* The 26-character Crockford base32 form of an id, as the API shows it: 130 bits (two zero bits, then the
   uuid's 128), five per character. Each character is read from the two bytes that hold its five bits, in one
   expression (a loop over the bits cost three times as much; the index and every API answer call this). */
declare
    b constant bytea := uuid_send(id);
    a constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
begin
    return substr(a, (get_byte(b, 0) >> 5) + 1, 1)
        || substr(a, ((get_byte(b, 0) << 8 | get_byte(b, 1)) >> 8 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 1) << 8 | get_byte(b, 2)) >> 11 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 1) << 8 | get_byte(b, 2)) >> 6 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 2) << 8 | get_byte(b, 3)) >> 9 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 2) << 8 | get_byte(b, 3)) >> 4 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 3) << 8 | get_byte(b, 4)) >> 7 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 4) << 8 | get_byte(b, 5)) >> 10 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 4) << 8 | get_byte(b, 5)) >> 5 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 5) << 8 | get_byte(b, 6)) >> 8 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 6) << 8 | get_byte(b, 7)) >> 11 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 6) << 8 | get_byte(b, 7)) >> 6 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 7) << 8 | get_byte(b, 8)) >> 9 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 7) << 8 | get_byte(b, 8)) >> 4 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 8) << 8 | get_byte(b, 9)) >> 7 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 9) << 8 | get_byte(b, 10)) >> 10 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 9) << 8 | get_byte(b, 10)) >> 5 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 10) << 8 | get_byte(b, 11)) >> 8 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 11) << 8 | get_byte(b, 12)) >> 11 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 11) << 8 | get_byte(b, 12)) >> 6 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 12) << 8 | get_byte(b, 13)) >> 9 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 12) << 8 | get_byte(b, 13)) >> 4 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 13) << 8 | get_byte(b, 14)) >> 7 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 14) << 8 | get_byte(b, 15)) >> 10 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 14) << 8 | get_byte(b, 15)) >> 5 & 31) + 1, 1)
        || substr(a, ((get_byte(b, 14) << 8 | get_byte(b, 15)) >> 0 & 31) + 1, 1);
end
$$;

create or replace function rustok._id_of_text(value text) returns uuid
language plpgsql immutable parallel safe as $$
/* ULID (26 chars, any case) or UUID text to uuid; null for anything else, null included. The one grammar of
   ids as text: rustok.parse_id raises on null, rustok._input_id names the field. Raises nothing. */
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
    return null;
end
$$;

create or replace function rustok.parse_id(value text) returns uuid
language plpgsql immutable parallel safe as $$
/* ULID (26 chars, any case) or UUID text to uuid (rustok._id_of_text). Raises INVALID_ID for anything else,
   null included. */
declare
    id uuid := rustok._id_of_text(value);
begin
    if id is null then
        perform rustok.raise('INVALID_ID', 'not a ULID or UUID', jsonb_build_object('value', left(value, 64)));
    end if;
    return id;
end
$$;
