-- Index upkeep: every kind of change (product, variant, price, stock, category, tag, node, body, author name,
-- category name, publish/unpublish/delete) leaves index rows exact (index_verify empty after each); a
-- 50-variant/100-price product is recomputed once; realtimeSync off queues ids that index_drain applies.
-- test_support.settle_index() fires the deferred flush now (what COMMIT does) so one test transaction can look.
BEGIN;
SELECT plan(48);
SELECT '# done' FROM (SELECT test_support.two_tenants()) _x;

CREATE FUNCTION pg_temp.exact() RETURNS boolean LANGUAGE sql AS $$
    SELECT NOT EXISTS (SELECT 1 FROM rustok.index_verify())
$$;
CREATE FUNCTION pg_temp.p(field text) RETURNS text LANGUAGE sql AS $$
    SELECT to_jsonb(i) ->> field FROM index_products i WHERE i.product_id = pg_temp.id('mug')
$$;
CREATE FUNCTION pg_temp.c(field text) RETURNS text LANGUAGE sql AS $$
    SELECT to_jsonb(i) ->> field FROM index_content i WHERE i.node_id = pg_temp.id('post')
$$;

SELECT pg_temp.act('acme', 'admin');
-- coalescing: one product with 50 variants and 100 prices
SELECT '# done' FROM (SELECT pg_temp.save('mug', rustok.create_product(jsonb_build_object(
    'title', 'Café Mug', 'status', 'published', 'description', 'A sturdy mug',
    'variants', (SELECT jsonb_agg(jsonb_build_object('title', 'V' || i, 'sku', 'MUG-' || i, 'prices', jsonb_build_array(
        jsonb_build_object('currencyCode', 'EUR', 'amount', 1000 + i), jsonb_build_object('currencyCode', 'USD', 'amount', 2000 + i))))
        FROM generate_series(1, 50) i))))) _x;
SELECT is((SELECT count(*) FROM index_pending), 1::bigint, 'the 151 rows written record one pending id');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is((SELECT count(*) FROM event_outbox WHERE type = 'IndexUpdated' AND data ->> 'target_id' = rustok.ulid(pg_temp.id('mug'))),
          1::bigint, 'the product is recomputed once (one IndexUpdated)');
SELECT is((SELECT (data ->> 'count')::int FROM event_outbox WHERE type = 'IndexUpdated' AND data ->> 'index_name' = 'index_products'),
          1, 'IndexUpdated counts one recomputed row');
SELECT is((SELECT count(*) FROM index_pending), 0::bigint, 'nothing stays pending');
SELECT is(pg_temp.p('prices')::jsonb, '{"EUR": {"min": 1001, "max": 1050}, "USD": {"min": 2001, "max": 2050}}', 'per-currency price ranges');
SELECT is(pg_temp.p('min_price'), '1001', 'min_price in the first currency');
SELECT ok(pg_temp.exact(), 'verify is empty after a product is created');

-- price
UPDATE commerce_prices SET amount = 500 WHERE currency_code = 'EUR' AND variant_id = (SELECT id FROM commerce_variants WHERE sku = 'MUG-7');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.p('min_price'), '500', 'a price change moves min_price');
SELECT ok(pg_temp.exact(), 'verify empty after a price change');
-- variant
DELETE FROM commerce_variants WHERE sku = 'MUG-50';
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is((pg_temp.p('prices')::jsonb -> 'USD' ->> 'max'), '2049', 'deleting a variant narrows the range');
SELECT ok(pg_temp.exact(), 'verify empty after a variant change');
-- stock
SELECT is(pg_temp.p('has_stock'), 'false', 'no stock yet');
SELECT '# done' FROM (SELECT rustok.adjust_inventory(jsonb_build_object('variantId', rustok.ulid((SELECT id FROM commerce_variants WHERE sku = 'MUG-3')), 'delta', 7))) _x;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.p('total_stock'), '7', 'stock counts');
SELECT is(pg_temp.p('has_stock'), 'true', 'in stock');
SELECT ok(pg_temp.exact(), 'verify empty after a stock change');
-- category and its name
SELECT '# done' FROM (SELECT pg_temp.save('kitchen', rustok.create_product_category('{"name": "Kitchen"}'))) _x;
INSERT INTO commerce_product_categories (tenant_id, product_id, category_id)
SELECT tenant_id, pg_temp.id('mug'), pg_temp.id('kitchen') FROM people WHERE slug = 'acme' AND who IS NULL;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.p('category_slugs'), '["kitchen"]', 'a category link');
UPDATE commerce_categories SET name = 'Cookware', handle = 'cookware' WHERE id = pg_temp.id('kitchen');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.p('category_slugs'), '["cookware"]', 'a renamed category');
SELECT ok(pg_temp.exact(), 'verify empty after category changes');
-- product tag
INSERT INTO commerce_product_tags (tenant_id, product_id, value)
SELECT tenant_id, pg_temp.id('mug'), 'ceramic' FROM people WHERE slug = 'acme' AND who IS NULL;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT ok(pg_temp.p('search_vector') LIKE '%''ceramic'':%B%', 'a tag is in the vector with weight B');
SELECT ok(pg_temp.exact(), 'verify empty after a tag change');
-- unpublish / publish / delete
UPDATE commerce_products SET status = 'draft' WHERE id = pg_temp.id('mug');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.p('title'), NULL, 'an unpublished product leaves the index');
UPDATE commerce_products SET status = 'published', title = 'Big Mug' WHERE id = pg_temp.id('mug');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.p('title'), 'Big Mug', 'republished with its new title');
SELECT ok(pg_temp.exact(), 'verify empty after unpublish and publish');

-- content: node, body, tags, category name, author name
SELECT '# done' FROM (SELECT pg_temp.save('news', rustok.create_category('{"name": "News"}'))) _x;
SELECT '# done' FROM (SELECT pg_temp.save('post', rustok.create_node(jsonb_build_object('kind', 'post', 'title', 'Héllo', 'body', 'first body',
    'status', 'published', 'categoryId', rustok.ulid(pg_temp.id('news')), 'tags', '["Launch"]'::jsonb)))) _x;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.c('category_slug'), 'news', 'a published post is indexed with its category');
SELECT is(pg_temp.c('tags'), '["launch"]', 'with its tag slugs');
SELECT ok(pg_temp.c('search_vector') LIKE '%''hello'':1A%', 'accent-folded title, weight A');
UPDATE bodies SET body = 'second body' WHERE node_id = pg_temp.id('post');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.c('body_preview'), 'second body', 'a body change');
UPDATE categories SET name = 'Newsroom' WHERE id = pg_temp.id('news');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.c('category_name'), 'Newsroom', 'a category rename');
UPDATE tags SET name = 'Big launch', slug = 'big-launch' WHERE slug = 'launch';
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.c('tags'), '["big-launch"]', 'a tag rename');
UPDATE users SET display_name = 'Ada' WHERE id = pg_temp.person('acme', 'admin');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.c('author_name'), 'Ada', 'an author''s display name');
SELECT ok(pg_temp.exact(), 'verify empty after content changes');
SELECT '# done' FROM (SELECT rustok.unpublish_node(pg_temp.id('post'))) _x;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.c('title'), NULL, 'an unpublished post leaves the index');
SELECT '# done' FROM (SELECT rustok.publish_node(pg_temp.id('post'), now() + interval '1 day')) _x;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT ok(pg_temp.c('published_at')::timestamptz > now(), 'a scheduled post is indexed with its future published_at');
SELECT '# done' FROM (SELECT rustok.delete_node(pg_temp.id('post'))) _x;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.c('title'), NULL, 'a deleted post leaves the index');
SELECT ok(pg_temp.exact(), 'verify empty after unpublish, schedule and delete');

-- a price list (a sale) and its status; the tenant's search language
INSERT INTO commerce_price_lists (tenant_id, id, title, status)
SELECT tenant_id, '01a2167b-0000-7000-8000-000000000001', 'Sale', 'active' FROM people WHERE slug = 'acme' AND who IS NULL;
INSERT INTO commerce_prices (tenant_id, variant_id, currency_code, amount, price_list_id)
SELECT tenant_id, (SELECT id FROM commerce_variants WHERE sku = 'MUG-9'), 'EUR', 100, '01a2167b-0000-7000-8000-000000000001'
FROM people WHERE slug = 'acme' AND who IS NULL;
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.p('min_price'), '100', 'a sale price in an active price list counts');
UPDATE commerce_price_lists SET status = 'draft' WHERE id = '01a2167b-0000-7000-8000-000000000001';
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.p('min_price'), '500', 'a price list set to draft no longer counts');
SELECT ok(pg_temp.exact(), 'verify empty after price list changes');
UPDATE tenants SET settings = settings || '{"search_language": "english"}' WHERE slug = 'acme';
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT ok(pg_temp.p('search_vector') LIKE '%''sturdi'':%', 'a new search language re-stems every row');
SELECT ok(pg_temp.exact(), 'verify empty after the search language changed');

-- realtimeSync off: ids queue, index_drain applies them
UPDATE tenant_modules SET settings = '{"realtimeSync": false}' WHERE module_slug = 'index'
  AND tenant_id = (SELECT tenant_id FROM people WHERE slug = 'acme' AND who IS NULL);
UPDATE commerce_products SET title = 'Queued Mug' WHERE id = pg_temp.id('mug');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT is(pg_temp.p('title'), 'Big Mug', 'with realtime sync off the row waits');
SELECT is((SELECT count(*) FROM index_queue), 1::bigint, 'and the id is queued');
SELECT is((SELECT array_agg(problem) FROM rustok.index_verify()), '{stale}', 'verify reports the stale row');
SELECT is(rustok.index_drain(10), 1, 'a drain takes the queued row');
SELECT is(pg_temp.p('title'), 'Queued Mug', 'and applies it');
SELECT ok(pg_temp.exact(), 'verify empty after the drain');

-- deleting a product; the other tenant never saw any of it
DELETE FROM commerce_products WHERE id = pg_temp.id('mug');
SELECT '# done' FROM (SELECT test_support.settle_index()) _x;
SELECT '# done' FROM (SELECT rustok.index_drain(10)) _x;
SELECT is(pg_temp.p('title'), NULL, 'a deleted product leaves the index');
SELECT pg_temp.act('globex', 'admin');
SELECT is((SELECT count(*) FROM index_products) + (SELECT count(*) FROM index_content), 0::bigint,
          'another tenant sees no index rows (RLS)');

SELECT * FROM finish();
ROLLBACK;
