-- Webhook deliveries as the worker and the admin see them: one delivery per (event, webhook) whatever the
-- replays, only to active webhooks that want the type and existed when it happened; claims that skip what is
-- leased; attempts logged; a success final; the dispatcher's cross-tenant look-up (SECURITY DEFINER) showing
-- tenant ids only; the delivery list with its permission, paging and tenant wall.
BEGIN;
SELECT plan(33);

DO $$
BEGIN
    PERFORM rustok.create_tenant('acme', 'Acme', 'admin@acme.test', 'hash');
    PERFORM rustok.create_tenant('globex', 'Globex', 'admin@globex.test', 'hash');
END $$;
CREATE TEMP TABLE admins AS
SELECT t.slug, t.id AS tenant_id, u.id AS user_id FROM tenants t JOIN users u ON u.tenant_id = t.id;
CREATE TEMP TABLE hooks (name text PRIMARY KEY, id uuid);
CREATE TEMP TABLE claims (round text, delivery_id uuid, webhook_id uuid, url text, secret text, event_id uuid,
                          event_type text, payload jsonb, attempt int);
CREATE FUNCTION pg_temp.become(tenant text, role text DEFAULT 'admin') RETURNS text LANGUAGE sql AS $$
    /* Acts as the tenant's admin, as a customer (no permission), or as the worker (tenant only). */
    SELECT tenant || ' ' || role
    FROM admins a,
         rustok.set_context(a.tenant_id, CASE WHEN role = 'admin' THEN a.user_id END,
                            CASE WHEN role = 'worker' THEN NULL ELSE role END)
    WHERE a.slug = tenant
$$;
CREATE FUNCTION pg_temp.delivery(hook text, event_type text) RETURNS webhook_deliveries LANGUAGE sql AS $$
    /* The one delivery of an event type to a named webhook. */
    SELECT d.* FROM webhook_deliveries d JOIN hooks h ON h.id = d.webhook_id
    WHERE h.name = hook AND d.event_type = delivery.event_type
$$;
CREATE FUNCTION pg_temp.enqueue_all() RETURNS bigint LANGUAGE sql AS $$
    /* What the webhooks handler does for every event of the current tenant: the deliveries it creates. */
    SELECT coalesce(sum(rustok.enqueue_webhook_deliveries(e.occurred_at, e.position)), 0)
    FROM event_outbox e
$$;

GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;

-- Webhooks, created in this transaction (so "created before the event" holds for events written below;
-- events of the tenant's creation are older than every webhook and go nowhere).
SELECT pg_temp.become('acme');
INSERT INTO hooks VALUES
    ('all', rustok.parse_id(rustok.create_webhook('https://93.184.216.34/all') ->> 'id')),
    ('orders', rustok.parse_id(rustok.create_webhook('https://93.184.216.34/orders', '{OrderPlaced}') ->> 'id')),
    ('paused', rustok.parse_id(rustok.create_webhook('https://93.184.216.34/paused') ->> 'id'));
SELECT 'paused' FROM rustok.update_webhook((SELECT id FROM hooks WHERE name = 'paused'), is_active => false);
SELECT 'published' FROM rustok.publish_event('OrderPlaced', '{"order_id": "O1"}') AS placed,
                        rustok.publish_event('UserLoggedIn', '{"user_id": "U1"}') AS logged_in;
-- this file is one transaction: move the tenant's own creation events before the webhooks existed
RESET ROLE;
UPDATE event_outbox SET occurred_at = occurred_at - interval '1 hour'
WHERE type IN ('TenantCreated', 'UserRegistered', 'ModuleEnabled');
SET LOCAL ROLE rustok_app;

SELECT pg_temp.become('acme', 'worker');
SELECT is(pg_temp.enqueue_all(), 7::bigint,
          'all: 3 WebhookCreated, WebhookUpdated, OrderPlaced, UserLoggedIn; orders: OrderPlaced; paused: nothing; '
          'events from before the webhooks existed: nothing');
SELECT is((SELECT array_agg(h.name || ':' || d.event_type ORDER BY h.name, d.event_type)
           FROM webhook_deliveries d JOIN hooks h ON h.id = d.webhook_id WHERE d.event_type <> 'WebhookCreated'),
          '{all:OrderPlaced,all:UserLoggedIn,all:WebhookUpdated,orders:OrderPlaced}',
          'each webhook gets the types it asked for');
SELECT is(pg_temp.enqueue_all(), 0::bigint, 'replaying every event creates nothing twice (the idempotency key)');
SELECT is((SELECT payload - 'occurredAt' FROM pg_temp.delivery('orders', 'OrderPlaced')),
          (SELECT jsonb_build_object('id', rustok.ulid(e.id), 'type', 'OrderPlaced', 'tenantId', rustok.ulid(e.tenant_id),
                                     'data', '{"order_id": "O1"}'::jsonb)
           FROM event_outbox e WHERE e.type = 'OrderPlaced'),
          'the payload is {id, type, tenantId, occurredAt, data}');
SELECT matches((SELECT payload ->> 'occurredAt' FROM pg_temp.delivery('orders', 'OrderPlaced')),
               '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$', 'occurredAt in UTC, microseconds, Z');
SELECT is((SELECT status || '/' || attempts FROM pg_temp.delivery('orders', 'OrderPlaced')), 'pending/0',
          'a new delivery is pending, not yet attempted');

-- the dispatcher's look-up: tenants with due deliveries, across tenants, ids only
SELECT pg_temp.become('globex', 'worker');
SELECT is(pg_temp.enqueue_all(), 0::bigint, 'in another tenant acme''s events are not there to enqueue');
SELECT is(ARRAY(SELECT rustok.webhook_tenants_due(10)), ARRAY(SELECT tenant_id FROM admins WHERE slug = 'acme'),
          'webhook_tenants_due names acme, whose deliveries are due, from any tenant''s context');
SELECT is((SELECT count(*) FROM rustok.claim_webhook_deliveries(100, 60)), 0::bigint,
          'but claiming under globex gets none of acme''s deliveries');
SELECT is((SELECT array_to_string(proconfig, ',') FROM pg_proc
           WHERE oid = 'rustok.webhook_tenants_due(int)'::regprocedure AND prosecdef),
          'search_path=pg_catalog, public', 'webhook_tenants_due is SECURITY DEFINER with a pinned search_path');

-- claiming
SELECT pg_temp.become('acme', 'worker');
INSERT INTO claims SELECT 'first', * FROM rustok.claim_webhook_deliveries(2, 60);
SELECT is((SELECT count(*) FROM claims WHERE round = 'first'), 2::bigint, 'a claim takes at most max_count');
SELECT is((SELECT array_agg(DISTINCT attempt) FROM claims), '{1}', 'each claimed delivery gets its attempt number');
SELECT ok((SELECT bool_and(c.secret = w.secret AND c.url = w.url) FROM claims c JOIN webhooks w ON w.id = c.webhook_id),
          'with its webhook''s current URL and secret');
INSERT INTO claims SELECT 'second', * FROM rustok.claim_webhook_deliveries(100, 60);
SELECT is((SELECT count(*) FROM claims WHERE round = 'second'), 5::bigint, 'a second claim gets the rest');
SELECT is((SELECT count(*) FROM rustok.claim_webhook_deliveries(100, 60)), 0::bigint,
          'and a third none: claimed deliveries are leased');

-- recording
SELECT is(rustok.record_webhook_attempt(d.id, 1, now(), 12, 503, 'HTTP 503', 'retry', 0), 'pending',
          'a retry keeps the delivery pending')
FROM pg_temp.delivery('orders', 'OrderPlaced') d;
SELECT is((SELECT next_attempt_at FROM pg_temp.delivery('orders', 'OrderPlaced')), now(),
          'due again after retry_in_seconds (0 here)');
SELECT is((SELECT array_agg(attempt) FROM rustok.claim_webhook_deliveries(100, 60)), '{2}',
          'so the next claim takes it, as attempt 2');
UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 minute'
WHERE id = (pg_temp.delivery('orders', 'OrderPlaced')).id;
SELECT is((SELECT array_agg(attempt) FROM rustok.claim_webhook_deliveries(100, 60)), '{3}',
          'a claim whose lease ran out (a worker that died) is claimed again, as attempt 3');
SELECT is(rustok.record_webhook_attempt(d.id, 2, now(), 5, 500, 'late', 'failed'), 'pending',
          'the outcome of the superseded attempt 2 is logged but moves nothing')
FROM pg_temp.delivery('orders', 'OrderPlaced') d;
SELECT is(rustok.record_webhook_attempt(d.id, 3, now(), 30, 200, NULL, 'succeeded'), 'succeeded',
          'a 2xx makes it succeeded')
FROM pg_temp.delivery('orders', 'OrderPlaced') d;
SELECT is(rustok.record_webhook_attempt(d.id, 3, now(), 30, 503, 'again?', 'retry', 0), 'succeeded',
          'and success is final: nothing after it changes it')
FROM pg_temp.delivery('orders', 'OrderPlaced') d;
UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 hour';
SELECT is((SELECT count(*) FROM rustok.claim_webhook_deliveries(100, 60) c
           WHERE c.delivery_id = (pg_temp.delivery('orders', 'OrderPlaced')).id), 0::bigint,
          'a succeeded delivery is never claimed again, however due');
SELECT is(rustok.record_webhook_attempt(d.id, d.attempts, now(), 7, 410, 'HTTP 410: not retried', 'failed'), 'failed',
          'failed gives up (and keeps the delivery)')
FROM pg_temp.delivery('all', 'UserLoggedIn') d;
SELECT throws_ok(format('SELECT rustok.record_webhook_attempt(%L, 1, now(), 1, 200, NULL, %L)',
                        (pg_temp.delivery('all', 'OrderPlaced')).id, 'maybe'),
                 'RK002', NULL, 'an unknown outcome: VALIDATION_FAILED');
SELECT throws_ok(format('SELECT rustok.record_webhook_attempt(%L, 1, now(), 1, 200, NULL, %L)', rustok.gen_id(), 'succeeded'),
                 'RK003', NULL, 'an unknown delivery: NOT_FOUND');

-- the admin's view
SELECT pg_temp.become('acme');
SELECT is((SELECT jsonb_path_query_array(rustok.list_webhook_deliveries((SELECT id FROM hooks WHERE name = 'orders')),
                                          '$.edges[*].node.attemptLog[*].statusCode')),
          '[503, 500, 200]', 'list_webhook_deliveries shows each attempt, in order');
SELECT is((SELECT n -> 'status' FROM jsonb_path_query(rustok.list_webhook_deliveries((SELECT id FROM hooks WHERE name = 'orders')),
                                                     '$.edges[0].node') n),
          '"succeeded"', 'and the delivery''s status');
CREATE TEMP TABLE pages AS
SELECT 1 AS page, rustok.list_webhook_deliveries((SELECT id FROM hooks WHERE name = 'all'), 4) AS c;
INSERT INTO pages
SELECT 2, rustok.list_webhook_deliveries((SELECT id FROM hooks WHERE name = 'all'), 4, c #>> '{pageInfo,endCursor}')
FROM pages WHERE page = 1;
SELECT is((SELECT array_agg(jsonb_array_length(c -> 'edges') || '/' || (c #>> '{pageInfo,hasNextPage}') ORDER BY page)
           FROM pages), '{4/true,2/false}', 'four a page: a full page with more to come, then the last two');
SELECT is((SELECT count(DISTINCT e -> 'node' ->> 'id') FROM pages, jsonb_array_elements(c -> 'edges') e),
          (SELECT count(*) FROM webhook_deliveries WHERE webhook_id = (SELECT id FROM hooks WHERE name = 'all')),
          'together every delivery of the webhook, once');
SELECT ok((SELECT bool_and((e -> 'node' ->> 'id') COLLATE "C" > (SELECT c #>> '{edges,0,node,id}' FROM pages WHERE page = 2))
           FROM pages, jsonb_array_elements(c -> 'edges') e WHERE page = 1), 'newest first');
SELECT throws_ok(format('SELECT rustok.list_webhook_deliveries(%L, 1, %L)', (SELECT id FROM hooks WHERE name = 'all'), 'nope'),
                 'RK001', NULL, 'a bad cursor: INVALID_ID');
SELECT pg_temp.become('acme', 'customer');
SELECT throws_ok(format('SELECT rustok.list_webhook_deliveries(%L)', (SELECT id FROM hooks WHERE name = 'all')),
                 'RK006', NULL, 'without a user: UNAUTHENTICATED');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
