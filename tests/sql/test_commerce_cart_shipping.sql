-- Checkout's destination: shipping_countries, set_cart_shipping_address (the region follows from the
-- country, in the cart's currency only), set_cart_shipping_option (options of that region only), the totals
-- they lead to (tax by the region's rate, the option's price), CartShippingUpdated, and the order placed from
-- such a cart taking its address and the same totals. Who may change which cart; error codes.
BEGIN;
SELECT plan(26);

DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
CREATE TEMP TABLE summary (cart jsonb);
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
CREATE FUNCTION pg_temp.totals(cart jsonb) RETURNS text LANGUAGE sql AS $$
    /* subtotal - discount + tax + shipping = total, as text */
    SELECT format('%s - %s + %s + %s = %s', cart -> 'subtotal' -> 'amount', cart -> 'discountTotal' -> 'amount',
                  cart -> 'taxTotal' -> 'amount', cart -> 'shippingTotal' -> 'amount', cart -> 'total' -> 'amount')
$$;
CREATE FUNCTION pg_temp.option(region text, name text, amount int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT pg_temp.save(option.name, rustok.create_shipping_option(jsonb_build_object(
        'regionId', rustok.ulid(pg_temp.id(region)), 'name', option.name, 'amount', option.amount)))
$$;
CREATE FUNCTION pg_temp.address(cart text, country text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT rustok.set_cart_shipping_address(pg_temp.id(cart), jsonb_build_object(
        'firstName', 'Ada', 'address1', 'Hauptstr. 1', 'city', 'Berlin', 'countryCode', country))
$$;
CREATE FUNCTION pg_temp.choose(cart text, option text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT rustok.set_cart_shipping_option(pg_temp.id(cart), pg_temp.id(option))
$$;

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$
    SELECT rustok.create_product('{"title": "Shirt", "status": "published", "variants": [{"sku": "SHIRT",
        "inventoryQuantity": 10, "prices": [{"amount": 2500, "currencyCode": "EUR"}, {"amount": 2700, "currencyCode": "USD"}]}]}'),
           pg_temp.save('eu', rustok.create_region('{"name": "EU", "currencyCode": "EUR", "countries": ["DE", "FR"],
                                                     "taxRate": {"name": "VAT", "rate": 1900}}')),
           pg_temp.save('us', rustok.create_region('{"name": "US", "currencyCode": "USD", "countries": ["US"]}')),
           pg_temp.option('eu', 'Standard', 499), pg_temp.option('eu', 'Express', 1500), pg_temp.option('us', 'Ground', 700)
$$, 'a shirt priced in EUR and USD; EU (DE, FR; 19% VAT) with two options, US (no tax) with one');
SELECT pg_temp.act('globex', 'admin');
SELECT lives_ok($$ SELECT rustok.create_region('{"name": "Far", "currencyCode": "JPY", "countries": ["JP"]}') $$,
                'globex ships to Japan');

SELECT pg_temp.act('acme');
SELECT is((SELECT string_agg(format('%s:%s:%s', e ->> 'countryCode', e ->> 'regionName', e ->> 'currencyCode'), ' ')
           FROM jsonb_array_elements(rustok.shipping_countries()) e),
          'DE:EU:EUR FR:EU:EUR US:US:USD', 'shipping_countries: the tenant''s countries (not globex''s), anonymously');
SELECT '# cart ' || (pg_temp.save('guest', rustok.create_cart(jsonb_build_object('currencyCode', 'EUR', 'lines', jsonb_build_array(
    jsonb_build_object('variantId', rustok.ulid((SELECT id FROM commerce_variants WHERE sku = 'SHIRT')), 'quantity', 2))))) ->> 'id');
SELECT is(pg_temp.totals(rustok.cart_by_id(pg_temp.id('guest'))), '5000 - 0 + 0 + 0 = 5000',
          'a cart made with a currency only has no tax and no shipping');
SELECT throws_ok($$ SELECT pg_temp.choose('guest', 'Standard') $$, 'RK014', NULL,
                 'a shipping option before an address is INVALID_STATE');

SELECT is(pg_temp.address('guest', 'de') - 'id' - 'lines' - 'createdAt' - 'updatedAt' - 'email' - 'customerId'
          - 'status' - 'itemCount' - 'orderId' - 'reservedUntil' - 'discountCode' - 'discountTotal' - 'subtotal'
          - 'currencyCode' - 'total',
          jsonb_build_object('regionId', rustok.ulid(pg_temp.id('eu')),
                             'shippingAddress', '{"firstName": "Ada", "address1": "Hauptstr. 1", "city": "Berlin", "countryCode": "DE"}'::jsonb,
                             'availableShippingOptions', jsonb_build_array(
                                 jsonb_build_object('id', rustok.ulid(pg_temp.id('Standard')), 'name', 'Standard',
                                                    'amount', '{"amount": 499, "currencyCode": "EUR"}'::jsonb),
                                 jsonb_build_object('id', rustok.ulid(pg_temp.id('Express')), 'name', 'Express',
                                                    'amount', '{"amount": 1500, "currencyCode": "EUR"}'::jsonb)),
                             'shippingOption', NULL,
                             'taxTotal', '{"amount": 950, "currencyCode": "EUR"}'::jsonb,
                             'shippingTotal', '{"amount": 0, "currencyCode": "EUR"}'::jsonb),
          'an address in Germany: region EU from the country, its options to choose from, 19% tax');
SELECT is(pg_temp.totals(pg_temp.choose('guest', 'Express')), '5000 - 0 + 950 + 1500 = 7450',
          'Express: its price as shipping, not taxed');
SELECT throws_ok($$ SELECT pg_temp.choose('guest', 'Ground') $$, 'RK003', NULL,
                 'an option of another region is NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.set_cart_shipping_option(pg_temp.id('guest'), rustok.gen_id()) $$, 'RK003', NULL,
                 'an unknown option is NOT_FOUND');
SELECT throws_ok($$ SELECT pg_temp.address('guest', 'US') $$, 'RK224', NULL,
                 'a country whose region uses another currency is REGION_CURRENCY_MISMATCH');
SELECT throws_ok($$ SELECT pg_temp.address('guest', 'JP') $$, 'RK002', NULL,
                 'a country no region of the tenant ships to is VALIDATION_FAILED (another tenant''s does)');
SELECT throws_ok($$ SELECT rustok.set_cart_shipping_address(pg_temp.id('guest'), '{"city": "Berlin"}') $$, 'RK002', NULL,
                 'an address without a country is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.set_cart_shipping_address(pg_temp.id('guest'), '{"countryCode": "DE", "planet": "Earth"}') $$,
                 'RK002', NULL, 'an unknown address field is VALIDATION_FAILED');
SELECT is(pg_temp.address('guest', 'FR') #>> '{shippingOption,name}', 'Express',
          'another country of the same region keeps the option');
SELECT is(pg_temp.totals(rustok.set_cart_shipping_option(pg_temp.id('guest'), NULL)), '5000 - 0 + 950 + 0 = 5950',
          'a null option removes it');
SELECT '# option ' || (pg_temp.choose('guest', 'Standard') #>> '{shippingOption,name}');

-- whose cart
SELECT pg_temp.act('acme', 'customer');
SELECT '# cart ' || (pg_temp.save('mine', rustok.create_cart('{"currencyCode": "USD"}')) ->> 'id');
SELECT is(pg_temp.address('mine', 'US') ->> 'regionId', rustok.ulid(pg_temp.id('us')),
          'a customer sets their own cart''s address: region US');
SELECT pg_temp.act('acme', 'other');
SELECT throws_ok($$ SELECT pg_temp.address('mine', 'US') $$, 'RK003', NULL, 'another customer''s cart is NOT_FOUND');
SELECT throws_ok($$ SELECT pg_temp.choose('mine', 'Ground') $$, 'RK003', NULL, 'and so is choosing its option');
SELECT pg_temp.act('globex');
SELECT throws_ok($$ SELECT pg_temp.address('guest', 'DE') $$, 'RK003', NULL, 'another tenant''s guest cart is NOT_FOUND');

-- the order takes the cart's address and its totals
SELECT pg_temp.act('acme');
SELECT is((SELECT count(*) FROM event_outbox WHERE type = 'CartShippingUpdated'
           AND data ->> 'cart_id' = rustok.ulid(pg_temp.id('guest'))), 5::bigint,
          'each change emits CartShippingUpdated (DE, Express, FR, none, Standard)');
SELECT is((SELECT data FROM event_outbox WHERE type = 'CartShippingUpdated' ORDER BY position DESC LIMIT 1) - 'cart_id',
          jsonb_build_object('region_id', rustok.ulid(pg_temp.id('us')), 'country_code', 'US',
                             'shipping_option_id', NULL),
          'CartShippingUpdated {cart_id, region_id, country_code, shipping_option_id}');
INSERT INTO summary SELECT rustok.cart_by_id(pg_temp.id('guest'));
SELECT '# order ' || (pg_temp.save('order', rustok.place_order(pg_temp.id('guest'), 'guest@example.test')) ->> 'displayId');
SELECT is((SELECT pg_temp.totals(o) FROM commerce_orders co, rustok._commerce_order_json(co) o WHERE co.id = pg_temp.id('order')),
          '5000 - 0 + 950 + 499 = 6449', 'the order: 19% tax and Standard shipping');
SELECT is((SELECT pg_temp.totals(o) FROM commerce_orders co, rustok._commerce_order_json(co) o WHERE co.id = pg_temp.id('order')),
          (SELECT pg_temp.totals(cart) FROM summary), 'the order''s totals are what the cart showed before it was placed');
SELECT is((SELECT shipping_address ->> 'countryCode' FROM commerce_orders WHERE id = pg_temp.id('order')), 'FR',
          'the order ships to the cart''s address');
SELECT is((SELECT shipping_option ->> 'name' FROM commerce_orders WHERE id = pg_temp.id('order')), 'Standard',
          'with the cart''s shipping option');
SELECT throws_ok($$ SELECT pg_temp.address('guest', 'DE') $$, 'RK014', NULL, 'a cart that became an order is INVALID_STATE');

SELECT * FROM finish();
ROLLBACK;
