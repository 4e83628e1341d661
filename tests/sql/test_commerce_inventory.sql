-- Inventory: create_stock_location, adjust_inventory, the checkout reservations (start_checkout,
-- cancel_checkout, expiry, release_expired_reservations) and the trigger that keeps reserved_quantity equal
-- to the sum of reservations — with permissions, error codes, events and cross-tenant attempts.
BEGIN;
SELECT plan(58);

-- two tenants (acme, globex), each with an admin, a manager and two customers; pg_temp.act(slug, who) acts
-- as one of them (who null: anonymous), pg_temp.id(name) reads an id saved in the temp table ids
-- (tests/sql/support/two_tenants.sql).
DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;

-- pgTAP runs as the application role below: let it reach pgTAP and this test's temp tables.
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
CREATE FUNCTION pg_temp.variant(sku text) RETURNS text LANGUAGE sql AS $$
    SELECT rustok.ulid(v.id) FROM commerce_variants v WHERE v.sku = variant.sku
$$;
CREATE FUNCTION pg_temp.adjust(sku text, delta int, location text DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
    SELECT rustok.adjust_inventory(jsonb_build_object('variantId', pg_temp.variant(sku), 'delta', delta,
                                                      'locationId', rustok.ulid(pg_temp.id(location)),
                                                      'reason', 'count'))
$$;
CREATE FUNCTION pg_temp.stock(sku text) RETURNS text LANGUAGE sql AS $$
    /* stocked/reserved per location, in location order */
    SELECT string_agg(l.stocked_quantity || '/' || l.reserved_quantity, ' ' ORDER BY l.location_id)
    FROM commerce_inventory_levels l JOIN commerce_variants v ON v.tenant_id = l.tenant_id AND v.id = l.variant_id
    WHERE v.sku = stock.sku
$$;
CREATE FUNCTION pg_temp.cart(name text, sku text, quantity int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT pg_temp.save(name, rustok.create_cart(jsonb_build_object(
        'currencyCode', 'EUR', 'lines', jsonb_build_array(jsonb_build_object('variantId', pg_temp.variant(sku),
                                                                             'quantity', quantity)))))
$$;

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.create_product('{"title": "Lamp", "status": "published", "variants": [
                       {"sku": "LAMP", "prices": [{"amount": 5000, "currencyCode": "EUR"}]},
                       {"sku": "BULB", "allowBackorder": true, "prices": [{"amount": 300, "currencyCode": "EUR"}]},
                       {"sku": "CORD", "manageInventory": false, "prices": [{"amount": 200, "currencyCode": "EUR"}]}]}') $$,
                'a product with a managed variant, a backorderable one and an unmanaged one');

-- stock locations and adjustments
SELECT is(pg_temp.adjust('LAMP', 2) - 'variantId' - 'locationId' - 'updatedAt',
          '{"stockedQuantity": 2, "reservedQuantity": 0, "availableQuantity": 2}',
          'adjust_inventory adds stock at the default location');
SELECT is((SELECT handle FROM commerce_stock_locations), 'default', 'which is created on first use');
SELECT is(pg_temp.save('north', rustok.create_stock_location('{"name": "North Warehouse"}')) ->> 'handle',
          'north-warehouse', 'create_stock_location');
SELECT throws_ok($$ SELECT rustok.create_stock_location('{"name": "North Warehouse"}') $$, 'RK004', NULL,
                 'a location handle taken is CONFLICT');
SELECT is(pg_temp.adjust('LAMP', 3, 'north') ->> 'stockedQuantity', '3', 'stock at a second location');
SELECT is((SELECT data - 'variant_id' - 'product_id' - 'location_id' FROM event_outbox
           WHERE type = 'InventoryAdjusted' ORDER BY position DESC LIMIT 1),
          '{"delta": 3, "reason": "count", "stocked_quantity": 3, "available_quantity": 3}',
          'each adjustment emits InventoryAdjusted');
SELECT is(pg_temp.adjust('LAMP', -1, 'north') ->> 'stockedQuantity', '2', 'a negative delta removes stock');
SELECT throws_ok($$ SELECT pg_temp.adjust('LAMP', -3, 'north') $$, 'RK220', NULL,
                 'removing more than is there is INSUFFICIENT_STOCK');
SELECT throws_ok($$ SELECT pg_temp.adjust('LAMP', 0) $$, 'RK002', NULL, 'a zero delta is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.adjust_inventory(jsonb_build_object('variantId', pg_temp.variant('LAMP'))) $$,
                 'RK002', NULL, 'a missing delta is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.adjust_inventory('{"variantId": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "delta": 1}') $$,
                 'RK003', NULL, 'an unknown variant is NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.adjust_inventory(jsonb_build_object('variantId', pg_temp.variant('LAMP'), 'delta', 1,
                                                                     'locationId', '01ARZ3NDEKTSV4RRFFQ69G5FAV')) $$,
                 'RK003', NULL, 'an unknown location is NOT_FOUND');
SELECT is(pg_temp.stock('LAMP'), '2/0 2/0', 'the refused adjustments changed nothing');

-- reservations: a started checkout holds stock across locations, in location order
SELECT pg_temp.act('acme');
SELECT is(pg_temp.cart('first', 'LAMP', 3) -> 'lines' -> 0 ->> 'quantity', '3', 'a guest cart for three lamps');
SELECT pg_temp.act('acme', 'admin');
SELECT isnt(rustok.start_checkout(pg_temp.id('first')) ->> 'reservedUntil', NULL,
            'start_checkout reserves and says until when');
SELECT is(pg_temp.stock('LAMP'), '2/2 2/1', 'two are reserved at the first location, one at the second');
SELECT is((SELECT count(*) FROM event_outbox WHERE type = 'CheckoutStarted'), 1::bigint, 'CheckoutStarted is emitted');
SELECT lives_ok($$ SELECT rustok.start_checkout(pg_temp.id('first')) $$, 'starting again replaces the reservation');
SELECT is(pg_temp.stock('LAMP'), '2/2 2/1', 'and holds the same stock, not twice');
SELECT throws_ok($$ SELECT pg_temp.cart('second', 'LAMP', 2) $$, 'RK220', NULL,
                 'reserved stock is not available to another cart: INSUFFICIENT_STOCK');
SELECT is(pg_temp.cart('second', 'LAMP', 1) ->> 'itemCount', '1', 'the one lamp left is');
SELECT lives_ok($$ SELECT rustok.start_checkout(pg_temp.id('second')) $$, 'and can be reserved');
SELECT throws_ok($$ SELECT pg_temp.adjust('LAMP', -1) $$, 'RK220', NULL, 'reserved stock cannot be removed');
SELECT is(rustok.add_cart_line(pg_temp.id('first'), rustok.parse_id(pg_temp.variant('CORD')), 1) ->> 'reservedUntil',
          NULL, 'changing a cart releases its reservation');
SELECT is(pg_temp.stock('LAMP'), '2/0 2/1', 'its stock is free again');
SELECT throws_ok($$ SELECT rustok.start_checkout(pg_temp.id('first'), 10) $$, 'RK002', NULL,
                 'a reservation shorter than a minute is VALIDATION_FAILED');
SELECT lives_ok($$ SELECT rustok.start_checkout(pg_temp.id('first')) $$, 'the first cart reserves again');
SELECT is(rustok.cancel_checkout(pg_temp.id('second')) ->> 'reservedUntil', NULL, 'cancel_checkout releases');
SELECT is(pg_temp.stock('LAMP'), '2/2 2/1', 'the second cart''s lamp is free');
SELECT is((SELECT count(*) FROM event_outbox WHERE type = 'CheckoutCanceled'), 1::bigint, 'CheckoutCanceled is emitted');

-- expiry: an expired reservation is released by the next checkout of the variant, or by the sweep
RESET ROLE;
UPDATE commerce_reservations SET expires_at = now() - interval '1 second';
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.cart('third', 'LAMP', 4) ->> 'itemCount', '4',
          'stock held by an expired reservation counts as available to a cart');
SELECT lives_ok($$ SELECT rustok.start_checkout(pg_temp.id('third')) $$,
                'a checkout needing the expired reservation''s stock releases it and reserves');
SELECT is(pg_temp.stock('LAMP'), '2/2 2/2', 'four lamps are now the third cart''s');
SELECT is((SELECT count(*) FROM commerce_reservations WHERE cart_id = pg_temp.id('first')), 0::bigint,
          'the first cart''s expired reservation is gone');
RESET ROLE;
UPDATE commerce_reservations SET expires_at = now() - interval '1 second';
SET LOCAL ROLE rustok_app;
SELECT is(rustok.release_expired_reservations(), 2, 'release_expired_reservations sweeps the rest');
SELECT is(pg_temp.stock('LAMP'), '2/0 2/0', 'and frees their stock');

-- backorders and unmanaged stock
SELECT is(pg_temp.cart('back', 'BULB', 5) ->> 'itemCount', '5', 'a backorderable variant without stock can be added');
SELECT lives_ok($$ SELECT rustok.start_checkout(pg_temp.id('back')) $$, 'and checked out: it reserves what there is (nothing)');
SELECT is((SELECT count(*) FROM commerce_reservations WHERE cart_id = pg_temp.id('back')), 0::bigint, 'no reservation');
SELECT is(pg_temp.cart('loose', 'CORD', 1000) ->> 'itemCount', '1000', 'an unmanaged variant is never short');
SELECT lives_ok($$ SELECT pg_temp.save('empty', rustok.create_cart('{"currencyCode": "EUR"}')) $$, 'an empty cart');
SELECT throws_ok($$ SELECT rustok.start_checkout(pg_temp.id('empty')) $$, 'RK014', NULL,
                 'an empty cart cannot start a checkout: INVALID_STATE');

-- the trigger keeps reserved_quantity right for direct writes too
RESET ROLE;
INSERT INTO commerce_reservations (tenant_id, cart_id, variant_id, location_id, quantity, expires_at)
SELECT l.tenant_id, pg_temp.id('empty'), l.variant_id, l.location_id, 1, now() + interval '1 hour'
FROM commerce_inventory_levels l JOIN commerce_variants v ON v.id = l.variant_id WHERE v.sku = 'LAMP'
ORDER BY l.location_id LIMIT 1;
SELECT is(pg_temp.stock('LAMP'), '2/1 2/0', 'a reservation inserted directly is counted');
UPDATE commerce_reservations SET quantity = 2 WHERE cart_id = pg_temp.id('empty');
SELECT is(pg_temp.stock('LAMP'), '2/2 2/0', 'changed directly, the count follows');
DELETE FROM commerce_reservations WHERE cart_id = pg_temp.id('empty');
SELECT is(pg_temp.stock('LAMP'), '2/0 2/0', 'deleted directly, it is released');
SET LOCAL ROLE rustok_app;

-- who may
SELECT pg_temp.act('acme', 'manager');
SELECT lives_ok($$ SELECT pg_temp.adjust('LAMP', 1) $$, 'a manager may adjust stock');
SELECT pg_temp.act('acme', 'customer');
SELECT throws_ok($$ SELECT pg_temp.adjust('LAMP', 1) $$, 'RK005', NULL, 'a customer may not: FORBIDDEN');
SELECT throws_ok($$ SELECT rustok.create_stock_location('{"name": "Mine"}') $$, 'RK005', NULL, 'nor add locations');
SELECT throws_ok($$ SELECT rustok.release_expired_reservations() $$, 'RK005', NULL, 'nor sweep reservations');
SELECT pg_temp.act('acme');
SELECT throws_ok($$ SELECT pg_temp.adjust('LAMP', 1) $$, 'RK006', NULL, 'anonymous: UNAUTHENTICATED');
SELECT lives_ok($$ SELECT rustok.start_checkout(pg_temp.id('first')) $$, 'anonymous may check out a guest cart');

-- another tenant
SELECT pg_temp.act('globex', 'admin');
SELECT throws_ok($$ SELECT pg_temp.adjust('LAMP', 1) $$, 'RK003', NULL, 'adjusting acme''s stock from globex is NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.start_checkout(pg_temp.id('first')) $$, 'RK003', NULL,
                 'checking out acme''s cart from globex is NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.cancel_checkout(pg_temp.id('first')) $$, 'RK003', NULL, 'so is cancelling it');
SELECT lives_ok($$ SELECT rustok.create_product('{"title": "Lamp", "variants": [{"sku": "GLAMP"}]}') $$, 'a globex variant');
SELECT throws_ok(format($$ SELECT rustok.adjust_inventory(jsonb_build_object('variantId', %L, 'delta', 1, 'locationId', %L)) $$,
                        pg_temp.variant('GLAMP'), rustok.ulid(pg_temp.id('north'))),
                 'RK003', NULL, 'stocking it at acme''s location is NOT_FOUND');
SELECT is(rustok.release_expired_reservations(), 0, 'the sweep sees only globex''s reservations');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
