"""Cart and checkout, through the same SQL functions as GraphQL (rustok.create_cart, add_cart_line,
update_cart_line, cart_by_id, place_order). The cart's id lives in a cookie; a guest cart is anyone's who
holds it, a signed-in customer's cart is theirs. The order confirmation is the answer to the checkout POST."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb
from starlette.responses import Response

from rustok.api.numbers import whole_number
from rustok.errors import InvalidId, InvalidState, NotFound, ValidationFailed
from rustok.ids import parse_id
from rustok.storefront.render import html
from rustok.storefront.routing import see_other
from rustok.storefront.visit import CART, Visit

ADDRESS_FIELDS = (
    "firstName",
    "lastName",
    "company",
    "address1",
    "address2",
    "city",
    "province",
    "postalCode",
    "countryCode",
    "phone",
)


def _cart_uuid(visit: Visit) -> uuid.UUID | None:
    try:
        return parse_id(visit.cart_id) if visit.cart_id else None
    except InvalidId:
        return None


def _quantity(visit: Visit, lowest: int) -> int:
    quantity = whole_number(visit.form.get("quantity", "1").strip(), "quantity", 5)
    if not lowest <= quantity <= 10_000:
        raise ValidationFailed("quantity is out of range", {"field": "quantity"})
    return quantity


async def current_cart(visit: Visit) -> dict[str, Any] | None:
    """The visitor's open cart, or None (no cookie, someone else's, or already an order)."""
    cart_id = _cart_uuid(visit)
    if cart_id is None:
        return None
    cart: dict[str, Any] | None = await visit.call("rustok.cart_by_id(%s)", (cart_id,))
    if cart is None or cart.get("orderId") or cart.get("status") != "active":
        visit.cookies[CART] = None
        return None
    return cart


async def view_cart(visit: Visit) -> Response:
    return html("cart.html", visit.context(cart=await current_cart(visit), meta_title="Cart"))


async def add_line(visit: Visit) -> Response:
    variant = parse_id(visit.form.get("variant", ""))
    quantity = _quantity(visit, 1)
    cart_id = _cart_uuid(visit)
    if cart_id is not None:
        try:
            await visit.call("rustok.add_cart_line(%s, %s, %s)", (cart_id, variant, quantity))
            return see_other(visit, "/cart")
        except (NotFound, InvalidState) as exc:
            if exc.details.get("field") != "cartId":
                raise  # the variant is the problem, not the cart
    if visit.currency is None:
        raise ValidationFailed("this shop has no prices yet", {"field": "currency"})
    cart = await visit.call(
        "rustok.create_cart(%s)",
        (Jsonb({"currencyCode": visit.currency, "lines": [{"variantId": str(variant), "quantity": quantity}]}),),
    )
    visit.cookies[CART] = cart["id"]
    return see_other(visit, "/cart")


async def update_line(visit: Visit) -> Response:
    cart_id = _cart_uuid(visit)
    if cart_id is None:
        return see_other(visit, "/cart")
    line = parse_id(str(visit.request.path_params["line"]))
    await visit.call("rustok.update_cart_line(%s, %s, %s)", (cart_id, line, _quantity(visit, 0)))
    return see_other(visit, "/cart")


async def checkout_form(visit: Visit) -> Response:
    cart = await current_cart(visit)
    if cart is None or not cart["lines"]:
        return see_other(visit, "/cart")
    return html("checkout.html", visit.context(cart=cart, form={}, meta_title="Checkout"))


async def place_order(visit: Visit) -> Response:
    cart = await current_cart(visit)
    if cart is None or not cart["lines"]:
        return see_other(visit, "/cart")
    address = {k: visit.form[k].strip() for k in ADDRESS_FIELDS if visit.form.get(k, "").strip()}
    email = visit.form.get("email", "").strip() or None
    try:
        order = await visit.call(
            "rustok.place_order(%s, %s, %s)", (parse_id(cart["id"]), email, Jsonb(address) if address else None)
        )
    except ValidationFailed as exc:  # show the form again, with what was typed and what is wrong
        context = visit.context(cart=cart, form=visit.form, error=exc.code, field=exc.details.get("field"))
        return html("checkout.html", context, status=400)
    visit.cookies[CART] = None
    return html("order.html", visit.context(order=order, placed=True, meta_title="Thank you"))
