"""The storefront's checkout in a shop with regions: the address step offers the regions' countries; the
country decides the tax and the shipping options; the summary shows subtotal, shipping, tax and total before
the order is placed, and the confirmation and the account's order page show the same figures, which are the
order's; a country served in another currency is refused in words. All of it with plain forms (no script)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest

from rustok.db import Database
from tests.py.commerce_support import seed_regions
from tests.py.graphql_support import Api
from tests.py.storefront_support import Shop, csrf_of, seed_shop

FIGURES = ("subtotal", "shipping", "tax", "total")


@pytest.fixture(scope="module")
def shop(db: Database) -> Shop:
    """seed_shop's products (the small linen shirt: 49.00 EUR, 5 in stock) with regions EU (DE, FR; 19% VAT;
    Standard 4.99, Express 15.00) and US (USD; Ground 7.00)."""
    shop = seed_shop(db, "vat")
    seed_regions(db, shop.tenant)
    return shop


@pytest.fixture
def api(db: Database, shop: Shop) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def post(api: Api, page: str, action: str, data: dict[str, str], status: int = 303) -> str:
    """Posts a form of `page` (with its CSRF token) to `action`; the answer's Location, else its body."""
    token = csrf_of(api.client.get(page).text)
    response = api.client.post(action, data={"csrf": token, **data}, follow_redirects=False)
    assert response.status_code == status, (action, response.status_code, response.text[:800])
    return response.headers.get("location") or response.text


def figures(html: str, prefix: str) -> dict[str, str]:
    """The breakdown as shown: {"subtotal": "98.00 EUR", "shipping": …, "tax": …, "total": …}."""
    found = {name: re.search(rf'id="{prefix}-{name}">([^<]+)<', html) for name in FIGURES}
    return {name: match.group(1) for name, match in found.items() if match}


def fill_cart(api: Api, shop: Shop, quantity: int = 2) -> None:
    variant = str(shop.shirt["variants"][0]["id"])
    page = f"{shop.base}/products/linen-shirt"
    post(api, page, f"{shop.base}/cart/lines", {"variant": variant, "quantity": str(quantity)})


def options(html: str) -> dict[str, str]:
    """Shipping option name -> id, from the radio buttons."""
    radios = re.findall(r'name="shippingOption" value="([0-9A-Z]{26})"[^>]*> ([^<—]+?) —', html)
    return {name: option_id for option_id, name in radios}


def test_address_then_shipping_then_order_with_the_summary_figures(api: Api, shop: Shop, db: Database) -> None:
    checkout = f"{shop.base}/checkout"
    fill_cart(api, shop)
    first = api.client.get(checkout).text
    assert 'data-testid="address-form"' in first and 'id="checkout-form"' not in first, "the address comes first"
    assert re.findall(r'<option value="([A-Z]{2})"', first) == ["DE", "FR", "US"]

    address = {"firstName": "Ada", "address1": "Hauptstr. 1", "city": "Berlin", "postalCode": "10115"}
    address["countryCode"] = "DE"
    assert post(api, checkout, f"{checkout}/address", address) == checkout
    summary = api.client.get(checkout).text
    assert "Hauptstr. 1" in summary and 'id="place-order" data-testid="place-order" disabled' in summary
    assert figures(summary, "summary") == {
        "subtotal": "98.00 EUR",
        "shipping": "0.00 EUR",
        "tax": "18.62 EUR",
        "total": "116.62 EUR",
    }, "19% German VAT before any shipping option"
    choices = options(summary)
    assert list(choices) == ["Standard", "Express"], "the EU's options, cheapest first (not the US's)"
    refused = post(api, checkout, checkout, {"email": "ada@example.com"}, status=400)
    assert 'data-code="VALIDATION_FAILED"' in refused, "no order without a shipping option"

    assert post(api, checkout, f"{checkout}/shipping", {"shippingOption": choices["Express"]}) == checkout
    summary = api.client.get(checkout).text
    shown = figures(summary, "summary")
    assert shown == {"subtotal": "98.00 EUR", "shipping": "15.00 EUR", "tax": "18.62 EUR", "total": "131.62 EUR"}

    confirmation = post(api, checkout, checkout, {"email": "ada@example.com"}, status=200)
    assert figures(confirmation, "order") == shown, "the confirmation shows what the summary showed"
    number = int(re.search(r'data-testid="order-number">(\d+)<', confirmation).group(1))  # type: ignore[union-attr]
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s)", (shop.tenant.id,))
        stored = conn.execute(
            "select subtotal, shipping_total, tax_total, total, shipping_address ->> 'countryCode'"
            " from commerce_orders where display_id = %s",
            (number,),
        ).fetchone()
    assert stored == (9800, 1500, 1862, 13162, "DE"), "the order's own totals are the summary's"


def test_a_country_served_in_another_currency_is_refused_in_words(api: Api, shop: Shop) -> None:
    checkout = f"{shop.base}/checkout"
    fill_cart(api, shop, 1)
    refused = post(api, checkout, f"{checkout}/address", {"city": "Boston", "countryCode": "US"}, status=400)
    assert 'data-code="REGION_CURRENCY_MISMATCH"' in refused and "Region currency mismatch" in refused
    assert "Orders to US are charged in USD, and this cart is in EUR" in refused
    assert 'value="Boston"' in refused, "what was typed stays"
    assert 'data-testid="address-form"' in api.client.get(checkout).text, "the cart still has no address"
    skipped = post(api, checkout, checkout, {"email": "x@example.com"}, status=400)
    assert 'data-code="VALIDATION_FAILED"' in skipped and "(shippingAddress)" in skipped, "the order needs an address"
    assert 'data-testid="address-form"' in skipped, "and the answer is the address step"


def test_the_account_order_page_shows_the_breakdown(api: Api, shop: Shop) -> None:
    register = f"{shop.base}/register"
    account = {"email": "vat@example.com", "password": "correct horse battery", "displayName": "Vat"}
    post(api, register, register, account)
    checkout = f"{shop.base}/checkout"
    fill_cart(api, shop, 1)
    post(api, checkout, f"{checkout}/address", {"countryCode": "FR"})
    post(api, checkout, f"{checkout}/shipping", {"shippingOption": options(api.client.get(checkout).text)["Standard"]})
    shown = figures(api.client.get(checkout).text, "summary")
    assert shown == {"subtotal": "49.00 EUR", "shipping": "4.99 EUR", "tax": "9.31 EUR", "total": "63.30 EUR"}
    post(api, checkout, checkout, {}, status=200)
    history = api.client.get(f"{shop.base}/account").text
    order_page = re.search(r'href="([^"]+/account/orders/[^"]+)"', history)
    assert order_page and figures(api.client.get(order_page.group(1)).text, "order") == shown
