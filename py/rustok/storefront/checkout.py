"""Checkout in steps that work without JavaScript, through the SQL functions GraphQL uses:

1. the address (`POST /checkout/address`: rustok.set_cart_shipping_address — the region, and so the tax,
   follows from the country, chosen among rustok.shipping_countries());
2. the shipping option (`POST /checkout/shipping`: rustok.set_cart_shipping_option) with the summary —
   subtotal, discount, shipping, tax, total — as the cart's own totals, the rule orders are priced by;
3. the order (`POST /checkout`: rustok.place_order, which ships to the cart's address); the confirmation is
   the answer. A shop without regions keeps a one-page form (address typed, no tax or shipping).

This module only collects input and shows the answers: whether an order may be placed (an address, a served
country, a shipping option) and what it costs are place_order's decisions, the same for GraphQL and psql."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb
from starlette.responses import Response

from rustok.errors import InvalidId, ValidationFailed
from rustok.ids import parse_id
from rustok.storefront.render import html
from rustok.storefront.routing import see_other
from rustok.storefront.shop import current_cart
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


def _address(visit: Visit) -> dict[str, str]:
    return {k: visit.form[k].strip() for k in ADDRESS_FIELDS if visit.form.get(k, "").strip()}


async def _page(
    visit: Visit,
    cart: dict[str, Any],
    editing: bool = False,
    error: ValidationFailed | None = None,
    status: int = 200,
) -> Response:
    """The checkout page: the address step while the cart has none (or it is being changed), else the
    shipping options, the summary and the place-order form; an error shows what was typed with it."""
    countries: list[dict[str, Any]] = await visit.call("rustok.shipping_countries()")
    step = "address" if countries and (editing or not cart.get("shippingAddress")) else "summary"
    typed = visit.form if error is not None else (cart.get("shippingAddress") or {})
    context = visit.context(
        cart=cart,
        countries=countries,
        step=step,
        form=typed,
        error=error.code if error else None,
        field=error.details.get("field") if error else None,
        details=error.details if error else {},
        meta_title="Checkout",
    )
    return html("checkout.html", context, status=status)


async def checkout_form(visit: Visit) -> Response:
    cart = await current_cart(visit)
    if cart is None or not cart["lines"]:
        return see_other(visit, "/cart")
    return await _page(visit, cart, editing=visit.request.query_params.get("step") == "address")


async def set_address(visit: Visit) -> Response:
    cart = await current_cart(visit)
    if cart is None or not cart["lines"]:
        return see_other(visit, "/cart")
    try:
        await visit.call("rustok.set_cart_shipping_address(%s, %s)", (parse_id(cart["id"]), Jsonb(_address(visit))))
    except ValidationFailed as exc:  # REGION_CURRENCY_MISMATCH too: the form again, with the error in words
        return await _page(visit, cart, editing=True, error=exc, status=400)
    return see_other(visit, "/checkout")


async def set_shipping(visit: Visit) -> Response:
    cart = await current_cart(visit)
    if cart is None or not cart["lines"]:
        return see_other(visit, "/cart")
    try:
        option = parse_id(visit.form.get("shippingOption", ""))
    except InvalidId:
        missing = ValidationFailed("choose a shipping option", {"field": "shippingOption"})
        return await _page(visit, cart, error=missing, status=400)
    await visit.call("rustok.set_cart_shipping_option(%s, %s)", (parse_id(cart["id"]), option))
    return see_other(visit, "/checkout")


async def place_order(visit: Visit) -> Response:
    cart = await current_cart(visit)
    if cart is None or not cart["lines"]:
        return see_other(visit, "/cart")
    address = _address(visit) or None  # the one-page form of a shop without regions; the cart's address else
    email = visit.form.get("email", "").strip() or None
    try:
        order = await visit.call(
            "rustok.place_order(%s, %s, %s)", (parse_id(cart["id"]), email, Jsonb(address) if address else None)
        )
    except ValidationFailed as exc:  # the step the refusal is about, with what was typed and what is wrong
        editing = str(exc.details.get("field", "")).startswith("shippingAddress")
        return await _page(visit, cart, editing=editing, error=exc, status=400)
    visit.cookies[CART] = None
    return html("order.html", visit.context(order=order, placed=True, meta_title="Thank you"))
