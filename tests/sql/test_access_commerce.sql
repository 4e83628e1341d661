-- Who may use a cart and an order, in their NULL cases (docs/commerce.md, "Who owns a cart and an order"):
-- a customer's cart is refused to anonymous callers for every cart function (place_order too, so nothing
-- lands in the customer's history); a guest cart is its id holder's; a deleted customer's carts go with them;
-- a guest order (no customer) is read and changed by order managers only; no tenant is TENANT_REQUIRED.
BEGIN;
SELECT plan(39);

-- two tenants (acme, globex), each with an admin, a manager and two customers; pg_temp.act(slug, who) acts
-- as one of them (who null: anonymous) (tests/sql/support/two_tenants.sql).
DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
DO $$ BEGIN
    PERFORM rustok.set_context(id) FROM tenants WHERE slug = 'acme';
    PERFORM rustok._insert_user('leaving@acme.test', 'hash', 'customer');
    INSERT INTO people SELECT 'acme', 'leaving', u.tenant_id, u.id, 'customer' FROM users u WHERE u.email = 'leaving@acme.test';
END $$;

GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
CREATE FUNCTION pg_temp.cart(name text) RETURNS jsonb LANGUAGE sql AS $$
    /* a cart of the current caller with one pair of boots */
    SELECT pg_temp.save(name, rustok.create_cart(jsonb_build_object('currencyCode', 'EUR', 'lines', jsonb_build_array(
        jsonb_build_object('variantId', (SELECT rustok.ulid(v.id) FROM commerce_variants v WHERE v.sku = 'BOOT'),
                           'quantity', 1)))))
$$;
CREATE FUNCTION pg_temp.refused(cart text) RETURNS text[] LANGUAGE plpgsql AS $$
/* Every cart function called on the cart: those that did not raise NOT_FOUND (RK003), with what they did. */
DECLARE
    call text;
    outcome text;
    wrong text[] := '{}';
BEGIN
    FOREACH call IN ARRAY ARRAY[  -- in the order an attacker would go, the order placed before the last one
        'rustok.add_cart_line(%1$L, (SELECT v.id FROM commerce_variants v WHERE v.sku = ''BOOT''), 1)',
        'rustok.update_cart_line(%1$L, (SELECT l.id FROM commerce_cart_lines l WHERE l.cart_id = %1$L), 2)',
        'rustok.apply_discount(%1$L, ''TEN'')',
        'rustok.set_cart_shipping_address(%1$L, ''{"countryCode": "DE", "city": "Berlin"}'')',
        'rustok.set_cart_shipping_option(%1$L, NULL)',
        'rustok.start_checkout(%1$L)',
        'rustok.cancel_checkout(%1$L)',
        'rustok.place_order(%1$L, ''thief@example.com'', ''{"countryCode": "DE", "city": "Berlin"}'')',
        'rustok.remove_cart_line(%1$L, (SELECT l.id FROM commerce_cart_lines l WHERE l.cart_id = %1$L))'] LOOP
        BEGIN
            EXECUTE format('SELECT ' || call, pg_temp.id(cart));
            outcome := 'done';
        EXCEPTION WHEN OTHERS THEN
            outcome := SQLSTATE;
        END;
        IF outcome <> 'RK003' THEN
            wrong := wrong || (split_part(call, '(', 1) || ': ' || outcome);
        END IF;
    END LOOP;
    RETURN wrong;
END
$$;

CREATE FUNCTION pg_temp.try(call text) RETURNS jsonb LANGUAGE plpgsql AS $$
/* What a call returns, or {"error": SQLSTATE}: a refusal fails its assertion without ending the file. */
DECLARE
    answer jsonb;
BEGIN
    EXECUTE 'SELECT ' || call INTO answer;
    RETURN answer;
EXCEPTION WHEN OTHERS THEN
    RETURN jsonb_build_object('error', SQLSTATE);
END
$$;

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT lives_ok($$ SELECT rustok.create_product('{"title": "Boots", "status": "published", "variants": [
                       {"sku": "BOOT", "inventoryQuantity": 50, "prices": [{"amount": 8000, "currencyCode": "EUR"}]}]}'),
                          rustok.create_region('{"name": "EU", "currencyCode": "EUR", "countries": ["DE"]}'),
                          rustok.create_discount('{"code": "TEN", "kind": "percentage", "value": 10}') $$,
                'boots, a region, a discount code');

-- a signed-in customer's cart
SELECT pg_temp.act('acme', 'customer');
SELECT isnt(pg_temp.cart('mine') ->> 'customerId', NULL, 'a cart made signed in is the customer''s');
SELECT pg_temp.act('acme');
SELECT is(rustok.cart_by_id(pg_temp.id('mine')), NULL, 'anonymous: the customer''s cart reads as null');
SELECT is(pg_temp.refused('mine'), '{}', 'anonymous: every cart function on it is NOT_FOUND (place_order too)');
SELECT pg_temp.act('acme', 'other');
SELECT is(rustok.cart_by_id(pg_temp.id('mine')), NULL, 'another customer: null');
SELECT is(pg_temp.refused('mine'), '{}', 'another customer: every cart function on it is NOT_FOUND');
SELECT pg_temp.act('acme', 'customer');
SELECT is(rustok.list_orders() -> 'edges', '[]', 'nothing was ordered in the customer''s name');
SELECT is((SELECT count(*) FROM commerce_cart_lines l WHERE l.cart_id = pg_temp.id('mine')), 1::bigint,
          'and the cart is as its owner left it');
SELECT is(pg_temp.try($$ rustok.add_cart_line(pg_temp.id('mine'), (SELECT v.id FROM commerce_variants v
                                                                     WHERE v.sku = 'BOOT'), 1) $$)
          #>> '{lines,0,quantity}', '2', 'the owner uses it');
SELECT pg_temp.act('acme', 'manager');
SELECT isnt(rustok.cart_by_id(pg_temp.id('mine')), NULL, 'an order manager reads it');
SELECT pg_temp.act('globex', 'admin');
SELECT is(rustok.cart_by_id(pg_temp.id('mine')), NULL, 'another tenant''s admin: null');
SELECT is(pg_temp.refused('mine'), '{}', 'another tenant''s admin: NOT_FOUND');

-- a guest cart: its id is the secret
SELECT pg_temp.act('acme');
SELECT is(pg_temp.cart('guest') ->> 'customerId', NULL, 'a cart made anonymously is a guest cart');
SELECT isnt(rustok.cart_by_id(pg_temp.id('guest')), NULL, 'its holder reads it');
SELECT lives_ok($$ SELECT rustok.set_cart_shipping_address(pg_temp.id('guest'), '{"countryCode": "DE"}') $$,
                'and changes it');
SELECT pg_temp.act('acme', 'other');
SELECT isnt(rustok.cart_by_id(pg_temp.id('guest')), NULL, 'a signed-in holder reads it too');
SELECT pg_temp.act('acme');
SELECT is(rustok._commerce_cart_visible(NULL::commerce_carts), false, 'no cart is nobody''s (false, not null)');

-- a deleted customer's carts go with them, instead of becoming guest carts
SELECT pg_temp.act('acme', 'leaving');
SELECT isnt(pg_temp.cart('leavers') ->> 'customerId', NULL, 'a customer''s cart');
RESET ROLE;
DELETE FROM users WHERE email = 'leaving@acme.test';
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme');
SELECT is(pg_temp.refused('leavers'), '{}', 'after the customer is deleted, anonymous callers cannot use their cart');
SELECT pg_temp.act('acme', 'manager');
SELECT is(rustok.cart_by_id(pg_temp.id('leavers')), NULL, 'it is gone (not a guest cart now)');

-- orders: a customer's, a guest's
SELECT pg_temp.act('acme', 'customer');
SELECT is(pg_temp.try($$ pg_temp.save('mine-order', rustok.place_order(pg_temp.id('mine'), NULL, '{"countryCode": "DE"}')) $$)
          ->> 'status', 'pending', 'the customer orders their cart');
SELECT pg_temp.act('acme');
SELECT is(pg_temp.save('guest-order', rustok.place_order(pg_temp.id('guest'), 'guest@example.com')) ->> 'customerId',
          NULL, 'a guest orders their cart: a guest order (no customer)');
SELECT throws_ok($$ SELECT rustok.set_order_status(pg_temp.id('guest-order'), 'canceled') $$, 'RK006', NULL,
                 'anonymous: cancelling the guest order is UNAUTHENTICATED (a guest order has no secret yet)');
SELECT throws_ok($$ SELECT rustok.order_by_id(pg_temp.id('guest-order')) $$, 'RK006', NULL,
                 'nor may an anonymous caller read it');
SELECT throws_ok($$ SELECT rustok.list_orders() $$, 'RK006', NULL, 'nor list orders');
SELECT pg_temp.act('acme', 'other');
SELECT throws_ok($$ SELECT rustok.set_order_status(pg_temp.id('guest-order'), 'canceled') $$, 'RK003', NULL,
                 'a signed-in customer cannot cancel a guest order: NOT_FOUND');
SELECT is(rustok.order_by_id(pg_temp.id('guest-order')), NULL, 'nor read it');
SELECT is(rustok.list_orders() -> 'edges', '[]', 'nor list it');
SELECT throws_ok($$ SELECT rustok.set_order_status(pg_temp.id('mine-order'), 'canceled') $$, 'RK003', NULL,
                 'nor cancel another customer''s order');
SELECT pg_temp.act('acme', 'customer');
SELECT is(jsonb_path_query_array(rustok.list_orders() -> 'edges', '$[*].node.id'),
          jsonb_build_array(rustok.ulid(pg_temp.id('mine-order'))), 'a customer lists their own order only');
SELECT is(pg_temp.try($$ rustok.set_order_status(pg_temp.id('mine-order'), 'canceled') $$) ->> 'status', 'canceled',
          'and cancels it');
SELECT pg_temp.act('acme', 'manager');
SELECT is(pg_temp.try($$ rustok.set_order_status(pg_temp.id('guest-order'), 'canceled') $$) ->> 'status', 'canceled',
          'an order manager cancels the guest order');

-- an order whose customer was deleted is no customer's
SELECT pg_temp.act('acme', 'other');
SELECT lives_ok($$ SELECT pg_temp.cart('others'), rustok.place_order(pg_temp.id('others'), NULL, '{"countryCode": "DE"}') $$,
                'another customer orders');
DO $$ BEGIN PERFORM pg_temp.save('others-order', (SELECT jsonb_build_object('id', rustok.ulid(o.id))
                                                 FROM commerce_orders o WHERE o.cart_id = pg_temp.id('others'))); END $$;
RESET ROLE;
DELETE FROM users WHERE email = 'other@acme.test';
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'customer');
SELECT throws_ok($$ SELECT rustok.set_order_status(pg_temp.id('others-order'), 'canceled') $$, 'RK003', NULL,
                 'a deleted customer''s order (customer_id null now): another customer cannot cancel it');
SELECT is(rustok.order_by_id(pg_temp.id('others-order')), NULL, 'nor read it');
SELECT pg_temp.act('acme', 'manager');
SELECT isnt(rustok.order_by_id(pg_temp.id('others-order')), NULL, 'an order manager reads it');

-- no tenant
SELECT test_support.set_settings(NULL, pg_temp.person('acme', 'customer'), 'customer');  -- set_context refuses it
SELECT throws_ok($$ SELECT rustok.cart_by_id(pg_temp.id('guest')) $$, 'RK007', NULL, 'no tenant: TENANT_REQUIRED');
SELECT throws_ok($$ SELECT rustok.add_cart_line(pg_temp.id('guest'), rustok.gen_id(), 1) $$, 'RK007', NULL,
                 'changing a cart without a tenant: TENANT_REQUIRED');
SELECT throws_ok($$ SELECT rustok.set_order_status(pg_temp.id('mine-order'), 'canceled') $$, 'RK007', NULL,
                 'an order without a tenant: TENANT_REQUIRED');

SELECT * FROM finish();
ROLLBACK;
