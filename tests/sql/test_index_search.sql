-- Search over the index: user input never parsed as tsquery syntax; bad sort, currency, cursor, page size and
-- oversized queries are VALIDATION_FAILED (RK002); the search mirrors follow the index rows (insert, update,
-- delete) and are closed to the application role; index_verify reports a broken mirror row; results stay in
-- the tenant.
BEGIN;
SELECT plan(20);
SELECT '# done' FROM (SELECT test_support.two_tenants()) _x;


SELECT is(rustok._search_query('simple', $$Café & | ! ( ) : * < > ' \ shi$$)::text, $$'cafe' & 'shi':*$$,
          'tsquery syntax is stripped, accents folded, the last word a prefix');
SELECT is(rustok._search_query('simple', '&|!():*<>'), NULL, 'nothing but syntax: no text condition');
SELECT is(rustok._search_query('simple', $$a'b$$)::text, $$'a' & 'b':*$$, 'a quote splits words');

SELECT pg_temp.act('acme', 'admin');
SELECT '# done' FROM (SELECT pg_temp.save('mug', rustok.create_product(jsonb_build_object(
    'title', 'Café Mug', 'status', 'published', 'description', 'A sturdy mug',
    'variants', jsonb_build_array(jsonb_build_object('sku', 'MUG-1', 'prices', jsonb_build_array(
        jsonb_build_object('currencyCode', 'EUR', 'amount', 1500)))))))) _x;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is((SELECT title_folded FROM rustok.index_products_text WHERE product_id = pg_temp.id('mug')), 'cafe mug',
          'an index row is mirrored with its folded title');
SELECT is(rustok.search_products('cafe') ->> 'totalCount', '1', 'found without the accent');
SELECT is(rustok.search_products('MU') -> 'edges' -> 0 -> 'node' ->> 'title', 'Café Mug', 'found by prefix');
SELECT is(rustok.search_products('cafe', '{"currency": "EUR", "maxPrice": 1000}') ->> 'totalCount', '0',
          'price range in a currency');

SELECT throws_ok($$ SELECT rustok.search_products(NULL, NULL, 'cheapest') $$, 'RK002', NULL, 'unknown sort');
SELECT throws_ok($$ SELECT rustok.search_content(NULL, NULL, 'price_asc') $$, 'RK002', NULL, 'price sort of content');
SELECT throws_ok($$ SELECT rustok.search_products(NULL, '{"currency": "XYZ"}') $$, 'RK223', NULL,
                 'unknown currency: CURRENCY_UNKNOWN, the commerce rule');
SELECT throws_ok($$ SELECT rustok.search_products(repeat('x', 201)) $$, 'RK002', NULL, 'a query over 200 characters');
SELECT throws_ok($$ SELECT rustok.search_products(NULL, NULL, NULL, 20, 'bm9wZQ') $$, 'RK002', NULL, 'a foreign cursor');

-- verify compares the mirrors with the index rows (written here as the superuser: no upkeep fires for them)
UPDATE rustok.index_products_text SET title_folded = 'wrong' WHERE product_id = pg_temp.id('mug');
SELECT is((SELECT array_agg(index_name || ' ' || problem || ' ' || columns::text) FROM rustok.index_verify()),
          '{"index_products_text stale {title_folded}"}', 'verify reports a stale mirror row');
DELETE FROM rustok.index_products_text WHERE product_id = pg_temp.id('mug');
SELECT is((SELECT array_agg(index_name || ' ' || problem) FROM rustok.index_verify()),
          '{"index_products_text missing"}', 'a missing mirror row');
INSERT INTO rustok.index_products_text (tenant_id, product_id, search_vector, title_folded)
SELECT tenant_id, '01a2167b-0000-7000-8000-0000000000ee', 'ghost', 'ghost' FROM people WHERE slug = 'acme' AND who IS NULL;
SELECT is((SELECT array_agg(problem || ' ' || target_id::text ORDER BY problem) FROM rustok.index_verify()),
          ARRAY['extra 01a2167b-0000-7000-8000-0000000000ee', 'missing ' || pg_temp.id('mug')], 'an extra one');
DELETE FROM rustok.index_products_text WHERE product_id = '01a2167b-0000-7000-8000-0000000000ee';
SELECT '# done' FROM (SELECT rustok.index_refresh('products', pg_temp.id('mug'))) _x;
SET LOCAL ROLE rustok_app;
SELECT '# done' FROM (SELECT set_config('test.problems', (SELECT count(*) FROM rustok.index_verify())::text, true)) _x;
RESET ROLE;
SELECT is(current_setting('test.problems'), '0',
          'a refresh repairs the mirror; the application role verifies its tenant, mirrors included');

SELECT pg_temp.act('globex', 'admin');
SELECT is(rustok.search_products('cafe') ->> 'totalCount', '0', 'another tenant finds nothing');

SELECT pg_temp.act('acme', 'admin');
SELECT '# done' FROM (SELECT rustok.update_product(pg_temp.id('mug'), '{"title": "Tea Cup"}')) _x;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is((SELECT title_folded FROM rustok.index_products_text WHERE product_id = pg_temp.id('mug')), 'tea cup',
          'an update is mirrored');
SELECT '# done' FROM (SELECT rustok.delete_product(pg_temp.id('mug'))) _x;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is((SELECT count(*) FROM rustok.index_products_text WHERE product_id = pg_temp.id('mug')), 0::bigint,
          'a deleted index row leaves the mirror');
SELECT ok(NOT has_table_privilege('rustok_app', 'rustok.index_products_text', 'select')
          AND NOT has_table_privilege('rustok_app', 'rustok.index_content_text', 'select'),
          'the application role cannot read the mirrors directly');

SELECT * FROM finish();
ROLLBACK;
