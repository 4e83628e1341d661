-- depends: commerce_0006_customer_carts
-- The core's one e-mail rule (rustok.is_email) on carts, as on users; and on orders, which had none.
alter table commerce_carts drop constraint commerce_carts_email_check;
alter table commerce_carts add constraint commerce_carts_email_check check (email is null or rustok.is_email(email));
alter table commerce_orders add constraint commerce_orders_email_check check (rustok.is_email(email));
