-- Commerce id helpers needed by table definitions (applied before the migrations, like the core's 00_ files).

create or replace function rustok._commerce_id_time(id uuid) returns timestamptz
language sql immutable strict parallel safe as $$
    /* The millisecond time in a ULID (its first 48 bits). An order's created_at is the time in its id, so a
       lookup by id names the one quarterly partition that can hold the order. */
    select timestamptz 'epoch'
        + ('x' || lpad(substr(replace(id::text, '-', ''), 1, 12), 16, '0'))::bit(64)::bigint * interval '1 millisecond'
$$;
