-- Regressions found by review of the core SQL: each assertion states the intended behaviour that an
-- earlier version broke (list_tenants open to all, CONFLICT hidden by RLS, the dependency trigger sidestepped
-- by renaming a row, a no-op disable emitting an event, partitions owned by whoever ran upkeep, and the
-- owner unable to move rows out of the default partition under forced RLS).
BEGIN;
SELECT plan(6);

DO $$
BEGIN
    PERFORM rustok._register_module('alpha', 'Alpha', '', '1.0', '{}');
    PERFORM rustok._register_module('beta', 'Beta', '', '1.0', '{alpha}');
    PERFORM rustok.create_tenant('acme', 'Acme', 'admin@acme.test', 'hash');
    PERFORM rustok.set_context(rustok.tenant_id_by_slug('acme'));
    PERFORM rustok._insert_user('customer@acme.test', 'hash', 'customer');
    PERFORM rustok.create_tenant('platform', 'Platform');
    PERFORM rustok.set_context(rustok.tenant_id_by_slug('platform'));
    PERFORM rustok._insert_user('root@platform.test', 'hash', 'super_admin');
    PERFORM rustok.set_context(NULL);
    PERFORM rustok._register_module('gamma', 'Gamma', '', '1.0', '{}');
    PERFORM rustok._register_module('delta', 'Delta', '', '1.0', '{}');
END $$;
CREATE TEMP TABLE acme AS
SELECT t.id AS tenant_id, (SELECT u.id FROM users u WHERE u.tenant_id = t.id AND u.role = 'admin') AS admin_id,
       (SELECT u.id FROM users u WHERE u.tenant_id = t.id AND u.role = 'customer') AS customer_id,
       rustok.tenant_id_by_slug('platform') AS platform_id,
       (SELECT u.id FROM users u WHERE u.role = 'super_admin') AS root_id
FROM tenants t WHERE t.slug = 'acme';
CREATE TEMP TABLE made (action text, partition_name text);

-- pgTAP runs as the application and owner roles below: let it reach pgTAP and this test's temp tables.
GRANT USAGE ON SCHEMA tap TO rustok_app, rustok_owner;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app, rustok_owner;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA pg_temp TO rustok_app, rustok_owner;

SET LOCAL ROLE rustok_app;

-- 1. list_tenants is SECURITY DEFINER, so inside it current_user is rustok_owner, which rustok.is_operator()
--    takes for an operator: the permission check passes for every caller.
SELECT rustok.set_context(tenant_id, customer_id) FROM acme;
SELECT throws_ok($$ SELECT rustok.list_tenants() $$, 'RK005', NULL,
                 'a customer may not list every tenant');

-- 2. create_tenant looks for a taken slug under the caller's RLS, which hides other tenants: a super_admin
--    gets the raw unique violation (23505) instead of CONFLICT.
SELECT rustok.set_context(platform_id, root_id) FROM acme;  -- a super_admin of another tenant
SELECT throws_ok($$ SELECT rustok.create_tenant('acme', 'Acme again') $$, 'RK004', NULL,
                 'a super_admin creating a taken slug gets CONFLICT');

-- 3. The dependency trigger only looks at `enabled`: renaming alpha's row away leaves beta enabled without it.
SELECT rustok.set_context(tenant_id, admin_id, 'admin') FROM acme;
SELECT throws_ok($$ UPDATE tenant_modules SET module_slug = 'delta' WHERE module_slug = 'alpha' $$, 'RK013', NULL,
                 'moving alpha''s row to another module while beta is enabled is refused');

-- 4. Disabling a module that has no tenant_modules row (installed after the tenant was made) changes nothing,
--    yet inserts a disabled row and emits ModuleDisabled.
DO $$ BEGIN PERFORM rustok.disable_module('gamma'); END $$;
SELECT is((SELECT count(*) FROM event_outbox WHERE type = 'ModuleDisabled' AND data ->> 'module' = 'gamma'),
          0::bigint, 'disabling a module that was never enabled emits no event');
RESET ROLE;

-- (the commit stamp of this transaction's events runs now, as COMMIT would run it: the partition holding the
-- first event cannot be dropped below while that deferred trigger is pending)
SET CONSTRAINTS _900_commit_order IMMEDIATE;

-- 5. Partitions belong to whoever runs maintain_partitions: `rustok maintain` runs as the superuser, and the
--    next `rustok migrate` then fails in _after_migrate ("must be owner of table event_outbox_y…").
INSERT INTO made SELECT * FROM rustok.maintain_partitions(now() + interval '1 year');
SELECT is((SELECT array_agg(DISTINCT c.relowner::regrole::text) FROM made m JOIN pg_class c
           ON c.oid = format('public.%I', m.partition_name)::regclass WHERE m.action = 'created'),
          '{rustok_owner}', 'partitions made by the superuser belong to the owner role, like their parent');

-- 6. Run as the owner role (as `rustok migrate` runs it), maintain_partitions cannot move rows out of the default
--    partition: forced RLS hides them from the owner (no tenant set), the DELETE moves nothing, and ATTACH then
--    fails on the rows left behind. Events land there whenever upkeep fell more than `premake` periods behind.
INSERT INTO event_outbox (tenant_id, type, occurred_at)
SELECT tenant_id, 'FromTheFuture', now() + interval '3 years' FROM acme;
SET LOCAL ROLE rustok_owner;
SELECT lives_ok($$ SELECT rustok.maintain_partitions(now() + interval '3 years') $$,
                'the owner role can create a partition for rows waiting in the default partition');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
