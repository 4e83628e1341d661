-- Cross-tenant invisibility and write refusal, as the application role. Two tenants with data in every
-- tenant table; the app sees nothing without a tenant, only its own tenant's rows with one, and cannot write
-- into or change the other tenant.
BEGIN;
SELECT plan(19);

-- two tenants, each with an admin of the same email (unique keys are per tenant), and rows in every core table
DO $$
BEGIN
    PERFORM rustok.create_tenant('acme', 'Acme', 'admin@example.test', 'hash-a');
    PERFORM rustok.create_tenant('globex', 'Globex', 'admin@example.test', 'hash-b');
END $$;
CREATE TEMP TABLE admins AS
SELECT t.slug, t.id AS tenant_id, u.id AS user_id FROM tenants t JOIN users u ON u.tenant_id = t.id;
INSERT INTO modules (slug, name, version) VALUES ('notes', 'Notes', '1.0');
INSERT INTO tenant_modules (tenant_id, module_slug) SELECT tenant_id, 'notes' FROM admins;
INSERT INTO auth_login_attempts (tenant_id, email, failures) SELECT tenant_id, 'someone@example.test', 1 FROM admins;
INSERT INTO auth_refresh_tokens (tenant_id, user_id, family_id, token_hash, expires_at)
SELECT tenant_id, user_id, rustok.gen_id(), decode(md5(slug), 'hex'), now() + interval '1 day' FROM admins;

-- Every tenant table the application can read (catalog-driven), with its row count per tenant as the superuser
-- sees it.
CREATE TEMP TABLE tenant_tables AS
SELECT c.oid::regclass AS tbl, CASE WHEN c.relname = 'tenants' THEN 'id' ELSE 'tenant_id' END AS tenant_column
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND has_table_privilege('rustok_app', c.oid, 'SELECT')
  AND (c.relname = 'tenants' OR EXISTS (SELECT 1 FROM pg_attribute a
                                        WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped));
CREATE TEMP TABLE counts (tbl text, seen_by text, tenant text, n bigint);
CREATE FUNCTION pg_temp.count_rows(seen_by text) RETURNS void LANGUAGE plpgsql AS $$
/* Counts, for each tenant table, the rows of each tenant visible to the current role. */
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM tenant_tables LOOP
        EXECUTE format('INSERT INTO counts SELECT %L, %L, a.slug, (SELECT count(*) FROM %s x WHERE x.%I = a.tenant_id)
                        FROM admins a', t.tbl, seen_by, t.tbl, t.tenant_column);
    END LOOP;
END $$;
CREATE FUNCTION pg_temp.rows_affected(statement text) RETURNS bigint LANGUAGE plpgsql AS $$
/* Runs a statement and returns how many rows it changed. */
DECLARE
    n bigint;
BEGIN
    EXECUTE statement;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- pgTAP runs as the application role below: let it reach pgTAP and this test's temp tables.
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA pg_temp TO rustok_app;

SELECT pg_temp.count_rows('superuser');
SELECT is((SELECT array_agg(tbl ORDER BY tbl) FROM (
               SELECT tbl FROM counts WHERE seen_by = 'superuser' AND n > 0 GROUP BY tbl HAVING count(*) = 2
           ) AS with_both WHERE tbl IN
               ('tenants', 'users', 'tenant_modules', 'event_outbox', 'auth_login_attempts', 'auth_refresh_tokens')),
          '{auth_login_attempts,auth_refresh_tokens,event_outbox,tenant_modules,tenants,users}',
          'the catalog query finds the core tenant tables, each holding rows of both tenants');
SELECT is((SELECT count(*) FROM users WHERE email = 'admin@example.test'), 2::bigint,
          'the same email exists in two tenants: unique keys are per tenant');
SELECT throws_ok($$ INSERT INTO users (tenant_id, email, password_hash)
                    SELECT tenant_id, 'admin@example.test', 'x' FROM admins WHERE slug = 'acme' $$,
                 '23505', NULL, 'but not twice in one tenant');

-- no tenant: nothing at all
SET LOCAL ROLE rustok_app;
SELECT pg_temp.count_rows('app, no tenant');
SELECT is((SELECT array_agg(tbl || ':' || tenant ORDER BY tbl, tenant) FROM counts
           WHERE seen_by = 'app, no tenant' AND n > 0), NULL,
          'without a tenant the application sees no row of any tenant table');

-- a context that was set and rolled back reads as '' (as after a transaction ends): still no tenant
SAVEPOINT ctx;
SELECT rustok.set_context((SELECT tenant_id FROM admins WHERE slug = 'acme'));
ROLLBACK TO SAVEPOINT ctx;
SELECT is(current_setting('rustok.tenant_id', true), '', 'a reset tenant setting reads as the empty string');
SELECT is((SELECT count(*) FROM users), 0::bigint, 'and the empty string means no tenant: no rows');

-- tenant acme: its own rows and nothing else
SELECT rustok.set_context((SELECT tenant_id FROM admins WHERE slug = 'acme'),
                          (SELECT user_id FROM admins WHERE slug = 'acme'), 'admin');
SELECT pg_temp.count_rows('app as acme');
SELECT is((SELECT array_agg(tbl::text ORDER BY tbl) FROM counts WHERE seen_by = 'app as acme' AND tenant = 'globex'
           AND n > 0), NULL, 'acme sees none of globex''s rows in any tenant table');
SELECT is((SELECT array_agg(c.tbl::text ORDER BY c.tbl) FROM counts c JOIN counts s USING (tbl, tenant)
           WHERE c.seen_by = 'app as acme' AND s.seen_by = 'superuser' AND c.tenant = 'acme' AND c.n <> s.n), NULL,
          'acme sees all of its own rows in every tenant table');
SELECT is((SELECT array_agg(slug) FROM tenants), '{acme}', 'acme sees only its own tenant row');
SELECT is((SELECT array_agg(DISTINCT tenant_id) FROM event_outbox),
          ARRAY[(SELECT tenant_id FROM admins WHERE slug = 'acme')], 'and only its own events');

-- writes into the other tenant are refused or touch nothing
SELECT throws_ok($$ INSERT INTO users (tenant_id, email, password_hash)
                    SELECT tenant_id, 'intruder@example.test', 'x' FROM admins WHERE slug = 'globex' $$,
                 '42501', NULL, 'acme cannot insert a user into globex');
SELECT throws_ok($$ INSERT INTO event_outbox (tenant_id, type)
                    SELECT tenant_id, 'Forged' FROM admins WHERE slug = 'globex' $$,
                 '42501', NULL, 'nor write an event for globex');
SELECT lives_ok($$ INSERT INTO event_outbox (tenant_id, type)
                   SELECT tenant_id, 'Written' FROM admins WHERE slug = 'acme' $$,
                'while the same insert for acme itself is allowed');
SELECT throws_ok($$ UPDATE users SET tenant_id = (SELECT tenant_id FROM admins WHERE slug = 'globex') $$,
                 '42501', NULL, 'nor move its own rows into globex');
SELECT is(pg_temp.rows_affected($$ UPDATE users SET display_name = 'x'
                                   WHERE tenant_id = (SELECT tenant_id FROM admins WHERE slug = 'globex') $$),
          0::bigint, 'updating globex''s users changes nothing');
SELECT is(pg_temp.rows_affected($$ UPDATE users SET display_name = 'x' $$), 1::bigint,
          'while the same update reaches acme''s own user');
SELECT is(pg_temp.rows_affected($$ UPDATE tenants SET name = 'Taken' WHERE slug = 'globex' $$), 0::bigint,
          'updating globex''s tenant row changes nothing');
SELECT is(pg_temp.rows_affected($$ DELETE FROM tenant_modules
                                   WHERE tenant_id = (SELECT tenant_id FROM admins WHERE slug = 'globex') $$),
          0::bigint, 'deleting globex''s rows deletes nothing');
RESET ROLE;

SELECT is((SELECT jsonb_build_object('tenant name', t.name, 'user display names', array_agg(u.display_name),
                                     'modules', (SELECT count(*) FROM tenant_modules m  -- the shipped modules aside
                                                 WHERE m.tenant_id = t.id AND m.module_slug = 'notes'))
           FROM tenants t JOIN users u ON u.tenant_id = t.id WHERE t.slug = 'globex' GROUP BY t.id),
          '{"tenant name": "Globex", "user display names": [null], "modules": 1}',
          'globex is untouched (as the superuser sees it)');

SELECT * FROM finish();
ROLLBACK;
