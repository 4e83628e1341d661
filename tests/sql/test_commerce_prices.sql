-- Prices: rustok.variant_price (base prices, quantity tiers, price lists with windows and customer groups),
-- set_price, create_price_list, create_customer_group, add_customer_to_group — with permissions, error codes,
-- events and cross-tenant attempts.
BEGIN;
SELECT plan(62);

-- two tenants (acme, globex), each with an admin, a manager and two customers; pg_temp.act(slug, who) acts
-- as one of them (who null: anonymous), pg_temp.id(name) reads an id saved in the temp table ids
-- (tests/sql/support/two_tenants.sql).
DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;

-- pgTAP runs as the application role below: let it reach pgTAP and this test's temp tables.
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
CREATE FUNCTION pg_temp.price(quantity int DEFAULT 1, customer uuid DEFAULT NULL, currency text DEFAULT 'EUR')
RETURNS bigint LANGUAGE sql AS $$
    SELECT p.amount FROM rustok.variant_price((SELECT v.id FROM commerce_variants v WHERE v.sku = 'MUG'),
                                              currency, quantity, customer) p
$$;
CREATE FUNCTION pg_temp.mug() RETURNS text LANGUAGE sql AS $$
    SELECT rustok.ulid(v.id) FROM commerce_variants v WHERE v.sku = 'MUG'
$$;
CREATE FUNCTION pg_temp.set_price(amount jsonb, currency text DEFAULT 'EUR', list text DEFAULT NULL,
                                  min_quantity int DEFAULT 1) RETURNS jsonb LANGUAGE sql AS $$
    SELECT rustok.set_price(jsonb_build_object('variantId', pg_temp.mug(), 'currencyCode', currency, 'amount', amount,
                                               'priceListId', rustok.ulid(pg_temp.id(list)),
                                               'minQuantity', min_quantity))
$$;

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.create_product('{"title": "Mug", "status": "published",
                       "variants": [{"sku": "MUG", "prices": [{"amount": 1000, "currencyCode": "EUR"},
                                                              {"amount": 900, "currencyCode": "EUR", "minQuantity": 5},
                                                              {"amount": 800, "currencyCode": "EUR", "minQuantity": 10}]}]}') $$,
                'a variant with three EUR tiers');

-- base prices and tiers
SELECT is(pg_temp.price(1), 1000::bigint, 'one mug: the base price');
SELECT is(pg_temp.price(5), 900::bigint, 'five: the tier from 5');
SELECT is(pg_temp.price(9), 900::bigint, 'nine: still the tier from 5');
SELECT is(pg_temp.price(100), 800::bigint, 'a hundred: the tier from 10');
SELECT is(pg_temp.price(1, NULL, 'usd'), NULL, 'no USD price: no price');
SELECT throws_ok($$ SELECT * FROM rustok.variant_price(rustok.parse_id(pg_temp.mug()), 'ABC', 1) $$, 'RK223', NULL,
                 'an unknown currency is CURRENCY_UNKNOWN');
SELECT throws_ok($$ SELECT * FROM rustok.variant_price(rustok.parse_id(pg_temp.mug()), 'EUR', 0) $$, 'RK002', NULL,
                 'a quantity below 1 is VALIDATION_FAILED');

-- set_price: insert, replace, remove
SELECT is(jsonb_path_query_array(pg_temp.set_price('1100', 'usd'), '$.prices[*] ? (@.currencyCode == "USD").amount'),
          '[1100]', 'set_price adds a price in another currency and answers with the variant');
SELECT is(pg_temp.price(1, NULL, 'USD'), 1100::bigint, 'variant_price finds it');
SELECT is(jsonb_path_query_array(pg_temp.set_price('"1050"', 'USD'), '$.prices[*] ? (@.currencyCode == "USD").amount'),
          '[1050]', 'setting it again replaces the amount (digits as a string are accepted)');
SELECT is((SELECT array_agg(data ->> 'amount' ORDER BY position) FROM event_outbox WHERE type = 'PriceSet'),
          '{1100,1050}', 'each emits PriceSet');
SELECT is(jsonb_path_query_array(pg_temp.set_price('null', 'USD'), '$.prices[*].currencyCode'),
          '["EUR", "EUR", "EUR"]', 'amount null removes the price');
SELECT is((SELECT count(*) FROM event_outbox WHERE type = 'PriceRemoved'), 1::bigint, 'and emits PriceRemoved');
SELECT throws_ok($$ SELECT pg_temp.set_price('null', 'USD') $$, 'RK003', NULL, 'removing a price that is not there is NOT_FOUND');
SELECT throws_ok($$ SELECT pg_temp.set_price('-1') $$, 'RK002', NULL, 'a negative amount is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT pg_temp.set_price('1.5') $$, 'RK002', NULL, 'a fraction is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT pg_temp.set_price('10000000000000000') $$, 'RK002', NULL, 'more than 10^15 is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.set_price(jsonb_build_object('variantId', pg_temp.mug(), 'currencyCode', 'EUR')) $$,
                 'RK002', NULL, 'a missing amount is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT pg_temp.set_price('100', 'EURO') $$, 'RK223', NULL, 'an unknown currency is CURRENCY_UNKNOWN');
SELECT throws_ok($$ SELECT pg_temp.set_price('100', 'EUR', NULL, 0) $$, 'RK002', NULL, 'a tier below 1 is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.set_price('{"variantId": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "currencyCode": "EUR", "amount": 1}') $$,
                 'RK003', NULL, 'an unknown variant is NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.set_price('{"variantId": "mug", "currencyCode": "EUR", "amount": 1}') $$,
                 'RK001', NULL, 'a malformed variant id is INVALID_ID');
SELECT is(pg_temp.price(1), 1000::bigint, 'the refused calls changed nothing');

-- price lists: a sale for everybody, and one for a customer group
SELECT lives_ok($$ SELECT pg_temp.save('sale', rustok.create_price_list('{"title": "Winter sale"}')) $$,
                'create_price_list: a sale without a window');
SELECT lives_ok($$ SELECT pg_temp.set_price('850', 'EUR', 'sale') $$, 'the sale prices the mug at 850');
SELECT is(pg_temp.price(1), 850::bigint, 'the sale price wins over the base price');
SELECT is((SELECT original_amount FROM rustok.variant_price(rustok.parse_id(pg_temp.mug()), 'EUR', 1)), 1000::bigint,
          'and the base price is the original amount');
SELECT is(pg_temp.price(10), 800::bigint, 'a base tier lower than the sale price still wins');
SELECT lives_ok($$ SELECT pg_temp.save('vip', rustok.create_customer_group('VIP')) $$, 'create_customer_group');
SELECT throws_ok($$ SELECT rustok.create_customer_group('VIP') $$, 'RK004', NULL, 'a group name taken is CONFLICT');
SELECT is(rustok.add_customer_to_group(pg_temp.id('vip'), pg_temp.person('acme', 'customer')) ->> 'customerId',
          rustok.ulid(pg_temp.person('acme', 'customer')), 'add_customer_to_group');
SELECT lives_ok($$ SELECT rustok.add_customer_to_group(pg_temp.id('vip'), pg_temp.person('acme', 'customer')) $$,
                'adding them again is a no-op');
SELECT is((SELECT count(*) FROM event_outbox WHERE type = 'CustomerGroupMemberAdded'), 1::bigint,
          'which emits nothing the second time');
SELECT throws_ok($$ SELECT rustok.add_customer_to_group(pg_temp.id('vip'), pg_temp.person('globex', 'customer')) $$,
                 'RK003', NULL, 'a user of another tenant cannot join: NOT_FOUND');
SELECT lives_ok($$ SELECT pg_temp.save('vip-prices', rustok.create_price_list(
                        jsonb_build_object('title', 'VIP', 'customerGroupId', rustok.ulid(pg_temp.id('vip'))))) $$,
                'a price list for the group');
SELECT lives_ok($$ SELECT pg_temp.set_price('700', 'EUR', 'vip-prices') $$, 'pricing the mug at 700 for VIPs');
SELECT is(pg_temp.price(1, pg_temp.person('acme', 'customer')), 700::bigint, 'a VIP pays the group price');
SELECT is(pg_temp.price(1, pg_temp.person('acme', 'other')), 850::bigint, 'another customer the sale price');
SELECT is(pg_temp.price(1), 850::bigint, 'and so does a guest');
SELECT lives_ok($$ SELECT pg_temp.save('future', rustok.create_price_list(jsonb_build_object(
                        'title', 'Next year', 'startsAt', now() + interval '1 year'))) $$,
                'a price list that starts later');
SELECT lives_ok($$ SELECT pg_temp.save('past', rustok.create_price_list(jsonb_build_object(
                        'title', 'Last year', 'startsAt', now() - interval '2 years', 'endsAt', now() - interval '1 year'))) $$,
                'one that has ended');
SELECT lives_ok($$ SELECT pg_temp.save('draft', rustok.create_price_list('{"title": "Draft", "status": "draft"}')) $$,
                'and a draft one');
SELECT lives_ok($$ SELECT pg_temp.set_price('100', 'EUR', 'future'), pg_temp.set_price('100', 'EUR', 'past'),
                          pg_temp.set_price('100', 'EUR', 'draft') $$, 'each with a very low price');
SELECT is(pg_temp.price(1), 850::bigint, 'none of them applies outside its window or as a draft');
SELECT throws_ok($$ SELECT rustok.create_price_list(jsonb_build_object('title', 'Bad', 'startsAt', now(), 'endsAt', now() - interval '1 day')) $$,
                 'RK002', NULL, 'a window that ends before it starts is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_price_list('{"title": "Bad", "customerGroupId": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}') $$,
                 'RK003', NULL, 'an unknown customer group is NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.create_price_list('{"title": "Bad", "status": "on"}') $$,
                 'RK002', NULL, 'an unknown status is VALIDATION_FAILED');

-- who may
SELECT pg_temp.act('acme', 'manager');
SELECT lives_ok($$ SELECT pg_temp.set_price('990') $$, 'a manager may set prices');
SELECT pg_temp.act('acme', 'customer');
SELECT is(pg_temp.price(1, pg_temp.person('acme', 'customer')), 700::bigint, 'a customer may ask for prices');
SELECT throws_ok($$ SELECT pg_temp.set_price('1') $$, 'RK005', NULL, 'but not set them: FORBIDDEN');
SELECT throws_ok($$ SELECT rustok.create_price_list('{"title": "Mine"}') $$, 'RK005', NULL, 'nor make price lists');
SELECT throws_ok($$ SELECT rustok.create_customer_group('Mine') $$, 'RK005', NULL, 'nor customer groups');
SELECT throws_ok($$ SELECT rustok.add_customer_to_group(pg_temp.id('vip'), pg_temp.person('acme', 'other')) $$,
                 'RK005', NULL, 'nor add members');
SELECT pg_temp.act('acme');
SELECT is(pg_temp.price(1), 850::bigint, 'anonymous callers may ask for prices');
SELECT throws_ok($$ SELECT pg_temp.set_price('1') $$, 'RK006', NULL, 'but setting one is UNAUTHENTICATED');

-- another tenant
SELECT pg_temp.act('globex', 'admin');
SELECT is(pg_temp.price(1), NULL, 'globex gets no price for acme''s variant');
SELECT throws_ok($$ SELECT pg_temp.set_price('1') $$, 'RK003', NULL, 'and cannot set one: NOT_FOUND');
SELECT lives_ok($$ SELECT rustok.create_product('{"title": "Cup", "variants": [{"sku": "CUP"}]}') $$, 'globex has its own variant');
SELECT throws_ok(format($$ SELECT rustok.set_price(jsonb_build_object('variantId', (SELECT rustok.ulid(id) FROM commerce_variants WHERE sku = 'CUP'),
                                                                   'currencyCode', 'EUR', 'amount', 5, 'priceListId', %L)) $$,
                        rustok.ulid(pg_temp.id('sale'))),
                 'RK003', NULL, 'whose price cannot go into acme''s price list: NOT_FOUND');
SELECT throws_ok(format($$ SELECT rustok.create_price_list(jsonb_build_object('title', 'X', 'customerGroupId', %L)) $$,
                        rustok.ulid(pg_temp.id('vip'))),
                 'RK003', NULL, 'nor can a globex price list use acme''s customer group');
SELECT throws_ok(format($$ SELECT rustok.add_customer_to_group(%L, %L) $$, pg_temp.id('vip'), pg_temp.person('globex', 'customer')),
                 'RK003', NULL, 'nor add to it');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
