-- IndexConfig reindexSchedule: cron expressions (five fields, UTC) and rustok.index_reindex_scheduled, the
-- maintenance task that requests a rebuild once per occurrence; malformed schedules are VALIDATION_FAILED
-- (RK002) for the parser and a skipped tenant (a warning) for maintenance.
BEGIN;
SELECT plan(14);
SELECT '# done' FROM (SELECT test_support.two_tenants()) _x;

SELECT ok(rustok._cron_due('30 3 * * *', '2026-01-01 03:00Z', '2026-01-01 04:00Z'), 'daily at 03:30: in the hour');
SELECT ok(NOT rustok._cron_due('30 3 * * *', '2026-01-01 03:30Z', '2026-01-02 03:29Z'),
          'the window is (since, until]: the occurrence at since is the last run''s');
SELECT ok(rustok._cron_due('*/15 * * * *', '2026-01-01 10:01Z', '2026-01-01 10:15Z'), 'steps');
SELECT ok(NOT rustok._cron_due('0 0 * * 1', '2026-01-06 00:00Z', '2026-01-11 23:59Z'),
          'Mondays only (2026-01-05 and 2026-01-12 are Mondays)');
SELECT ok(rustok._cron_due('0 0 * * 7', '2026-01-10 00:00Z', '2026-01-11 00:00Z'), '7 is Sunday');
SELECT ok(rustok._cron_due('0 0 1 * 1', '2026-01-04 12:00Z', '2026-01-05 00:00Z'),
          'both day fields restricted: either matches (a Monday, not the 1st)');
SELECT ok(rustok._cron_due('0 6-18/6 * 1,7 *', '2026-07-01 11:00Z', '2026-07-01 12:00Z'), 'ranges and lists');
SELECT throws_ok($$ SELECT rustok._cron_due('daily', now(), now()) $$, 'RK002', NULL, 'not five fields');
SELECT throws_ok($$ SELECT rustok._cron_due('61 * * * *', now(), now()) $$, 'RK002', NULL, 'a minute out of range');

SELECT pg_temp.act('acme', 'admin');
SELECT is(rustok.index_reindex_scheduled(), 0, 'no schedule: nothing to do');
UPDATE tenant_modules SET settings = '{"reindexSchedule": "* * * * *"}' WHERE module_slug = 'index'
  AND tenant_id = (SELECT tenant_id FROM people WHERE slug = 'acme' AND who IS NULL);
SELECT is(rustok.index_reindex_scheduled(), 1, 'a due schedule starts a rebuild');
SELECT is((SELECT array_agg(data ->> 'target_type' ORDER BY data ->> 'target_type') FROM event_outbox
           WHERE type = 'ReindexRequested'), '{content,products}', 'as ReindexRequested for both indexes');
SELECT is(rustok.index_reindex_scheduled(), 0, 'and only once per occurrence');
UPDATE tenant_modules SET settings = '{"reindexSchedule": "every night"}' WHERE module_slug = 'index'
  AND tenant_id = (SELECT tenant_id FROM people WHERE slug = 'acme' AND who IS NULL);
SELECT is(rustok.index_reindex_scheduled(), 0, 'a malformed schedule is skipped with a warning, not an error');

SELECT * FROM finish();
ROLLBACK;
