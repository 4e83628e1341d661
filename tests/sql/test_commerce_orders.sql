-- Orders: place_order (stock taken, snapshots, discount usage, per-tenant display ids, OrderPlaced, nothing
-- half-written on refusal), set_order_status (the workflow, stock returned, an event per change),
-- order_by_id, list_orders; quarterly partitions; and, for every public commerce function, the module
-- switch — with permissions, error codes and cross-tenant attempts.
BEGIN;
SELECT plan(117);

-- two tenants (acme, globex), each with an admin, a manager and two customers; pg_temp.act(slug, who) acts
-- as one of them (who null: anonymous), pg_temp.id(name) reads an id saved in the temp table ids
-- (tests/sql/support/two_tenants.sql).
DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;

-- pgTAP runs as the application role below: let it reach pgTAP and this test's temp tables.
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
CREATE FUNCTION pg_temp.variant(sku text) RETURNS uuid LANGUAGE sql AS $$
    SELECT v.id FROM commerce_variants v WHERE v.sku = variant.sku
$$;
CREATE FUNCTION pg_temp.stock(sku text) RETURNS text LANGUAGE sql AS $$
    /* stocked/reserved per location, in location order */
    SELECT string_agg(l.stocked_quantity || '/' || l.reserved_quantity, ' ' ORDER BY l.location_id)
    FROM commerce_inventory_levels l JOIN commerce_variants v ON v.tenant_id = l.tenant_id AND v.id = l.variant_id
    WHERE v.sku = stock.sku
$$;
CREATE FUNCTION pg_temp.cart(name text, lines jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
    /* a cart with {sku: quantity} lines */
    SELECT pg_temp.save(name, rustok.create_cart(jsonb_build_object('currencyCode', 'EUR', 'lines', (
        SELECT jsonb_agg(jsonb_build_object('variantId', rustok.ulid(pg_temp.variant(l.key)), 'quantity', l.value))
        FROM jsonb_each(lines) l)) || extra))
$$;
CREATE FUNCTION pg_temp.place(cart text, email text DEFAULT NULL, shipping jsonb DEFAULT '{"countryCode": "DE"}')
RETURNS jsonb LANGUAGE sql AS $$
    /* acme's EU region ships to Germany, so an order needs an address (by default, one there) */
    SELECT pg_temp.save(cart || '-order', rustok.place_order(pg_temp.id(cart), email, shipping))
$$;
CREATE FUNCTION pg_temp.status(name text, status text) RETURNS text LANGUAGE sql AS $$
    SELECT rustok.set_order_status(pg_temp.id(name), status) ->> 'status'
$$;
CREATE FUNCTION pg_temp.id_at(at timestamptz) RETURNS uuid LANGUAGE sql AS $$
    /* a ULID with a given time, as rustok.gen_id() makes them */
    SELECT encode(substring(int8send(floor(extract(epoch FROM at) * 1000)::bigint) FROM 3)
                  || substring(uuid_send(gen_random_uuid()) FROM 7), 'hex')::uuid
$$;
CREATE TEMP TABLE made (action text, partition_name text);

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.create_product('{"title": "Boots", "status": "published", "variants": [
                       {"sku": "BOOT", "inventoryQuantity": 5, "prices": [{"amount": 8000, "currencyCode": "EUR"}]},
                       {"sku": "SOCK", "allowBackorder": true, "prices": [{"amount": 500, "currencyCode": "EUR"}]},
                       {"sku": "CARE", "manageInventory": false, "prices": [{"amount": 1200, "currencyCode": "EUR"}]}]}'),
                          rustok.create_region('{"name": "EU", "currencyCode": "EUR", "countries": ["DE"],
                                                 "taxRate": {"name": "VAT", "rate": 1000}}'),
                          rustok.create_discount('{"code": "ONCE", "kind": "percentage", "value": 50, "usageLimit": 1}') $$,
                'boots (5 in stock), socks (backorderable, none in stock), care kit (unmanaged), a region, a one-use code');
SELECT lives_ok($$ SELECT pg_temp.save('north', rustok.create_stock_location('{"name": "North"}')),
                          rustok.adjust_inventory(jsonb_build_object('variantId', rustok.ulid(pg_temp.variant('BOOT')),
                                                  'locationId', rustok.ulid(pg_temp.id('north')), 'delta', 1)) $$,
                'a sixth pair of boots in a second location');

-- place_order, as a guest
SELECT pg_temp.act('acme');
SELECT lives_ok($$ SELECT pg_temp.cart('first', '{"BOOT": 2, "SOCK": 3, "CARE": 1}',
                                       jsonb_build_object('regionId', (SELECT rustok.ulid(id) FROM commerce_regions),
                                                          'email', 'guest@example.com')) $$, 'a guest cart');
SELECT is(pg_temp.place('first', NULL, '{"firstName": "Ann", "countryCode": "de"}')
          - 'id' - 'cartId' - 'createdAt' - 'updatedAt' - 'lines' - 'regionId',
          '{"displayId": 1, "status": "pending", "customerId": null, "email": "guest@example.com", "currencyCode": "EUR",
            "subtotal": {"amount": 18700, "currencyCode": "EUR"}, "discountTotal": {"amount": 0, "currencyCode": "EUR"},
            "taxTotal": {"amount": 1870, "currencyCode": "EUR"}, "shippingTotal": {"amount": 0, "currencyCode": "EUR"},
            "total": {"amount": 20570, "currencyCode": "EUR"}, "discountCode": null, "shippingOption": null,
            "shippingAddress": {"firstName": "Ann", "countryCode": "DE"},
            "billingAddress": {"firstName": "Ann", "countryCode": "DE"}}',
          'place_order: the tenant''s order 1 with the cart''s totals; billing address defaults to shipping');
SELECT is((SELECT jsonb_agg(jsonb_build_array(l.sku, l.quantity, l.unit_price, l.subtotal) ORDER BY l.position)
           FROM commerce_order_lines l WHERE l.order_id = pg_temp.id('first-order')),
          '[["BOOT", 2, 8000, 16000], ["CARE", 1, 1200, 1200], ["SOCK", 3, 500, 1500]]',
          'the lines snapshot SKU, quantity and unit price, in the order they were added');
SELECT is(pg_temp.stock('BOOT'), '3/0 1/0', 'two pairs of boots were taken from the first location');
SELECT is(pg_temp.stock('SOCK'), '-3/0', 'three socks were backordered (stock below zero)');
SELECT is(pg_temp.stock('CARE'), NULL, 'the unmanaged care kit has no stock to take');
SELECT is(rustok.cart_by_id(pg_temp.id('first')) ->> 'orderId', rustok.ulid(pg_temp.id('first-order')),
          'the cart is completed and names its order');
SELECT is((SELECT data FROM event_outbox WHERE type = 'OrderPlaced'),
          jsonb_build_object('order_id', rustok.ulid(pg_temp.id('first-order')), 'display_id', 1, 'customer_id', NULL,
                             'total', 20570, 'currency', 'EUR'),
          'OrderPlaced {order_id, display_id, customer_id, total, currency}');
SELECT throws_ok($$ SELECT pg_temp.place('first') $$, 'RK014', NULL, 'placing the same cart again is INVALID_STATE');
SELECT throws_ok($$ SELECT rustok.add_cart_line(pg_temp.id('first'), pg_temp.variant('CARE'), 1) $$, 'RK014', NULL,
                 'and the cart can no longer change');
SELECT throws_ok($$ SELECT rustok.order_by_id(pg_temp.id('first-order')) $$, 'RK006', NULL,
                 'reading an order needs a signed-in user: UNAUTHENTICATED');

-- refusals: each a code, nothing written (no order, no stock taken, no order number used)
SELECT lives_ok($$ SELECT pg_temp.cart('second', '{"BOOT": 4}', '{"email": "guest@example.com"}') $$,
                'a cart for the last four pairs');
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.adjust_inventory(jsonb_build_object('variantId', rustok.ulid(pg_temp.variant('BOOT')), 'delta', -1)) $$,
                'meanwhile one pair is written off');
SELECT pg_temp.act('acme');
SELECT throws_ok($$ SELECT pg_temp.place('second') $$, 'RK220', NULL, 'the order is INSUFFICIENT_STOCK');
SELECT is(pg_temp.stock('BOOT'), '2/0 1/0', 'no stock was taken');
SELECT is(rustok.cart_by_id(pg_temp.id('second')) ->> 'status', 'active', 'the cart stays active');
SELECT lives_ok($$ SELECT rustok.update_cart_line(pg_temp.id('second'), (SELECT id FROM commerce_cart_lines WHERE cart_id = pg_temp.id('second')), 3) $$,
                'with three pairs');
SELECT throws_ok($$ SELECT rustok.place_order(pg_temp.id('second'), NULL, '{"countryCode": "DEU"}') $$, 'RK002', NULL,
                 'a malformed country code is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.place_order(pg_temp.id('second'), NULL, '{"street": "Main St"}') $$, 'RK002', NULL,
                 'an unknown address field is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.place_order(pg_temp.id('second'), 'nobody') $$, 'RK002', NULL,
                 'a malformed email is VALIDATION_FAILED');
SELECT lives_ok($$ SELECT pg_temp.cart('regional', '{"CARE": 1}', jsonb_build_object('regionId', (SELECT rustok.ulid(id) FROM commerce_regions))) $$,
                'a cart in the EU region, without an email');
SELECT throws_ok($$ SELECT pg_temp.place('regional') $$, 'RK002', NULL, 'an order needs an email address');
SELECT throws_ok($$ SELECT pg_temp.place('regional', 'a@example.com', '{"countryCode": "US"}') $$, 'RK002', NULL,
                 'shipping to a country no region serves is VALIDATION_FAILED');
SELECT lives_ok($$ SELECT pg_temp.save('empty', rustok.create_cart('{"currencyCode": "EUR"}')) $$, 'an empty cart');
SELECT throws_ok($$ SELECT pg_temp.place('empty', 'a@example.com') $$, 'RK014', NULL, 'cannot be ordered: INVALID_STATE');
SELECT is((SELECT count(*) FROM commerce_orders), 1::bigint, 'none of the refusals wrote an order');
SELECT is(pg_temp.place('second') ->> 'displayId', '2', 'the next order is number 2: refusals used no number');
SELECT is(pg_temp.stock('BOOT'), '0/0 0/0', 'it took the last three pairs from both locations');

-- the product changes after the order: the order keeps what was bought
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.update_product((SELECT product_id FROM commerce_variants WHERE sku = 'BOOT'), '{"title": "Winter boots"}'),
                          rustok.set_price(jsonb_build_object('variantId', rustok.ulid(pg_temp.variant('BOOT')),
                                                              'currencyCode', 'EUR', 'amount', 9900)) $$,
                'the product is renamed and repriced');
SELECT is((SELECT jsonb_build_array(o -> 'lines' -> 0 ->> 'title', o -> 'lines' -> 0 -> 'unitPrice' -> 'amount')
           FROM rustok.order_by_id(pg_temp.id('first-order')) o),
          '["Boots", 8000]', 'the order keeps the title and price it was placed with');

-- things that change between cart and order
SELECT pg_temp.act('acme');
SELECT lives_ok($$ SELECT pg_temp.cart('gone', '{"CARE": 1}', '{"email": "a@example.com"}'),
                          pg_temp.cart('unpriced', '{"SOCK": 1}', '{"email": "a@example.com"}') $$, 'two more carts');
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.set_price(jsonb_build_object('variantId', rustok.ulid(pg_temp.variant('SOCK')),
                                                              'currencyCode', 'EUR', 'amount', NULL)) $$,
                'the socks lose their EUR price');
SELECT pg_temp.act('acme');
SELECT throws_ok($$ SELECT pg_temp.place('unpriced') $$, 'RK222', NULL, 'a line without a price now is PRICE_NOT_FOUND');

-- discount usage limits hold at placement
SELECT lives_ok($$ SELECT pg_temp.cart('deal1', '{"CARE": 1}', '{"email": "a@example.com"}'),
                          pg_temp.cart('deal2', '{"CARE": 1}', '{"email": "b@example.com"}'),
                          rustok.apply_discount(pg_temp.id('deal1'), 'ONCE'),
                          rustok.apply_discount(pg_temp.id('deal2'), 'ONCE') $$,
                'two carts with the one-use code');
SELECT is(pg_temp.place('deal1') -> 'discountTotal' ->> 'amount', '600', 'the first order gets the discount');
SELECT is((SELECT usage_count FROM commerce_discounts WHERE code = 'ONCE'), 1, 'and uses the code up');
SELECT throws_ok($$ SELECT pg_temp.place('deal2') $$, 'RK221', NULL,
                 'the second is DISCOUNT_INVALID (usage limit reached)');
SELECT throws_ok($$ SELECT rustok.apply_discount(pg_temp.id('gone'), 'ONCE') $$, 'RK221', NULL,
                 'and the code can no longer be applied');

-- a signed-in customer
SELECT pg_temp.act('acme', 'customer');
SELECT lives_ok($$ SELECT pg_temp.cart('mine', '{"CARE": 2}') $$, 'a customer''s cart');
SELECT is((SELECT jsonb_build_array(o ->> 'customerId', o ->> 'email') FROM pg_temp.place('mine') o),
          jsonb_build_array(rustok.ulid(pg_temp.person('acme', 'customer')), 'customer@acme.test'),
          'their order is theirs, with their email by default');
SELECT is(rustok.order_by_id(pg_temp.id('mine-order')) ->> 'displayId', '4', 'they can read it');
SELECT is(rustok.order_by_id(pg_temp.id('first-order')), NULL, 'but not a guest''s order');
SELECT is((SELECT jsonb_agg(e -> 'node' ->> 'displayId') FROM jsonb_array_elements(rustok.list_orders() -> 'edges') e),
          '["4"]', 'list_orders shows a customer their own orders only');
SELECT is((SELECT jsonb_agg(e -> 'node' ->> 'displayId') FROM jsonb_array_elements(
               rustok.list_orders(10, NULL, jsonb_build_object('customerId', rustok.ulid(pg_temp.person('acme', 'other')))) -> 'edges') e),
          '["4"]', 'even when they filter for someone else');
SELECT throws_ok($$ SELECT pg_temp.status('mine-order', 'paid') $$, 'RK005', NULL, 'a customer cannot mark it paid');
SELECT pg_temp.act('acme', 'other');
SELECT is(rustok.order_by_id(pg_temp.id('mine-order')), NULL, 'another customer cannot read it');
SELECT throws_ok($$ SELECT pg_temp.status('mine-order', 'canceled') $$, 'RK003', NULL, 'nor cancel it: NOT_FOUND');
SELECT pg_temp.act('acme', 'customer');
SELECT is(pg_temp.status('mine-order', 'canceled'), 'canceled', 'the customer may cancel their own pending order');

-- the workflow, as an order manager
SELECT pg_temp.act('acme', 'manager');
SELECT is((SELECT jsonb_agg(e -> 'node' ->> 'displayId') FROM jsonb_array_elements(rustok.list_orders() -> 'edges') e),
          '["4", "3", "2", "1"]', 'a manager lists every order of the tenant, newest first');
SELECT is((SELECT jsonb_build_array(c -> 'edges' -> 0 -> 'node' ->> 'displayId', c -> 'pageInfo' -> 'hasNextPage')
           FROM rustok.list_orders(2, rustok.list_orders(2) -> 'pageInfo' ->> 'endCursor') c),
          '["2", false]', 'pages follow the cursor');
SELECT is((SELECT jsonb_agg(e -> 'node' ->> 'displayId') FROM jsonb_array_elements(
               rustok.list_orders(10, NULL, '{"status": "canceled"}') -> 'edges') e), '["4"]', 'filter by status');
SELECT is((SELECT jsonb_agg(e -> 'node' ->> 'displayId') FROM jsonb_array_elements(
               rustok.list_orders(10, NULL, '{"email": "A@example.com"}') -> 'edges') e), '["3"]', 'filter by email');
SELECT throws_ok($$ SELECT pg_temp.status('first-order', 'fulfilled') $$, 'RK014', NULL,
                 'pending cannot jump to fulfilled: INVALID_STATE');
SELECT is(pg_temp.status('first-order', 'paid'), 'paid', 'pending → paid');
SELECT is(pg_temp.status('first-order', 'fulfilled'), 'fulfilled', 'paid → fulfilled');
SELECT throws_ok($$ SELECT pg_temp.status('first-order', 'paid') $$, 'RK014', NULL, 'no way back to paid');
SELECT throws_ok($$ SELECT pg_temp.status('first-order', 'canceled') $$, 'RK014', NULL, 'a fulfilled order cannot be canceled');
SELECT is(pg_temp.status('first-order', 'completed'), 'completed', 'fulfilled → completed');
SELECT is(pg_temp.status('first-order', 'refunded'), 'refunded', 'completed → refunded');
SELECT throws_ok($$ SELECT pg_temp.status('first-order', 'completed') $$, 'RK014', NULL, 'refunded is final');
SELECT throws_ok($$ SELECT pg_temp.status('first-order', 'shipped') $$, 'RK002', NULL, 'an unknown status is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.set_order_status(rustok.gen_id(), 'paid') $$, 'RK003', NULL, 'an unknown order is NOT_FOUND');
SELECT is(pg_temp.stock('BOOT'), '0/0 0/0', 'a refund after fulfilment returns no stock');
SELECT is((SELECT array_agg(type ORDER BY position) FROM event_outbox WHERE data ->> 'order_id' = rustok.ulid(pg_temp.id('first-order'))
           AND type LIKE 'Order%'),
          '{OrderPlaced,OrderPaid,OrderFulfilled,OrderCompleted,OrderRefunded}', 'each change emitted its event');
SELECT is(pg_temp.status('second-order', 'paid'), 'paid', 'the second order is paid');
SELECT is(pg_temp.status('second-order', 'canceled'), 'canceled', 'and canceled before fulfilment');
SELECT is(pg_temp.stock('BOOT'), '2/0 1/0', 'which returns its three pairs where they came from');
SELECT throws_ok($$ SELECT pg_temp.status('second-order', 'paid') $$, 'RK014', NULL, 'canceled is final');
SELECT is((SELECT data - 'order_id' - 'customer_id' FROM event_outbox WHERE type = 'OrderCanceled' ORDER BY position DESC LIMIT 1),
          '{"display_id": 2, "from": "paid", "to": "canceled"}', 'OrderCanceled says from where');
SELECT pg_temp.act('acme', 'admin');

-- partitions: by quarter, the order's created_at is the time in its id
RESET ROLE;
SELECT is((SELECT array_agg(table_name || ':' || period ORDER BY table_name) FROM partitioned_tables WHERE table_name LIKE 'commerce%'),
          '{commerce_order_lines:quarter,commerce_orders:quarter}', 'orders and their lines are registered by quarter');
SELECT is((SELECT tableoid::regclass::text FROM commerce_orders WHERE id = pg_temp.id('first-order')),
          rustok._partition_name('commerce_orders', 'quarter', date_trunc('quarter', now(), 'UTC')),
          'an order lands in its quarter''s partition');
SELECT is((SELECT bool_and(created_at = rustok._commerce_id_time(id)) FROM commerce_orders), true,
          'every order''s created_at is the time in its id');
SELECT throws_ok($$ UPDATE commerce_orders SET created_at = created_at - interval '1 year' WHERE id = pg_temp.id('first-order') $$,
                 '23514', NULL, 'and cannot be made otherwise');
DO $$
DECLARE
    ahead timestamptz := now() + interval '6 years';
    order_id uuid := pg_temp.id_at(ahead);
BEGIN
    INSERT INTO ids VALUES ('future', order_id);
    INSERT INTO commerce_orders (tenant_id, id, created_at, display_id, email, currency_code, subtotal, total)
    SELECT tenant_id, order_id, rustok._commerce_id_time(order_id), 1000, 'x@example.com', 'EUR', 100, 100
    FROM people WHERE slug = 'acme' AND who IS NULL;
    INSERT INTO commerce_order_lines (tenant_id, order_id, created_at, title, variant_title, quantity, unit_price, subtotal)
    SELECT tenant_id, order_id, rustok._commerce_id_time(order_id), 'Future', 'Default', 1, 100, 100
    FROM people WHERE slug = 'acme' AND who IS NULL;
END $$;
SELECT is((SELECT tableoid::regclass::text FROM commerce_orders WHERE id = pg_temp.id('future')), 'commerce_orders_default',
          'an order beyond the partitions made ahead lands in the default partition');
-- (the events' commit stamp runs now, as COMMIT would: six years on, the partition of this transaction's first
-- event is dropped, which PostgreSQL refuses while a trigger on its rows is pending)
SET CONSTRAINTS _900_commit_order IMMEDIATE;
INSERT INTO made SELECT * FROM rustok.maintain_partitions(now() + interval '6 years');
SELECT is((SELECT jsonb_build_array(o.tableoid::regclass::text, l.tableoid::regclass::text)
           FROM commerce_orders o JOIN commerce_order_lines l ON l.order_id = o.id WHERE o.id = pg_temp.id('future')),
          jsonb_build_array(rustok._partition_name('commerce_orders', 'quarter', date_trunc('quarter', now() + interval '6 years', 'UTC')),
                            rustok._partition_name('commerce_order_lines', 'quarter', date_trunc('quarter', now() + interval '6 years', 'UTC'))),
          'maintain_partitions moves it and its lines into the new quarter''s partitions');
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT is(rustok.order_by_id(pg_temp.id('future')) ->> 'displayId', '1000', 'where a lookup by id finds it');

-- another tenant: its own numbering, nothing of acme's
SELECT pg_temp.act('globex', 'admin');
SELECT is(rustok.order_by_id(pg_temp.id('first-order')), NULL, 'globex cannot read acme''s order');
SELECT is(rustok.list_orders() -> 'edges', '[]', 'nor list it');
SELECT throws_ok($$ SELECT pg_temp.status('first-order', 'canceled') $$, 'RK003', NULL, 'nor change it: NOT_FOUND');
SELECT throws_ok($$ SELECT pg_temp.place('gone') $$, 'RK003', NULL, 'nor order acme''s cart: NOT_FOUND');
SELECT lives_ok($$ SELECT rustok.create_product('{"title": "Hat", "status": "published", "variants": [{"sku": "HAT",
                       "inventoryQuantity": 1, "prices": [{"amount": 100, "currencyCode": "EUR"}]}]}') $$, 'a globex product');
SELECT lives_ok($$ SELECT pg_temp.cart('globex', '{"HAT": 1}', '{"email": "g@example.com"}') $$, 'a globex cart');
SELECT is(pg_temp.place('globex') ->> 'displayId', '1', 'globex''s first order is its number 1');

-- the module switch: every public commerce function refuses while commerce is disabled for the tenant (that each
-- begins with require_module is checked for every module by tests/py/test_module_rules.py)
SELECT pg_temp.act('acme', 'admin');
DO $$ BEGIN PERFORM rustok.disable_module('index'); PERFORM rustok.disable_module('commerce'); END $$;
SELECT throws_ok(call, 'RK010', NULL, 'module disabled: ' || call) FROM unnest(ARRAY[
    $$ SELECT rustok.product_by_id(rustok.gen_id()) $$, $$ SELECT rustok.product_by_handle('x') $$,
    $$ SELECT rustok.list_products() $$, $$ SELECT rustok.create_product('{"title": "X"}') $$,
    $$ SELECT rustok.update_product(rustok.gen_id(), '{}') $$, $$ SELECT rustok.delete_product(rustok.gen_id()) $$,
    $$ SELECT rustok.create_product_category('{"name": "X"}') $$, $$ SELECT rustok.create_product_collection('{"title": "X"}') $$,
    $$ SELECT * FROM rustok.variant_price(rustok.gen_id(), 'EUR') $$, $$ SELECT rustok.set_price('{}') $$,
    $$ SELECT rustok.create_price_list('{"title": "X"}') $$, $$ SELECT rustok.create_customer_group('X') $$,
    $$ SELECT rustok.add_customer_to_group(rustok.gen_id(), rustok.gen_id()) $$,
    $$ SELECT rustok.create_stock_location('{"name": "X"}') $$, $$ SELECT rustok.adjust_inventory('{}') $$,
    $$ SELECT rustok.release_expired_reservations() $$, $$ SELECT rustok.create_region('{}') $$,
    $$ SELECT rustok.set_tax_rate(rustok.gen_id(), '{}') $$, $$ SELECT rustok.create_shipping_option('{}') $$,
    $$ SELECT rustok.create_discount('{}') $$, $$ SELECT rustok.cart_by_id(rustok.gen_id()) $$,
    $$ SELECT rustok.create_cart('{}') $$, $$ SELECT rustok.add_cart_line(rustok.gen_id(), rustok.gen_id(), 1) $$,
    $$ SELECT rustok.update_cart_line(rustok.gen_id(), rustok.gen_id(), 1) $$,
    $$ SELECT rustok.remove_cart_line(rustok.gen_id(), rustok.gen_id()) $$,
    $$ SELECT rustok.apply_discount(rustok.gen_id(), 'X') $$, $$ SELECT rustok.start_checkout(rustok.gen_id()) $$,
    $$ SELECT rustok.cancel_checkout(rustok.gen_id()) $$, $$ SELECT rustok.place_order(rustok.gen_id()) $$,
    $$ SELECT rustok.set_order_status(rustok.gen_id(), 'paid') $$, $$ SELECT rustok.order_by_id(rustok.gen_id()) $$,
    $$ SELECT rustok.list_orders() $$]) AS call;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
