-- Shared set-up for pgTAP files (loaded into the test template by tests/conftest.py; not itself a test).
-- test_support.two_tenants(): two tenants (acme, globex), each with an admin, a manager and two customers;
-- then pg_temp.act(slug, who) acts as one of them (who null: anonymous), pg_temp.id(name) reads an id saved
-- by pg_temp.save(name, response), pg_temp.person(slug, who) is a user's id, pg_temp.tenant(slug) a tenant's.
-- test_support.set_settings(tenant, user, role) writes the context's settings by hand, without set_context's
-- checks: for what a function does with a context set_context refuses (a deleted user, no tenant).

create schema if not exists test_support;

create function test_support.two_tenants() returns void language plpgsql as $fixture$
DECLARE
    t record;
BEGIN
    PERFORM rustok.create_tenant('acme', 'Acme', 'admin@acme.test', 'hash');
    PERFORM rustok.create_tenant('globex', 'Globex', 'admin@globex.test', 'hash');
    FOR t IN SELECT id, slug FROM tenants LOOP
        PERFORM rustok.set_context(t.id);
        PERFORM rustok._insert_user('manager@' || t.slug || '.test', 'hash', 'manager');
        PERFORM rustok._insert_user('customer@' || t.slug || '.test', 'hash', 'customer');
        PERFORM rustok._insert_user('other@' || t.slug || '.test', 'hash', 'customer');
    END LOOP;
    PERFORM rustok.set_context(NULL);
    execute $sql$CREATE TEMP TABLE people AS
SELECT t.slug, split_part(u.email, '@', 1) AS who, t.id AS tenant_id, u.id AS user_id, u.role::text AS role
FROM tenants t JOIN users u ON u.tenant_id = t.id
UNION ALL SELECT t.slug, NULL, t.id, NULL, NULL FROM tenants t$sql$;
    execute $sql$CREATE TEMP TABLE ids (name text PRIMARY KEY, id uuid)$sql$;
    execute $sql$CREATE FUNCTION pg_temp.act(slug text, who text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rustok.set_context(p.tenant_id, p.user_id, p.role) FROM people p
    WHERE p.slug = act.slug AND p.who IS NOT DISTINCT FROM act.who;
    RETURN format('# as %s of %s', coalesce(who, 'anonymous'), slug);  -- a TAP comment
END
$$$sql$;
    execute $sql$CREATE FUNCTION pg_temp.id(name text) RETURNS uuid LANGUAGE sql AS $$
    SELECT i.id FROM ids i WHERE i.name = id.name
$$$sql$;
    execute $sql$CREATE FUNCTION pg_temp.save(name text, response jsonb, key text DEFAULT 'id') RETURNS jsonb LANGUAGE sql AS $$
    INSERT INTO ids VALUES (save.name, rustok.parse_id(response ->> key))
    ON CONFLICT ON CONSTRAINT ids_pkey DO UPDATE SET id = excluded.id;
    SELECT response
$$$sql$;
    execute $sql$CREATE FUNCTION pg_temp.person(slug text, who text) RETURNS uuid LANGUAGE sql AS $$
    SELECT p.user_id FROM people p WHERE p.slug = person.slug AND p.who = person.who
$$$sql$;
    execute $sql$CREATE FUNCTION pg_temp.tenant(slug text) RETURNS uuid LANGUAGE sql AS $$
    SELECT p.tenant_id FROM people p WHERE p.slug = tenant.slug AND p.who IS NULL
$$$sql$;
END
$fixture$;

create function test_support.set_settings(tenant uuid, user_id uuid default null, role text default null)
returns void language plpgsql as $$
/* The three settings rustok.set_context writes, written by hand as any session can (set_config), without its
   checks. */
BEGIN
    PERFORM set_config('rustok.tenant_id', coalesce(tenant::text, ''), true),
            set_config('rustok.user_id', coalesce(user_id::text, ''), true),
            set_config('rustok.role', coalesce(role, ''), true);
END
$$;

grant usage on schema test_support to rustok_app;
grant execute on all functions in schema test_support to rustok_app;
