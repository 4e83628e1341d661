-- Tenant isolation, read from the catalog: every relation holding tenant data (a tenant_id column, or the
-- tenants table itself) has row-level security enabled and forced and a policy on the current tenant, and the
-- application role owns nothing and bypasses nothing. The checks query pg_class/pg_attribute/pg_policy rather
-- than a list of names, so a future module's tables and partitions are covered without touching this file.
BEGIN;
SELECT plan(20);

-- Relations with tenant data in every schema but the system's and pgTAP's. A materialized or foreign table
-- cannot be protected by RLS, so one with tenant_id is reported too.
CREATE TEMP VIEW tenant_relations AS
SELECT c.oid AS rel, c.oid::regclass::text AS name, c.relispartition, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm', 'f')
  AND n.nspname NOT IN ('information_schema', 'tap') AND n.nspname NOT LIKE 'pg\_%'
  AND ((n.nspname = 'public' AND c.relname = 'tenants')
       OR EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped));

-- Permissive policies that apply to the application role (PUBLIC, or a role it is a member of).
CREATE TEMP VIEW app_policies AS
SELECT p.polrelid AS rel, p.polname,
       pg_get_expr(p.polqual, p.polrelid) AS using_expr, pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr
FROM pg_policy p
WHERE p.polpermissive
  AND (0 = ANY (p.polroles)
       OR EXISTS (SELECT 1 FROM unnest(p.polroles) r WHERE pg_has_role('rustok_app', r, 'MEMBER')));

-- Everything that breaks the rule, as one list of names.
CREATE TEMP VIEW unprotected AS
SELECT coalesce(array_agg(t.name ORDER BY t.name), '{}') AS names
FROM tenant_relations t
WHERE NOT (t.relrowsecurity AND t.relforcerowsecurity)
   OR NOT EXISTS (SELECT 1 FROM app_policies p WHERE p.rel = t.rel);

CREATE TEMP TABLE made (action text, partition_name text);

-- pgTAP runs as the application role further down: let it reach pgTAP and this test's temp tables.
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA pg_temp TO rustok_app;

-- the rule, for today's schema
SELECT is((SELECT array_agg(name ORDER BY name) FILTER (WHERE name IN
               ('tenants', 'users', 'tenant_modules', 'event_outbox', 'event_outbox_default')) FROM tenant_relations),
          '{event_outbox,event_outbox_default,tenant_modules,tenants,users}',
          'the catalog query finds the known tenant tables and partitions');
SELECT is((SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM tenant_relations WHERE NOT relrowsecurity),
          '{}', 'every tenant table and partition has row-level security enabled');
SELECT is((SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM tenant_relations WHERE NOT relforcerowsecurity),
          '{}', 'every tenant table and partition has row-level security forced (the owner is bound too)');
SELECT is((SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM tenant_relations t
           WHERE NOT EXISTS (SELECT 1 FROM app_policies p WHERE p.rel = t.rel)),
          '{}', 'every tenant table and partition has a policy that applies to the application role');
SELECT is((SELECT coalesce(array_agg(p.rel::regclass || '.' || p.polname ORDER BY 1), '{}')
           FROM app_policies p JOIN tenant_relations t ON t.rel = p.rel
           WHERE NOT (coalesce(p.using_expr, p.check_expr) LIKE '%SELECT rustok.current_tenant_id()%'
                      AND coalesce(p.check_expr, p.using_expr) LIKE '%SELECT rustok.current_tenant_id()%')),
          '{}', 'every such policy reads the tenant as (SELECT rustok.current_tenant_id()): once per query');
SELECT is((SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM tenant_relations
           WHERE relispartition AND has_table_privilege('rustok_app', rel,
                 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')),
          '{}', 'the application role has no privilege on any partition (it goes through the parent)');

-- the application role
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'rustok_app'), false, 'rustok_app is not superuser');
SELECT is((SELECT rolbypassrls FROM pg_roles WHERE rolname = 'rustok_app'), false, 'rustok_app does not bypass RLS');
SELECT is(ARRAY(
              SELECT 'table ' || oid::regclass FROM pg_class WHERE pg_has_role('rustok_app', relowner, 'MEMBER')
              UNION ALL
              SELECT 'function ' || oid::regprocedure FROM pg_proc WHERE pg_has_role('rustok_app', proowner, 'MEMBER')
              UNION ALL
              SELECT 'schema ' || nspname FROM pg_namespace WHERE pg_has_role('rustok_app', nspowner, 'MEMBER')
              UNION ALL
              SELECT 'type ' || oid::regtype FROM pg_type WHERE pg_has_role('rustok_app', typowner, 'MEMBER')
              UNION ALL
              SELECT 'database ' || datname FROM pg_database WHERE pg_has_role('rustok_app', datdba, 'MEMBER')
              ORDER BY 1),
          '{}', 'rustok_app owns nothing, not even through a role it is a member of');

-- a table added later (as a module's migration would add it) is caught, and secured by _after_migrate()
SET LOCAL ROLE rustok_owner;
CREATE TABLE public.widgets (
    tenant_id uuid NOT NULL,
    id        uuid NOT NULL,
    PRIMARY KEY (tenant_id, id)
) PARTITION BY HASH (tenant_id);
CREATE TABLE public.widgets_p0 PARTITION OF public.widgets FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE public.widgets_p1 PARTITION OF public.widgets FOR VALUES WITH (MODULUS 2, REMAINDER 1);
RESET ROLE;
SELECT is((SELECT names FROM unprotected), '{widgets,widgets_p0,widgets_p1}',
          'a new tenant table and its partitions are reported until secured');

SET LOCAL ROLE rustok_owner;
SELECT rustok._after_migrate();
RESET ROLE;
SELECT is((SELECT names FROM unprotected), '{}', 'rustok._after_migrate() secures a new table and its partitions');
SELECT ok(has_table_privilege('rustok_app', 'public.widgets', 'SELECT, INSERT, UPDATE, DELETE'),
          'the application role may use the new parent table');
SELECT ok(NOT has_table_privilege('rustok_app', 'public.widgets_p0', 'SELECT, INSERT, UPDATE, DELETE'),
          'but not its partitions');

-- a partition made later by the maintenance function is secured the same way
INSERT INTO made SELECT * FROM rustok.maintain_partitions(now() + interval '2 years');
SELECT ok(EXISTS (SELECT 1 FROM made
                  WHERE action = 'created'
                    AND partition_name = rustok._partition_name(
                            'event_outbox', 'month', date_trunc('month', now() + interval '2 years', 'UTC'))),
          'maintain_partitions created the partition two years ahead');
SELECT is((SELECT names FROM unprotected), '{}', 'new outbox partitions have forced RLS and a policy');
SELECT is((SELECT coalesce(array_agg(partition_name ORDER BY partition_name), '{}') FROM made
           WHERE action = 'created' AND has_table_privilege('rustok_app', format('public.%I', partition_name),
                                                            'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')),
          '{}', 'the application role has no privilege on the new partitions');

-- naming a partition directly does not escape the policy: it is refused
SET LOCAL ROLE rustok_app;
SELECT test_support.set_settings(rustok.gen_id());  -- a tenant (by hand: set_context wants one that exists)
SELECT throws_ok(format('SELECT count(*) FROM public.%I',
                        (SELECT min(partition_name) FROM made WHERE action = 'created')),
                 '42501', NULL, 'the application role cannot read a new outbox partition directly');
SELECT throws_ok('SELECT count(*) FROM public.event_outbox_default', '42501', NULL,
                 'nor the default partition');
SELECT throws_ok('SELECT count(*) FROM public.widgets_p1', '42501', NULL,
                 'nor a module table''s partition');
SELECT lives_ok('SELECT count(*) FROM public.event_outbox', 'it reads the outbox through the parent');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
