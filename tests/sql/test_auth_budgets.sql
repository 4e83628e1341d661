-- Sign-in and registration budgets (sql/functions/core/22_auth_budgets.sql) as the application role: a token
-- bucket per client address (across tenants) and per tenant, each action its own, refused with RATE_LIMITED
-- (reason client or tenant, retryAfter) before anything is charged, refilled with time, lifted by deleting its
-- setting; begin_login spends them before it charges the account. now() stands still in this transaction, so
-- time passes only where a test moves a bucket's refilled_at back.
BEGIN;
SELECT plan(26);

DO $$
BEGIN
    PERFORM rustok.create_tenant('acme', 'Acme');
    PERFORM rustok.create_tenant('globex', 'Globex');
END $$;
UPDATE platform_settings SET value = '{"burst": 3, "perMinute": 60}' WHERE key = 'auth.login_per_client';
UPDATE platform_settings SET value = '{"burst": 5, "perMinute": 60}' WHERE key = 'auth.login_per_tenant';
CREATE TEMP TABLE t AS SELECT slug, id FROM tenants;
CREATE FUNCTION pg_temp.spend(tenant text, action text, client text) RETURNS jsonb LANGUAGE plpgsql AS $$
/* Spends one attempt of `action` in the tenant: null when allowed, else the refusal's details (RATE_LIMITED). */
DECLARE
    detail text;
BEGIN
    PERFORM rustok.set_context((SELECT id FROM t WHERE slug = tenant));
    PERFORM rustok.spend_auth_budget(action, client);
    RETURN NULL;
EXCEPTION WHEN SQLSTATE 'RK015' THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN detail::jsonb;
END $$;
CREATE FUNCTION pg_temp.refusals(tenant text, action text, client text, n int) RETURNS jsonb[] LANGUAGE sql AS $$
    /* n attempts in a row: what each answered (null: allowed). */
    SELECT array_agg(pg_temp.spend(tenant, action, client) ORDER BY g) FROM generate_series(1, n) g
$$;
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;

SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.refusals('acme', 'login', '203.0.113.1', 4),
          ARRAY[NULL, NULL, NULL, '{"reason": "client", "retryAfter": 1}']::jsonb[],
          'a client address has its burst, then waits for the next token');
SELECT is(pg_temp.spend('acme', 'login', '203.0.113.2'), NULL, 'another address is not held up by it');
SELECT is(pg_temp.spend('acme', 'login', '203.0.113.3'), NULL,
          'the refused attempt took nothing from the tenant''s budget (five: three, one and this one)');
SELECT is(pg_temp.spend('acme', 'login', '203.0.113.4'), '{"reason": "tenant", "retryAfter": 1}',
          'then the tenant''s budget is spent, whoever asks');
SELECT is(pg_temp.spend('acme', 'login', NULL), '{"reason": "tenant", "retryAfter": 1}',
          'an attempt without a client address spends the tenant''s budget only, and is refused with it');
SELECT is(pg_temp.spend('globex', 'login', NULL), NULL, 'another tenant has its own');
SELECT is(pg_temp.refusals('globex', 'login', '203.0.113.2', 3),
          ARRAY[NULL, NULL, '{"reason": "client", "retryAfter": 1}']::jsonb[],
          'a client''s budget spans tenants: one attempt at acme and two at globex spend its three');
SELECT is(pg_temp.spend('globex', 'register', '203.0.113.1'), NULL, 'registration has budgets of its own');
SELECT is(pg_temp.refusals('globex', 'register', '203.0.113.1', 5),
          ARRAY[NULL, NULL, NULL, NULL, '{"reason": "client", "retryAfter": 30}']::jsonb[],
          'five registrations per address, then one every 30 seconds (the default: 2 a minute)');
SELECT throws_ok($$ SELECT * FROM auth_budgets $$, '42501', NULL, 'the application role cannot read the buckets');
SELECT throws_ok($$ UPDATE auth_budgets SET tokens = 100 $$, '42501', NULL, 'nor refill them');

-- begin_login spends the budgets first, and a refusal charges nothing to the account
SELECT rustok.set_context((SELECT id FROM t WHERE slug = 'globex'));
SELECT throws_ok($$ SELECT rustok.begin_login('victim@globex.test', '203.0.113.2') $$, 'RK015', NULL,
                 'a login from an address past its budget is refused before the account is touched');
RESET ROLE;
SELECT is((SELECT count(*) FROM auth_login_attempts WHERE email = 'victim@globex.test'), 0::bigint,
          'no attempt was charged to the email');
SET LOCAL ROLE rustok_app;
SELECT rustok.set_context((SELECT id FROM t WHERE slug = 'globex'));
SELECT is(rustok.begin_login('victim@globex.test', '203.0.113.9') ->> 'status', 'ok',
          'from another address it goes on to charge the account');
RESET ROLE;
SELECT is((SELECT failures FROM auth_login_attempts WHERE email = 'victim@globex.test'), 1, 'as before');

-- a setting deleted lifts that budget
DELETE FROM platform_settings WHERE key = 'auth.login_per_tenant';
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.spend('acme', 'login', '203.0.113.5'), NULL,
          'without auth.login_per_tenant, tenants are not budgeted (acme''s was spent)');
RESET ROLE;

-- time refills a bucket, up to its burst
UPDATE auth_budgets SET refilled_at = refilled_at - interval '2 seconds' WHERE bucket = 'login:client:203.0.113.1';
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.refusals('globex', 'login', '203.0.113.1', 3),
          ARRAY[NULL, NULL, '{"reason": "client", "retryAfter": 1}']::jsonb[],
          'two seconds at 60 a minute: two more attempts');
RESET ROLE;
UPDATE auth_budgets SET refilled_at = refilled_at - interval '1 hour' WHERE bucket = 'login:client:203.0.113.1';
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.refusals('globex', 'login', '203.0.113.1', 4),
          ARRAY[NULL, NULL, NULL, '{"reason": "client", "retryAfter": 1}']::jsonb[],
          'an hour later: the burst again, not an hour''s worth');

RESET ROLE;
DELETE FROM platform_settings WHERE key = 'auth.login_per_client';
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.refusals('globex', 'login', '203.0.113.1', 10), array_fill(NULL::jsonb, ARRAY[10]),
          'without auth.login_per_client, addresses are not budgeted');

-- input
SELECT rustok.set_context((SELECT id FROM t WHERE slug = 'globex'));
SELECT throws_ok($$ SELECT rustok.spend_auth_budget('refresh', '203.0.113.1') $$, 'RK002', NULL,
                 'login and register are the budgeted actions');
SELECT throws_ok($$ SELECT rustok.spend_auth_budget('login', repeat('1', 65)) $$, 'RK002', NULL,
                 'a client text is at most 64 characters');
SELECT rustok.set_context(NULL);
SELECT throws_ok($$ SELECT rustok.spend_auth_budget('login', '203.0.113.1') $$, 'RK007', NULL,
                 'a budget is spent in a tenant');
RESET ROLE;
SELECT is((SELECT has_function_privilege('rustok_analytics', 'rustok.spend_auth_budget(text, text)', 'EXECUTE')),
          false, 'analysts cannot spend them');

-- housekeeping
UPDATE auth_budgets SET refilled_at = now() - interval '2 days' WHERE bucket LIKE 'register:%';
SELECT is((SELECT count(*) FROM auth_budgets WHERE bucket LIKE 'register:%'), 2::bigint, 'two registration buckets');
SELECT cmp_ok(rustok.purge_auth_state(), '>=', 2, 'purge_auth_state deletes buckets not spent for a day');
SELECT is((SELECT count(*) FROM auth_budgets WHERE bucket LIKE 'register:%'), 0::bigint, 'those');

SELECT * FROM finish();
ROLLBACK;
