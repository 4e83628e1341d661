-- The event outbox: publish_event writes a row in the caller's transaction for the current tenant and user;
-- its commit takes the next commit number (event_commits); read_events hands out committed events in
-- (commit_seq, position) order; nobody but that trigger can take the lock that orders commits; ack_events
-- never moves a consumer back; maintain_partitions creates partitions ahead and drops them after the
-- retention, commit numbers with their events; _start_commit_order numbered the events of older databases.
BEGIN;
SELECT plan(46);

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

-- commit order: the transaction's first event queues one stamp, which runs at commit (here: SET CONSTRAINTS
-- ... IMMEDIATE, what COMMIT does) and numbers the transaction in event_commits
CREATE TEMP VIEW own_commits AS SELECT * FROM event_commits WHERE txid = pg_current_xact_id();
SELECT is((SELECT count(*) FROM own_commits), 0::bigint, 'before its commit a transaction has no commit number');
SELECT is((SELECT count(*) FROM rustok.read_events(0, 0, 10000) WHERE id IN (SELECT id FROM published)), 0::bigint,
          'so its events are not handed out');
SAVEPOINT early;
SET CONSTRAINTS _900_commit_order IMMEDIATE;
SET CONSTRAINTS _900_commit_order DEFERRED;
SELECT is((SELECT count(*) FROM own_commits), 1::bigint, 'the stamp gives it one commit number');
SELECT is((SELECT array_agg(e.commit_seq) FROM rustok.read_events(0, 0, 10000) e WHERE e.id IN (SELECT id FROM published)),
          (SELECT array_agg(seq) FROM own_commits), 'and its events are handed out under it');
ROLLBACK TO SAVEPOINT early;
SELECT is((SELECT count(*) FROM own_commits), 0::bigint, 'a savepoint rolled back takes the commit number back');
SET CONSTRAINTS _900_commit_order IMMEDIATE;
SET CONSTRAINTS _900_commit_order DEFERRED;
SELECT is((SELECT count(*) FROM own_commits), 1::bigint, 'and the stamp runs again');
SET LOCAL ROLE rustok_app;
SELECT rustok.set_context(tenant_id, admin_id, 'admin') FROM acme;
INSERT INTO published SELECT rustok.publish_event('AfterTheStamp');
SET CONSTRAINTS _900_commit_order IMMEDIATE;
SET CONSTRAINTS _900_commit_order DEFERRED;
SELECT rustok.set_context(NULL);
RESET ROLE;
SELECT is((SELECT count(*) FROM own_commits), 1::bigint, 'an event written after the stamp gets no second number');
SELECT is((SELECT e.commit_seq FROM rustok.read_events(0, 0, 10000) e WHERE e.type = 'AfterTheStamp'),
          (SELECT seq FROM own_commits), 'it is handed out under the transaction''s number');

-- reading, in commit order. Two committed transactions after this one are simulated with old transaction ids;
-- the one with the higher id committed first, so its event comes first (transaction-id order is not commit
-- order), and events of one transaction come by position. An event without a commit number is of a
-- transaction still running (or rolled back): it is not handed out, and it holds nothing back.
CREATE TEMP TABLE mark AS SELECT seq FROM own_commits;
INSERT INTO event_outbox (tenant_id, txid, type) VALUES
    ((SELECT tenant_id FROM acme), '11', 'First'),
    ((SELECT id FROM tenants WHERE slug = 'globex'), '10', 'Globex'),
    ((SELECT tenant_id FROM acme), '12', 'Running');
INSERT INTO event_outbox (tenant_id, txid, type) VALUES ((SELECT tenant_id FROM acme), '10', 'Second');
INSERT INTO event_commits (seq, txid, occurred_at)
SELECT seq + 1, '11'::xid8, now() FROM mark UNION ALL SELECT seq + 2, '10'::xid8, now() FROM mark;
SELECT is((SELECT array_agg(type) FROM rustok.read_events((SELECT seq FROM mark), 9223372036854775807, 100,
                                                          (SELECT tenant_id FROM acme))),
          '{First,Second}', 'read_events returns committed events by (commit_seq, position), for the tenant asked');
SELECT is((SELECT array_agg(type) FROM rustok.read_events((SELECT seq FROM mark), 9223372036854775807, 100)),
          '{First,Globex,Second}', 'and every tenant''s when no tenant is named');
SELECT is((SELECT array_agg(e.type) FROM rustok.read_events((SELECT seq + 2 FROM mark),
                                                            (SELECT position FROM event_outbox WHERE type = 'Globex'), 100) e),
          '{Second}', 'it resumes after a cursor');
SELECT is((SELECT count(*) FROM rustok.read_events(0, 0, 1)), 1::bigint, 'and stops at max_count');
SELECT is((SELECT count(*) FROM rustok.read_events(0, 0, 10000) WHERE type = 'Running'), 0::bigint,
          'an event of a transaction without a commit number is not handed out');
SELECT is((SELECT row(commit_seq, position)::text FROM rustok.event_head()),
          (SELECT row(seq + 2, 9223372036854775807)::text FROM mark),
          'event_head is the cursor after the newest commit');

-- who may order commits: only the stamp (SECURITY DEFINER, as the owner) touches event_commits
SET LOCAL ROLE rustok_app;
SELECT throws_ok($$ LOCK TABLE event_commits IN EXCLUSIVE MODE $$, '42501', NULL,
                 'the application role cannot take the lock that orders commits');
SELECT throws_ok($$ SELECT count(*) FROM event_commits $$, '42501', NULL, 'nor read the commit numbers directly');
SELECT throws_ok($$ INSERT INTO event_commits (txid, occurred_at) VALUES ('5', now()) $$, '42501', NULL,
                 'nor write one');
RESET ROLE;
SELECT is((SELECT array_agg(r ORDER BY r) FROM unnest(ARRAY['rustok_analytics', 'rustok_clients']) r
           WHERE has_table_privilege(r, 'event_commits', 'SELECT') OR has_table_privilege(r, 'event_commits', 'UPDATE')
              OR has_table_privilege(r, 'event_commits', 'INSERT') OR has_table_privilege(r, 'event_commits', 'DELETE')
              OR has_table_privilege(r, 'event_commits', 'TRUNCATE')),
          NULL, 'the analysts and the other client roles hold no privilege on event_commits either (so no lock)');
SELECT is((SELECT array_agg(f ORDER BY f) FROM unnest(ARRAY['rustok.read_events(bigint,bigint,integer,uuid)',
                                                          'rustok.event_head()', 'rustok.ack_events(text,bigint,bigint)',
                                                          'rustok.consumer_position(text)']) f
           WHERE has_function_privilege('rustok_analytics', f, 'EXECUTE')),
          NULL, 'the analysts cannot read every tenant''s events or move a consumer');

-- durable consumers
SELECT is((SELECT row(last_commit_seq, last_position)::text FROM rustok.consumer_position('relay')), '(0,0)',
          'a new consumer starts at (0, 0)');
DO $$
BEGIN
    PERFORM rustok.ack_events('relay', 20, 5);
    PERFORM rustok.ack_events('relay', 10, 99);
    PERFORM rustok.ack_events('relay', 20, 4);
END $$;
SELECT is((SELECT row(last_commit_seq, last_position)::text FROM rustok.consumer_position('relay')), '(20,5)',
          'ack_events never moves a consumer backwards');
DO $$ BEGIN PERFORM rustok.ack_events('relay', 20, 6); END $$;
SELECT is((SELECT row(last_commit_seq, last_position)::text FROM rustok.consumer_position('relay')), '(20,6)',
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
SELECT is((SELECT array_agg(replace(c.relname::text, 'event_commits', 'event_outbox') ORDER BY c.relname)
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'event_commits'::regclass),
          (SELECT array_agg(c.relname::text ORDER BY c.relname)
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'event_outbox'::regclass),
          'commit numbers are partitioned by the same months and dropped with their events');
SELECT is((SELECT row(seq, occurred_at)::text FROM event_commits WHERE txid = '0'), '(0,-infinity)',
          'commit 0 (of imported events, transaction id 0) stays in the default partition');

-- a database from before commit order: _start_commit_order numbers its events seq = txid (the order they
-- were read in), once, in partitions of their months, and starts the sequence above every transaction id
DELETE FROM event_commits;
UPDATE platform_settings SET value = '"6 months"' WHERE key = 'events.retention';
SELECT rustok._create_partition('event_outbox', rustok._partition_name('event_outbox', 'month', m), m, m + interval '1 month')
FROM date_trunc('month', now() - interval '3 months', 'UTC') m;
INSERT INTO event_outbox (tenant_id, txid, type, occurred_at) VALUES
    ((SELECT tenant_id FROM acme), '40', 'LastQuarter', now() - interval '3 months'),
    ((SELECT tenant_id FROM acme), '0', 'Imported', now() - interval '2 years');
SELECT rustok._start_commit_order();
SELECT is((SELECT count(*) FROM (SELECT DISTINCT txid FROM event_outbox) t), (SELECT count(*) FROM event_commits),
          'every transaction of the outbox gets a commit number');
SELECT is((SELECT count(*) FROM event_commits WHERE seq <> txid::text::bigint), 0::bigint, 'which is its transaction id');
SELECT is((SELECT tableoid::regclass::text FROM event_commits WHERE txid = '40'),
          (SELECT rustok._partition_name('event_commits', 'month', date_trunc('month', now() - interval '3 months', 'UTC'))),
          'in a partition of its events'' month, made for it');
SELECT is((SELECT row(seq, occurred_at)::text FROM event_commits WHERE txid = '0'), '(0,-infinity)',
          'imported events (transaction id 0) get commit 0');
SELECT ok(nextval('event_commit_seq') > pg_current_xact_id()::text::bigint,
          'new commit numbers come after every transaction id, so every stored cursor keeps its meaning');
SELECT rustok._start_commit_order();
SELECT is((SELECT count(*) FROM event_commits), (SELECT count(*) FROM (SELECT DISTINCT txid FROM event_outbox) t),
          'and a second call does nothing');

SELECT * FROM finish();
ROLLBACK;
