-- Lists and counts over content and products show only what the caller may read of the items themselves
-- (docs/security.md, point 11): the tag list and its counts, the content search's facets (kinds, categories,
-- tags), the product search's facets (categories, tags, price buckets) on both its paths, and the shop's
-- currencies, for anonymous callers and signed-in customers; an author also counts their own drafts, a
-- content manager everything. A draft's, a scheduled post's or an unpublished product's tags, categories and
-- currencies stay unknown until they are live.
BEGIN;
SELECT plan(22);

-- two tenants (acme, globex), each with an admin, a manager and two customers; pg_temp.act(slug, who) acts
-- as one of them (who null: anonymous) (tests/sql/support/two_tenants.sql).
DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
CREATE FUNCTION pg_temp.tags() RETURNS text[] LANGUAGE sql AS $$
    /* list_tags as 'slug:nodeCount', in its order */
    SELECT coalesce(array_agg((t ->> 'slug') || ':' || (t ->> 'nodeCount') ORDER BY i), '{}')
    FROM jsonb_array_elements(rustok.list_tags()) WITH ORDINALITY AS x (t, i)
$$;
CREATE FUNCTION pg_temp.facets(result jsonb) RETURNS text[] LANGUAGE sql AS $$
    /* every facet value of a search result as 'facet:value:count', sorted */
    SELECT coalesce(array_agg(x.t ORDER BY x.t), '{}')
    FROM (SELECT f.key || ':' || coalesce(v ->> 'value', (v ->> 'min') || '-' || coalesce(v ->> 'max', ''))
                 || ':' || (v ->> 'count') AS t
          FROM jsonb_each(result -> 'facets') f, jsonb_array_elements(f.value) v) x
$$;

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.create_category('{"name": "News"}'), rustok.create_category('{"name": "Plans"}') $$,
                'two content categories');
SELECT pg_temp.act('acme', 'manager');
SELECT lives_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "Launch", "status": "published",
                                              "tags": ["News", "Shared"], "categoryId": null}'),
                          rustok.create_node(jsonb_build_object('kind', 'post', 'title', 'Secret plan', 'tags', '["Secret", "Shared"]'::jsonb,
                                             'categoryId', (SELECT rustok.ulid(c.id) FROM categories c WHERE c.slug = 'plans'))),
                          rustok.create_node('{"kind": "page", "title": "Coming", "status": "published",
                                              "publishedAt": "2999-01-01T00:00:00Z", "tags": ["Soon"]}') $$,
                'a writer''s live post, draft post and scheduled page, tagged');
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "Archived", "status": "archived", "tags": ["Old"]}'),
                          rustok.create_product_category('{"name": "Lighting"}'),
                          rustok.create_product_category('{"name": "Drones"}') $$,
                'an admin''s archived post; two product categories');
SELECT lives_ok($$ SELECT rustok.create_product(jsonb_build_object('title', 'Desk lamp', 'status', 'published',
                              'tags', '["lamps"]'::jsonb, 'categoryIds', jsonb_build_array((SELECT rustok.ulid(c.id)
                                  FROM commerce_categories c WHERE c.handle = 'lighting')),
                              'variants', '[{"sku": "LAMP", "prices": [{"amount": 2500, "currencyCode": "EUR"}]}]'::jsonb)),
                          rustok.create_product(jsonb_build_object('title', 'Secret drone', 'status', 'draft',
                              'tags', '["drones"]'::jsonb, 'categoryIds', jsonb_build_array((SELECT rustok.ulid(c.id)
                                  FROM commerce_categories c WHERE c.handle = 'drones')),
                              'variants', '[{"sku": "DRONE", "prices": [{"amount": 90000, "currencyCode": "EUR"},
                                                                       {"amount": 9000000, "currencyCode": "JPY"}]}]'::jsonb)) $$,
                'a published lamp and a draft drone (the only product priced in JPY)');
DO $$ BEGIN PERFORM test_support.settle_index(); END $$;

-- tags
SELECT pg_temp.act('acme');
SELECT is(pg_temp.tags(), '{news:1,shared:1}', 'anonymous: only tags of live nodes, counting live nodes');
SELECT pg_temp.act('acme', 'customer');
SELECT is(pg_temp.tags(), '{news:1,shared:1}', 'a signed-in customer: the same');
SELECT pg_temp.act('acme', 'manager');
SELECT is(pg_temp.tags(), '{news:1,secret:1,shared:2,soon:1}',
          'the writer: also the tags of their own draft and scheduled page, counted');
SELECT pg_temp.act('acme', 'admin');
SELECT is(pg_temp.tags(), '{news:1,old:1,secret:1,shared:2,soon:1}', 'a content manager: every tag, every node');

-- the content search's facets
SELECT pg_temp.act('acme');
SELECT is(pg_temp.facets(rustok.search_content()), '{kinds:post:1,tags:news:1,tags:shared:1}',
          'anonymous: search_content facets count live nodes only');
SELECT is(pg_temp.facets(rustok.search_content('secret plan')), '{}', 'searching for the draft finds nothing');
SELECT pg_temp.act('acme', 'customer');
SELECT is(pg_temp.facets(rustok.search_content()), '{kinds:post:1,tags:news:1,tags:shared:1}',
          'a signed-in customer: the same');
SELECT is(rustok.search_content(NULL, '{"tag": "secret"}') ->> 'totalCount', '0', 'filtering by the draft''s tag: 0');

-- the product search's facets, on the browse path (no text, a currency) and the general one
SELECT pg_temp.act('acme');
SELECT is(pg_temp.facets(rustok.search_products(NULL, '{"currency": "EUR"}')),
          '{categories:lighting:1,priceBuckets:1000-5000:1,tags:lamps:1}', 'anonymous, browsing: the lamp only');
SELECT is(pg_temp.facets(rustok.search_products()),
          '{categories:lighting:1,priceBuckets:1000-5000:1,tags:lamps:1}', 'anonymous, the general path: the same');
SELECT is(pg_temp.facets(rustok.search_products('drone')), '{}', 'searching for the draft finds nothing');
SELECT pg_temp.act('acme', 'customer');
SELECT is(pg_temp.facets(rustok.search_products(NULL, '{"currency": "EUR"}')),
          '{categories:lighting:1,priceBuckets:1000-5000:1,tags:lamps:1}', 'a signed-in customer, browsing: the same');
SELECT is(rustok.search_products(NULL, '{"tag": "drones"}') ->> 'totalCount', '0', 'filtering by the draft''s tag: 0');
SELECT is(rustok.list_products(20, NULL, '{"tag": "drones"}') -> 'edges', '[]', 'list_products by the draft''s tag: none');

-- the shop's currencies
SELECT is(jsonb_path_query_array(rustok.storefront_shop(), '$.currencies[*].code'), '["EUR"]',
          'the shop''s currencies: those of published products (not the draft''s JPY)');
SELECT pg_temp.act('acme');
SELECT is(jsonb_path_query_array(rustok.storefront_shop(), '$.currencies[*].code'), '["EUR"]', 'anonymous: the same');

-- no tenant
SELECT test_support.set_settings(NULL, pg_temp.person('acme', 'customer'), 'customer');  -- set_context refuses it
SELECT throws_ok($$ SELECT rustok.list_tags() $$, 'RK007', NULL, 'no tenant: tags are TENANT_REQUIRED');
SELECT throws_ok($$ SELECT rustok.search_content() $$, 'RK007', NULL, 'and so is the content search');

SELECT * FROM finish();
ROLLBACK;
