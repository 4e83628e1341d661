-- The bookkeeping that keeps upkeep cheap (docs/index.md, "Upkeep"): the last single id recorded is not
-- recorded again (setting rustok.index_touched), and the deferred flush is queued once per flush (its WHEN,
-- rustok._index_flush_arm). Both must follow the pending rows: cleared by a flush, reverted with an aborted
-- subtransaction - or a later write of the same product would be skipped and the index left stale.
-- test_support.settle_index() fires the deferred flush now (what COMMIT does).
BEGIN;
SELECT plan(12);
SELECT '# done' FROM (SELECT test_support.two_tenants()) _x;

CREATE FUNCTION pg_temp.title(name text) RETURNS text LANGUAGE sql AS $$
    SELECT i.title::text FROM index_products i WHERE i.product_id = pg_temp.id(name)
$$;
CREATE FUNCTION pg_temp.exact() RETURNS boolean LANGUAGE sql AS $$
    SELECT NOT EXISTS (SELECT 1 FROM rustok.index_verify())
$$;

SELECT pg_temp.act('acme', 'admin');
SELECT '# done' FROM (SELECT pg_temp.save('cup', rustok.create_product(
    '{"title": "Cup", "status": "published", "variants": [{"sku": "CUP", "prices": [{"currencyCode": "EUR", "amount": 500}]}]}'))) _x;
SELECT is((SELECT count(*) FROM index_pending), 1::bigint, 'the ~10 statements of a create record one pending id');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.title('cup'), 'Cup', 'the flush indexes it');

-- the flush clears the memo: the same id written again is recorded again
UPDATE commerce_products SET title = 'Cup 2' WHERE id = pg_temp.id('cup');
SELECT is((SELECT count(*) FROM index_pending), 1::bigint, 'a write after the flush records the id again');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.title('cup'), 'Cup 2', 'and the next flush applies it');

-- an aborted subtransaction drops its pending row, the memo and the flush it queued alike
DO $$
BEGIN
    BEGIN
        UPDATE commerce_products SET title = 'Lost' WHERE id = pg_temp.id('cup');
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
END
$$;
SELECT is((SELECT count(*) FROM index_pending), 0::bigint, 'the aborted write left nothing pending');
UPDATE commerce_products SET title = 'Cup 3' WHERE id = pg_temp.id('cup');
SELECT is((SELECT count(*) FROM index_pending), 1::bigint, 'the same id written after it is recorded');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.title('cup'), 'Cup 3', 'and flushed');

-- a recomputed row equal to the stored one is not rewritten (its row version stays), unless a reindex asks
CREATE TEMP TABLE version AS SELECT ctid AS at FROM index_products WHERE product_id = pg_temp.id('cup');
UPDATE commerce_products SET updated_at = now() + interval '1 minute' WHERE id = pg_temp.id('cup');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is((SELECT ctid FROM index_products WHERE product_id = pg_temp.id('cup')), (SELECT at FROM version),
          'a write that changes nothing the index shows rewrites no index row');
SELECT '# done' FROM (SELECT rustok.index_refresh('products', pg_temp.id('cup'))) _x;
SELECT isnt((SELECT ctid FROM index_products WHERE product_id = pg_temp.id('cup')), (SELECT at FROM version),
            'a reindex rewrites it');

-- a multi-row statement: every id recorded, one flush, one IndexUpdated
DELETE FROM event_outbox WHERE type = 'IndexUpdated';
INSERT INTO commerce_products (tenant_id, title, handle, status)
SELECT t.tenant_id, 'Bowl ' || n, 'bowl-' || n, 'published'
FROM (SELECT tenant_id FROM people WHERE slug = 'acme' AND who IS NULL) t, generate_series(1, 3) n;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is((SELECT count(*) FROM index_products WHERE title LIKE 'Bowl %'), 3::bigint, 'three products in one statement, all indexed');
SELECT is((SELECT array_agg((data ->> 'count')::int) FROM event_outbox WHERE type = 'IndexUpdated'), '{3}'::int[],
          'by one flush: one IndexUpdated counting three');
SELECT ok(pg_temp.exact(), 'verify is empty');

SELECT * FROM finish();
ROLLBACK;
