-- The ISO 4217 reference table for clients: which codes exist and how many minor units (digits after the
-- decimal point) each has. Amounts everywhere are integers of minor units by this table, so a client that
-- turns "12.50" into an amount must take the digits from here (not from its own locale data: CLDR gives COP
-- or AFN 0 digits where ISO 4217 says 2).

create or replace function rustok.list_currencies() returns jsonb
language sql stable parallel safe as $$
    /* [{code, name, minorUnits}] of every ISO 4217 currency, by code. Shared reference data: no tenant's,
       no permission needed. */
    select coalesce(jsonb_agg(jsonb_build_object('code', c.code, 'name', c.name, 'minorUnits', c.minor_units)
                              order by c.code), '[]'::jsonb)
    from public.commerce_currencies c
$$;
