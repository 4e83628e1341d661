-- Browsing without a search term reads the browse mirror and the kept facet counts (index_0009_browse): the
-- answer equals the general path's (rustok.search_browse = off) for every sort and filter, pages included;
-- upkeep keeps mirror and counts exact through inserts, updates, unpublishing and deletes; index_verify
-- reports drift in either, and the end of a reindex repairs it; other tenants and the application role see
-- nothing of them; deleting a tenant takes its rows along.
BEGIN;
SELECT plan(23);
SELECT '# done' FROM (SELECT test_support.two_tenants()) _x;

-- every filter and sort the browse path serves, and some it hands on (title, inStock false), each with its
-- second page: the number of (filter, sort) pairs whose two pages differ between the two paths
CREATE FUNCTION pg_temp.differences() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    c record;
    a jsonb;
    b jsonb;
    n int := 0;
BEGIN
    FOR c IN SELECT f, s FROM unnest(ARRAY[
                 '{}', '{"currency": "EUR"}', '{"currency": "USD"}', '{"currency": "EUR", "inStock": true}',
                 '{"inStock": false}', '{"currency": "EUR", "tag": "red"}', '{"tag": "blue", "inStock": true}',
                 '{"currency": "USD", "category": "cat-1"}', '{"category": "cat-2", "tag": "red"}',
                 '{"currency": "EUR", "minPrice": 1000, "maxPrice": 6000}', '{"maxPrice": 900}',
                 '{"category": "nowhere"}', '{"inStock": null}']::jsonb[]) f
             CROSS JOIN unnest(ARRAY['newest', 'price_asc', 'price_desc', 'relevance', 'title']) s LOOP
        PERFORM set_config('rustok.search_browse', 'on', true);
        a := rustok.search_products(NULL, c.f, c.s, 4);
        a := jsonb_build_array(a, rustok.search_products(NULL, c.f, c.s, 4, a #>> '{pageInfo,endCursor}'));
        PERFORM set_config('rustok.search_browse', 'off', true);
        b := rustok.search_products(NULL, c.f, c.s, 4);
        b := jsonb_build_array(b, rustok.search_products(NULL, c.f, c.s, 4, b #>> '{pageInfo,endCursor}'));
        IF a IS DISTINCT FROM b THEN
            n := n + 1;
            RAISE NOTICE 'differs: % %', c.f, c.s;
        END IF;
    END LOOP;
    PERFORM set_config('rustok.search_browse', 'on', true);
    RETURN n;
END
$$;
CREATE FUNCTION pg_temp.problems() RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(DISTINCT v.index_name || ' ' || v.problem), '{}') FROM rustok.index_verify() v
$$;

SELECT pg_temp.act('acme', 'admin');
SELECT '# done' FROM (SELECT pg_temp.save('cat-' || n, rustok.create_product_category(jsonb_build_object(
    'name', 'Category ' || n, 'handle', 'cat-' || n))) FROM generate_series(1, 3) n) _x;
-- 40 products: prices in EUR (all) and USD (two in three; some share a price, some creation times are
-- equal), stock or none, one or two categories, 0-2 tags; every fifth a draft
SELECT '# done' FROM (SELECT pg_temp.save('p' || n, rustok.create_product(jsonb_build_object(
    'title', 'Product ' || n, 'status', CASE WHEN n % 5 = 0 THEN 'draft' ELSE 'published' END,
    'categoryIds', to_jsonb(array_remove(ARRAY[rustok.ulid(pg_temp.id('cat-' || (1 + n % 3))),
                                               CASE WHEN n % 4 = 0 THEN rustok.ulid(pg_temp.id('cat-3')) END], NULL)),
    'tags', to_jsonb(array_remove(ARRAY[CASE WHEN n % 2 = 0 THEN 'red' END, CASE WHEN n % 3 = 0 THEN 'blue' END], NULL)),
    'variants', jsonb_build_array(jsonb_build_object('sku', 'P' || n, 'inventoryQuantity', n % 3,
        'prices', jsonb_build_array(jsonb_build_object('currencyCode', 'EUR', 'amount', 500 + (n % 7) * 900))
                  || CASE WHEN n % 3 <> 1 THEN jsonb_build_array(jsonb_build_object('currencyCode', 'USD',
                                                                  'amount', 60000 - n * 1000)) ELSE '[]' END)))))
    FROM generate_series(1, 40) n) _x;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;

SELECT is((SELECT count(*) FROM rustok.index_products_browse WHERE currency = 'EUR'), 32::bigint,
          'one mirror row per published product in each currency it has a price in ...');
SELECT is((SELECT count(*) FROM rustok.index_products_browse WHERE currency = 'USD'), 21::bigint,
          '... (two in three have one in USD)');
SELECT is((SELECT count FROM rustok.index_products_facets
           WHERE currency = 'EUR' AND NOT in_stock_only AND facet = 'total'), 32::bigint, 'the kept total');
SELECT is(pg_temp.problems(), '{}', 'verify finds mirror and counts exact after creation');
SELECT is(pg_temp.differences(), 0, 'every browse answer equals the general path''s, second pages included');

-- changes that move products between facets, scopes and currencies; an unpublished and a deleted one
SELECT '# done' FROM (SELECT rustok.update_product(pg_temp.id('p2'), '{"tags": ["blue"]}')) _x;
SELECT '# done' FROM (SELECT rustok.update_product(pg_temp.id('p3'), '{"status": "draft"}')) _x;
SELECT '# done' FROM (SELECT rustok.update_product(pg_temp.id('p5'), '{"status": "published"}')) _x;
SELECT '# done' FROM (SELECT rustok.delete_product(pg_temp.id('p4'))) _x;
SELECT '# done' FROM (SELECT rustok.update_product(pg_temp.id('p6'), '{"categoryIds": []}')) _x;
UPDATE commerce_inventory_levels SET stocked_quantity = 0
WHERE variant_id IN (SELECT id FROM commerce_variants WHERE product_id = pg_temp.id('p7'));
UPDATE commerce_prices SET amount = 99000
WHERE variant_id IN (SELECT id FROM commerce_variants WHERE product_id = pg_temp.id('p8')) AND currency_code = 'EUR';
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.problems(), '{}', 'verify finds both exact after updates, unpublishing and a delete');
SELECT is(pg_temp.differences(), 0, 'and the answers still equal the general path''s');
SELECT is((SELECT count(*) FROM rustok.index_products_facets WHERE count <= 0), 0::bigint,
          'no count row is left at zero');

-- drift, written as the superuser (no upkeep fires), is reported and repaired by the end of a reindex
UPDATE rustok.index_products_facets SET count = count + 1 WHERE currency = 'USD' AND facet = 'tag' AND value = 'red';
DELETE FROM rustok.index_products_browse WHERE product_id = pg_temp.id('p1') AND currency = 'EUR';
UPDATE rustok.index_products_browse SET tags = '{green}' WHERE product_id = pg_temp.id('p2') AND currency = 'EUR';
SELECT is(pg_temp.problems(), '{"index_products_browse missing","index_products_browse stale","index_products_facets stale"}',
          'verify reports a missing and a stale mirror row and a wrong count');
SELECT is((SELECT columns FROM rustok.index_verify() WHERE problem = 'stale' AND index_name = 'index_products_browse'),
          '{currency=EUR,tags}', 'with the columns that differ');
SET LOCAL ROLE rustok_app;
SELECT '# done' FROM (SELECT rustok.index_reindex_prune('products')) _x;
SELECT '# done' FROM (SELECT set_config('test.problems', pg_temp.problems()::text, true)) _x;
SELECT '# done' FROM (SELECT set_config('test.helper', 'runs', true)) _x;
DO $$
BEGIN
    PERFORM rustok._search_products_browse('{}', NULL, NULL, NULL, 'newest', 20, NULL);
EXCEPTION WHEN insufficient_privilege THEN
    PERFORM set_config('test.helper', 'refused', true);
END
$$;
RESET ROLE;
SELECT is(current_setting('test.problems'), '{}', 'the end of a reindex rebuilds them (as the application role)');
SELECT ok(NOT has_table_privilege('rustok_app', 'rustok.index_products_browse', 'select')
          AND NOT has_table_privilege('rustok_app', 'rustok.index_products_facets', 'select'),
          'the application role cannot read them directly');
SELECT is(current_setting('test.helper'), 'refused', 'nor through the browse helper, which runs with its rights');

-- the name sort in a currency reads the mirror's title key (a drifted key moves the product to the end)
UPDATE rustok.index_products_browse SET title_key = 'zzz' WHERE product_id = pg_temp.id('p6') AND currency = 'EUR';
SELECT is(rustok.search_products(NULL, '{"currency": "EUR"}', 'title', 100) #>> '{edges,-1,node,id}',
          rustok.ulid(pg_temp.id('p6')), 'the name sort reads the browse mirror''s title key');
UPDATE rustok.index_products_browse SET title_key = 'product 6'
WHERE product_id = pg_temp.id('p6') AND currency = 'EUR';

-- an operator in psql, no tenant set, deletes a category linked to products: the cascade and the flush it
-- queues run as the owner, under forced RLS (index_0011_pending_owner), and the products lose the category
SELECT '# done' FROM (SELECT set_config('rustok.tenant_id', '', true)) _x;
SELECT lives_ok($$ DELETE FROM commerce_categories WHERE handle = 'cat-3' $$,
                'an operator deletes a category linked to products without a tenant context');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is((SELECT count(*) FROM rustok.index_verify((SELECT id FROM tenants WHERE slug = 'acme'))), 0::bigint,
          'and the products'' index rows, mirrors and counts no longer have it');
-- a client outside its tenant is still refused by the policy
SELECT pg_temp.act('acme', 'admin');
SELECT '# done' FROM (SELECT set_config('test.other', (SELECT id::text FROM tenants WHERE slug = 'globex'), true)) _x;
SET LOCAL ROLE rustok_app;
DO $$
BEGIN
    PERFORM rustok._index_touch(current_setting('test.other')::uuid, 'product', ARRAY[gen_random_uuid()]);
    PERFORM set_config('test.touch', 'recorded', true);
EXCEPTION WHEN insufficient_privilege THEN
    PERFORM set_config('test.touch', 'refused', true);
END
$$;
RESET ROLE;
SELECT is(current_setting('test.touch'), 'refused', 'a client cannot record ids of another tenant');

SELECT pg_temp.act('globex', 'admin');
SELECT is(rustok.search_products(NULL, '{"currency": "EUR"}', 'newest') -> 'facets',
          '{"tags": [], "categories": [], "priceBuckets": []}', 'another tenant sees no facets ...');
SELECT is(rustok.search_products(NULL, '{"tag": "red"}', 'price_asc') ->> 'totalCount', '0', '... and no rows');

SELECT '# done' FROM (SELECT rustok.create_product(jsonb_build_object('title', 'Kept', 'status', 'published',
    'variants', jsonb_build_array(jsonb_build_object('sku', 'K1', 'prices', jsonb_build_array(
        jsonb_build_object('currencyCode', 'EUR', 'amount', 100))))))) _x;
SELECT pg_temp.act('acme', 'admin');
SELECT '# done' FROM (SELECT rustok.create_product(jsonb_build_object('title', 'Late', 'status', 'published',
    'variants', jsonb_build_array(jsonb_build_object('sku', 'L1', 'prices', jsonb_build_array(
        jsonb_build_object('currencyCode', 'EUR', 'amount', 100))))))) _x;
DELETE FROM tenants WHERE slug = 'acme';
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is((SELECT array_agg(DISTINCT t.slug) FROM rustok.index_products_browse b JOIN tenants t ON t.id = b.tenant_id)
          || (SELECT array_agg(DISTINCT t.slug) FROM rustok.index_products_facets c JOIN tenants t ON t.id = c.tenant_id),
          '{globex,globex}', 'deleting a tenant (a flush pending) removes its mirror rows and counts, not others''');
SELECT is((SELECT count(*) FROM rustok.index_products_facets f WHERE NOT EXISTS (
               SELECT 1 FROM tenants t WHERE t.id = f.tenant_id)), 0::bigint, 'and leaves no count behind');

-- an operator in psql deletes a tenant without setting its context: the cascade runs as the tables' owner,
-- and the flush drops the ids of the tenant it deleted
SELECT '# done' FROM (SELECT set_config('rustok.tenant_id', '', true)) _x;
SELECT lives_ok($$ DELETE FROM tenants WHERE slug = 'globex' $$, 'an operator deletes a tenant without its context');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is((SELECT count(*) FROM rustok.index_products_browse) + (SELECT count(*) FROM rustok.index_products_text)
          + (SELECT count(*) FROM index_pending), 0::bigint, 'its mirror rows went with it, nothing left pending');

SELECT * FROM finish();
ROLLBACK;
