-- The name a user shows to others: given at registration (register_user's display_name), changed by the
-- user (set_display_name), shown by comment_tree; the rule (trimmed, empty = none, at most 255) in one place.
BEGIN;
SELECT plan(9);

DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme');
SELECT is(rustok.register_user('ada@acme.test', 'hash', sha256('r1'), '1 day', '  Ada Lovelace ') #>> '{user,displayName}',
          'Ada Lovelace', 'registration keeps the name, trimmed');
SELECT is(rustok.register_user('bob@acme.test', 'hash', sha256('r2'), '1 day', '') #>> '{user,displayName}', NULL,
          'an empty name is no name');
SELECT throws_ok($$ SELECT rustok.register_user('cy@acme.test', 'hash', sha256('r3'), '1 day', repeat('x', 256)) $$,
                 'RK002', NULL, 'a name above 255 characters is VALIDATION_FAILED');
SELECT is((SELECT count(*) FROM users WHERE email = 'cy@acme.test'), 0::bigint, 'and nobody is registered');

SELECT throws_ok($$ SELECT rustok.set_display_name('Nobody') $$, 'RK006', NULL,
                 'an anonymous caller has no name to change: UNAUTHENTICATED');
SELECT pg_temp.act('acme', 'customer');
SELECT is(rustok.set_display_name(' Grace ') ->> 'displayName', 'Grace', 'a customer changes their own name');
SELECT is(rustok.me() ->> 'displayName', 'Grace', 'me() shows it');
SELECT is((SELECT count(*) FROM event_outbox WHERE type = 'UserUpdated'
           AND data ->> 'user_id' = rustok.ulid(pg_temp.person('acme', 'customer'))), 1::bigint, 'UserUpdated is emitted');
SELECT pg_temp.act('globex', 'customer');
SELECT is((SELECT display_name FROM users WHERE email = 'customer@acme.test'), NULL,
          'another tenant''s user sees nothing of it (RLS)');

SELECT * FROM finish();
ROLLBACK;
