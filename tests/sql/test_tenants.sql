-- Tenants: create_tenant's validation, permission and events, the context it restores, the anonymous
-- slug lookup; and the rule that every SECURITY DEFINER function pins its search_path.
BEGIN;
SELECT plan(25);

CREATE TEMP TABLE created (slug text, response jsonb);

-- validation and conflicts (as an operator: the superuser)
SELECT throws_ok($$ SELECT rustok.create_tenant('Bad Slug', 'Name') $$, 'RK002', NULL,
                 'a slug with capitals and a space');
SELECT throws_ok($$ SELECT rustok.create_tenant('-acme', 'Name') $$, 'RK002', NULL, 'a slug starting with a dash');
SELECT throws_ok($$ SELECT rustok.create_tenant('acme', '  ') $$, 'RK002', NULL, 'a blank name');
SELECT throws_ok($$ SELECT rustok.create_tenant('acme', 'Acme', 'admin@acme.test') $$, 'RK002', NULL,
                 'an admin email without a password');
SELECT throws_ok($$ SELECT rustok.create_tenant('acme', 'Acme', 'not-an-email', 'hash') $$, 'RK002', NULL,
                 'an admin email that is not one');
INSERT INTO created SELECT 'acme', rustok.create_tenant('acme', 'Acme', ' Admin@Acme.test ', 'hash');
SELECT throws_ok($$ SELECT rustok.create_tenant('acme', 'Acme again') $$, 'RK004', NULL, 'a taken slug is CONFLICT');

-- what creating acme did
SELECT is((SELECT response ->> 'id' FROM created WHERE slug = 'acme'), rustok.ulid(rustok.tenant_id_by_slug('acme')),
          'the response carries the new tenant''s id as a ULID');
SELECT is((SELECT array_agg(email || ' ' || role) FROM users
           WHERE tenant_id = rustok.tenant_id_by_slug('acme')), '{"admin@acme.test admin"}',
          'the admin user was created (email normalized) with role admin');
SELECT is((SELECT array_agg(type ORDER BY position) FROM event_outbox
           WHERE tenant_id = rustok.tenant_id_by_slug('acme') AND type <> 'ModuleEnabled'),
          '{TenantCreated,UserRegistered}', 'TenantCreated and UserRegistered were emitted for the new tenant');
SELECT is((SELECT count(*) FROM event_outbox WHERE tenant_id = rustok.tenant_id_by_slug('acme')
           AND type = 'ModuleEnabled'), (SELECT count(*) FROM modules),
          'and ModuleEnabled for each installed module');
SELECT is((SELECT data ->> 'tenant_id' FROM event_outbox WHERE type = 'TenantCreated'),
          (SELECT response ->> 'id' FROM created WHERE slug = 'acme'), 'TenantCreated names the tenant');

-- the callers below are users of acme (set_context takes a user's role from the database)
DO $$
BEGIN
    PERFORM rustok.set_context(rustok.tenant_id_by_slug('acme'));
    PERFORM rustok._insert_user('customer@acme.test', 'hash', 'customer');
    PERFORM rustok._insert_user('root@acme.test', 'hash', 'super_admin');
    PERFORM rustok.set_context(NULL);
END $$;
CREATE TEMP TABLE caller AS
SELECT u.tenant_id, u.id AS user_id, u.role::text AS role FROM users u WHERE u.tenant_id = rustok.tenant_id_by_slug('acme');

-- pgTAP runs as the application role below: let it reach pgTAP and this test's temp tables.
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA pg_temp TO rustok_app;

-- as the application, signed in to acme: only a super_admin may create tenants
SET LOCAL ROLE rustok_app;
SELECT rustok.set_context(tenant_id, user_id) FROM caller WHERE role = 'customer';
SELECT throws_ok($$ SELECT rustok.create_tenant('globex', 'Globex') $$, 'RK005', NULL, 'a customer may not');
SELECT rustok.set_context(tenant_id, user_id) FROM caller WHERE role = 'admin';
SELECT throws_ok($$ SELECT rustok.create_tenant('globex', 'Globex') $$, 'RK005', NULL, 'a tenant admin may not');
SELECT rustok.set_context(tenant_id) FROM caller WHERE role = 'admin';
SELECT throws_ok($$ SELECT rustok.create_tenant('globex', 'Globex') $$, 'RK006', NULL, 'nobody signed in may not');
SELECT rustok.set_context(tenant_id, user_id) FROM caller WHERE role = 'super_admin';
SELECT lives_ok($$ INSERT INTO created
                   SELECT 'globex', rustok.create_tenant('globex', 'Globex', 'boss@globex.test', 'hash') $$,
                'a super_admin may');
SELECT is(ARRAY[rustok.current_tenant_id(), rustok.current_user_id()]::text[] || rustok.current_user_role(),
          (SELECT ARRAY[tenant_id, user_id]::text[] || 'super_admin'::text FROM caller WHERE role = 'super_admin'),
          'the caller''s context is restored afterwards');
DO $$ BEGIN PERFORM rustok.publish_event('AfterCreate'); END $$;
RESET ROLE;
SELECT is((SELECT tenant_id FROM event_outbox WHERE type = 'AfterCreate'), rustok.tenant_id_by_slug('acme'),
          'so what the caller writes next lands in its own tenant');
SELECT is((SELECT array_agg(type || ' by caller' ORDER BY position) FROM event_outbox
           WHERE tenant_id = rustok.tenant_id_by_slug('globex')
             AND actor_id = (SELECT user_id FROM caller WHERE role = 'super_admin')
             AND type <> 'ModuleEnabled'),
          '{"TenantCreated by caller","UserRegistered by caller"}',
          'the super_admin''s tenant has its events, with the super_admin as actor');
SELECT is((SELECT role FROM users WHERE tenant_id = rustok.tenant_id_by_slug('globex')), 'admin',
          'and its first user is an admin');

-- the anonymous slug lookup
SET LOCAL ROLE rustok_app;
SELECT rustok.set_context(NULL);
SELECT is(rustok.ulid(rustok.tenant_id_by_slug('acme')), (SELECT response ->> 'id' FROM created WHERE slug = 'acme'),
          'tenant_id_by_slug finds a tenant with no context set (SECURITY DEFINER)');
SELECT is(rustok.tenant_id_by_slug('nobody'), NULL, 'and gives null for an unknown slug');
RESET ROLE;
UPDATE tenants SET is_active = false WHERE slug = 'acme';
SET LOCAL ROLE rustok_app;
SELECT is(rustok.tenant_id_by_slug('acme'), (SELECT tenant_id FROM caller LIMIT 1),
          'and a switched-off tenant''s id too: set_context is what refuses it');
SELECT throws_ok($$ SELECT rustok.set_context(rustok.tenant_id_by_slug('acme')) $$, 'RK009', NULL,
                 'as it does');
RESET ROLE;

-- every SECURITY DEFINER function outside the system schemas pins its search_path; catalog-driven, shown to
-- catch a new one
CREATE TEMP VIEW definer_without_search_path AS
SELECT coalesce(array_agg(p.oid::regprocedure::text ORDER BY 1), '{}') AS functions
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%');
SELECT is((SELECT functions FROM definer_without_search_path), '{}',
          'every SECURITY DEFINER function has a pinned search_path');
CREATE FUNCTION rustok.unpinned() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
SELECT is((SELECT functions FROM definer_without_search_path), '{rustok.unpinned()}',
          'a new SECURITY DEFINER function without one is reported');

SELECT * FROM finish();
ROLLBACK;
