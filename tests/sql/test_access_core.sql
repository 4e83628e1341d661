-- Core's access checks in their NULL cases (docs/security.md, point 2): the current user (me,
-- set_display_name), one user by id, revoking sessions, role changes and the event stream, for anonymous
-- callers, a user who was deleted while their token still names them, and no tenant.
BEGIN;
SELECT plan(18);

-- two tenants (acme, globex), each with an admin, a manager and two customers; pg_temp.act(slug, who) acts
-- as one of them (who null: anonymous) (tests/sql/support/two_tenants.sql).
DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;

-- anonymous
SELECT pg_temp.act('acme');
SELECT is(rustok.me(), NULL, 'me: null');
SELECT throws_ok($$ SELECT rustok.set_display_name('Nobody') $$, 'RK006', NULL, 'set_display_name: UNAUTHENTICATED');
SELECT throws_ok($$ SELECT rustok.user_by_id(NULL) $$, 'RK006', NULL,
                 'user_by_id(null): UNAUTHENTICATED (null is not "yourself")');
SELECT throws_ok($$ SELECT rustok.user_by_id(pg_temp.person('acme', 'customer')) $$, 'RK006', NULL,
                 'user_by_id of someone: UNAUTHENTICATED');
SELECT throws_ok($$ SELECT rustok.revoke_user_sessions() $$, 'RK006', NULL, 'revoke_user_sessions: UNAUTHENTICATED');
SELECT throws_ok($$ SELECT rustok.authorize_event_stream() $$, 'RK006', NULL, 'the event stream: UNAUTHENTICATED');

-- signed in
SELECT pg_temp.act('acme', 'customer');
SELECT is(rustok.user_by_id(pg_temp.person('acme', 'customer')) ->> 'email', 'customer@acme.test',
          'a customer reads themselves');
SELECT throws_ok($$ SELECT rustok.user_by_id(pg_temp.person('acme', 'other')) $$, 'RK005', NULL,
                 'but not another user: FORBIDDEN');
SELECT throws_ok($$ SELECT rustok.user_by_id(NULL) $$, 'RK005', NULL, 'nor user_by_id(null)');
SELECT throws_ok($$ SELECT rustok.revoke_user_sessions(pg_temp.person('acme', 'other')) $$, 'RK005', NULL,
                 'nor revokes another user''s sessions');
SELECT pg_temp.act('acme', 'admin');
SELECT throws_ok($$ SELECT rustok.set_user_role(pg_temp.person('acme', 'admin'), 'customer') $$, 'RK005', NULL,
                 'nobody changes their own role');

-- deleted users whose (still valid) tokens name them
RESET ROLE;
DELETE FROM users WHERE email IN ('customer@acme.test', 'manager@acme.test');
SET LOCAL ROLE rustok_app;
SELECT throws_ok($$ SELECT pg_temp.act('acme', 'customer') $$, 'RK006', NULL, 'set_context refuses a deleted user');
SELECT test_support.set_settings(pg_temp.tenant('acme'), pg_temp.person('acme', 'customer'), 'customer');  -- by hand, as psql can
SELECT is(rustok.me(), NULL, 'a deleted user: me is null');
SELECT throws_ok($$ SELECT rustok.set_display_name('Ghost') $$, 'RK006', NULL, 'set_display_name: UNAUTHENTICATED');
SELECT throws_ok($$ SELECT rustok.revoke_user_sessions() $$, 'RK003', NULL, 'revoking their own sessions: NOT_FOUND');
SELECT test_support.set_settings(pg_temp.tenant('acme'), pg_temp.person('acme', 'manager'), 'manager');
SELECT throws_ok($$ SELECT rustok.authorize_event_stream() $$, 'RK006', NULL,
                 'a deleted manager (events.read by role): the event stream is UNAUTHENTICATED');

-- no tenant
SELECT test_support.set_settings(NULL, pg_temp.person('acme', 'admin'), 'admin');  -- set_context refuses it
SELECT is(rustok.me(), NULL, 'no tenant: me is null');
SELECT throws_ok($$ SELECT rustok.list_users() $$, 'RK007', NULL, 'no tenant: list_users is TENANT_REQUIRED');

SELECT * FROM finish();
ROLLBACK;
