-- Module dependency rules per tenant: enabling needs the dependencies enabled, disabling is refused while a
-- dependent is enabled, through the API functions and through plain INSERT/UPDATE/DELETE alike; who may toggle
-- modules; the events a toggle emits.
BEGIN;
SELECT plan(27);

-- installed modules: beta depends on alpha; gamma (installed after the tenant exists) depends on beta.
-- The modules this codebase ships are installed too; the assertions look at the test modules only.
CREATE TEMP TABLE probes (slug text);
INSERT INTO probes VALUES ('alpha'), ('beta'), ('gamma');
DO $$
BEGIN
    PERFORM rustok._register_module('alpha', 'Alpha', '', '1.0', '{}');
    PERFORM rustok._register_module('beta', 'Beta', '', '1.0', '{alpha}');
    PERFORM rustok.create_tenant('acme', 'Acme', 'admin@acme.test', 'hash');
    PERFORM rustok.set_context(rustok.tenant_id_by_slug('acme'));
    PERFORM rustok._insert_user('customer@acme.test', 'hash', 'customer');
    PERFORM rustok.set_context(NULL);
    PERFORM rustok._register_module('gamma', 'Gamma', '', '1.0', '{beta}');
END $$;
CREATE TEMP TABLE acme AS
SELECT t.id AS tenant_id, a.id AS admin_id, c.id AS customer_id
FROM tenants t JOIN users a ON a.tenant_id = t.id AND a.role = 'admin' JOIN users c ON c.tenant_id = t.id AND c.role = 'customer'
WHERE t.slug = 'acme';

SELECT is((SELECT array_agg(module_slug::text ORDER BY module_slug) FROM tenant_modules
           WHERE enabled AND module_slug IN (SELECT slug FROM probes)),
          '{alpha,beta}', 'a new tenant gets every installed module enabled');
SELECT is((SELECT array_agg(data ->> 'module' ORDER BY position) FROM event_outbox
           WHERE type = 'ModuleEnabled' AND data ->> 'module' IN (SELECT slug FROM probes)),
          '{alpha,beta}', 'with a ModuleEnabled event for each, in dependency order (on_enable hooks run on it)');
CREATE TEMP TABLE created AS SELECT max(position) AS last_position FROM event_outbox;

-- pgTAP runs as the application role below: let it reach pgTAP and this test's temp tables.
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA pg_temp TO rustok_app;

SET LOCAL ROLE rustok_app;
SELECT rustok.set_context(tenant_id, admin_id, 'admin') FROM acme;

-- through the API
SELECT throws_ok($$ SELECT rustok.disable_module('alpha') $$, 'RK013', NULL,
                 'alpha cannot be disabled while beta, which depends on it, is enabled');
SELECT lives_ok($$ SELECT rustok.disable_module('beta') $$, 'beta can be disabled');
SELECT lives_ok($$ SELECT rustok.disable_module('alpha') $$, 'then alpha can be disabled');
SELECT is(rustok.is_module_enabled('alpha'), false, 'alpha is disabled');
SELECT throws_ok($$ SELECT rustok.enable_module('beta') $$, 'RK012', NULL,
                 'beta cannot be enabled while alpha is disabled');
SELECT throws_ok($$ SELECT rustok.require_module('beta') $$, 'RK010', NULL,
                 'require_module refuses a disabled module');
SELECT throws_ok($$ SELECT rustok.enable_module('nope') $$, 'RK011', NULL, 'an unknown module is MODULE_UNKNOWN');

-- through plain SQL: the trigger holds the same rules
SELECT throws_ok($$ UPDATE tenant_modules SET enabled = true WHERE module_slug = 'beta' $$, 'RK012', NULL,
                 'a direct UPDATE enabling beta without alpha is refused');
SELECT throws_ok($$ INSERT INTO tenant_modules (tenant_id, module_slug) SELECT tenant_id, 'gamma' FROM acme $$,
                 'RK012', NULL, 'a direct INSERT enabling gamma without beta is refused');
SELECT lives_ok($$ SELECT rustok.enable_module('alpha'), rustok.enable_module('beta') $$,
                'alpha, then beta, can be enabled');
SELECT lives_ok($$ SELECT rustok.require_module('beta') $$, 'require_module accepts an enabled module');
SELECT throws_ok($$ UPDATE tenant_modules SET enabled = false WHERE module_slug = 'alpha' $$, 'RK013', NULL,
                 'a direct UPDATE disabling alpha while beta is enabled is refused');
SELECT throws_ok($$ DELETE FROM tenant_modules WHERE module_slug = 'alpha' $$, 'RK013', NULL,
                 'a direct DELETE of alpha while beta is enabled is refused');
SELECT is((SELECT array_agg(module_slug::text ORDER BY module_slug) FROM tenant_modules
           WHERE enabled AND module_slug IN (SELECT slug FROM probes)),
          '{alpha,beta}', 'after the refusals alpha and beta are still enabled');

-- who may toggle
SELECT rustok.set_context(tenant_id, customer_id) FROM acme;
SELECT throws_ok($$ SELECT rustok.enable_module('gamma') $$, 'RK005', NULL, 'a customer may not enable a module');
SELECT rustok.set_context(tenant_id) FROM acme;
SELECT throws_ok($$ SELECT rustok.enable_module('gamma') $$, 'RK006', NULL,
                 'nobody signed in, as the application: UNAUTHENTICATED');
SELECT throws_ok(format('SELECT rustok.set_context(NULL, %L)', admin_id), 'RK006', NULL,
                 'a user without their tenant has no context: UNAUTHENTICATED') FROM acme;
SELECT test_support.set_settings(NULL, NULL, 'admin');  -- by hand, as psql can
SELECT throws_ok($$ SELECT rustok.enable_module('gamma') $$, 'RK007', NULL, 'no tenant: TENANT_REQUIRED');
SELECT rustok.set_context(tenant_id, admin_id, 'admin') FROM acme;
SELECT lives_ok($$ SELECT rustok.enable_module('gamma') $$, 'an admin may enable gamma once beta is enabled');
SELECT lives_ok($$ SELECT rustok.enable_module('gamma') $$, 'enabling it again is a no-op');

-- the events: one per change, in order, by the admin
SELECT is((SELECT array_agg(type || ' ' || (data ->> 'module') ORDER BY position) FROM event_outbox
           WHERE type LIKE 'Module%' AND position > (SELECT last_position FROM created)),
          '{"ModuleDisabled beta","ModuleDisabled alpha","ModuleEnabled alpha","ModuleEnabled beta",'
          '"ModuleEnabled gamma"}',
          'every enable and disable emitted one event, refusals and no-ops none');
SELECT is((SELECT array_agg(DISTINCT actor_id) FROM event_outbox
           WHERE type LIKE 'Module%' AND position > (SELECT last_position FROM created)),
          (SELECT array_agg(admin_id) FROM acme), 'the events name the admin as actor');
SELECT is((SELECT array_agg(m ->> 'slug' ORDER BY i) FROM jsonb_array_elements(rustok.list_modules())
           WITH ORDINALITY AS l (m, i) WHERE m ->> 'slug' IN (SELECT slug FROM probes)),
          '{alpha,beta,gamma}', 'list_modules puts gamma after its dependencies');
RESET ROLE;

-- deleting the tenant takes its modules with it, dependents or not
SELECT lives_ok($$ DELETE FROM tenants WHERE slug = 'acme' $$,
                'a tenant with dependent modules enabled can be deleted');
SELECT is((SELECT count(*) FROM tenant_modules), 0::bigint, 'and its module rows are gone');

SELECT * FROM finish();
ROLLBACK;
