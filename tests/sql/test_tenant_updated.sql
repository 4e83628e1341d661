-- A tenant's slug, name or settings changed, from the API or a plain statement in psql, is the event
-- TenantUpdated {tenant_id, changed} in that tenant: every API process drops what it cached about tenants on it
-- (the slug and host lookups, the shop; py/rustok/api/tenancy.py), so a renamed slug or a new `domains`
-- setting counts at once. A statement that changes none of them emits nothing.
BEGIN;
SELECT plan(6);

DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
CREATE TEMP TABLE mark AS SELECT max(position) AS position FROM event_outbox;
CREATE FUNCTION pg_temp.updates() RETURNS text[] LANGUAGE sql AS $$
    /* TenantUpdated events since the mark, oldest first, as "<slug of the tenant now> <changed>". */
    SELECT coalesce(array_agg(t.slug || ' ' || (e.data -> 'changed')::text ORDER BY e.position), '{}')
    FROM event_outbox e JOIN tenants t ON t.id = e.tenant_id
    WHERE e.type = 'TenantUpdated' AND e.position > (SELECT position FROM mark)
$$;

UPDATE tenants SET slug = 'acme-two' WHERE slug = 'acme';
SELECT is(pg_temp.updates(), '{"acme-two [\"slug\"]"}', 'a new slug is TenantUpdated, changed: slug');
UPDATE tenants SET settings = settings || '{"domains": ["shop.globex.test"]}' WHERE slug = 'globex';
UPDATE tenants SET name = 'Globex Inc.' WHERE slug = 'globex';
SELECT is((pg_temp.updates())[2:3], '{"globex [\"settings\"]","globex [\"name\"]"}',
          'settings (a storefront host name) and the name too');
UPDATE tenants SET name = name, settings = settings WHERE slug = 'globex';
SELECT is(cardinality(pg_temp.updates()), 3, 'a statement that changes nothing emits nothing');
UPDATE tenants SET is_active = false WHERE slug = 'globex';
SELECT is(cardinality(pg_temp.updates()), 3, 'switching off is TenantDeactivated, not TenantUpdated');
SELECT is((SELECT data ->> 'tenant_id' FROM event_outbox
           WHERE type = 'TenantUpdated' AND position > (SELECT position FROM mark) ORDER BY position LIMIT 1),
          rustok.ulid(pg_temp.tenant('acme')), 'the event names the tenant (as a ULID)');

DO $$ BEGIN PERFORM rustok.set_context(rustok.tenant_id_by_slug('acme-two'), p.user_id)
            FROM people p WHERE p.slug = 'acme' AND p.who = 'admin'; END $$;
SET LOCAL ROLE rustok_app;  -- an admin of the tenant, as the API connects
UPDATE tenants SET settings = settings || '{"x": 1}' WHERE id = rustok.current_tenant_id();
RESET ROLE;
SELECT is((pg_temp.updates())[4], 'acme-two ["settings"]', 'an admin''s change through the application role too');

SELECT * FROM finish();
ROLLBACK;
