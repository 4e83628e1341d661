"""The cart, through the same SQL functions as GraphQL (rustok.create_cart, add_cart_line, update_cart_line,
cart_by_id). The cart's id lives in a cookie; a guest cart is anyone's who holds it, a signed-in customer's
cart is theirs. Checkout is checkout.py."""

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
