-- Carts and what checkout needs: create_region, set_tax_rate, create_shipping_option, create_discount,
-- create_cart, add_cart_line, update_cart_line, remove_cart_line, apply_discount, cart_by_id, and the totals
-- (subtotal, discount, tax, shipping, total) — with who may use which cart, error codes and cross-tenant
-- attempts.
BEGIN;
SELECT plan(69);

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
CREATE FUNCTION pg_temp.totals(cart jsonb) RETURNS text LANGUAGE sql AS $$
    /* subtotal - discount + tax + shipping = total, as text */
    SELECT format('%s - %s + %s + %s = %s', cart -> 'subtotal' -> 'amount', cart -> 'discountTotal' -> 'amount',
                  cart -> 'taxTotal' -> 'amount', cart -> 'shippingTotal' -> 'amount', cart -> 'total' -> 'amount')
$$;
CREATE FUNCTION pg_temp.line(cart text, sku text) RETURNS uuid LANGUAGE sql AS $$
    SELECT l.id FROM commerce_cart_lines l JOIN commerce_variants v ON v.id = l.variant_id
    WHERE l.cart_id = pg_temp.id(cart) AND v.sku = line.sku
$$;

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.create_product('{"title": "Shirt", "status": "published", "variants": [{"sku": "SHIRT",
                       "inventoryQuantity": 10, "prices": [{"amount": 2500, "currencyCode": "EUR"},
                                                           {"amount": 2300, "currencyCode": "EUR", "minQuantity": 3}]}]}'),
                          rustok.create_product('{"title": "Gift card", "status": "published", "discountable": false,
                       "variants": [{"sku": "GIFT", "manageInventory": false, "prices": [{"amount": 1000, "currencyCode": "EUR"}]}]}'),
                          rustok.create_product('{"title": "Dollar shirt", "status": "published", "variants": [{"sku": "USD-ONLY",
                       "inventoryQuantity": 10, "prices": [{"amount": 3000, "currencyCode": "USD"}]}]}'),
                          rustok.create_product('{"title": "Draft", "variants": [{"sku": "DRAFT", "inventoryQuantity": 10,
                       "prices": [{"amount": 100, "currencyCode": "EUR"}]}]}') $$,
                'products: a shirt with a tier, a gift card that is not discountable, a USD-only shirt, a draft');

-- regions, tax rates, shipping options, discounts
SELECT is(pg_temp.save('eu', rustok.create_region('{"name": "EU", "currencyCode": "eur", "countries": ["de", "FR"],
                                                    "taxRate": {"name": "VAT", "code": "vat", "rate": 2000}}'))
          - 'id' - 'shippingOptions',
          '{"name": "EU", "currencyCode": "EUR", "countries": ["DE", "FR"], "taxRate": {"name": "VAT", "code": "vat", "rate": 2000}}',
          'create_region with countries and a tax rate');
SELECT is(rustok.set_tax_rate(pg_temp.id('eu'), '{"name": "VAT", "rate": 1900}') -> 'taxRate' ->> 'rate', '1900',
          'set_tax_rate changes the region''s rate');
SELECT throws_ok($$ SELECT rustok.create_region('{"name": "EU", "currencyCode": "EUR"}') $$, 'RK004', NULL,
                 'a region name taken is CONFLICT');
SELECT throws_ok($$ SELECT rustok.create_region('{"name": "West", "currencyCode": "EUR", "countries": ["FR"]}') $$, 'RK004',
                 NULL, 'a country already in a region is CONFLICT');
SELECT throws_ok($$ SELECT rustok.create_region('{"name": "West", "currencyCode": "EUR", "countries": ["France"]}') $$,
                 'RK002', NULL, 'a country that is not ISO alpha-2 is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_region('{"name": "West", "currencyCode": "ZZZ"}') $$, 'RK223', NULL,
                 'an unknown currency is CURRENCY_UNKNOWN');
SELECT throws_ok($$ SELECT rustok.set_tax_rate(pg_temp.id('eu'), '{"rate": 100001}') $$, 'RK002', NULL,
                 'a tax rate above 1000% is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.set_tax_rate(rustok.gen_id(), '{"rate": 1}') $$, 'RK003', NULL,
                 'the tax rate of an unknown region is NOT_FOUND');
SELECT is(pg_temp.save('standard', rustok.create_shipping_option(jsonb_build_object(
              'regionId', rustok.ulid(pg_temp.id('eu')), 'name', 'Standard', 'amount', 499))) -> 'amount',
          '{"amount": 499, "currencyCode": "EUR"}', 'create_shipping_option is priced in the region''s currency');
SELECT throws_ok($$ SELECT rustok.create_shipping_option(jsonb_build_object('regionId', rustok.ulid(pg_temp.id('eu')),
                                                                          'name', 'Standard', 'amount', 1)) $$,
                 'RK004', NULL, 'an option name taken in the region is CONFLICT');
SELECT throws_ok($$ SELECT rustok.create_shipping_option(jsonb_build_object('regionId', rustok.ulid(pg_temp.id('eu')),
                                                                          'name', 'Free', 'amount', -1)) $$,
                 'RK002', NULL, 'a negative shipping price is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_shipping_option('{"regionId": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "name": "X", "amount": 1}') $$,
                 'RK003', NULL, 'an unknown region is NOT_FOUND');
SELECT is(rustok.create_discount('{"code": "save15", "kind": "percentage", "value": 15}') ->> 'code', 'SAVE15',
          'create_discount stores the code in upper case');
SELECT lives_ok($$ SELECT rustok.create_discount('{"code": "FIVER", "kind": "fixed", "value": 500, "currencyCode": "EUR"}'),
                          rustok.create_discount('{"code": "BIG", "kind": "fixed", "value": 100000, "currencyCode": "EUR"}'),
                          rustok.create_discount('{"code": "DOLLAR", "kind": "fixed", "value": 100, "currencyCode": "USD"}'),
                          rustok.create_discount(jsonb_build_object('code', 'OLD', 'kind', 'percentage', 'value', 5,
                                                 'startsAt', now() - interval '2 days', 'endsAt', now() - interval '1 day')),
                          rustok.create_discount(jsonb_build_object('code', 'SOON', 'kind', 'percentage', 'value', 5,
                                                 'startsAt', now() + interval '1 day')),
                          rustok.create_discount('{"code": "OFF", "kind": "percentage", "value": 5, "isActive": false}') $$,
                'fixed, expired, future and inactive discounts');
SELECT throws_ok($$ SELECT rustok.create_discount('{"code": "SAVE15", "kind": "percentage", "value": 15}') $$, 'RK004',
                 NULL, 'a code taken is CONFLICT');
SELECT throws_ok($$ SELECT rustok.create_discount('{"code": "HUGE", "kind": "percentage", "value": 150}') $$, 'RK002',
                 NULL, 'more than 100% is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_discount('{"code": "NOCUR", "kind": "fixed", "value": 100}') $$, 'RK002', NULL,
                 'a fixed discount without a currency is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_discount('{"code": "bad code", "kind": "fixed", "value": 1, "currencyCode": "EUR"}') $$,
                 'RK002', NULL, 'a code with a space is VALIDATION_FAILED');

-- a guest cart, as an anonymous shopper
SELECT pg_temp.act('acme');
SELECT is(pg_temp.save('guest', rustok.create_cart(jsonb_build_object('regionId', rustok.ulid(pg_temp.id('eu')),
                                                                       'shippingOptionId', rustok.ulid(pg_temp.id('standard')),
                                                                       'email', 'Guest@Example.com')))
          - 'id' - 'createdAt' - 'updatedAt' - 'regionId' - 'shippingOption' - 'availableShippingOptions',
          '{"status": "active", "email": "guest@example.com", "customerId": null, "currencyCode": "EUR",
            "shippingAddress": null, "discountCode": null, "lines": [], "itemCount": 0, "orderId": null, "reservedUntil": null,
            "subtotal": {"amount": 0, "currencyCode": "EUR"}, "discountTotal": {"amount": 0, "currencyCode": "EUR"},
            "taxTotal": {"amount": 0, "currencyCode": "EUR"}, "shippingTotal": {"amount": 499, "currencyCode": "EUR"},
            "total": {"amount": 499, "currencyCode": "EUR"}}',
          'create_cart: a guest cart in the region''s currency, with shipping');
SELECT is(pg_temp.totals(rustok.add_cart_line(pg_temp.id('guest'), pg_temp.variant('SHIRT'), 2)),
          '5000 - 0 + 950 + 499 = 6449', 'two shirts: 19% tax and shipping on top');
SELECT is(pg_temp.totals(rustok.add_cart_line(pg_temp.id('guest'), pg_temp.variant('GIFT'), 1)),
          '6000 - 0 + 1140 + 499 = 7639', 'and a gift card');
SELECT is(pg_temp.totals(rustok.apply_discount(pg_temp.id('guest'), 'save15')),
          '6000 - 750 + 998 + 499 = 6747',
          '15% off the discountable subtotal only; tax on the discounted subtotal, rounded half away from zero');
SELECT is(pg_temp.totals(rustok.apply_discount(pg_temp.id('guest'), 'FIVER')), '6000 - 500 + 1045 + 499 = 7044',
          'a fixed discount');
SELECT is(pg_temp.totals(rustok.apply_discount(pg_temp.id('guest'), 'BIG')), '6000 - 5000 + 190 + 499 = 1689',
          'a fixed discount never exceeds the discountable subtotal');
SELECT throws_ok($$ SELECT rustok.apply_discount(pg_temp.id('guest'), 'OLD') $$, 'RK221', NULL,
                 'an expired code is DISCOUNT_INVALID');
SELECT throws_ok($$ SELECT rustok.apply_discount(pg_temp.id('guest'), 'SOON') $$, 'RK221', NULL,
                 'so is one that has not started');
SELECT throws_ok($$ SELECT rustok.apply_discount(pg_temp.id('guest'), 'OFF') $$, 'RK221', NULL, 'an inactive one');
SELECT throws_ok($$ SELECT rustok.apply_discount(pg_temp.id('guest'), 'DOLLAR') $$, 'RK221', NULL,
                 'one in another currency');
SELECT throws_ok($$ SELECT rustok.apply_discount(pg_temp.id('guest'), 'NOPE') $$, 'RK221', NULL, 'and an unknown one');
SELECT is(rustok.cart_by_id(pg_temp.id('guest')) ->> 'discountCode', 'BIG', 'a refused code leaves the cart''s code');
SELECT is(pg_temp.totals(rustok.apply_discount(pg_temp.id('guest'), NULL)), '6000 - 0 + 1140 + 499 = 7639',
          'null removes the code');
SELECT is(rustok.add_cart_line(pg_temp.id('guest'), pg_temp.variant('SHIRT'), 1) -> 'lines' -> 0 -> 'unitPrice' ->> 'amount',
          '2300', 'a third shirt merges into the line and reaches the tier price');
SELECT is(rustok.update_cart_line(pg_temp.id('guest'), pg_temp.line('guest', 'SHIRT'), 1) -> 'lines' -> 0 -> 'unitPrice' ->> 'amount',
          '2500', 'update_cart_line sets the quantity (back to the base price)');
SELECT throws_ok($$ SELECT rustok.add_cart_line(pg_temp.id('guest'), pg_temp.variant('SHIRT'), 10) $$, 'RK220', NULL,
                 'more than is in stock is INSUFFICIENT_STOCK');
SELECT throws_ok($$ SELECT rustok.add_cart_line(pg_temp.id('guest'), pg_temp.variant('SHIRT'), -1) $$, 'RK002', NULL,
                 'a negative quantity is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.add_cart_line(pg_temp.id('guest'), pg_temp.variant('SHIRT'), 0) $$, 'RK002', NULL,
                 'so is zero');
SELECT throws_ok($$ SELECT rustok.update_cart_line(pg_temp.id('guest'), pg_temp.line('guest', 'SHIRT'), -2) $$, 'RK002',
                 NULL, 'and a negative quantity for a line');
SELECT throws_ok($$ SELECT rustok.add_cart_line(pg_temp.id('guest'), pg_temp.variant('USD-ONLY'), 1) $$, 'RK222', NULL,
                 'a variant without a price in the cart''s currency is PRICE_NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.add_cart_line(pg_temp.id('guest'), pg_temp.variant('DRAFT'), 1) $$, 'RK003', NULL,
                 'a variant of an unpublished product is NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.add_cart_line(pg_temp.id('guest'), rustok.gen_id(), 1) $$, 'RK003', NULL,
                 'an unknown variant is NOT_FOUND');
SELECT is(jsonb_path_query_array(rustok.cart_by_id(pg_temp.id('guest')), '$.lines[*].quantity'), '[1, 1]',
          'the refused calls left the lines as they were');
SELECT is(rustok.update_cart_line(pg_temp.id('guest'), pg_temp.line('guest', 'GIFT'), 0) ->> 'itemCount', '1',
          'quantity 0 removes the line');
SELECT is(rustok.remove_cart_line(pg_temp.id('guest'), pg_temp.line('guest', 'SHIRT')) ->> 'itemCount', '0',
          'remove_cart_line removes a line');
SELECT throws_ok($$ SELECT rustok.remove_cart_line(pg_temp.id('guest'), rustok.gen_id()) $$, 'RK003', NULL,
                 'removing a line that is not in the cart is NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.update_cart_line(pg_temp.id('guest'), rustok.gen_id(), 1) $$, 'RK003', NULL,
                 'so is updating one');

-- create_cart's own checks
SELECT throws_ok($$ SELECT rustok.create_cart('{}') $$, 'RK002', NULL, 'a cart needs a currency or a region');
SELECT throws_ok($$ SELECT rustok.create_cart('{"currencyCode": "QQQ"}') $$, 'RK223', NULL, 'an unknown currency');
SELECT throws_ok($$ SELECT rustok.create_cart(jsonb_build_object('regionId', rustok.ulid(pg_temp.id('eu')), 'currencyCode', 'USD')) $$,
                 'RK002', NULL, 'a currency other than the region''s is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_cart(jsonb_build_object('currencyCode', 'EUR', 'shippingOptionId', rustok.ulid(pg_temp.id('standard')))) $$,
                 'RK003', NULL, 'a shipping option outside the cart''s region is NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.create_cart('{"currencyCode": "EUR", "email": "not-an-email"}') $$, 'RK002', NULL,
                 'a malformed email is VALIDATION_FAILED');
SELECT is(pg_temp.totals(rustok.create_cart(jsonb_build_object('currencyCode', 'EUR', 'lines', jsonb_build_array(
              jsonb_build_object('variantId', rustok.ulid(pg_temp.variant('SHIRT')), 'quantity', 3))))),
          '6900 - 0 + 0 + 0 = 6900', 'lines can come with create_cart; without a region there is no tax or shipping');

-- a customer's cart is theirs (and order managers'); a guest cart is anyone's who holds its id
SELECT pg_temp.act('acme', 'customer');
SELECT is(pg_temp.save('mine', rustok.create_cart('{"currencyCode": "EUR"}')) ->> 'customerId',
          rustok.ulid(pg_temp.person('acme', 'customer')), 'a signed-in customer''s cart is theirs');
SELECT isnt(rustok.cart_by_id(pg_temp.id('guest')), NULL, 'a customer can open a guest cart by its id');
SELECT pg_temp.act('acme', 'other');
SELECT is(rustok.cart_by_id(pg_temp.id('mine')), NULL, 'another customer cannot see it');
SELECT throws_ok($$ SELECT rustok.add_cart_line(pg_temp.id('mine'), pg_temp.variant('GIFT'), 1) $$, 'RK003', NULL,
                 'nor change it: NOT_FOUND');
SELECT pg_temp.act('acme');
SELECT is(rustok.cart_by_id(pg_temp.id('mine')), NULL, 'nor can an anonymous caller');
SELECT pg_temp.act('acme', 'manager');
SELECT isnt(rustok.cart_by_id(pg_temp.id('mine')), NULL, 'an order manager can');

-- who may set up checkout
SELECT pg_temp.act('acme', 'customer');
SELECT throws_ok($$ SELECT rustok.create_region('{"name": "Mine", "currencyCode": "EUR"}') $$, 'RK005', NULL,
                 'a customer may not create regions');
SELECT throws_ok($$ SELECT rustok.set_tax_rate(pg_temp.id('eu'), '{"rate": 0}') $$, 'RK005', NULL, 'nor set tax rates');
SELECT throws_ok($$ SELECT rustok.create_shipping_option(jsonb_build_object('regionId', rustok.ulid(pg_temp.id('eu')), 'name', 'Free', 'amount', 0)) $$,
                 'RK005', NULL, 'nor shipping options');
SELECT throws_ok($$ SELECT rustok.create_discount('{"code": "MINE", "kind": "percentage", "value": 100}') $$, 'RK005',
                 NULL, 'nor discounts');
SELECT pg_temp.act('acme');
SELECT throws_ok($$ SELECT rustok.create_discount('{"code": "MINE", "kind": "percentage", "value": 100}') $$, 'RK006',
                 NULL, 'anonymous: UNAUTHENTICATED');

-- another tenant
SELECT pg_temp.act('globex');
SELECT is(rustok.cart_by_id(pg_temp.id('guest')), NULL, 'globex does not see acme''s guest cart');
SELECT throws_ok($$ SELECT rustok.add_cart_line(pg_temp.id('guest'), pg_temp.variant('GIFT'), 1) $$, 'RK003', NULL,
                 'nor can it add to it');
SELECT lives_ok($$ SELECT pg_temp.save('globex', rustok.create_cart('{"currencyCode": "EUR"}')) $$, 'a globex cart');
SELECT throws_ok($$ SELECT rustok.add_cart_line(pg_temp.id('globex'), pg_temp.variant('GIFT'), 1) $$, 'RK003', NULL,
                 'an acme variant in a globex cart is NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.apply_discount(pg_temp.id('globex'), 'SAVE15') $$, 'RK221', NULL,
                 'acme''s discount code is unknown in globex');
SELECT throws_ok($$ SELECT rustok.create_cart(jsonb_build_object('regionId', rustok.ulid(pg_temp.id('eu')))) $$, 'RK003',
                 NULL, 'and so is acme''s region');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
