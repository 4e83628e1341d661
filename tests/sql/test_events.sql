-- The event outbox: publish_event writes a row in the caller's transaction for the current tenant and user;
-- read_events hands out committed events in (txid, position) order; ack_events never moves a consumer back;
-- maintain_partitions creates partitions ahead and drops them after the retention.
BEGIN;
SELECT plan(25);

DO $$
BEGIN
    PERFORM rustok.create_tenant('acme', 'Acme', 'admin@acme.test', 'hash');
    PERFORM rustok.create_tenant('globex', 'Globex');
END $$;
CREATE TEMP TABLE acme AS
SELECT t.id AS tenant_id, u.id AS admin_id FROM tenants t JOIN users u ON u.tenant_id = t.id WHERE t.slug = 'acme';
CREATE TEMP TABLE published (id uuid);
CREATE TEMP TABLE made (run text, action text, partition_name text);

-- pgTAP runs as the application role below: let it reach pgTAP and this test's temp tables.
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA pg_temp TO rustok_app;

-- publishing, as the application
SET LOCAL ROLE rustok_app;
SELECT rustok.set_context(tenant_id, admin_id, 'admin') FROM acme;
INSERT INTO published SELECT rustok.publish_event('OrderPlaced', '{"total": 5}');
SELECT is((SELECT jsonb_build_object('tenant', e.tenant_id, 'actor', e.actor_id, 'type', e.type, 'data', e.data)
           FROM event_outbox e JOIN published p USING (id)),
          (SELECT jsonb_build_object('tenant', tenant_id, 'actor', admin_id, 'type', 'OrderPlaced',
                                     'data', '{"total": 5}'::jsonb) FROM acme),
          'publish_event writes the event for the current tenant, with the current user as actor');
SELECT is((SELECT txid FROM event_outbox JOIN published USING (id)), pg_current_xact_id(),
          'and records the writing transaction');
SELECT throws_ok($$ SELECT rustok.publish_event('lowercase') $$, 'RK002', NULL, 'a type not in PascalCase is refused');
SELECT throws_ok($$ SELECT rustok.publish_event('Order Placed') $$, 'RK002', NULL, 'a type with a space is refused');
SELECT throws_ok($$ SELECT rustok.publish_event('OrderPlaced', '[1, 2]') $$, 'RK002', NULL,
                 'data that is not a JSON object is refused');

-- an event lives and dies with its change: a user registered in a rolled-back savepoint leaves neither
SAVEPOINT change;
DO $$ BEGIN PERFORM rustok._insert_user('ghost@acme.test', 'hash', 'customer'); END $$;
ROLLBACK TO SAVEPOINT change;
SELECT is((SELECT count(*) FROM users WHERE email = 'ghost@acme.test')
          + (SELECT count(*) FROM event_outbox WHERE data ->> 'email' = 'ghost@acme.test'),
          0::bigint, 'a rolled-back savepoint leaves neither the user nor its UserRegistered event');
DO $$ BEGIN PERFORM rustok._insert_user('kept@acme.test', 'hash', 'customer'); END $$;
SELECT is((SELECT count(*) FROM users WHERE email = 'kept@acme.test')
          + (SELECT count(*) FROM event_outbox WHERE data ->> 'email' = 'kept@acme.test'),
          2::bigint, 'the same call without the rollback leaves both');

SELECT rustok.set_context(NULL);
SELECT throws_ok($$ SELECT rustok.publish_event('OrderPlaced') $$, 'RK007', NULL, 'without a tenant: TENANT_REQUIRED');
RESET ROLE;

-- reading: events of transactions older than every running one, in (txid, position) order. Two committed
-- events are simulated with old transaction ids: the one written second (higher position) by the transaction
-- with the lower id comes first, since sequence order is not commit order.
INSERT INTO event_outbox (tenant_id, txid, type) VALUES
    ((SELECT tenant_id FROM acme), '11', 'Older'),
    ((SELECT id FROM tenants WHERE slug = 'globex'), '10', 'Globex');
INSERT INTO event_outbox (tenant_id, txid, type) VALUES ((SELECT tenant_id FROM acme), '10', 'Oldest');
SELECT is((SELECT array_agg(type) FROM rustok.read_events('0', 0, 100, (SELECT tenant_id FROM acme))),
          '{Oldest,Older}', 'read_events returns committed events by (txid, position), for the tenant asked');
SELECT is((SELECT array_agg(type) FROM rustok.read_events('0', 0, 100)), '{Globex,Oldest,Older}',
          'and every tenant''s, oldest first, when no tenant is named');
SELECT is((SELECT array_agg(e.type) FROM rustok.read_events('10', (SELECT max(position) FROM event_outbox
                                                                 WHERE txid = '10'), 100) e),
          '{Older}', 'it resumes after a cursor');
SELECT is((SELECT count(*) FROM rustok.read_events('0', 0, 1)), 1::bigint, 'and stops at max_count');
-- By design, an event of a transaction still running (this one included) is not handed out yet: its txid is
-- not below the snapshot's xmin. That is what keeps a later-committing transaction from being skipped.
SELECT is((SELECT count(*) FROM rustok.read_events('0', 0, 10000)
           WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())),
          0::bigint, 'events of running transactions are not returned');
SELECT ok((SELECT count(*) FROM event_outbox WHERE txid = pg_current_xact_id()) > 0,
          'though this transaction has written some');

-- durable consumers
SELECT is((SELECT row(last_txid, last_position)::text FROM rustok.consumer_position('relay')), '(0,0)',
          'a new consumer starts at (0, 0)');
DO $$
BEGIN
    PERFORM rustok.ack_events('relay', '20', 5);
    PERFORM rustok.ack_events('relay', '10', 99);
    PERFORM rustok.ack_events('relay', '20', 4);
END $$;
SELECT is((SELECT row(last_txid, last_position)::text FROM rustok.consumer_position('relay')), '(20,5)',
          'ack_events never moves a consumer backwards');
DO $$ BEGIN PERFORM rustok.ack_events('relay', '20', 6); END $$;
SELECT is((SELECT row(last_txid, last_position)::text FROM rustok.consumer_position('relay')), '(20,6)',
          'but moves it forwards');

-- partitions: created ahead (rows waiting in the default partition move in), dropped after the retention
SELECT is((SELECT count(*) FROM rustok.maintain_partitions(now() + interval '1 month') WHERE action = 'dropped'),
          0::bigint, 'with the default retention (6 months) a run a month ahead drops nothing');
INSERT INTO event_outbox (tenant_id, type, occurred_at)
SELECT tenant_id, 'FromTheFuture', now() + interval '2 years' FROM acme;
SELECT is((SELECT tableoid::regclass::text FROM event_outbox WHERE type = 'FromTheFuture'), 'event_outbox_default',
          'an event beyond the last partition waits in the default partition');
-- (other registered tables, e.g. the commerce module's orders, get partitions too: only the outbox's count here)
INSERT INTO made SELECT 'in 2 years', * FROM rustok.maintain_partitions(now() + interval '2 years')
WHERE partition_name LIKE 'event\_outbox\_%';
SELECT is((SELECT array_agg(partition_name ORDER BY partition_name) FROM made
           WHERE run = 'in 2 years' AND action = 'created'),
          (SELECT array_agg(rustok._partition_name('event_outbox', 'month',
                                                   date_trunc('month', now() + interval '2 years', 'UTC')
                                                   + interval '1 month' * i) ORDER BY i)
           FROM generate_series(0, 3) i),
          'maintain_partitions creates the month of `at` and the next three');
SELECT is((SELECT tableoid::regclass::text FROM event_outbox WHERE type = 'FromTheFuture'),
          (SELECT min(partition_name) FROM made WHERE run = 'in 2 years' AND action = 'created'),
          'the waiting event moved into its new partition');
SELECT is((SELECT count(*) FROM rustok.maintain_partitions(now() + interval '2 years') WHERE action = 'created'),
          0::bigint, 'a second run creates nothing');

-- half a year later, those four partitions are within 6 months but not within 1 month
INSERT INTO made SELECT 'in 2.5 years, retention 6 months', *
FROM rustok.maintain_partitions(now() + interval '2 years 6 months') WHERE partition_name LIKE 'event\_outbox\_%';
SELECT is((SELECT count(*) FROM made WHERE run = 'in 2.5 years, retention 6 months' AND action = 'dropped'),
          0::bigint, 'with the default retention they are kept');
UPDATE platform_settings SET value = '"1 month"' WHERE key = 'events.retention';
INSERT INTO made SELECT 'in 2.5 years, retention 1 month', *
FROM rustok.maintain_partitions(now() + interval '2 years 6 months') WHERE partition_name LIKE 'event\_outbox\_%';
SELECT is((SELECT array_agg(partition_name ORDER BY partition_name) FROM made
           WHERE run = 'in 2.5 years, retention 1 month' AND action = 'dropped'),
          (SELECT array_agg(partition_name ORDER BY partition_name) FROM made
           WHERE run = 'in 2 years' AND action = 'created'),
          'with events.retention set to 1 month they are dropped');
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname)
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'event_outbox'::regclass),
          '{event_outbox_default}' || (SELECT array_agg(partition_name ORDER BY partition_name) FROM made
                                       WHERE run = 'in 2.5 years, retention 6 months' AND action = 'created'),
          'left: the partitions from half a year later on, and the default partition (never dropped)');

SELECT * FROM finish();
ROLLBACK;
