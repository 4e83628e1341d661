-- Errors: every registered code is raised with its own SQLSTATE (class RK) and the code in HINT; an
-- unregistered code raises INTERNAL; every code the SQL raises is registered.
BEGIN;
SELECT plan(8);

-- raise every registered code once and keep what came out
CREATE TEMP TABLE raised (code text, expected text, got_sqlstate text, got_hint text, got_detail text);
DO $$
DECLARE
    e record;
    got_sqlstate text;
    got_hint text;
    got_detail text;
BEGIN
    FOR e IN SELECT * FROM rustok.error_codes() LOOP
        got_sqlstate := NULL;
        BEGIN
            PERFORM rustok.raise(e.code, 'test', jsonb_build_object('code', e.code));
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS got_sqlstate = RETURNED_SQLSTATE, got_hint = PG_EXCEPTION_HINT,
                                    got_detail = PG_EXCEPTION_DETAIL;
        END;
        INSERT INTO raised VALUES (e.code, e.sqlstate, got_sqlstate, got_hint, got_detail);
    END LOOP;
END $$;

SELECT is((SELECT count(*) FROM raised), (SELECT count(*) FROM rustok.error_codes()),
          'every registered code was raised');
SELECT is((SELECT array_agg(code || ' raised ' || coalesce(got_sqlstate, 'nothing') ORDER BY code) FROM raised
           WHERE got_sqlstate IS DISTINCT FROM expected),
          NULL, 'rustok.raise(code) raises the registered SQLSTATE of every code');
SELECT is((SELECT array_agg(code ORDER BY code) FROM raised
           WHERE got_hint IS DISTINCT FROM code OR got_detail::jsonb <> jsonb_build_object('code', code)),
          NULL, 'the code travels in HINT and the detail as JSON');
SELECT throws_ok($$ SELECT rustok.raise('NO_SUCH_CODE') $$, 'RK500', NULL, 'an unregistered code raises INTERNAL');

-- the registry itself
SELECT is((SELECT array_agg(sqlstate ORDER BY sqlstate) FROM rustok.error_codes() WHERE sqlstate !~ '^RK[0-9A-Z]{3}$'),
          NULL, 'every SQLSTATE is in class RK');
SELECT is((SELECT count(DISTINCT sqlstate) FROM rustok.error_codes()), (SELECT count(*) FROM rustok.error_codes()),
          'SQLSTATEs are unique');
SELECT is((SELECT count(DISTINCT code) FROM rustok.error_codes()), (SELECT count(*) FROM rustok.error_codes()),
          'codes are unique');

-- every literal code passed to rustok.raise in the rustok schema's functions is registered (catches a typo
-- before the function ever runs)
SELECT is((SELECT array_agg(DISTINCT p.proname || ': ' || m[1] ORDER BY p.proname || ': ' || m[1])
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
                regexp_matches(p.prosrc, 'rustok\.raise\(\s*''([^'']*)''', 'g') AS m
           WHERE n.nspname = 'rustok' AND m[1] NOT IN (SELECT code FROM rustok.error_codes())),
          NULL, 'every code the SQL functions raise is registered');

SELECT * FROM finish();
ROLLBACK;
