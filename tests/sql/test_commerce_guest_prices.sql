-- rustok._commerce_guest_prices (the set form the index prices whole batches with) gives, for every variant and
-- currency, what rustok._commerce_price gives a guest buying one: base prices, quantity tiers, price lists
-- active now, in their window or not, drafts, customer-group lists (never a guest's), several currencies, a
-- currency with only a higher tier (no offer) - compared on all variants at once after each change.
BEGIN;
SELECT plan(9);

DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;

-- every (variant, currency, amount) of the current tenant: by the rule, one call per variant and currency ...
CREATE FUNCTION pg_temp.by_rule() RETURNS TABLE (variant_id uuid, currency_code text, amount bigint)
LANGUAGE sql AS $$
    SELECT c.variant_id, c.cur, pr.amount
    FROM (SELECT DISTINCT p.variant_id, p.currency_code::text AS cur FROM commerce_prices p) c
    CROSS JOIN LATERAL rustok._commerce_price(c.variant_id, c.cur, 1, NULL) pr
$$;
-- ... and by the set form, for all products at once
CREATE FUNCTION pg_temp.by_set() RETURNS TABLE (variant_id uuid, currency_code text, amount bigint)
LANGUAGE sql AS $$
    SELECT g.variant_id, g.currency_code, g.amount
    FROM rustok._commerce_guest_prices(rustok.current_tenant_id(), ARRAY(SELECT p.id FROM commerce_products p)) g
$$;
CREATE FUNCTION pg_temp.variant(sku text) RETURNS text LANGUAGE sql AS $$
    SELECT rustok.ulid(v.id) FROM commerce_variants v WHERE v.sku = sku
$$;
CREATE FUNCTION pg_temp.set_price(sku text, amount int, currency text DEFAULT 'EUR', list text DEFAULT NULL,
                                  min_quantity int DEFAULT 1) RETURNS jsonb LANGUAGE sql AS $$
    SELECT rustok.set_price(jsonb_build_object('variantId', pg_temp.variant(sku), 'currencyCode', currency,
                                               'amount', amount, 'priceListId', rustok.ulid(pg_temp.id(list)),
                                               'minQuantity', min_quantity))
$$;

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT '# done' FROM (SELECT pg_temp.save('mug', rustok.create_product('{"title": "Mug", "status": "published", "variants": [
    {"sku": "MUG-S", "prices": [{"amount": 1000, "currencyCode": "EUR"}, {"amount": 900, "currencyCode": "EUR", "minQuantity": 5},
                                {"amount": 1200, "currencyCode": "USD"}]},
    {"sku": "MUG-L", "prices": [{"amount": 1500, "currencyCode": "EUR"}, {"amount": 1400, "currencyCode": "GBP", "minQuantity": 3}]}]}')),
    rustok.create_product('{"title": "Plate", "status": "draft", "variants": [
    {"sku": "PLATE", "prices": [{"amount": 500, "currencyCode": "EUR"}]}]}')) _x;
SELECT set_eq('SELECT * FROM pg_temp.by_set()', 'SELECT * FROM pg_temp.by_rule()',
              'base prices and tiers (a currency with only a higher tier has no guest price)');
SELECT is((SELECT count(*) FROM pg_temp.by_set()), 4::bigint, 'four (variant, currency) guest prices');

SELECT '# done' FROM (SELECT pg_temp.save('sale', rustok.create_price_list('{"title": "Sale"}')),
                             pg_temp.save('vip', rustok.create_customer_group('VIP'))) _x;
SELECT '# done' FROM (SELECT pg_temp.save('vip-prices', rustok.create_price_list(
                                 jsonb_build_object('title', 'VIP', 'customerGroupId', rustok.ulid(pg_temp.id('vip'))))),
                             pg_temp.save('future', rustok.create_price_list(jsonb_build_object(
                                 'title', 'Next year', 'startsAt', now() + interval '1 year'))),
                             pg_temp.save('past', rustok.create_price_list(jsonb_build_object(
                                 'title', 'Last year', 'startsAt', now() - interval '2 years',
                                 'endsAt', now() - interval '1 year'))),
                             pg_temp.save('draft', rustok.create_price_list('{"title": "Draft", "status": "draft"}'))) _x;
SELECT '# done' FROM (SELECT pg_temp.set_price('MUG-S', 850, 'EUR', 'sale'), pg_temp.set_price('MUG-S', 1300, 'USD', 'sale'),
                             pg_temp.set_price('MUG-L', 100, 'EUR', 'vip-prices'), pg_temp.set_price('MUG-L', 100, 'EUR', 'future'),
                             pg_temp.set_price('MUG-L', 100, 'EUR', 'past'), pg_temp.set_price('MUG-L', 100, 'EUR', 'draft'),
                             pg_temp.set_price('MUG-L', 1450, 'EUR', 'sale', 2), pg_temp.set_price('PLATE', 450, 'CHF', 'sale')) _x;
SELECT set_eq('SELECT * FROM pg_temp.by_set()', 'SELECT * FROM pg_temp.by_rule()',
              'price lists: a sale wins when lower, the base price when the sale is higher; group, future, past, draft and higher-tier list prices never apply to a guest; a currency priced only in a list');
SELECT is((SELECT amount FROM pg_temp.by_set() g JOIN commerce_variants v ON v.id = g.variant_id
           WHERE v.sku = 'MUG-S' AND g.currency_code = 'EUR'), 850::bigint, 'the sale price, not the base price');
SELECT is((SELECT amount FROM pg_temp.by_set() g JOIN commerce_variants v ON v.id = g.variant_id
           WHERE v.sku = 'MUG-L' AND g.currency_code = 'EUR'), 1500::bigint, 'no list price for a guest buying one');

-- a window that closes now, and a list switched off
UPDATE commerce_price_lists SET ends_at = now() WHERE id = pg_temp.id('sale');
SELECT set_eq('SELECT * FROM pg_temp.by_set()', 'SELECT * FROM pg_temp.by_rule()', 'a list whose window ended');
UPDATE commerce_price_lists SET ends_at = NULL, status = 'draft' WHERE id = pg_temp.id('sale');
SELECT set_eq('SELECT * FROM pg_temp.by_set()', 'SELECT * FROM pg_temp.by_rule()', 'a list made a draft again');

-- other tenants' variants are never priced
SELECT pg_temp.act('globex', 'admin');
SELECT is((SELECT count(*) FROM rustok._commerce_guest_prices(rustok.current_tenant_id(), ARRAY[pg_temp.id('mug')])),
          0::bigint, 'another tenant gets nothing for acme''s product id');
SELECT pg_temp.act('acme', 'admin');
SELECT is((SELECT count(*) FROM rustok._commerce_guest_prices(rustok.current_tenant_id(), ARRAY[pg_temp.id('mug')])),
          3::bigint, 'which acme prices in three (variant, currency) pairs');

SELECT * FROM finish();
ROLLBACK;
