"""The commerce module: catalog, multi-currency prices, inventory, carts, checkout and orders.

Everything is SQL (sql/migrations/commerce, sql/functions/commerce, sql/triggers/commerce); this package is
the module's registration and its GraphQL layer: the SDL (schema.graphql) and one SQL function per field."""

from __future__ import annotations

from pathlib import Path

from rustok.graphql.fields import SqlField
from rustok.modules.contract import RusToKModule

SDL = (Path(__file__).parent / "schema.graphql").read_text()

RESOLVERS = {
    "Query.commerceDashboard": SqlField("rustok.commerce_dashboard(%s, %s)", "timeZone", "lowStock"),
    "Query.currencies": SqlField("rustok.list_currencies()"),
    "Query.product": SqlField("rustok.product_by_id(%s)", "id"),
    "Query.productByHandle": SqlField("rustok.product_by_handle(%s)", "handle"),
    "Query.products": SqlField("rustok.list_products(%s, %s, %s)", "first", "after", "filter"),
    "Query.cart": SqlField("rustok.cart_by_id(%s)", "id"),
    "Query.shippingCountries": SqlField("rustok.shipping_countries()"),
    "Query.order": SqlField("rustok.order_by_id(%s)", "id"),
    "Query.orders": SqlField("rustok.list_orders(%s, %s, %s)", "first", "after", "filter"),
    "Mutation.createProduct": SqlField("rustok.create_product(%s)", "input"),
    "Mutation.updateProduct": SqlField("rustok.update_product(%s, %s)", "id", "input"),
    "Mutation.deleteProduct": SqlField("rustok.delete_product(%s)", "id"),
    "Mutation.setPrice": SqlField("rustok.set_price(%s)", "input"),
    "Mutation.adjustInventory": SqlField("rustok.adjust_inventory(%s)", "input"),
    "Mutation.createCart": SqlField("rustok.create_cart(%s)", "input"),
    "Mutation.addCartLine": SqlField("rustok.add_cart_line(%s, %s, %s)", "cartId", "variantId", "quantity"),
    "Mutation.updateCartLine": SqlField("rustok.update_cart_line(%s, %s, %s)", "cartId", "lineId", "quantity"),
    "Mutation.removeCartLine": SqlField("rustok.remove_cart_line(%s, %s)", "cartId", "lineId"),
    "Mutation.applyDiscount": SqlField("rustok.apply_discount(%s, %s)", "cartId", "code"),
    "Mutation.setCartShippingAddress": SqlField("rustok.set_cart_shipping_address(%s, %s)", "cartId", "address"),
    "Mutation.setCartShippingOption": SqlField("rustok.set_cart_shipping_option(%s, %s)", "cartId", "shippingOptionId"),
    "Mutation.placeOrder": SqlField(
        "rustok.place_order(%s, %s, %s, %s)", "cartId", "email", "shippingAddress", "billingAddress"
    ),
    "Mutation.setOrderStatus": SqlField("rustok.set_order_status(%s, %s)", "id", "status"),
}

MODULE = RusToKModule(
    maintenance=("rustok.release_expired_reservations()",),
    slug="commerce",
    name="Commerce",
    description="Products, variants, multi-currency prices, inventory, carts, checkout and orders",
    version="1.0.0",
    graphql_sdl=SDL,
    resolvers=RESOLVERS,
)
