-- Commerce catalog: the schema's keys, the currency reference table, create_product (options, variants,
-- prices, stock, categories, collections, tags in one call), update_product, delete_product, the reads
-- (product_by_id, product_by_handle, list_products), create_product_category, create_product_collection —
-- with permissions, error codes, events, the module switch and cross-tenant attempts.
BEGIN;
SELECT plan(68);

-- two tenants (acme, globex), each with an admin, a manager and two customers; pg_temp.act(slug, who) acts
-- as one of them (who null: anonymous), pg_temp.id(name) reads an id saved in the temp table ids
-- (tests/sql/support/two_tenants.sql).
DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;

-- pgTAP runs as the application role below: let it reach pgTAP and this test's temp tables.
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;

-- the schema: every key of a commerce tenant table starts with tenant_id (foreign keys to the ISO currency
-- table excepted), and the ISO 4217 reference table is seeded with minor units
SELECT is((SELECT coalesce(array_agg(c.conrelid::regclass || '.' || c.conname ORDER BY 1), '{}')
           FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
           WHERE r.relname LIKE 'commerce\_%' AND NOT r.relispartition AND c.contype IN ('p', 'u', 'f')
             AND c.confrelid IS DISTINCT FROM 'commerce_currencies'::regclass
             AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attname = 'tenant_id')
             AND (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum = c.conkey[1])
                 <> 'tenant_id'),
          '{}', 'every primary, unique and foreign key of a commerce tenant table starts with tenant_id');
SELECT is((SELECT jsonb_object_agg(code, minor_units) FROM commerce_currencies WHERE code IN ('EUR', 'JPY', 'KWD', 'CLF')),
          '{"EUR": 2, "JPY": 0, "KWD": 3, "CLF": 4}', 'ISO 4217 currencies come with their minor units');
SELECT cmp_ok((SELECT count(*) FROM commerce_currencies), '>=', 150::bigint, 'the whole ISO 4217 list is seeded');

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');

-- create_product
SELECT is(pg_temp.save('tee', rustok.create_product($$ {
              "title": "Organic T-Shirt", "status": "published", "tags": ["summer", "cotton", "summer"],
              "options": [{"title": "Size", "values": ["S", "M"]}, {"title": "Colour", "values": ["Red"]}],
              "variants": [
                  {"sku": "TEE-S", "options": [{"option": "Size", "value": "S"}, {"option": "Colour", "value": "Red"}],
                   "prices": [{"amount": 1999, "currencyCode": "eur"}, {"amount": "2199", "currencyCode": "USD"}],
                   "inventoryQuantity": 10},
                  {"sku": "TEE-M", "options": [{"option": "Colour", "value": "Red"}, {"option": "Size", "value": "M"}],
                   "prices": [{"amount": 1999, "currencyCode": "EUR"}, {"amount": 1799, "currencyCode": "EUR", "minQuantity": 3}]}
              ]} $$)) - 'id' - 'createdAt' - 'updatedAt' - 'options' - 'variants',
          '{"title": "Organic T-Shirt", "handle": "organic-t-shirt", "status": "published", "subtitle": null,
            "description": null, "discountable": true, "metadata": {}, "tags": ["cotton", "summer"],
            "categories": [], "collections": []}',
          'create_product returns the product: handle made from the title, tags deduplicated');
SELECT is((SELECT jsonb_agg(jsonb_build_object('title', v ->> 'title', 'sku', v ->> 'sku',
                                               'prices', jsonb_path_query_array(v, '$.prices[*].amount'),
                                               'stock', v -> 'inventoryQuantity'))
           FROM jsonb_array_elements(rustok.product_by_id(pg_temp.id('tee')) -> 'variants') v),
          '[{"title": "S / Red", "sku": "TEE-S", "prices": [1999, 2199], "stock": 10},
            {"title": "M / Red", "sku": "TEE-M", "prices": [1999, 1799], "stock": 0}]',
          'variants are titled from their option values, with their prices and initial stock');
SELECT is((SELECT count(*) FROM commerce_variant_option_values WHERE product_id = pg_temp.id('tee')), 4::bigint,
          'each variant has one value of each option');
SELECT is((SELECT data - 'variant_ids' FROM event_outbox WHERE type = 'ProductCreated'),
          jsonb_build_object('product_id', rustok.ulid(pg_temp.id('tee')), 'handle', 'organic-t-shirt'),
          'ProductCreated names the product');
SELECT is((SELECT jsonb_array_length(data -> 'variant_ids') FROM event_outbox WHERE type = 'ProductCreated'), 2,
          'and its variants');
SELECT is(rustok.create_product('{"title": "Gift card"}') -> 'variants' -> 0 ->> 'title', 'Default',
          'a product without variants gets one Default variant');

-- bad input: each a code, nothing written
CREATE TEMP TABLE before AS SELECT (SELECT count(*) FROM commerce_products) AS products,
                                   (SELECT count(*) FROM commerce_variants) AS variants,
                                   (SELECT count(*) FROM commerce_prices) AS prices;
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Organic T-Shirt"}') $$, 'RK004', NULL,
                 'a handle taken in the tenant is CONFLICT');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "variants": [{"sku": "NEW-1"}, {"sku": "TEE-S"}]}') $$,
                 'RK004', NULL, 'a SKU taken in the tenant is CONFLICT');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "variants": [{"prices": [{"amount": -1, "currencyCode": "EUR"}]}]}') $$,
                 'RK002', NULL, 'a negative price is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "variants": [{"prices": [{"amount": 19.99, "currencyCode": "EUR"}]}]}') $$,
                 'RK002', NULL, 'a fractional amount is VALIDATION_FAILED (money is integer minor units)');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "variants": [{"prices": [{"amount": 100, "currencyCode": "XYZ"}]}]}') $$,
                 'RK223', NULL, 'an unknown currency is CURRENCY_UNKNOWN');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "variants": [{"prices": [{"amount": 1, "currencyCode": "EUR"}, {"amount": 2, "currencyCode": "EUR"}]}]}') $$,
                 'RK002', NULL, 'two prices for the same currency, list and tier are VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "variants": [{"inventoryQuantity": -5}]}') $$,
                 'RK002', NULL, 'a negative initial stock is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "options": [{"title": "Size", "values": ["S"]}],
                                                   "variants": [{"options": [{"option": "Size", "value": "XL"}]}]}') $$,
                 'RK002', NULL, 'an option value the product does not offer is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "options": [{"title": "Size", "values": ["S"]}],
                                                   "variants": [{}]}') $$,
                 'RK002', NULL, 'a variant without a value for every option is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "options": [{"title": "Size", "values": ["S", "M"]}],
                                                   "variants": [{"options": [{"option": "Size", "value": "S"}]},
                                                                {"options": [{"option": "Size", "value": "S"}]}]}') $$,
                 'RK002', NULL, 'two variants with the same option values are VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": ""}') $$, 'RK002', NULL, 'a title is required');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "status": "live"}') $$, 'RK002', NULL,
                 'an unknown status is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "handle": "Not A Handle"}') $$, 'RK002', NULL,
                 'a malformed handle is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "categoryIds": ["nonsense"]}') $$, 'RK001', NULL,
                 'a malformed id is INVALID_ID');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "Other", "categoryIds": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]}') $$,
                 'RK003', NULL, 'an unknown category is NOT_FOUND');
SELECT is((SELECT (count(*), (SELECT count(*) FROM commerce_variants), (SELECT count(*) FROM commerce_prices))::text
           FROM commerce_products),
          (SELECT (products, variants, prices)::text FROM before), 'none of the refused calls wrote anything');

-- categories, collections, and linking them
SELECT is(pg_temp.save('shirts', rustok.create_product_category('{"name": "Shirts"}')) ->> 'handle', 'shirts',
          'create_product_category makes the handle from the name');
SELECT is(pg_temp.save('tops', rustok.create_product_category(
              jsonb_build_object('name', 'Tops', 'parentId', rustok.ulid(pg_temp.id('shirts'))))) ->> 'parentId',
          rustok.ulid(pg_temp.id('shirts')), 'a category can have a parent');
SELECT throws_ok($$ SELECT rustok.create_product_category('{"name": "Shirts"}') $$, 'RK004', NULL,
                 'a category handle taken is CONFLICT');
SELECT throws_ok($$ SELECT rustok.create_product_category('{"name": "X", "parentId": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}') $$,
                 'RK003', NULL, 'an unknown parent is NOT_FOUND');
SELECT is(pg_temp.save('summer', rustok.create_product_collection('{"title": "Summer 2026"}')) ->> 'handle',
          'summer-2026', 'create_product_collection makes the handle from the title');
SELECT throws_ok($$ SELECT rustok.create_product_collection('{"title": "Summer 2026"}') $$, 'RK004', NULL,
                 'a collection handle taken is CONFLICT');

-- update_product
SELECT is(rustok.update_product(pg_temp.id('tee'), jsonb_build_object(
              'subtitle', 'Soft', 'categoryIds', jsonb_build_array(rustok.ulid(pg_temp.id('shirts'))),
              'collectionIds', jsonb_build_array(rustok.ulid(pg_temp.id('summer'))), 'tags', '["organic"]'::jsonb))
          - 'id' - 'createdAt' - 'updatedAt' - 'options' - 'variants' - 'categories' - 'collections',
          '{"title": "Organic T-Shirt", "handle": "organic-t-shirt", "status": "published", "subtitle": "Soft",
            "description": null, "discountable": true, "metadata": {}, "tags": ["organic"]}',
          'update_product changes only what is given; tags are replaced');
SELECT is((SELECT jsonb_build_array(p -> 'categories' -> 0 ->> 'handle', p -> 'collections' -> 0 ->> 'handle')
           FROM rustok.product_by_id(pg_temp.id('tee')) p),
          '["shirts", "summer-2026"]', 'categories and collections are linked');
SELECT is(jsonb_array_length(rustok.update_product(pg_temp.id('tee'), jsonb_build_object(
              'variants', jsonb_build_array(
                  jsonb_build_object('id', (SELECT rustok.ulid(id) FROM commerce_variants WHERE sku = 'TEE-M'),
                                     'sku', 'TEE-M2', 'allowBackorder', true))))
          -> 'variants'), 2, 'an existing variant is changed in place');
SELECT is((SELECT allow_backorder FROM commerce_variants WHERE sku = 'TEE-M2'), true, 'its fields are written');
SELECT throws_ok(format($$ SELECT rustok.update_product(%L, '{"variants": [{"sku": "X", "options": [{"option": "Size", "value": "S"}, {"option": "Colour", "value": "Red"}]}]}') $$,
                        pg_temp.id('tee')),
                 'RK002', NULL, 'a new variant with option values another variant has is VALIDATION_FAILED');
SELECT throws_ok(format($$ SELECT rustok.update_product(%L, '{"handle": "gift-card"}') $$, pg_temp.id('tee')), 'RK004',
                 NULL, 'changing the handle to one that is taken is CONFLICT');
SELECT throws_ok(format($$ SELECT rustok.update_product(%L, '{"variants": [{"id": "%s", "prices": []}]}') $$,
                        pg_temp.id('tee'), (SELECT rustok.ulid(id) FROM commerce_variants WHERE sku = 'TEE-S')),
                 'RK002', NULL, 'an existing variant''s prices are not changed by update_product');
SELECT throws_ok($$ SELECT rustok.update_product(rustok.gen_id(), '{"title": "X"}') $$, 'RK003', NULL,
                 'updating an unknown product is NOT_FOUND');
SELECT is(jsonb_array_length(rustok.update_product(pg_temp.id('tee'), jsonb_build_object(
              'removeVariantIds', jsonb_build_array((SELECT rustok.ulid(id) FROM commerce_variants WHERE sku = 'TEE-M2')),
              'variants', '[{"sku": "TEE-M3", "options": [{"option": "Size", "value": "M"}, {"option": "Colour", "value": "Red"}]}]'::jsonb))
          -> 'variants'), 2, 'a variant can be removed and one with its option values added in one call');
SELECT is((SELECT array_agg(type ORDER BY position) FROM event_outbox
           WHERE type IN ('ProductUpdated', 'VariantCreated', 'VariantUpdated', 'VariantDeleted')),
          '{ProductUpdated,VariantUpdated,ProductUpdated,VariantDeleted,VariantCreated,ProductUpdated}',
          'each update emits ProductUpdated and an event per variant touched');

-- reads: drafts only for products.manage
SELECT lives_ok($$ SELECT pg_temp.save('draft', rustok.create_product('{"title": "Secret", "tags": ["summer"]}')) $$,
                'a draft product');
SELECT pg_temp.act('acme');
SELECT is(rustok.product_by_id(pg_temp.id('tee')) ->> 'handle', 'organic-t-shirt', 'anonymous reads a published product');
SELECT is(rustok.product_by_id(pg_temp.id('draft')), NULL, 'but not a draft');
SELECT is(rustok.product_by_handle('organic-t-shirt') ->> 'title', 'Organic T-Shirt', 'product_by_handle finds it');
SELECT is(rustok.product_by_handle('secret'), NULL, 'but not the draft');
SELECT is((SELECT jsonb_agg(e -> 'node' ->> 'handle') FROM jsonb_array_elements(rustok.list_products() -> 'edges') e),
          '["organic-t-shirt"]', 'list_products shows anonymous callers published products only');
SELECT is((SELECT jsonb_agg(e -> 'node' ->> 'handle') FROM jsonb_array_elements(
               rustok.list_products(10, NULL, '{"status": "draft"}') -> 'edges') e),
          NULL, 'even when asked for drafts');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "X"}') $$, 'RK006', NULL,
                 'anonymous cannot create a product: UNAUTHENTICATED');
SELECT pg_temp.act('acme', 'customer');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "X"}') $$, 'RK005', NULL, 'a customer: FORBIDDEN');
SELECT throws_ok(format($$ SELECT rustok.delete_product(%L) $$, pg_temp.id('tee')), 'RK005', NULL,
                 'nor delete one');
SELECT pg_temp.act('acme', 'manager');
SELECT is((SELECT jsonb_agg(e -> 'node' ->> 'handle') FROM jsonb_array_elements(rustok.list_products() -> 'edges') e),
          '["secret", "gift-card", "organic-t-shirt"]', 'a manager lists every status, newest first');
SELECT is((SELECT jsonb_build_array(c -> 'edges' -> 0 -> 'node' ->> 'handle', c -> 'pageInfo' -> 'hasNextPage')
           FROM rustok.list_products(1, (rustok.list_products(1) -> 'pageInfo' ->> 'endCursor')) c),
          '["gift-card", true]', 'pages follow the cursor');
SELECT is((SELECT jsonb_agg(e -> 'node' ->> 'handle') FROM jsonb_array_elements(
               rustok.list_products(10, NULL, jsonb_build_object('tag', 'summer')) -> 'edges') e),
          '["secret"]', 'filter by tag');
SELECT is((SELECT jsonb_agg(e -> 'node' ->> 'handle') FROM jsonb_array_elements(
               rustok.list_products(10, NULL, jsonb_build_object('categoryId', rustok.ulid(pg_temp.id('shirts')),
                                                                 'collectionId', rustok.ulid(pg_temp.id('summer')),
                                                                 'search', 'SHIRT')) -> 'edges') e),
          '["organic-t-shirt"]', 'filter by category, collection and title search');
SELECT throws_ok($$ SELECT rustok.list_products(0) $$, 'RK002', NULL, 'a page size of 0 is VALIDATION_FAILED');

-- another tenant: nothing of acme is visible or reachable; handles and SKUs are per tenant
SELECT pg_temp.act('globex', 'admin');
SELECT is(rustok.product_by_id(pg_temp.id('tee')), NULL, 'globex does not see acme''s product');
SELECT is(rustok.list_products() -> 'edges', '[]', 'nor list it');
SELECT throws_ok(format($$ SELECT rustok.update_product(%L, '{"title": "Mine"}') $$, pg_temp.id('tee')), 'RK003', NULL,
                 'updating acme''s product from globex is NOT_FOUND');
SELECT throws_ok(format($$ SELECT rustok.delete_product(%L) $$, pg_temp.id('tee')), 'RK003', NULL,
                 'deleting it is NOT_FOUND');
SELECT throws_ok(format($$ SELECT rustok.create_product('{"title": "X", "categoryIds": ["%s"]}') $$,
                        rustok.ulid(pg_temp.id('shirts'))), 'RK003', NULL,
                 'linking acme''s category from globex is NOT_FOUND');
SELECT is(rustok.create_product('{"title": "Organic T-Shirt", "variants": [{"sku": "TEE-S"}]}') ->> 'handle',
          'organic-t-shirt', 'the same handle and SKU are free in another tenant');
SELECT is((SELECT count(*) FROM commerce_products WHERE tenant_id <> (SELECT tenant_id FROM people WHERE slug = 'globex' AND who IS NULL)),
          0::bigint, 'row-level security hides acme''s rows from globex');

-- delete_product, and the module switch
SELECT pg_temp.act('acme', 'admin');
SELECT is(rustok.delete_product(pg_temp.id('draft')) ->> 'id', rustok.ulid(pg_temp.id('draft')),
          'delete_product returns the id');
SELECT is((SELECT data ->> 'handle' FROM event_outbox WHERE type = 'ProductDeleted'), 'secret', 'and emits ProductDeleted');
SELECT throws_ok(format($$ SELECT rustok.delete_product(%L) $$, pg_temp.id('draft')), 'RK003', NULL,
                 'deleting it again is NOT_FOUND');
DO $$ BEGIN PERFORM rustok.disable_module('index'); PERFORM rustok.disable_module('commerce'); END $$;
SELECT throws_ok(format($$ SELECT rustok.product_by_id(%L) $$, pg_temp.id('tee')), 'RK010', NULL,
                 'with the module disabled for the tenant, reads are MODULE_DISABLED');
SELECT throws_ok($$ SELECT rustok.create_product('{"title": "X"}') $$, 'RK010', NULL, 'and so are writes');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
