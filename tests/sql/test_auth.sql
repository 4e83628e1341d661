-- Auth functions as the application role: registration, throttled login in two steps, refresh-token rotation
-- with reuse detection, logout, signing out everywhere (own or, with users.manage, someone else's), disabled
-- users, inactive tenants, and attempts across tenants. Errors are checked by SQLSTATE only.
BEGIN;
SELECT plan(60);

DO $$
BEGIN
    PERFORM rustok.create_tenant('acme', 'Acme', 'admin@acme.test', 'admin-hash');
    PERFORM rustok.create_tenant('globex', 'Globex');
    PERFORM rustok.create_tenant('closed', 'Closed');
    UPDATE tenants SET is_active = false WHERE slug = 'closed';
END $$;
CREATE TEMP TABLE t AS SELECT slug, id FROM tenants;
CREATE TEMP TABLE saved (name text PRIMARY KEY, value jsonb);
CREATE FUNCTION pg_temp.h(token text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    /* The digest the API stores for a refresh token. */
    SELECT sha256(convert_to(token, 'UTF8'))
$$;
CREATE FUNCTION pg_temp.acme(user_email text DEFAULT NULL, role text DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
/* Acts in tenant acme, anonymously or as the user with this email. */
BEGIN
    PERFORM rustok.set_context((SELECT id FROM t WHERE slug = 'acme'),
                               (SELECT u.id FROM users u WHERE u.email = user_email), role);
END $$;
CREATE FUNCTION pg_temp.events(event_type text) RETURNS bigint LANGUAGE sql AS $$
    /* How many events of this type the current tenant has. */
    SELECT count(*) FROM event_outbox WHERE type = event_type
$$;
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA pg_temp TO rustok_app;

-- the rules need no elevated rights
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
           WHERE p.pronamespace = 'rustok'::regnamespace AND p.prosecdef
             AND p.proname IN ('register_user', 'begin_login', 'complete_login', 'rotate_refresh_token',
                               'revoke_refresh_token', 'revoke_user_sessions', '_auth_tenant', '_issue_refresh_token',
                               '_revoke_refresh_tokens', 'purge_auth_state')),
          NULL, 'no auth function is SECURITY DEFINER: RLS applies to all of them');
SELECT is(ARRAY[rustok._login_delay(5), rustok._login_delay(6), rustok._login_delay(7), rustok._login_delay(9),
                rustok._login_delay(40)],
          ARRAY[interval '0', interval '1 second', interval '2 seconds', interval '8 seconds', interval '5 minutes'],
          'five free attempts, then 1 s doubling, capped at 5 minutes');

SET LOCAL ROLE rustok_app;

-- registration
SELECT throws_ok($$ SELECT rustok.register_user('bob@acme.test', 'h1', pg_temp.h('r1'), '1 day') $$,
                 'RK007', NULL, 'registration needs a tenant');
SELECT throws_ok($$ SELECT rustok.set_context((SELECT id FROM t WHERE slug = 'closed')) $$,
                 'RK009', NULL, 'the application cannot enter a switched-off tenant');
RESET ROLE;  -- an operator can, and the auth rules still refuse there
SELECT rustok.set_context((SELECT id FROM t WHERE slug = 'closed'));
SELECT throws_ok($$ SELECT rustok.register_user('bob@acme.test', 'h1', pg_temp.h('r1'), '1 day') $$,
                 'RK009', NULL, 'not in a switched-off tenant');
SELECT throws_ok($$ SELECT rustok.begin_login('bob@acme.test') $$, 'RK009', NULL, 'nor a login there');
SET LOCAL ROLE rustok_app;
SELECT pg_temp.acme();
SELECT is(rustok.register_user(' Bob@Acme.test ', 'h1', pg_temp.h('r1'), '1 day') #>> '{user,role}', 'customer',
          'a registered user is a customer');
SELECT is((SELECT email::text FROM users WHERE email LIKE 'bob%'), 'bob@acme.test', 'with the email normalised');
SELECT is(pg_temp.events('UserRegistered'), 2::bigint, 'UserRegistered is emitted (the admin''s and bob''s)');
SELECT ok((SELECT expires_at BETWEEN now() + interval '23 hours' AND now() + interval '25 hours'
           FROM auth_refresh_tokens WHERE token_hash = pg_temp.h('r1')),
          'and signed in: the refresh token digest is stored with its lifetime');
SELECT throws_ok($$ SELECT rustok.register_user('bob@acme.test', 'h1', pg_temp.h('other'), '1 day') $$,
                 'RK004', NULL, 'an email registers once per tenant');
SELECT throws_ok($$ SELECT rustok.register_user('carol@acme.test', 'h1', '\x0102'::bytea, '1 day') $$,
                 'RK002', NULL, 'a refresh token digest must be 32 bytes');
SELECT throws_ok($$ SELECT rustok.register_user('carol@acme.test', 'h1', pg_temp.h('c'), '-1 day') $$,
                 'RK002', NULL, 'and its lifetime positive');
SELECT throws_ok($$ SELECT rustok.register_user('not-an-email', 'h1', pg_temp.h('c'), '1 day') $$,
                 'RK002', NULL, 'the email is validated in SQL too');

-- login, step one: every attempt is charged, known account or not
SELECT is(rustok.begin_login('BOB@acme.test'), '{"status": "ok", "passwordHash": "h1"}',
          'begin_login hands out the stored hash to verify');
SELECT is(rustok.begin_login('ghost@acme.test'), '{"status": "ok", "passwordHash": null}',
          'an unknown email gets the same answer without a hash');
SELECT is((SELECT failures FROM auth_login_attempts WHERE email = 'ghost@acme.test'), 1,
          'and its attempt is counted as well');
SELECT throws_ok($$ SELECT rustok.begin_login('') $$, 'RK002', NULL, 'an email is required');
DO $$ BEGIN FOR i IN 1..5 LOOP PERFORM rustok.begin_login('ghost@acme.test'); END LOOP; END $$;
SELECT is(rustok.begin_login('ghost@acme.test'), '{"status": "throttled", "retryAfter": 1}',
          'after five free attempts and one more, the pair waits');
SELECT is((SELECT failures FROM auth_login_attempts WHERE email = 'ghost@acme.test'), 6,
          'a throttled attempt is not charged (waiting is never extended by it)');

-- login, step two
SELECT throws_ok($$ SELECT rustok.complete_login('bob@acme.test', 'stale-hash', pg_temp.h('r2'), '1 day') $$,
                 'RK016', NULL, 'complete_login refuses when the verified hash is not the stored one');
SELECT is(rustok.complete_login('bob@acme.test', 'h1', pg_temp.h('r2'), '1 day', 'h1-rehashed') #>> '{user,email}',
          'bob@acme.test', 'complete_login signs in');
SELECT is((SELECT password_hash::text FROM users WHERE email = 'bob@acme.test'), 'h1-rehashed',
          'storing the rehashed password');
SELECT is((SELECT count(*) FROM auth_login_attempts WHERE email = 'bob@acme.test'), 0::bigint,
          'forgiving the attempts charged to the account');
SELECT is(pg_temp.events('UserLoggedIn'), 1::bigint, 'and emitting UserLoggedIn');

-- rotation and reuse
SELECT is(rustok.rotate_refresh_token(pg_temp.h('r2'), pg_temp.h('r3'), '1 day') ->> 'status', 'ok',
          'a refresh token is exchanged for a new one');
SELECT ok((SELECT used_at IS NOT NULL FROM auth_refresh_tokens WHERE token_hash = pg_temp.h('r2')),
          'the old one is marked used');
SELECT is((SELECT count(DISTINCT family_id) FROM auth_refresh_tokens
           WHERE token_hash IN (pg_temp.h('r2'), pg_temp.h('r3'))), 1::bigint, 'the new one is of the same family');
SELECT is(rustok.rotate_refresh_token(pg_temp.h('r2'), pg_temp.h('r2b'), '1 day') ->> 'status', 'ok',
          'presenting it again within the grace (a second tab) gets another new token');
SELECT is((SELECT count(*) FROM auth_refresh_tokens
           WHERE token_hash IN (pg_temp.h('r3'), pg_temp.h('r2b')) AND revoked_at IS NULL AND used_at IS NULL),
          2::bigint, 'both successors are live, in the family');
SELECT is(pg_temp.events('UserSessionsRevoked'), 0::bigint, 'and nothing was revoked');
UPDATE auth_refresh_tokens SET used_at = now() - rustok._refresh_grace() - interval '1 second'
WHERE token_hash = pg_temp.h('r2');
SELECT is(rustok.rotate_refresh_token(pg_temp.h('r2'), pg_temp.h('r4'), '1 day'), '{"status": "reused"}',
          'presenting the used one again after the grace is reuse');
SELECT ok((SELECT revoked_at IS NOT NULL FROM auth_refresh_tokens WHERE token_hash = pg_temp.h('r2b')),
          'the grace''s successor is revoked with the family');
SELECT ok((SELECT revoked_at IS NOT NULL FROM auth_refresh_tokens WHERE token_hash = pg_temp.h('r3')),
          'which revokes the whole family, the newest token included');
SELECT is(rustok.rotate_refresh_token(pg_temp.h('r3'), pg_temp.h('r5'), '1 day'), '{"status": "reused"}',
          'so the newest token is refused too');
SELECT is(pg_temp.events('UserSessionsRevoked'), 1::bigint,
          'UserSessionsRevoked is emitted once: the second reuse changed nothing');
SELECT is(rustok.rotate_refresh_token(pg_temp.h('never issued'), pg_temp.h('r6'), '1 day'), '{"status": "invalid"}',
          'an unknown token is invalid');

-- across tenants: acme's token and account do not exist for globex
SELECT rustok.set_context((SELECT id FROM t WHERE slug = 'globex'));
SELECT is(rustok.rotate_refresh_token(pg_temp.h('r1'), pg_temp.h('g1'), '1 day'), '{"status": "invalid"}',
          'globex cannot rotate acme''s refresh token');
SELECT is(rustok.revoke_refresh_token(pg_temp.h('r1')), false, 'nor revoke it');
SELECT is(rustok.begin_login('bob@acme.test') ->> 'passwordHash', NULL, 'nor read acme''s password hash');
SELECT throws_ok($$ SELECT rustok.revoke_user_sessions((SELECT id FROM users WHERE email = 'bob@acme.test')) $$,
                 'RK006', NULL, 'nor sign out acme''s user anonymously');
SELECT pg_temp.acme();
SELECT ok((SELECT used_at IS NULL AND revoked_at IS NULL FROM auth_refresh_tokens WHERE token_hash = pg_temp.h('r1')),
          'acme''s token is untouched');

-- logout
SELECT is(rustok.revoke_refresh_token(pg_temp.h('r1')), true, 'logout with a refresh token revokes its family');
SELECT is(rustok.rotate_refresh_token(pg_temp.h('r1'), pg_temp.h('r7'), '1 day'), '{"status": "reused"}',
          'after which it is refused');
SELECT throws_ok($$ SELECT rustok.revoke_user_sessions() $$, 'RK006', NULL, 'signing out everywhere needs a user');
SELECT ok(rustok.complete_login('bob@acme.test', 'h1-rehashed', pg_temp.h('r8'), '1 day') IS NOT NULL,
          'bob signs in again');
SELECT pg_temp.acme('bob@acme.test', 'customer');
SELECT is(rustok.revoke_user_sessions(), 1, 'a user signs themselves out everywhere');
SELECT throws_ok($$ SELECT rustok.revoke_user_sessions((SELECT id FROM users WHERE email = 'admin@acme.test')) $$,
                 'RK005', NULL, 'but a customer cannot sign out someone else');
SELECT pg_temp.acme();
SELECT ok(rustok.complete_login('bob@acme.test', 'h1-rehashed', pg_temp.h('r9'), '1 day') IS NOT NULL,
          'and again');
SELECT pg_temp.acme('admin@acme.test', 'admin');
SELECT is(rustok.revoke_user_sessions((SELECT id FROM users WHERE email = 'bob@acme.test')), 1,
          'an admin (users.manage) can');
SELECT throws_ok($$ SELECT rustok.revoke_user_sessions(rustok.gen_id()) $$, 'RK003', NULL, 'for existing users');

-- disabled users and expired tokens
SELECT pg_temp.acme();
SELECT ok(rustok.complete_login('bob@acme.test', 'h1-rehashed', pg_temp.h('r10'), '1 day') IS NOT NULL,
          'and once more');
RESET ROLE;
UPDATE users SET status = 'disabled' WHERE email = 'bob@acme.test';
SET LOCAL ROLE rustok_app;
SELECT is(rustok.rotate_refresh_token(pg_temp.h('r10'), pg_temp.h('r11'), '1 day'), '{"status": "disabled"}',
          'a disabled user cannot refresh');
SELECT ok((SELECT revoked_at IS NOT NULL FROM auth_refresh_tokens WHERE token_hash = pg_temp.h('r10')),
          'and the session is revoked');
SELECT is(rustok.begin_login('bob@acme.test') ->> 'passwordHash', NULL, 'nor begin a login');
SELECT throws_ok($$ SELECT rustok.complete_login('bob@acme.test', 'h1-rehashed', pg_temp.h('r12'), '1 day') $$,
                 'RK016', NULL, 'nor complete one');
SELECT ok(rustok.register_user('dora@acme.test', 'h1', pg_temp.h('d1'), '1 day') IS NOT NULL, 'dora registers');
RESET ROLE;
UPDATE auth_refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = pg_temp.h('d1');
SET LOCAL ROLE rustok_app;
SELECT is(rustok.rotate_refresh_token(pg_temp.h('d1'), pg_temp.h('d2'), '1 day'), '{"status": "expired"}',
          'an expired token is refused');
SELECT cmp_ok(rustok.purge_auth_state(), '>=', 1, 'purge_auth_state deletes expired state');
SELECT is((SELECT count(*) FROM auth_refresh_tokens WHERE token_hash = pg_temp.h('d1')), 0::bigint,
          'the expired token included');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
