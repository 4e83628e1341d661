-- The storefront's SQL reads: the host-name tenant lookup (SECURITY DEFINER, works with no tenant set, like the
-- slug lookup), the index columns the product and post pages show (variants with option values, guest prices
-- and stock; the body and its format) kept exact by upkeep — option renames included — and the single-item,
-- shop and sitemap reads over the index.
BEGIN;
SELECT plan(21);
SELECT '# done' FROM (SELECT test_support.two_tenants()) _x;
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA pg_temp TO rustok_app;


UPDATE tenants SET settings = settings || '{"domains": ["shop.acme.test", "acme.example"]}' WHERE slug = 'acme';
SET LOCAL ROLE rustok_app;
SELECT rustok.set_context(NULL);
SELECT is(rustok.storefront_tenant_by_host('shop.acme.test'), (SELECT tenant_id FROM people WHERE slug = 'acme' AND who IS NULL),
          'a listed host name finds its tenant with no context set (SECURITY DEFINER)');
SELECT is(rustok.storefront_tenant_by_host('Shop.ACME.test:8443'), (SELECT tenant_id FROM people WHERE slug = 'acme' AND who IS NULL),
          'in any case, with a port');
SELECT is(rustok.storefront_tenant_by_host('globex.example'), NULL, 'an unlisted host: null');
SELECT is(rustok.storefront_tenant_by_host(''), NULL, 'no host: null');
RESET ROLE;
UPDATE tenants SET is_active = false WHERE slug = 'acme';
SET LOCAL ROLE rustok_app;
SELECT is(rustok.storefront_tenant_by_host('shop.acme.test'), NULL, 'an inactive tenant: null');
RESET ROLE;
UPDATE tenants SET is_active = true WHERE slug = 'acme';

SELECT pg_temp.act('acme', 'admin');
SELECT '# done' FROM (SELECT pg_temp.save('shirt', rustok.create_product(jsonb_build_object(
    'title', 'Shirt', 'status', 'published', 'options', '[{"title": "Size", "values": ["S", "M"]}]'::jsonb,
    'variants', '[{"sku": "S1", "options": [{"option": "Size", "value": "S"}], "inventoryQuantity": 2,
                   "prices": [{"amount": 1000, "currencyCode": "EUR"}, {"amount": 1200, "currencyCode": "USD"}]},
                  {"sku": "M1", "options": [{"option": "Size", "value": "M"}], "manageInventory": false,
                   "prices": [{"amount": 1500, "currencyCode": "EUR"}]}]'::jsonb)))) _x;
SELECT '# done' FROM (SELECT pg_temp.save('post', rustok.create_node(
    '{"kind": "post", "title": "News", "slug": "news", "body": "# Hi", "status": "published"}'))) _x;
SELECT test_support.settle_index();

SELECT is((SELECT jsonb_path_query_array(variants, '$[*].options[*].value') FROM index_products
           WHERE product_id = pg_temp.id('shirt')), '["S", "M"]', 'variants carry their option values');
SELECT is((SELECT variants -> 0 -> 'prices' FROM index_products WHERE product_id = pg_temp.id('shirt')),
          '{"EUR": 1000, "USD": 1200}', 'and guest unit prices per currency');
SELECT is((SELECT jsonb_path_query_array(variants, '$[*].available') FROM index_products
           WHERE product_id = pg_temp.id('shirt')), '[2, null]', 'stock available, null when not managed');
SELECT is((SELECT prices FROM index_products WHERE product_id = pg_temp.id('shirt')),
          '{"EUR": {"min": 1000, "max": 1500}, "USD": {"min": 1200, "max": 1200}}',
          'the product''s price range comes from its variants');
SELECT is((SELECT options FROM index_products WHERE product_id = pg_temp.id('shirt')),
          '[{"title": "Size", "values": ["S", "M"]}]', 'options with their values in order');
SELECT is((SELECT body || '|' || body_format FROM index_content WHERE node_id = pg_temp.id('post')), '# Hi|markdown',
          'content rows carry the whole body and its format');

RESET ROLE;
UPDATE commerce_product_option_values SET value = 'Small' WHERE value = 'S';
SELECT test_support.settle_index();
SELECT is((SELECT jsonb_path_query_array(variants, '$[*].options[*].value') FROM index_products
           WHERE product_id = pg_temp.id('shirt')), '["Small", "M"]', 'an option value renamed: the index follows');
SELECT is((SELECT count(*) FROM rustok.index_verify()), 0::bigint, 'and the index stays exact');

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme');
SELECT is(rustok.storefront_product('shirt') -> 'variants' -> 1 ->> 'sku', 'M1', 'storefront_product by handle');
SELECT is(rustok.storefront_node('post', 'news') ->> 'body', '# Hi', 'storefront_node by kind and slug');
SELECT is(rustok.storefront_shop() -> 'currencies', '[{"code": "EUR", "name": "Euro", "minorUnits": 2},
          {"code": "USD", "name": "US Dollar", "minorUnits": 2}]', 'the shop''s currencies from the index');
SELECT is(rustok.storefront_sitemap() -> 'posts' -> 0 ->> 'slug', 'news', 'the sitemap lists live posts');
SELECT is(rustok.storefront_home() -> 'featured', 'false', 'home: nothing is tagged featured');
SELECT is(jsonb_path_query_array(rustok.storefront_home(), '$.products[*].title'), '["Shirt"]',
          'so the newest products are shown');
RESET ROLE;
SELECT pg_temp.act('acme', 'admin');
SELECT '# done' FROM (SELECT rustok.create_product('{"title": "Hat", "status": "published", "tags": ["featured"],
    "variants": [{"sku": "H1", "prices": [{"amount": 500, "currencyCode": "EUR"}]}]}')) _x;
SELECT test_support.settle_index();
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme');
SELECT is(rustok.storefront_home() -> 'products', jsonb_build_array(jsonb_build_object(
              'id', rustok.storefront_product('hat') ->> 'id', 'title', 'Hat', 'subtitle', null, 'handle', 'hat',
              'inStock', false, 'prices', '[{"currencyCode": "EUR", "min": 500, "max": 500}]'::jsonb)),
          'a product tagged featured: only the featured ones, as cards');
SELECT pg_temp.act('globex');
SELECT is(rustok.storefront_product('shirt'), NULL, 'another tenant''s product is not there');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
