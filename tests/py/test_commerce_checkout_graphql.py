"""Checkout over GraphQL: shippingCountries, setCartShippingAddress and setCartShippingOption on a cart made
with a currency only, the totals they lead to (tax by the region's rate, the option's price), the order
placed from it with the same totals and the cart's address, and the error codes; setDisplayName."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from rustok.db import Database
from tests.py.commerce_support import seed_regions
from tests.py.graphql_support import Api, Tenant, codes, data, make_tenant

CART_FIELDS = """
    id regionId shippingAddress { city countryCode } shippingOption { id name amount { amount } }
    availableShippingOptions { id name amount { amount currencyCode } }
    subtotal { amount } taxTotal { amount } shippingTotal { amount } total { amount currencyCode }
"""
CREATE_CART = f"mutation($input: CreateCartRequest) {{ createCart(input: $input) {{ {CART_FIELDS} }} }}"
SET_ADDRESS = f"""mutation($cart: ID!, $address: AddressInput!) {{
    setCartShippingAddress(cartId: $cart, address: $address) {{ {CART_FIELDS} }} }}"""
SET_OPTION = f"""mutation($cart: ID!, $option: ID) {{
    setCartShippingOption(cartId: $cart, shippingOptionId: $option) {{ {CART_FIELDS} }} }}"""
PLACE_ORDER = """mutation($cart: ID!) { placeOrder(cartId: $cart, email: "guest@example.test") {
    subtotal { amount } taxTotal { amount } shippingTotal { amount } total { amount }
    shippingOption { name } shippingAddress { city countryCode } } }"""


@pytest.fixture(scope="module")
def shop(db: Database) -> tuple[Tenant, Tenant, str]:
    """Tenant "ship": a EUR shirt, region EU (DE, AT; 19% VAT; Standard 499, Express 1500) and region US
    (USD; Ground 700). Tenant "other" ships to Japan. Returns both and the shirt's variant id."""
    shop, other = make_tenant(db, "ship"), make_tenant(db, "other")
    seed_regions(db, shop, ("DE", "AT"))
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s)", (other.id,))
        conn.execute("""select rustok.create_region('{"name": "Far", "currencyCode": "JPY", "countries": ["JP"]}')""")
        conn.execute("select rustok.set_context(%s)", (shop.id,))
        shirt = {
            "title": "Shirt",
            "status": "published",
            "variants": [{"sku": "SH", "inventoryQuantity": 20, "prices": [{"amount": 2500, "currencyCode": "EUR"}]}],
        }
        variant = conn.execute("select rustok.create_product(%s) #>> '{variants,0,id}'", (Jsonb(shirt),)).fetchone()[0]
    return shop, other, str(variant)


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def guest_cart(api: Api, tenant: Tenant, variant: str, quantity: int = 2) -> dict[str, Any]:
    request = {"currencyCode": "EUR", "lines": [{"variantId": variant, "quantity": quantity}]}
    return data(api.gql(CREATE_CART, {"input": request}, tenant=tenant))["createCart"]  # type: ignore[no-any-return]


def test_shipping_countries(api: Api, shop: tuple[Tenant, Tenant, str]) -> None:
    tenant, other, _ = shop
    query = "{ shippingCountries { countryCode regionName currencyCode } }"
    assert data(api.gql(query, tenant=tenant))["shippingCountries"] == [
        {"countryCode": "AT", "regionName": "EU", "currencyCode": "EUR"},
        {"countryCode": "DE", "regionName": "EU", "currencyCode": "EUR"},
        {"countryCode": "US", "regionName": "US", "currencyCode": "USD"},
    ]
    assert [c["countryCode"] for c in data(api.gql(query, tenant=other))["shippingCountries"]] == ["JP"]


def test_address_then_option_price_the_cart_and_the_order(api: Api, shop: tuple[Tenant, Tenant, str]) -> None:
    tenant, _, variant = shop
    cart = guest_cart(api, tenant, variant)
    assert (cart["taxTotal"]["amount"], cart["shippingTotal"]["amount"], cart["availableShippingOptions"]) == (0, 0, [])

    address = {"firstName": "Ada", "city": "Berlin", "countryCode": "de"}
    cart = data(api.gql(SET_ADDRESS, {"cart": cart["id"], "address": address}, tenant=tenant))["setCartShippingAddress"]
    assert cart["shippingAddress"] == {"city": "Berlin", "countryCode": "DE"}
    assert [(o["name"], o["amount"]["amount"]) for o in cart["availableShippingOptions"]] == [
        ("Standard", 499),
        ("Express", 1500),
    ]
    assert (cart["subtotal"]["amount"], cart["taxTotal"]["amount"], cart["total"]["amount"]) == (5000, 950, 5950)

    express = cart["availableShippingOptions"][1]["id"]
    cart = data(api.gql(SET_OPTION, {"cart": cart["id"], "option": express}, tenant=tenant))["setCartShippingOption"]
    summary = {k: cart[k]["amount"] for k in ("subtotal", "taxTotal", "shippingTotal", "total")}
    assert summary == {"subtotal": 5000, "taxTotal": 950, "shippingTotal": 1500, "total": 7450}

    order = data(api.gql(PLACE_ORDER, {"cart": cart["id"]}, tenant=tenant))["placeOrder"]
    assert {k: order[k]["amount"] for k in summary} == summary
    assert order["shippingOption"] == {"name": "Express"}
    assert order["shippingAddress"] == {"city": "Berlin", "countryCode": "DE"}


def test_refusals(api: Api, shop: tuple[Tenant, Tenant, str]) -> None:
    tenant, other, variant = shop
    cart = guest_cart(api, tenant, variant, 1)

    def address(country: str, as_tenant: Tenant = tenant) -> list[str]:
        variables = {"cart": cart["id"], "address": {"countryCode": country}}
        return codes(api.gql(SET_ADDRESS, variables, tenant=as_tenant))

    def option(option_id: str | None) -> list[str]:
        return codes(api.gql(SET_OPTION, {"cart": cart["id"], "option": option_id}, tenant=tenant))

    assert option(None) == ["INVALID_STATE"]  # no address yet
    assert address("US") == ["REGION_CURRENCY_MISMATCH"]  # the US region charges USD, the cart is in EUR
    assert address("JP") == ["VALIDATION_FAILED"]  # another tenant's country
    assert address("Germany") == ["VALIDATION_FAILED"]
    assert address("AT", other) == ["NOT_FOUND"]  # another tenant's cart
    assert address("AT") == []
    assert option("not-an-id") == ["INVALID_ID"]
    assert option("01ARZ3NDEKTSV4RRFFQ69G5FAV") == ["NOT_FOUND"]
    cart_in_usd = data(api.gql(CREATE_CART, {"input": {"currencyCode": "USD"}}, tenant=tenant))["createCart"]
    us_address = {"cart": cart_in_usd["id"], "address": {"countryCode": "US"}}
    in_us = data(api.gql(SET_ADDRESS, us_address, tenant=tenant))["setCartShippingAddress"]
    ground = in_us["availableShippingOptions"][0]["id"]
    assert option(ground) == ["NOT_FOUND"]  # an option of another region


def test_set_display_name(api: Api, shop: tuple[Tenant, Tenant, str]) -> None:
    tenant, _, _ = shop
    mutation = "mutation($n: String) { setDisplayName(displayName: $n) { id displayName } }"
    changed = data(api.gql(mutation, {"n": "  Grace Hopper "}, tenant=tenant, role="customer"))["setDisplayName"]
    assert changed["displayName"] == "Grace Hopper"
    me = data(api.gql("{ me { displayName } }", tenant=tenant, role="customer"))["me"]
    assert me == {"displayName": "Grace Hopper"}
    assert codes(api.gql(mutation, {"n": "x" * 256}, tenant=tenant, role="customer")) == ["VALIDATION_FAILED"]
    assert codes(api.gql(mutation, {"n": "Anon"}, tenant=tenant)) == ["UNAUTHENTICATED"]
