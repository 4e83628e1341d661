-- depends: commerce_0004_orders
-- Where a cart goes: its shipping address, set during checkout (rustok.set_cart_shipping_address, which also
-- sets the cart's region from the address's country). The order takes it when placed without an address.

alter table commerce_carts
    add column shipping_address jsonb check (shipping_address is null or jsonb_typeof(shipping_address) = 'object');
