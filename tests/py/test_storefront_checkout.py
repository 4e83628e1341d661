"""Cart → checkout → confirmation through the storefront's forms, as a guest and signed in; registration and
sign-in set the session cookie; the account lists the customer's orders; every POST needs the session's CSRF
token; an expired access token is replaced through the refresh token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from starlette.testclient import TestClient

from rustok.db import Database
from tests.py.graphql_support import Api
from tests.py.storefront_support import Shop, csrf_of, seed_shop


@pytest.fixture(scope="module")
def shop(db: Database) -> Shop:
    return seed_shop(db)


@pytest.fixture
def api(db: Database, shop: Shop) -> Iterator[Api]:
    """A fresh client (its own cookie jar: a new visitor) for each test."""
    with Api(db) as api:
        yield api


def post_form(client: TestClient, page: str, action: str, data: dict[str, str], status: int = 303) -> str:
    """Loads `page` for its CSRF token and posts the form to `action`; returns the answer's body (or Location)."""
    token = csrf_of(client.get(page).text)
    response = client.post(action, data={"csrf": token, **data}, follow_redirects=False)
    assert response.status_code == status, (action, response.status_code, response.text[:500])
    return response.headers.get("location") or response.text


def small_shirt(shop: Shop) -> str:
    return str(shop.shirt["variants"][0]["id"])


def order_rows(db: Database, shop: Shop) -> list[tuple[int, str | None, str]]:
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s)", (shop.tenant.id,))
        rows = conn.execute(
            "select display_id, customer_id::text, email from commerce_orders order by display_id"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def test_guest_cart_to_order_confirmation(api: Api, shop: Shop, db: Database) -> None:
    product = f"{shop.base}/products/linen-shirt"
    location = post_form(
        api.client, product, f"{shop.base}/cart/lines", {"variant": small_shirt(shop), "quantity": "2"}
    )
    assert location == f"{shop.base}/cart"
    cart = api.client.get(f"{shop.base}/cart").text
    assert 'id="cart-total">98.00 EUR' in cart
    confirmation = post_form(
        api.client,
        f"{shop.base}/checkout",
        f"{shop.base}/checkout",
        {"email": "guest@example.com", "firstName": "Ada", "countryCode": "de"},
        status=200,
    )
    number = re.search(r'data-testid="order-number">(\d+)<', confirmation)
    assert number, confirmation[:500]
    assert (int(number.group(1)), None, "guest@example.com") in order_rows(db, shop)
    assert 'id="cart-empty"' in api.client.get(f"{shop.base}/cart").text, "the cart cookie is cleared"
    stock = api.client.get(f"{shop.base}/products/linen-shirt").text
    assert "Only 3 left" in stock, "the index shows the stock the order took"


def test_checkout_refusals_show_the_form_again(api: Api, shop: Shop) -> None:
    product = f"{shop.base}/products/linen-shirt"
    post_form(api.client, product, f"{shop.base}/cart/lines", {"variant": small_shirt(shop)})
    again = post_form(
        api.client, f"{shop.base}/checkout", f"{shop.base}/checkout", {"email": "not-an-email"}, status=400
    )
    assert 'data-testid="form-error"' in again and 'value="not-an-email"' in again
    medium = str(shop.shirt["variants"][1]["id"])
    refused = post_form(api.client, product, f"{shop.base}/cart/lines", {"variant": medium}, status=409)
    assert 'data-code="INSUFFICIENT_STOCK"' in refused and "Insufficient stock" in refused
    bad = post_form(api.client, product, f"{shop.base}/cart/lines", {"variant": "nope"}, status=400)
    assert 'data-code="INVALID_ID"' in bad


def test_register_checkout_signed_in_and_order_history(api: Api, shop: Shop, db: Database) -> None:
    location = post_form(
        api.client,
        f"{shop.base}/register",
        f"{shop.base}/register",
        {"email": "Buyer@Example.com", "password": "correct horse battery", "next": "/account"},
    )
    assert location == f"{shop.base}/account"
    assert 'id="account-email">buyer@example.com<' in api.client.get(location).text
    post_form(
        api.client, f"{shop.base}/products/evil-mug", f"{shop.base}/cart/lines", {"variant": mug_variant(api, shop)}
    )
    confirmation = post_form(api.client, f"{shop.base}/checkout", f"{shop.base}/checkout", {}, status=200)
    number = int(re.search(r'data-testid="order-number">(\d+)<', confirmation).group(1))  # type: ignore[union-attr]
    customer = next(r for r in order_rows(db, shop) if r[0] == number)
    assert customer[1] is not None and customer[2] == "buyer@example.com", "the signed-in user's order and email"
    history = api.client.get(f"{shop.base}/account").text
    assert re.search(rf">{number}</a></td><td>[0-9-]+</td><td>pending</td><td>12.00 EUR<", history)
    orders = re.findall(r'href="([^"]+/account/orders/[^"]+)"', history)
    assert len(orders) == 1 and f'data-testid="order-number">{number}<' in api.client.get(orders[0]).text

    post_form(api.client, f"{shop.base}/account", f"{shop.base}/signout", {})
    assert api.client.get(f"{shop.base}/account", follow_redirects=False).status_code == 303
    location = post_form(
        api.client,
        f"{shop.base}/signin",
        f"{shop.base}/signin",
        {"email": "buyer@example.com", "password": "correct horse battery", "next": "//evil.example/"},
    )
    assert location == f"{shop.base}/account", "next never leaves the shop"
    wrong = post_form(
        api.client,
        f"{shop.base}/signin",
        f"{shop.base}/signin",
        {"email": "buyer@example.com", "password": "wrong password"},
        status=401,
    )
    assert "Invalid credentials" in wrong


def mug_variant(api: Api, shop: Shop) -> str:
    html = api.client.get(f"{shop.base}/products/evil-mug").text
    found = re.search(r'name="variant" value="([0-9A-Z]{26})"', html)
    assert found
    return found.group(1)


def test_post_without_the_session_csrf_token_is_refused(api: Api, shop: Shop) -> None:
    product = f"{shop.base}/products/linen-shirt"
    api.client.get(product)  # a session cookie, but no token sent
    for data in ({}, {"csrf": "0" * 64}):
        response = api.client.post(f"{shop.base}/cart/lines", data={"variant": small_shirt(shop), **data})
        assert response.status_code == 403 and 'data-code="FORBIDDEN"' in response.text
    with Api(api.services.db) as other:  # another visitor's token does not fit this session
        stolen = csrf_of(other.client.get(product).text)
    response = api.client.post(f"{shop.base}/cart/lines", data={"variant": small_shirt(shop), "csrf": stolen})
    assert response.status_code == 403
    assert 'id="cart-empty"' in api.client.get(f"{shop.base}/cart").text


def test_expired_access_token_is_rotated_through_the_refresh_token(db: Database, shop: Shop) -> None:
    with Api(db, access_ttl=1) as api:
        post_form(
            api.client,
            f"{shop.base}/register",
            f"{shop.base}/register",
            {"email": "short@example.com", "password": "correct horse battery"},
        )
        first = api.client.cookies.get("rk_auth")
        access, refresh = first.split("~")
        expired = api.services.tokens.issue(shop.tenant.id, api.services.tokens.decode(access).user_id, "customer", 0)
        page = api.client.get(f"{shop.base}/account", headers={"cookie": f"rk_auth={expired}~{refresh}"})
        assert page.status_code == 200 and 'id="account-email">short@example.com<' in page.text
        rotated = page.cookies.get("rk_auth")
        assert rotated and rotated.split("~")[1] != refresh, "a new token pair went into the cookie"


def test_cart_quantities_change_and_lines_go(api: Api, shop: Shop) -> None:
    post_form(
        api.client, f"{shop.base}/products/evil-mug", f"{shop.base}/cart/lines", {"variant": mug_variant(api, shop)}
    )
    cart = api.client.get(f"{shop.base}/cart").text
    line = re.search(r'data-line="([0-9A-Z]{26})"', cart)
    assert line and 'id="cart-total">12.00 EUR' in cart
    post_form(api.client, f"{shop.base}/cart", f"{shop.base}/cart/lines/{line.group(1)}", {"quantity": "2"})
    assert 'id="cart-total">24.00 EUR' in api.client.get(f"{shop.base}/cart").text
    post_form(api.client, f"{shop.base}/cart", f"{shop.base}/cart/lines/{line.group(1)}", {"quantity": "0"})
    assert 'data-line="' not in api.client.get(f"{shop.base}/cart").text


def test_a_session_of_one_shop_is_nobody_in_another(api: Api, shop: Shop, db: Database) -> None:
    other = seed_shop(db, "globex")
    post_form(
        api.client,
        f"{shop.base}/register",
        f"{shop.base}/register",
        {"email": "twoshops@example.com", "password": "correct horse battery"},
    )
    session = api.client.cookies.get("rk_auth")
    response = api.client.get(f"{other.base}/account", headers={"cookie": f"rk_auth={session}"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith(f"{other.base}/signin")


def test_pages_are_private_and_framed_by_nobody(api: Api, shop: Shop) -> None:
    headers = api.client.get(f"{shop.base}/products").headers
    assert headers["cache-control"] == "private, no-cache"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert (
        "script-src" not in headers["content-security-policy"]
        and "default-src 'self'" in headers["content-security-policy"]
    )
    with Api(api.services.db) as newcomer:
        feed = newcomer.client.get(f"{shop.base}/feed.xml")
    assert feed.headers["cache-control"] == "public, max-age=300" and "set-cookie" not in feed.headers


def test_registration_refusals_show_the_form_again(api: Api, shop: Shop) -> None:
    register = f"{shop.base}/register"
    short = post_form(api.client, register, register, {"email": "new@example.com", "password": "short"}, status=400)
    assert 'data-testid="form-error"' in short and 'value="new@example.com"' in short
    taken = {"email": "buyer@example.com", "password": "correct horse battery"}  # registered by an earlier test
    assert "Conflict" in post_form(api.client, register, register, taken, status=409)
    assert "rk_auth" not in api.client.cookies
