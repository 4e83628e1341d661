-- depends: commerce_0005_cart_address
-- A customer's carts go when the customer is deleted. Until now the key set customer_id to null, and a cart
-- with no customer is a guest cart, which anyone holding its id may use (rustok._commerce_cart_visible): a
-- deleted customer's cart became a bearer cart. Orders keep `on delete set null` (they are records, and an
-- order without a customer is read and changed only by order managers: rustok._commerce_order_visible).

alter table commerce_carts
    drop constraint commerce_carts_tenant_id_customer_id_fkey,
    add constraint commerce_carts_tenant_id_customer_id_fkey
        foreign key (tenant_id, customer_id) references users (tenant_id, id) on delete cascade;
