-- rustok.set_context checks the tenant and the user against the database (issue 13, point 5): its NULL and
-- missing cases (no tenant, unknown tenant, unknown user, a user of another tenant, deleted user, disabled
-- user, switched-off tenant, a user of a deleted tenant) are refused with their codes, a refused context is not left behind, and the role
-- in force is the user's stored role, not the one the caller claims. Operators and `rustok worker` sessions
-- may enter a switched-off tenant, without a user only.
BEGIN;
SELECT plan(32);

DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
CREATE FUNCTION pg_temp.refusal(statement text) RETURNS text LANGUAGE plpgsql AS $$
/* 'ok', or the error's code (the HINT) and its details (the DETAIL) when the statement raises. */
DECLARE
    code text;
    details text;
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = PG_EXCEPTION_HINT, details = PG_EXCEPTION_DETAIL;
    RETURN code || ' ' || details;
END $$;
CREATE FUNCTION pg_temp.enter(slug text, who text DEFAULT NULL, claimed_role text DEFAULT NULL) RETURNS text
LANGUAGE sql AS $$
    /* What set_context answers for a user of a tenant (by the names of test_support.two_tenants). */
    SELECT pg_temp.refusal(format('SELECT rustok.set_context(%L, %L, %L)',
                                  pg_temp.tenant(slug),
                                  pg_temp.person(slug, who), claimed_role))
$$;
CREATE FUNCTION pg_temp.context() RETURNS text[] LANGUAGE sql AS $$
    /* The transaction's context as the functions read it: tenant, user, role. */
    SELECT ARRAY[rustok.current_tenant_id()::text, rustok.current_user_id()::text, rustok.current_user_role()]
$$;
GRANT USAGE ON SCHEMA tap TO rustok_app, rustok_owner;
GRANT SELECT ON ALL TABLES IN SCHEMA pg_temp TO rustok_app, rustok_owner;
SET LOCAL ROLE rustok_app;

-- what may be set
SELECT is(pg_temp.refusal('SELECT rustok.set_context(NULL)'), 'ok', 'no tenant and nobody: an anonymous context');
SELECT is(pg_temp.context(), ARRAY[NULL, NULL, NULL]::text[], 'with nothing set');
SELECT is(pg_temp.enter('acme'), 'ok', 'a tenant without a user');
SELECT is(pg_temp.context(), ARRAY[pg_temp.tenant('acme')::text, NULL, NULL], 'and no role');
SELECT is(pg_temp.enter('acme', 'admin'), 'ok', 'an active user of an active tenant');
SELECT is(pg_temp.context(),
          ARRAY[pg_temp.tenant('acme')::text, pg_temp.person('acme', 'admin')::text, 'admin'],
          'with the user''s role');

-- the NULL and missing cases
SELECT is(pg_temp.refusal(format('SELECT rustok.set_context(NULL, %L)', pg_temp.person('acme', 'admin'))),
          'UNAUTHENTICATED {"reason": "user"}', 'a user without a tenant');
SELECT is((pg_temp.context())[2], pg_temp.person('acme', 'admin')::text, 'a refused context leaves the one before it');
SELECT is(pg_temp.refusal(format('SELECT rustok.set_context(%L)', rustok.gen_id())),
          'NOT_FOUND {"field": "tenant"}', 'an unknown tenant');
SELECT is(pg_temp.refusal(format('SELECT rustok.set_context(%L, %L)', pg_temp.person('acme', 'admin'), rustok.gen_id())),
          'UNAUTHENTICATED {"reason": "user"}', 'a user id where the tenant goes: a user of no tenant');
SELECT is(pg_temp.refusal(format('SELECT rustok.set_context(%L, %L, ''admin'')',
                                 pg_temp.tenant('acme'), rustok.gen_id())),
          'UNAUTHENTICATED {"reason": "user"}', 'an unknown user, whatever role is claimed');
SELECT is(pg_temp.refusal(format('SELECT rustok.set_context(%L, %L)',
                                 pg_temp.tenant('acme'), pg_temp.person('globex', 'admin'))),
          'UNAUTHENTICATED {"reason": "user"}', 'a user of another tenant');

-- the role in force is the stored one
SELECT is(pg_temp.enter('acme', 'customer', 'super_admin'), 'ok', 'a customer claiming super_admin is let in');
SELECT is(rustok.current_user_role(), 'customer', 'as a customer');
SELECT ok(NOT rustok.has_permission('tenants.manage'), 'without the claimed permissions');
RESET ROLE;
UPDATE users SET role = 'customer' WHERE id = pg_temp.person('acme', 'manager');
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.enter('acme', 'manager', 'manager'), 'ok', 'a demoted manager whose token still says manager');
SELECT is(rustok.current_user_role(), 'customer', 'acts as what they are now');
SELECT throws_ok($$ SELECT rustok.list_users() $$, 'RK005', NULL, 'and may no longer list users');

-- disabled and deleted users
RESET ROLE;
UPDATE users SET status = 'disabled' WHERE id = pg_temp.person('acme', 'customer');
DELETE FROM users WHERE id = pg_temp.person('acme', 'other');
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.enter('acme', 'customer', 'customer'), 'UNAUTHENTICATED {"reason": "user"}', 'a disabled user');
SELECT is(pg_temp.refusal(format('SELECT rustok.set_context(%L, %L, ''customer'')',
                                 pg_temp.tenant('acme'), pg_temp.person('acme', 'other'))),
          'UNAUTHENTICATED {"reason": "user"}', 'a deleted user');
RESET ROLE;
UPDATE users SET status = 'active' WHERE id = pg_temp.person('acme', 'customer');
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.enter('acme', 'customer'), 'ok', 'a user switched on again');

-- a switched-off tenant
RESET ROLE;
UPDATE tenants SET is_active = false WHERE slug = 'globex';
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.enter('globex', 'admin', 'admin'), 'TENANT_INACTIVE {}', 'its users are refused');
SELECT is(pg_temp.enter('globex'), 'TENANT_INACTIVE {}', 'and so are anonymous requests naming it');
SELECT is((pg_temp.context())[1], pg_temp.tenant('acme')::text, 'a refused tenant is not left set either');
RESET ROLE;  -- an operator (here the superuser) may look inside, without a user
SELECT is(pg_temp.enter('globex'), 'ok', 'an operator enters it');
SELECT is(pg_temp.enter('globex', 'admin'), 'TENANT_INACTIVE {}', 'but not as one of its users');
SET LOCAL ROLE rustok_owner;
SELECT is(pg_temp.enter('globex'), 'ok', 'so does the owner role');
SET LOCAL ROLE rustok_app;
SELECT set_config('rustok.background', 'on', true);  -- what `rustok worker` sets on its sessions
SELECT is(pg_temp.enter('globex'), 'ok', 'a worker session works off its events');
SELECT is(pg_temp.enter('globex', 'admin'), 'TENANT_INACTIVE {}', 'but not as one of its users');
SELECT set_config('rustok.background', '', true);
SELECT is(pg_temp.enter('acme', 'admin'), 'ok', 'the other tenant is untouched');

-- a deleted tenant (`rustok demo` run again replaces its tenant): its users' tokens are over, not "not found"
RESET ROLE;
CREATE TEMP TABLE gone AS SELECT tenant_id, user_id FROM people WHERE slug = 'globex' AND who = 'admin';
GRANT SELECT ON gone TO rustok_app;
DELETE FROM tenants WHERE slug = 'globex';
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.refusal(format('SELECT rustok.set_context(%L, %L, ''admin'')', tenant_id, user_id)),
          'UNAUTHENTICATED {"reason": "user"}', 'a token of a deleted tenant is UNAUTHENTICATED (401)')
FROM gone;
SELECT is(pg_temp.refusal(format('SELECT rustok.set_context(%L)', tenant_id)),
          'NOT_FOUND {"field": "tenant"}', 'an anonymous request naming it: no such tenant')
FROM gone;

SELECT * FROM finish();
ROLLBACK;
