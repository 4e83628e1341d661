-- The ISO 4217 reference table for clients: which codes exist and how many minor units (digits after the
-- decimal point) each has. Amounts everywhere are integers of minor units by this table, so a client that
-- turns "12.50" into an amount must take the digits from here (not from its own locale data: CLDR gives COP
-- or AFN 0 digits where ISO 4217 says 2).

create or replace function rustok.list_currencies() returns jsonb
language plpgsql stable as $$
/* [{code, name, minorUnits}] of every ISO 4217 currency, by code: shared reference data, no permission
   needed. Raises TENANT_REQUIRED, MODULE_DISABLED. */
begin
    perform rustok.require_module('commerce');
    return (select coalesce(jsonb_agg(jsonb_build_object('code', c.code, 'name', c.name, 'minorUnits', c.minor_units)
                                      order by c.code), '[]'::jsonb)
            from public.commerce_currencies c);
end
$$;
