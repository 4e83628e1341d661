-- Where an order goes, decided in place_order by the functions the cart's checkout steps use: with regions,
-- an address in a served country (given to place_order or the cart's) and one of its region's active shipping
-- options when it has any; an address given to place_order moves the cart's region exactly as
-- set_cart_shipping_address would; tax and shipping are the cart's totals. Without regions an address is
-- optional and any country is taken. Each refusal's code, details.field and details.reason; nothing is left
-- behind by a refusal.
BEGIN;
SELECT plan(32);

DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
CREATE FUNCTION pg_temp.refusal(call text) RETURNS text LANGUAGE sql AS $$
    /* What a call raises (test_support.refusal, rolled back either way): its code, details.field and
       details.reason; 'none' when it succeeds. */
    SELECT concat_ws(' ', r ->> 'code', r #>> '{details,field}', r #>> '{details,reason}')
    FROM test_support.refusal(call) r
$$;
CREATE FUNCTION pg_temp.cart(name text) RETURNS jsonb LANGUAGE sql AS $$
    /* a guest cart of two shirts (25.00 EUR each) */
    SELECT pg_temp.save(name, rustok.create_cart(jsonb_build_object('currencyCode', 'EUR', 'lines', jsonb_build_array(
        jsonb_build_object('variantId', rustok.ulid((SELECT id FROM commerce_variants WHERE sku = 'SHIRT')),
                           'quantity', 2)))))
$$;
CREATE FUNCTION pg_temp.place(cart text, address jsonb DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
    SELECT pg_temp.save(cart || '-order', rustok.place_order(pg_temp.id(cart), 'guest@example.test', address))
$$;
CREATE FUNCTION pg_temp.place_call(cart text, address text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
    /* place_order's call text, for pg_temp.refusal */
    SELECT format('SELECT rustok.place_order(%L, ''guest@example.test'', %L)', pg_temp.id(cart), address)
$$;
CREATE FUNCTION pg_temp.steps(cart text, country text, option text DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
    /* the checkout steps: an address in the country, then the option (by name) */
    SELECT rustok.set_cart_shipping_address(pg_temp.id(cart), jsonb_build_object('city', 'X', 'countryCode', country));
    SELECT CASE WHEN option IS NULL THEN rustok.cart_by_id(pg_temp.id(cart))
                ELSE rustok.set_cart_shipping_option(pg_temp.id(cart), pg_temp.id(option)) END
$$;
CREATE FUNCTION pg_temp.totals(o jsonb) RETURNS text LANGUAGE sql AS $$
    /* subtotal - discount + tax + shipping = total, as text */
    SELECT format('%s - %s + %s + %s = %s', o -> 'subtotal' -> 'amount', o -> 'discountTotal' -> 'amount',
                  o -> 'taxTotal' -> 'amount', o -> 'shippingTotal' -> 'amount', o -> 'total' -> 'amount')
$$;
CREATE FUNCTION pg_temp.shipping_events(cart text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM event_outbox WHERE type = 'CartShippingUpdated' AND data ->> 'cart_id' = rustok.ulid(pg_temp.id(cart))
$$;

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$
    SELECT rustok.create_product('{"title": "Shirt", "status": "published", "variants": [{"sku": "SHIRT",
        "inventoryQuantity": 50, "prices": [{"amount": 2500, "currencyCode": "EUR"}]}]}'),
           pg_temp.save('eu', rustok.create_region('{"name": "EU", "currencyCode": "EUR", "countries": ["DE", "FR"],
                                                     "taxRate": {"name": "VAT", "rate": 1900}}')),
           pg_temp.save('nordic', rustok.create_region('{"name": "Nordic", "currencyCode": "EUR", "countries": ["SE"],
                                                         "taxRate": {"name": "Moms", "rate": 2500}}')),
           rustok.create_region('{"name": "US", "currencyCode": "USD", "countries": ["US"]}')
$$, 'acme: EU (DE, FR; 19% VAT), Nordic (SE; 25%; no shipping options), US (USD)');
SELECT lives_ok($$
    SELECT pg_temp.save(o.name, rustok.create_shipping_option(jsonb_build_object(
               'regionId', rustok.ulid(pg_temp.id('eu')), 'name', o.name, 'amount', o.amount)))
    FROM (VALUES ('Standard', 499), ('Express', 1500)) o (name, amount)
$$, 'the EU region''s options: Standard 4.99, Express 15.00');
SELECT pg_temp.act('globex', 'admin');
SELECT lives_ok($$ SELECT rustok.create_product('{"title": "Shirt", "status": "published", "variants": [{"sku": "SHIRT",
                       "inventoryQuantity": 50, "prices": [{"amount": 2500, "currencyCode": "EUR"}]}]}') $$,
                'globex sells the same shirt and has no regions');

-- acme: what an order needs
SELECT pg_temp.act('acme');
SELECT '# cart ' || (pg_temp.cart('bare') ->> 'id');
SELECT is(pg_temp.refusal(pg_temp.place_call('bare')), 'VALIDATION_FAILED shippingAddress required',
          'with regions, an order needs a shipping address');
SELECT is(pg_temp.refusal(pg_temp.place_call('bare', '{"city": "Berlin"}')),
          'VALIDATION_FAILED shippingAddress.countryCode required', 'an address needs a country');
SELECT is(pg_temp.refusal(pg_temp.place_call('bare', '{"countryCode": "JP"}')),
          'VALIDATION_FAILED shippingAddress.countryCode not_served', 'in a country one of the regions serves');
SELECT is(pg_temp.refusal(pg_temp.place_call('bare', '{"countryCode": "US"}')),
          'REGION_CURRENCY_MISMATCH shippingAddress.countryCode', 'served in the cart''s currency');
SELECT is(pg_temp.refusal(pg_temp.place_call('bare', '{"countryCode": "DE"}')),
          'VALIDATION_FAILED shippingOptionId required', 'and with one of the region''s shipping options when it has any');
SELECT is((SELECT format('%s %s %s', shipping_address, region_id, status) FROM commerce_carts WHERE id = pg_temp.id('bare')),
          '  active', 'the refusals left the cart as it was: no address, no region, no order');
SELECT is(pg_temp.shipping_events('bare'), 0::bigint, 'and emitted nothing');

SELECT is(pg_temp.totals(pg_temp.place('bare', '{"firstName": "Ada", "countryCode": "se"}')), '5000 - 0 + 1250 + 0 = 6250',
          'an address given to place_order decides the region: Sweden, 25% tax, no options to choose');
SELECT is((SELECT format('%s %s', rustok.ulid(region_id), shipping_address ->> 'countryCode') FROM commerce_orders
           WHERE id = pg_temp.id('bare-order')),
          rustok.ulid(pg_temp.id('nordic')) || ' SE', 'the order is in the Nordic region, shipped to SE');
SELECT is((SELECT format('%s %s', rustok.ulid(region_id), shipping_address ->> 'countryCode') FROM commerce_carts
           WHERE id = pg_temp.id('bare')),
          rustok.ulid(pg_temp.id('nordic')) || ' SE', 'the cart got the address, as set_cart_shipping_address sets it');
SELECT is(pg_temp.shipping_events('bare'), 1::bigint, 'with its CartShippingUpdated');

SELECT '# cart ' || (pg_temp.cart('steps') ->> 'id');
SELECT is(pg_temp.totals(pg_temp.steps('steps', 'DE', 'Express')), '5000 - 0 + 950 + 1500 = 7450',
          'the checkout steps: Germany, Express');
SELECT is(pg_temp.totals(pg_temp.place('steps')), '5000 - 0 + 950 + 1500 = 7450',
          'the order without an address: the cart''s, and the totals it showed');
SELECT is(pg_temp.shipping_events('steps'), 2::bigint, 'the order emitted no CartShippingUpdated of its own: nothing moved');

SELECT '# cart ' || (pg_temp.cart('same-region') ->> 'id');
SELECT is(pg_temp.totals(pg_temp.steps('same-region', 'DE', 'Express')), '5000 - 0 + 950 + 1500 = 7450', 'Germany, Express');
SELECT is(pg_temp.place('same-region', '{"countryCode": "FR"}') #>> '{shippingOption,name}', 'Express',
          'an order to France (the same region) keeps the option');

SELECT '# cart ' || (pg_temp.cart('moved') ->> 'id');
SELECT is(pg_temp.totals(pg_temp.steps('moved', 'DE', 'Express')), '5000 - 0 + 950 + 1500 = 7450', 'Germany, Express');
SELECT is(pg_temp.place('moved', '{"countryCode": "SE"}') - 'id' - 'cartId' - 'displayId' - 'createdAt' - 'updatedAt' - 'lines'
          - 'email' - 'status' - 'customerId' - 'currencyCode' - 'discountCode' - 'regionId' - 'billingAddress',
          '{"subtotal": {"amount": 5000, "currencyCode": "EUR"}, "discountTotal": {"amount": 0, "currencyCode": "EUR"},
            "taxTotal": {"amount": 1250, "currencyCode": "EUR"}, "shippingTotal": {"amount": 0, "currencyCode": "EUR"},
            "total": {"amount": 6250, "currencyCode": "EUR"}, "shippingOption": null,
            "shippingAddress": {"countryCode": "SE"}}',
          'an order to Sweden moves it to the Nordic region: its tax, and Express (an EU option) dropped');

SELECT '# cart ' || (pg_temp.cart('region-only') ->> 'id');
SELECT lives_ok($$ SELECT rustok.set_cart_shipping_address(pg_temp.id('region-only'), '{"countryCode": "DE"}'),
                          rustok.set_cart_shipping_option(pg_temp.id('region-only'), pg_temp.id('Standard')) $$,
                'Germany, Standard');
RESET ROLE;
UPDATE commerce_shipping_options SET is_active = false WHERE id = pg_temp.id('Standard');
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.refusal(pg_temp.place_call('region-only')), 'VALIDATION_FAILED shippingOptionId required',
          'an option switched off since it was chosen is no option (it would have shipped for nothing)');
SELECT is(pg_temp.refusal($$ SELECT rustok.place_order(rustok.parse_id(rustok.create_cart(jsonb_build_object(
              'regionId', rustok.ulid(pg_temp.id('eu')), 'shippingOptionId', rustok.ulid(pg_temp.id('Express')),
              'lines', '[]'::jsonb)) ->> 'id'), 'a@example.test') $$),
          'VALIDATION_FAILED shippingAddress required', 'a cart made with a region and an option still needs an address');
SELECT '# cart ' || (pg_temp.cart('stale') ->> 'id');
SELECT is(pg_temp.totals(pg_temp.steps('stale', 'DE', 'Express')), '5000 - 0 + 950 + 1500 = 7450', 'Germany, Express');
RESET ROLE;
DELETE FROM commerce_region_countries WHERE country_code = 'DE';
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.refusal(pg_temp.place_call('stale')), 'VALIDATION_FAILED shippingAddress.countryCode not_served',
          'the cart''s address is decided again when the order is placed: Germany is no longer served');

-- globex, without regions: nothing it charges depends on an address, so none is required
SELECT pg_temp.act('globex');
SELECT '# cart ' || (pg_temp.cart('plain') ->> 'id');
SELECT is(pg_temp.totals(pg_temp.place('plain')), '5000 - 0 + 0 + 0 = 5000', 'without regions an order needs no address');
SELECT is((SELECT shipping_address FROM commerce_orders WHERE id = pg_temp.id('plain-order')), NULL::jsonb,
          'and ships to none');
SELECT '# cart ' || (pg_temp.cart('abroad') ->> 'id');
SELECT is(pg_temp.place('abroad', '{"countryCode": "jp"}') #>> '{shippingAddress,countryCode}', 'JP',
          'and takes any country');
SELECT '# cart ' || (pg_temp.cart('stepped') ->> 'id');
SELECT is(rustok.set_cart_shipping_address(pg_temp.id('stepped'), '{"countryCode": "JP"}') ->> 'regionId', NULL,
          'so does the address step: no region');
SELECT is(pg_temp.place('stepped') #>> '{shippingAddress,countryCode}', 'JP', 'and the order ships there');
SELECT '# cart ' || (pg_temp.cart('countryless') ->> 'id');
SELECT is(pg_temp.refusal(pg_temp.place_call('countryless', '{"city": "Tokyo"}')),
          'VALIDATION_FAILED shippingAddress.countryCode required', 'an address given still needs a country');

SELECT * FROM finish();
ROLLBACK;
