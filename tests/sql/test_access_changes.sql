-- Changing who may act (issue 13, point 5), as the application role: switching a user off and on
-- (rustok.set_user_status) and a tenant (rustok.set_tenant_active), who may, and the events every such
-- change emits from the tables' triggers, for the API and plain SQL alike (the realtime relay ends streams
-- on them): UserStatusChanged, UserRoleChanged, UserDeleted, TenantDeactivated, TenantActivated.
BEGIN;
SELECT plan(32);

DO $$
BEGIN
    PERFORM test_support.two_tenants();
    PERFORM rustok.set_context(rustok.tenant_id_by_slug('acme'));
    PERFORM rustok._insert_user('root@acme.test', 'hash', 'super_admin');
    PERFORM rustok._issue_refresh_token(u.id, rustok.gen_id(), sha256(convert_to(u.email, 'UTF8')), '1 day')
    FROM users u WHERE u.email IN ('customer@acme.test', 'other@acme.test');
    PERFORM rustok.set_context(NULL);
END $$;
INSERT INTO people SELECT 'acme', 'root', tenant_id, id, role FROM users WHERE email = 'root@acme.test';
CREATE FUNCTION pg_temp.events(slug text, since bigint DEFAULT 0) RETURNS text[] LANGUAGE sql AS $$
    /* The access events of a tenant after an outbox position, oldest first, as "Type key=value". */
    SELECT coalesce(array_agg(e.type || ' ' || coalesce(e.data ->> 'status', e.data ->> 'role', e.data ->> 'reason', '')
                              ORDER BY e.position), '{}')
    FROM event_outbox e JOIN tenants t ON t.id = e.tenant_id
    WHERE t.slug = events.slug AND e.position > since
      AND e.type IN ('UserStatusChanged', 'UserRoleChanged', 'UserDeleted', 'UserSessionsRevoked',
                     'TenantDeactivated', 'TenantActivated')
$$;
CREATE TEMP TABLE mark AS SELECT max(position) AS position FROM event_outbox;
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;

-- switching a user off and on
SELECT pg_temp.act('acme', 'manager');
SELECT throws_ok(format('SELECT rustok.set_user_status(%L, ''disabled'')', pg_temp.person('acme', 'customer')),
                 'RK005', NULL, 'a manager (no users.manage) may not switch a user off');
SELECT pg_temp.act('acme', 'admin');
SELECT throws_ok(format('SELECT rustok.set_user_status(%L, ''disabled'')', pg_temp.person('acme', 'admin')),
                 'RK005', NULL, 'nobody switches themselves off');
SELECT throws_ok(format('SELECT rustok.set_user_status(%L, ''disabled'')', pg_temp.person('acme', 'root')),
                 'RK005', NULL, 'only a super_admin switches a super_admin');
SELECT throws_ok(format('SELECT rustok.set_user_status(%L, ''gone'')', pg_temp.person('acme', 'customer')),
                 'RK002', NULL, 'a status is active or disabled');
SELECT throws_ok(format('SELECT rustok.set_user_status(%L, ''disabled'')', pg_temp.person('globex', 'customer')),
                 'RK003', NULL, 'another tenant''s user is not found');
SELECT is(rustok.set_user_status(pg_temp.person('acme', 'customer'), 'disabled') ->> 'status', 'disabled',
          'an admin switches a customer off');
SELECT is((SELECT count(*) FROM auth_refresh_tokens
           WHERE user_id = pg_temp.person('acme', 'customer') AND revoked_at IS NULL), 0::bigint,
          'which revokes their refresh tokens');
SELECT is((SELECT count(*) FROM auth_refresh_tokens
           WHERE user_id = pg_temp.person('acme', 'other') AND revoked_at IS NULL), 1::bigint, 'and nobody else''s');
SELECT is(rustok.set_user_status(pg_temp.person('acme', 'customer'), 'disabled') ->> 'status', 'disabled',
          'switching off again changes nothing');
SELECT is(pg_temp.events('acme', (SELECT position FROM mark)),
          '{"UserStatusChanged disabled","UserSessionsRevoked disabled"}',
          'UserStatusChanged and UserSessionsRevoked, once');
SELECT is((SELECT actor_id FROM event_outbox WHERE type = 'UserStatusChanged'), pg_temp.person('acme', 'admin'),
          'with the admin as actor');
SELECT is((SELECT data ->> 'user_id' FROM event_outbox WHERE type = 'UserStatusChanged'),
          rustok.ulid(pg_temp.person('acme', 'customer')), 'naming the user');
SELECT is(rustok.set_user_status(pg_temp.person('acme', 'customer'), 'active') ->> 'status', 'active',
          'and switches them on again');
SELECT pg_temp.act('acme', 'root');
SELECT is(rustok.set_user_status(pg_temp.person('acme', 'admin'), 'disabled') ->> 'status', 'disabled',
          'a super_admin switches an admin off');
SELECT throws_ok($$ SELECT pg_temp.act('acme', 'admin') $$, 'RK006', NULL, 'who is refused from then on');
UPDATE mark SET position = (SELECT max(position) FROM event_outbox);

-- role changes: one event, whoever makes them
SELECT is(rustok.set_user_role(pg_temp.person('acme', 'manager'), 'customer') ->> 'role', 'customer',
          'a super_admin demotes the manager');
RESET ROLE;
UPDATE users SET role = 'manager' WHERE id = pg_temp.person('acme', 'manager');
UPDATE users SET status = 'active' WHERE id = pg_temp.person('acme', 'admin');
DELETE FROM users WHERE id = pg_temp.person('acme', 'other');
UPDATE users SET display_name = 'Renamed' WHERE id = pg_temp.person('acme', 'customer');
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.events('acme', (SELECT position FROM mark)),
          '{"UserRoleChanged customer","UserRoleChanged manager","UserStatusChanged active","UserDeleted "}',
          'the API and plain statements alike: UserRoleChanged, UserStatusChanged, UserDeleted, nothing else');
UPDATE mark SET position = (SELECT max(position) FROM event_outbox);

-- switching a tenant off and on
SELECT pg_temp.act('acme', 'admin');
SELECT throws_ok(format('SELECT rustok.set_tenant_active(%L, false)', pg_temp.tenant('globex')),
                 'RK005', NULL, 'an admin (no tenants.manage) may not switch a tenant off');
SELECT pg_temp.act('acme', 'root');
SELECT throws_ok(format('SELECT rustok.set_tenant_active(%L, false)', pg_temp.tenant('acme')),
                 'RK005', NULL, 'nor may anybody switch off their own tenant');
SELECT throws_ok(format('SELECT rustok.set_tenant_active(%L, false)', rustok.gen_id()),
                 'RK003', NULL, 'an unknown tenant is not found');
SELECT throws_ok(format('SELECT rustok.set_tenant_active(%L, NULL)', pg_temp.tenant('globex')),
                 'RK002', NULL, 'on or off, not null');
SELECT is(rustok.set_tenant_active(pg_temp.tenant('globex'), false) ->> 'isActive', 'false',
          'a super_admin switches another tenant off');
SELECT is(ARRAY[rustok.current_tenant_id(), rustok.current_user_id()],
          ARRAY[pg_temp.tenant('acme'), pg_temp.person('acme', 'root')], 'and keeps their own context');
SELECT is(rustok.set_tenant_active(pg_temp.tenant('globex'), false) ->> 'isActive', 'false', 'again: no change');
SELECT throws_ok($$ SELECT pg_temp.act('globex', 'admin') $$, 'RK009', NULL, 'its users are refused');
SELECT throws_ok($$ SELECT pg_temp.act('globex') $$, 'RK009', NULL, 'and so is everybody else');
SELECT is(rustok.set_tenant_active(pg_temp.tenant('globex'), true) ->> 'isActive', 'true', 'and on again');
SELECT lives_ok($$ SELECT pg_temp.act('globex', 'admin') $$, 'its users are back');
RESET ROLE;
SELECT rustok.set_context(NULL);  -- an operator in psql, no user
UPDATE tenants SET is_active = false WHERE slug = 'globex';
SELECT is(pg_temp.events('globex', (SELECT position FROM mark)),
          '{"TenantDeactivated ","TenantActivated ","TenantDeactivated "}',
          'each switch is an event in that tenant, from the API or a plain statement');
SELECT is((SELECT array_agg(actor_id ORDER BY position) FROM event_outbox
           WHERE type LIKE 'Tenant%ctivated' AND position > (SELECT position FROM mark)),
          ARRAY[pg_temp.person('acme', 'root'), pg_temp.person('acme', 'root'), NULL],
          'with the super_admin as actor (none for psql without a context)');
SELECT lives_ok($$ DELETE FROM tenants WHERE slug = 'globex' $$,
                'a tenant can still be deleted (its users'' deletion emits nothing into a tenant that is going)');
SELECT is((SELECT count(*) FROM event_outbox WHERE tenant_id = pg_temp.tenant('globex')), 0::bigint,
          'and nothing of it is left');

SELECT * FROM finish();
ROLLBACK;
