-- Durable handlers' failures, as the worker records them through the application role: per tenant, one row per
-- (handler, event), 'retrying' then 'failed' or 'recovered'; invisible to another tenant.
BEGIN;
SELECT plan(9);

DO $$
BEGIN
    PERFORM rustok.create_tenant('acme', 'Acme');
    PERFORM rustok.create_tenant('globex', 'Globex');
END $$;
CREATE TEMP TABLE tenant_ids AS SELECT slug, id FROM tenants;
CREATE TEMP TABLE events AS SELECT rustok.gen_id() AS poisoned, rustok.gen_id() AS flaky, rustok.gen_id() AS waiting;
CREATE FUNCTION pg_temp.become(tenant text) RETURNS text LANGUAGE sql AS $$
    /* Acts as the worker in a tenant (tenant set, no user). */
    SELECT tenant FROM tenant_ids t, rustok.set_context(t.id) WHERE t.slug = tenant
$$;
CREATE FUNCTION pg_temp.failure(event uuid) RETURNS text LANGUAGE sql AS $$
    /* status/attempts/last error of the indexer's failure on an event. */
    SELECT status || '/' || attempts || '/' || last_error FROM event_handler_failures
    WHERE consumer = 'search.indexer' AND event_id = event
$$;

GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;

SELECT 'no tenant' FROM rustok.set_context(NULL);
SELECT throws_ok(format('SELECT rustok.record_handler_failure(%L, %L, %L, 1, %L, false)',
                        'search.indexer', rustok.gen_id(), 'Probe', 'boom'),
                 'RK007', NULL, 'recording needs the event''s tenant: TENANT_REQUIRED');

SELECT pg_temp.become('acme');
SELECT throws_ok(format('SELECT rustok.record_handler_failure(%L, %L, %L, 0, %L, false)',
                        'search.indexer', rustok.gen_id(), 'Probe', 'boom'),
                 'RK002', NULL, 'attempts below 1: VALIDATION_FAILED');
SELECT 'first failure' FROM events, rustok.record_handler_failure('search.indexer', poisoned, 'Probe', 1, 'boom', false);
SELECT is(pg_temp.failure(poisoned), 'retrying/1/boom', 'a first failure is recorded as retrying') FROM events;
SELECT 'gave up' FROM events, rustok.record_handler_failure('search.indexer', poisoned, 'Probe', 5, 'still boom', true);
SELECT is(pg_temp.failure(poisoned), 'failed/5/still boom', 'giving up updates the same row to failed') FROM events;
SELECT 'resolve' FROM events, rustok.resolve_handler_failure('search.indexer', poisoned);
SELECT is(pg_temp.failure(poisoned), 'failed/5/still boom', 'a failure given up on stays failed') FROM events;

SELECT 'flaky' FROM events, rustok.record_handler_failure('search.indexer', flaky, 'Probe', 2, 'timeout', false);
SELECT 'recovered' FROM events, rustok.resolve_handler_failure('search.indexer', flaky);
SELECT is(pg_temp.failure(flaky), 'recovered/2/timeout', 'a later success marks it recovered') FROM events;
SELECT ok((SELECT first_failed_at <= last_failed_at FROM event_handler_failures f, events e
           WHERE f.event_id = e.poisoned), 'first and last failure times are kept');

SELECT 'waiting' FROM events, rustok.record_handler_failure('search.indexer', waiting, 'Probe', 1, 'later', false);

SELECT pg_temp.become('globex');
SELECT is((SELECT count(*) FROM event_handler_failures), 0::bigint, 'another tenant sees none of them');
SELECT 'resolve elsewhere' FROM events, rustok.resolve_handler_failure('search.indexer', waiting);
SELECT pg_temp.become('acme');
SELECT is(pg_temp.failure(waiting), 'retrying/1/later', 'and changes none of them') FROM events;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
