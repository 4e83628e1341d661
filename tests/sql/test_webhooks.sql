-- Webhook registration as the application role: webhooks.manage (admins) only, the secret shown once, URL and
-- event-type validation, the SSRF guard on IP literals (and the operator's setting that lifts it), an event
-- for every change, and another tenant's webhooks invisible and untouchable.
BEGIN;
SELECT plan(42);

DO $$
BEGIN
    PERFORM rustok.create_tenant('acme', 'Acme', 'admin@acme.test', 'hash');
    PERFORM rustok.create_tenant('globex', 'Globex', 'admin@globex.test', 'hash');
END $$;
CREATE TEMP TABLE admins AS
SELECT t.slug, t.id AS tenant_id, u.id AS user_id FROM tenants t JOIN users u ON u.tenant_id = t.id;
SELECT 'in acme' FROM admins, rustok.set_context(tenant_id) WHERE slug = 'acme';
CREATE TEMP TABLE people AS
SELECT 'customer' AS role, rustok._insert_user('customer@acme.test', 'hash', 'customer') AS user_id
UNION ALL SELECT 'manager', rustok._insert_user('manager@acme.test', 'hash', 'manager');
CREATE TEMP TABLE hooks (name text PRIMARY KEY, body jsonb);
CREATE FUNCTION pg_temp.become(tenant text, role text) RETURNS text LANGUAGE sql AS $$
    /* Acts as the tenant's admin, as a user of another role in acme, or anonymously (role 'anonymous'). */
    SELECT tenant || ' ' || role
    FROM admins a,
         rustok.set_context(a.tenant_id,
                            CASE role WHEN 'admin' THEN a.user_id WHEN 'anonymous' THEN NULL
                                      ELSE (SELECT p.user_id FROM people p WHERE p.role = become.role) END,
                            CASE WHEN role = 'anonymous' THEN NULL ELSE role END)
    WHERE a.slug = tenant
$$;
CREATE FUNCTION pg_temp.hook_id(name text) RETURNS uuid LANGUAGE sql AS $$
    /* The id of a webhook made earlier in this test. */
    SELECT rustok.parse_id(h.body ->> 'id') FROM hooks h WHERE h.name = hook_id.name
$$;
CREATE FUNCTION pg_temp.events(event_type text) RETURNS bigint LANGUAGE sql AS $$
    /* How many events of a type the current tenant has. */
    SELECT count(*) FROM event_outbox WHERE type = event_type
$$;

-- pgTAP runs as the application role below: let it reach pgTAP and this test's temp objects.
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;

-- who may
SELECT pg_temp.become('acme', 'customer');
SELECT throws_ok($$ SELECT rustok.create_webhook('https://93.184.216.34/hook') $$, 'RK005', NULL,
                 'a customer may not register a webhook: FORBIDDEN');
SELECT throws_ok($$ SELECT rustok.list_webhooks() $$, 'RK005', NULL, 'nor list them');
SELECT pg_temp.become('acme', 'manager');
SELECT throws_ok($$ SELECT rustok.create_webhook('https://93.184.216.34/hook') $$, 'RK005', NULL,
                 'a manager may not either');
SELECT pg_temp.become('acme', 'anonymous');
SELECT throws_ok($$ SELECT rustok.create_webhook('https://93.184.216.34/hook') $$, 'RK006', NULL,
                 'anonymously: UNAUTHENTICATED');
SELECT 'no tenant' FROM rustok.set_context(NULL);
SELECT throws_ok($$ SELECT rustok.list_webhooks() $$, 'RK007', NULL, 'without a tenant: TENANT_REQUIRED');

-- creating: the secret once
SELECT pg_temp.become('acme', 'admin');
INSERT INTO hooks SELECT 'orders', rustok.create_webhook(' https://93.184.216.34/orders ',
                                                        '{UserRegistered,OrderPlaced,OrderPlaced}', ' Orders ');
SELECT is((SELECT body - '{id,secret,secretHint,createdAt,updatedAt}'::text[] FROM hooks WHERE name = 'orders'),
          '{"url": "https://93.184.216.34/orders", "eventTypes": ["OrderPlaced", "UserRegistered"],
            "description": "Orders", "isActive": true}'::jsonb,
          'create_webhook trims, sorts and dedupes, and answers the WebhookResponse shape');
SELECT matches((SELECT body ->> 'secret' FROM hooks WHERE name = 'orders'), '^whsec_[0-9a-f]{64}$',
               'with a 64-hex-digit secret');
SELECT is((SELECT body ->> 'secretHint' FROM hooks WHERE name = 'orders'),
          (SELECT 'whsec_…' || right(body ->> 'secret', 4) FROM hooks WHERE name = 'orders'),
          'and a hint of its last four characters');
INSERT INTO hooks SELECT 'all', rustok.create_webhook('https://hooks.example.com/all');
SELECT isnt((SELECT body ->> 'secret' FROM hooks WHERE name = 'all'),
            (SELECT body ->> 'secret' FROM hooks WHERE name = 'orders'), 'every webhook has its own secret');
SELECT is((SELECT jsonb_agg(w ->> 'url' ORDER BY w ->> 'url') FROM jsonb_array_elements(rustok.list_webhooks()) w),
          '["https://93.184.216.34/orders", "https://hooks.example.com/all"]', 'list_webhooks shows both');
SELECT ok(NOT EXISTS (SELECT 1 FROM hooks h WHERE position(h.body ->> 'secret' IN rustok.list_webhooks()::text) > 0),
          'but never a secret');
SELECT is((SELECT data FROM event_outbox WHERE type = 'WebhookCreated' AND data ->> 'webhook_id' =
                 (SELECT body ->> 'id' FROM hooks WHERE name = 'orders')),
          jsonb_build_object('webhook_id', (SELECT body ->> 'id' FROM hooks WHERE name = 'orders'),
                             'event_types', '["OrderPlaced", "UserRegistered"]'::jsonb),
          'WebhookCreated carries the id and event types, never the secret');

-- validation and the guard
SELECT throws_ok($$ SELECT rustok.create_webhook('ftp://93.184.216.34/') $$, 'RK002', NULL, 'ftp: VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_webhook('https://user:pw@93.184.216.34/') $$, 'RK002', NULL,
                 'credentials in the URL: VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_webhook('https://93.184.216.34/#top') $$, 'RK002', NULL,
                 'a fragment: VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_webhook('https://93.184.216.34/' || repeat('x', 2048)) $$, 'RK002', NULL,
                 'longer than 2048 characters: VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_webhook(NULL) $$, 'RK002', NULL, 'no URL: VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_webhook('https://93.184.216.34/', '{order_placed}') $$, 'RK002', NULL,
                 'an event type that is not PascalCase: VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_webhook('https://93.184.216.34/', '{}', repeat('d', 501)) $$, 'RK002', NULL,
                 'a description longer than 500: VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_webhook('http://127.0.0.1:8080/') $$, 'RK120', NULL,
                 'loopback: WEBHOOK_TARGET_FORBIDDEN');
SELECT throws_ok($$ SELECT rustok.create_webhook('http://169.254.169.254/latest/meta-data/') $$, 'RK120', NULL,
                 'link-local (cloud metadata): WEBHOOK_TARGET_FORBIDDEN');
SELECT throws_ok($$ SELECT rustok.create_webhook('http://[fd00::1]/') $$, 'RK120', NULL,
                 'unique-local IPv6: WEBHOOK_TARGET_FORBIDDEN');
SELECT throws_ok($$ SELECT rustok.create_webhook('http://api.localhost/') $$, 'RK120', NULL,
                 'a localhost name: WEBHOOK_TARGET_FORBIDDEN');
SELECT throws_ok($$ SELECT rustok.create_webhook('http://2130706433/') $$, 'RK002', NULL,
                 'an IPv4 address written as one number: VALIDATION_FAILED');
SELECT set_config('rustok.webhooks_allow_private', 'on', true);
SELECT lives_ok($$ SELECT rustok.create_webhook('http://127.0.0.1:8080/') $$,
                'with the operator''s rustok.webhooks_allow_private, loopback is allowed (tests'' receivers)');
SELECT set_config('rustok.webhooks_allow_private', '', true);

-- updating
SELECT is((SELECT rustok.update_webhook(pg_temp.hook_id('orders'), url => 'https://93.184.216.35/orders',
                                        is_active => false) - '{updatedAt}'::text[]),
          (SELECT body - '{secret,updatedAt}'::text[]
                  || '{"url": "https://93.184.216.35/orders", "isActive": false}' FROM hooks WHERE name = 'orders'),
          'update_webhook changes what it is given and keeps the rest');
SELECT is((SELECT data -> 'changes' FROM event_outbox WHERE type = 'WebhookUpdated'), '["url", "isActive"]',
          'and emits WebhookUpdated naming the changed fields');
SELECT 'same URL again' FROM rustok.update_webhook(pg_temp.hook_id('orders'), url => 'https://93.184.216.35/orders');
SELECT is(pg_temp.events('WebhookUpdated'), 1::bigint, 'a change to nothing emits nothing');
SELECT throws_ok(format('SELECT rustok.update_webhook(%L, url => %L)', pg_temp.hook_id('orders'), 'http://10.0.0.1/'),
                 'RK120', NULL, 'a new URL passes the guard too');
SELECT throws_ok(format('SELECT rustok.update_webhook(%L, event_types => %L)', pg_temp.hook_id('orders'), '{bad type}'),
                 'RK002', NULL, 'and new event types the validation');
INSERT INTO hooks SELECT 'rotated', rustok.update_webhook(pg_temp.hook_id('orders'), rotate_secret => true);
SELECT ok((SELECT body ->> 'secret' FROM hooks WHERE name = 'rotated')
              NOT IN (SELECT body ->> 'secret' FROM hooks WHERE name = 'orders')
          AND (SELECT body ->> 'secret' FROM hooks WHERE name = 'rotated') ~ '^whsec_',
          'rotate_secret returns a new secret, once');
SELECT is((SELECT data -> 'changes' FROM event_outbox WHERE type = 'WebhookUpdated' ORDER BY position DESC LIMIT 1),
          '["secret"]', 'and says the secret changed (not what it is)');

-- another tenant
SELECT pg_temp.become('globex', 'admin');
SELECT is(rustok.list_webhooks(), '[]', 'another tenant''s admin lists none of acme''s webhooks');
SELECT is((SELECT count(*) FROM webhooks), 0::bigint, 'nor sees them in the table');
SELECT throws_ok(format('SELECT rustok.update_webhook(%L, is_active => true)', pg_temp.hook_id('orders')),
                 'RK003', NULL, 'updating acme''s webhook from globex: NOT_FOUND');
SELECT throws_ok(format('SELECT rustok.delete_webhook(%L)', pg_temp.hook_id('orders')),
                 'RK003', NULL, 'deleting it: NOT_FOUND');
SELECT throws_ok(format('SELECT rustok.list_webhook_deliveries(%L)', pg_temp.hook_id('orders')),
                 'RK003', NULL, 'listing its deliveries: NOT_FOUND');

-- deleting
SELECT pg_temp.become('acme', 'admin');
SELECT is((SELECT rustok.delete_webhook(pg_temp.hook_id('all')) ->> 'id'), (SELECT body ->> 'id' FROM hooks WHERE name = 'all'),
          'delete_webhook returns the webhook it removed');
SELECT is((SELECT data ->> 'webhook_id' FROM event_outbox WHERE type = 'WebhookDeleted'),
          (SELECT body ->> 'id' FROM hooks WHERE name = 'all'), 'and emits WebhookDeleted');
SELECT throws_ok(format('SELECT rustok.delete_webhook(%L)', pg_temp.hook_id('all')), 'RK003', NULL,
                 'a second delete: NOT_FOUND');

-- at most 50 per tenant (two exist)
SELECT lives_ok($$ SELECT rustok.create_webhook('https://93.184.216.34/' || i) FROM generate_series(1, 48) i $$,
                'up to 50 webhooks per tenant');
SELECT throws_ok($$ SELECT rustok.create_webhook('https://93.184.216.34/one-more') $$, 'RK002', NULL,
                 'the 51st: VALIDATION_FAILED');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
