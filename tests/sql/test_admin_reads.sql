-- The admin's reads and account functions as the application role: commerce_dashboard (orders and revenue
-- per currency, product counts, low stock, time zones), list_pending_comments (who sees which, pages,
-- totalCount), list_tags (usage by reader), index_status and index_verify_summary, create_user and the
-- super_admin rule — with permission refusals, bad input codes and the other tenant seeing nothing.
BEGIN;
SELECT plan(45);

DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;

-- shop figures
SELECT pg_temp.act('acme', 'admin');
SELECT '# saved ' || (pg_temp.save('tea', rustok.create_product('{"title": "Tea", "status": "published", "variants": [
    {"sku": "TEA", "inventoryQuantity": 4, "prices": [{"amount": 800, "currencyCode": "EUR"}, {"amount": 900, "currencyCode": "USD"}]},
    {"sku": "POT", "manageInventory": false, "prices": [{"amount": 3000, "currencyCode": "EUR"}]}]}') -> 'variants' -> 0) ->> 'id');
SELECT '# saved ' || (pg_temp.save('draft', rustok.create_product('{"title": "Draft"}')) ->> 'id');
SELECT pg_temp.act('acme', 'customer');
SELECT '# saved ' || (pg_temp.save('o1', rustok.place_order(rustok.parse_id(rustok.create_cart(jsonb_build_object('currencyCode', 'EUR',
    'lines', jsonb_build_array(jsonb_build_object('variantId', rustok.ulid(pg_temp.id('tea')), 'quantity', 1)))) ->> 'id'))) ->> 'id');
SELECT '# saved ' || (pg_temp.save('o2', rustok.place_order(rustok.parse_id(rustok.create_cart(jsonb_build_object('currencyCode', 'USD',
    'lines', jsonb_build_array(jsonb_build_object('variantId', rustok.ulid(pg_temp.id('tea')), 'quantity', 2)))) ->> 'id'))) ->> 'id');
SELECT pg_temp.act('acme', 'manager');
SELECT is(rustok.commerce_dashboard() -> 'ordersToday',
          '[{"currencyCode": "EUR", "orders": 1, "revenue": 800}, {"currencyCode": "USD", "orders": 1, "revenue": 1800}]',
          'ordersToday: one line per currency, revenue = order totals');
SELECT is(rustok.commerce_dashboard() -> 'ordersThisMonth', rustok.commerce_dashboard() -> 'ordersToday',
          'the month includes today');
SELECT is(rustok.commerce_dashboard() -> 'products', '{"total": 2, "draft": 1, "archived": 0, "published": 1}',
          'products by status');
SELECT is(rustok.commerce_dashboard() #> '{lowStock,count}', '2',
          'low stock: TEA (1 left) and the draft''s default variant (0); POT does not manage inventory');
SELECT is(rustok.commerce_dashboard(low_stock => 0) #>> '{lowStock,variants,0,productTitle}', 'Draft',
          'threshold 0: only the empty one');
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.update_product(pg_temp.id('draft'), '{"status": "archived"}') $$, 'archive the draft');
SELECT is(rustok.commerce_dashboard() #> '{lowStock,count}', '1', 'an archived product''s variants are not low stock');
SELECT lives_ok($$ SELECT rustok.update_product(pg_temp.id('draft'), '{"status": "draft"}') $$, 'and back to draft');
SELECT pg_temp.act('acme', 'manager');
SELECT ok((rustok.commerce_dashboard('Pacific/Kiritimati') ->> 'dayStart')::timestamptz
          <> (rustok.commerce_dashboard('Pacific/Pago_Pago') ->> 'dayStart')::timestamptz,
          'today starts at local midnight of the zone asked');
SELECT pg_temp.act('acme', 'manager');
SELECT lives_ok($$ SELECT rustok.set_order_status(pg_temp.id('o2'), 'canceled') $$, 'cancel the USD order');
SELECT is(rustok.commerce_dashboard() #> '{ordersToday,1}', '{"currencyCode": "USD", "orders": 1, "revenue": 0}',
          'a canceled order counts as an order without revenue');
SELECT throws_ok($$ SELECT rustok.commerce_dashboard('Nowhere/City') $$, 'RK002', NULL, 'unknown time zone');
SELECT throws_ok($$ SELECT rustok.commerce_dashboard('UTC', -1) $$, 'RK002', NULL, 'negative threshold');
SELECT pg_temp.act('acme', 'customer');
SELECT throws_ok($$ SELECT rustok.commerce_dashboard() $$, 'RK005', NULL, 'customers: FORBIDDEN');
SELECT pg_temp.act('acme');
SELECT throws_ok($$ SELECT rustok.commerce_dashboard() $$, 'RK006', NULL, 'anonymous: UNAUTHENTICATED');
SELECT pg_temp.act('globex', 'admin');
SELECT is(rustok.commerce_dashboard() -> 'ordersToday', '[]', 'the other tenant sees no orders');

-- the moderation queue
SELECT pg_temp.act('acme', 'admin');
SELECT '# saved ' || (pg_temp.save('adminpost', rustok.create_node('{"kind": "post", "title": "Admin post", "status": "published"}')) ->> 'id');
SELECT pg_temp.act('acme', 'manager');
SELECT '# saved ' || (pg_temp.save('managerpost', rustok.create_node('{"kind": "post", "title": "Manager post", "status": "published"}')) ->> 'id');
SELECT pg_temp.act('acme', 'customer');
SELECT '# saved ' || (pg_temp.save('c1', rustok.add_comment(pg_temp.id('adminpost'), NULL, 'one')) ->> 'id');
SELECT '# saved ' || (pg_temp.save('c2', rustok.add_comment(pg_temp.id('managerpost'), NULL, 'two')) ->> 'id');
SELECT '# saved ' || (pg_temp.save('c3', rustok.add_comment(pg_temp.id('adminpost'), pg_temp.id('c1'), 'three')) ->> 'id');
SELECT throws_ok($$ SELECT rustok.list_pending_comments() $$, 'RK005', NULL, 'customers cannot read the queue');
SELECT pg_temp.act('acme', 'admin');
SELECT is(rustok.list_pending_comments() -> 'totalCount', '3', 'content.manage: every pending comment');
SELECT is(ARRAY(SELECT e #>> '{node,body}' FROM jsonb_array_elements(rustok.list_pending_comments() -> 'edges') e),
          '{one,two,three}', 'oldest first');
SELECT is(rustok.list_pending_comments(2) #> '{pageInfo,hasNextPage}', 'true', 'a page of 2 says more follow');
SELECT is(rustok.list_pending_comments(2, rustok.list_pending_comments(2) #>> '{pageInfo,endCursor}') #>> '{edges,0,node,body}',
          'three', 'the next page after the cursor');
SELECT is(rustok.list_pending_comments() #>> '{edges,1,node,postTitle}', 'Manager post', 'each with its post''s title');
SELECT is(rustok.list_pending_comments() #>> '{edges,2,node,parentId}', rustok.ulid(pg_temp.id('c1')), 'a reply keeps its parent');
SELECT pg_temp.act('acme', 'manager');
SELECT is(ARRAY(SELECT e #>> '{node,body}' FROM jsonb_array_elements(rustok.list_pending_comments() -> 'edges') e),
          '{two}', 'comments.moderate without content.manage: comments on one''s own posts');
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.moderate_comment(pg_temp.id('c1'), 'approved') $$, 'approve one');
SELECT is(rustok.list_pending_comments() -> 'totalCount', '2', 'approved comments leave the queue');
SELECT throws_ok($$ SELECT rustok.list_pending_comments(101) $$, 'RK002', NULL, 'page size checked');
SELECT pg_temp.act('globex', 'admin');
SELECT is(rustok.list_pending_comments() -> 'totalCount', '0', 'the other tenant''s queue is empty');

-- tags
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "Tagged", "status": "published", "tags": ["Zeta", "alpha"]}'),
                          rustok.create_node('{"kind": "page", "title": "Hidden", "tags": ["alpha"]}') $$, 'tagged nodes');
CREATE FUNCTION pg_temp.tag_counts() RETURNS text[] LANGUAGE sql AS $$
    SELECT ARRAY(SELECT (t ->> 'name') || ':' || (t ->> 'nodeCount') FROM jsonb_array_elements(rustok.list_tags()) t)
$$;
SELECT is(pg_temp.tag_counts(), '{alpha:2,Zeta:1}', 'by name, case-insensitively; content.manage counts drafts too');
SELECT pg_temp.act('acme');
SELECT is(pg_temp.tag_counts(), '{alpha:1,Zeta:1}', 'readers count live nodes only');
SELECT pg_temp.act('globex');
SELECT is(pg_temp.tag_counts(), '{}', 'the other tenant has no tags');

-- index status and verification (the deferred index flush fired now, as COMMIT would)
SELECT pg_temp.act('acme', 'admin');
SET CONSTRAINTS _700_index_flush IMMEDIATE;
SET CONSTRAINTS _700_index_flush DEFERRED;
SELECT is((rustok.index_status() #> '{indexes,0}') - 'lastIndexedAt', '{"target": "products", "rows": 1, "sources": 2}'::jsonb,
          'products: the published one indexed, two sources');
SELECT is(rustok.index_status() -> 'queueLength', '0', 'nothing queued with realtime sync');
SELECT is(rustok.index_verify_summary() - 'sample', '{"exact": true, "differences": 0, "byProblem": []}', 'exact');
RESET ROLE;
DELETE FROM index_content WHERE tenant_id = (SELECT id FROM tenants WHERE slug = 'acme');
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT is(rustok.index_verify_summary(1) -> 'byProblem', '[{"index": "index_content", "count": 3, "problem": "missing"}]',
          'deleted rows are reported missing');
SELECT is(jsonb_array_length(rustok.index_verify_summary(1) -> 'sample'), 1, 'sample limits the listed rows');
SELECT throws_ok($$ SELECT rustok.index_verify_summary(-1) $$, 'RK002', NULL, 'sample checked');
SELECT pg_temp.act('acme', 'manager');
SELECT throws_ok($$ SELECT rustok.index_status() $$, 'RK005', NULL, 'index.manage needed for the status');
SELECT throws_ok($$ SELECT rustok.index_verify_summary() $$, 'RK005', NULL, 'and for verification');

-- creating users, and the super_admin rule
SELECT pg_temp.act('acme', 'admin');
SELECT is(rustok.create_user(' New@Acme.test ', 'h', 'manager', 'Newbie') - 'id' - 'createdAt' - 'updatedAt',
          '{"email": "new@acme.test", "role": "manager", "status": "active", "displayName": "Newbie"}', 'an admin creates a manager');
SELECT throws_ok($$ SELECT rustok.create_user('boss@acme.test', 'h', 'super_admin') $$, 'RK005', NULL,
                 'only a super_admin creates a super_admin');
SELECT throws_ok($$ SELECT rustok.create_user('x@acme.test', 'h', 'wizard') $$, 'RK002', NULL, 'unknown role');
SELECT throws_ok($$ SELECT rustok.create_user('new@acme.test', 'h') $$, 'RK004', NULL, 'email taken');
SELECT pg_temp.act('acme', 'manager');
SELECT throws_ok($$ SELECT rustok.create_user('y@acme.test', 'h') $$, 'RK005', NULL, 'users.manage needed');

SELECT * FROM finish();
ROLLBACK;
