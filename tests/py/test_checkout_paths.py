"""Issue 13, point 10: checkout's rules live in SQL (rustok.place_order and what it calls), so the three ways to
check out — GraphQL, the storefront's forms, and SQL as psql calls it — give the same totals and the same
refusals. Every scenario makes the same guest cart once per path (two linen shirts at 49.00 EUR, code TENOFF:
10% off) and checks it out through that path; the orders' totals and the refusals' codes must agree.

Regions: EU (DE, FR; EUR; 19% VAT; Standard 4.99, Express 15.00), US (USD; Ground 7.00), Nordic (SE; EUR;
25% VAT; no shipping options). Japan is served by no region."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, LiteralString, Protocol

import psycopg
import pytest
from psycopg.types.json import Jsonb

from rustok.db import Database
from rustok.errors import from_database_error
from tests.py.commerce_support import add_regions, seed_regions
from tests.py.graphql_support import Api, Tenant, codes, data
from tests.py.storefront_support import Shop, csrf_of, seed_shop

EMAIL = "paths@example.com"
GERMANY = {"firstName": "Ada", "address1": "Hauptstr. 1", "city": "Berlin", "postalCode": "10115", "countryCode": "DE"}
SWEDEN = {"firstName": "Ada", "city": "Stockholm", "countryCode": "SE"}
JAPAN = {"firstName": "Ada", "city": "Tokyo", "countryCode": "JP"}
USA = {"firstName": "Ada", "city": "Boston", "countryCode": "US"}


@dataclass(frozen=True)
class Refused:
    code: str
    field: str | None = None


Placed = int  # the order's display id


class Path(Protocol):
    """One way to check out. Each step answers None (done) or the refusal."""

    def address(self, cart: str, address: dict[str, str]) -> Refused | None: ...
    def option(self, cart: str, option: str) -> None: ...
    def place(self, cart: str, address: dict[str, str] | None) -> Placed | Refused: ...


@dataclass
class Setup:
    db: Database
    shop: Shop
    api: Api
    options: dict[str, str]  # shipping option name -> id

    @property
    def tenant(self) -> Tenant:
        return self.shop.tenant

    def sql(self, call: LiteralString, params: tuple[Any, ...] = ()) -> Any:
        """One call as psql runs it: the operator's own session, the tenant set, no user (a guest's cart)."""
        with psycopg.connect(self.db.admin_url) as conn:
            conn.execute("select rustok.set_context(%s)", (self.tenant.id,))
            row = conn.execute("select " + call, params).fetchone()
        assert row is not None
        return row[0]


@pytest.fixture(scope="module")
def setup(db: Database) -> Iterator[Setup]:
    shop = seed_shop(db, "paths")
    seed_regions(db, shop.tenant)
    nordic = {"name": "Nordic", "currencyCode": "EUR", "countries": ["SE"], "taxRate": {"name": "Moms", "rate": 2500}}
    add_regions(db, shop.tenant, [(nordic, {})])
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s, %s, 'admin')", (shop.tenant.id, shop.tenant.users["admin"]))
        conn.execute("""select rustok.create_discount('{"code": "TENOFF", "kind": "percentage", "value": 10}')""")
        small = shop.shirt["variants"][0]["id"]
        conn.execute("select rustok.adjust_inventory(%s)", (Jsonb({"variantId": small, "delta": 100}),))
        options: dict[str, str] = dict(
            conn.execute("select name, rustok.ulid(id) from commerce_shipping_options").fetchall()
        )
    with Api(db) as api:
        yield Setup(db, shop, api, options)


def same_cart(setup: Setup) -> str:
    """The cart every path starts from: a guest's, two small linen shirts, TENOFF applied; its id."""
    lines = [{"variantId": setup.shop.shirt["variants"][0]["id"], "quantity": 2}]
    cart: str = setup.sql("rustok.create_cart(%s) ->> 'id'", (Jsonb({"currencyCode": "EUR", "lines": lines}),))
    setup.sql("rustok.apply_discount(rustok.parse_id(%s), 'TENOFF')", (cart,))
    return cart


class GraphQL:
    SET_ADDRESS = "mutation($c: ID!, $a: AddressInput!) { setCartShippingAddress(cartId: $c, address: $a) { id } }"
    SET_OPTION = "mutation($c: ID!, $o: ID) { setCartShippingOption(cartId: $c, shippingOptionId: $o) { id } }"
    PLACE = """mutation($c: ID!, $e: String, $a: AddressInput) {
        placeOrder(cartId: $c, email: $e, shippingAddress: $a) { displayId } }"""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup

    def _send(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return self.setup.api.gql(query, variables, tenant=self.setup.tenant)

    @staticmethod
    def _refused(body: dict[str, Any]) -> Refused | None:
        if not codes(body):
            return None
        error = body["errors"][0]["extensions"]
        return Refused(error["code"], error.get("details", {}).get("field"))

    def address(self, cart: str, address: dict[str, str]) -> Refused | None:
        return self._refused(self._send(self.SET_ADDRESS, {"c": cart, "a": address}))

    def option(self, cart: str, option: str) -> None:
        data(self._send(self.SET_OPTION, {"c": cart, "o": self.setup.options[option]}))

    def place(self, cart: str, address: dict[str, str] | None) -> Placed | Refused:
        body = self._send(self.PLACE, {"c": cart, "e": EMAIL, "a": address})
        return self._refused(body) or int(data(body)["placeOrder"]["displayId"])


class Storefront:
    """The shop's forms, posted with the session's CSRF token; the cart is the visitor's by its cookie. The
    address is a step of its own here, so an address given with the order is posted to that step first."""

    FIELD = re.compile(r'data-code="([A-Z_]+)">[^<(]*(?:\(([^)]+)\))?')

    def __init__(self, setup: Setup) -> None:
        self.client = setup.api.client
        self.checkout = f"{setup.shop.base}/checkout"
        self.options = setup.options

    def _post(self, cart: str, action: str, form: dict[str, str]) -> tuple[int, str]:
        self.client.cookies.clear()  # a new visitor holding this cart
        self.client.cookies.set("rk_cart", cart)
        token = csrf_of(self.client.get(self.checkout).text)
        response = self.client.post(action, data={"csrf": token, **form}, follow_redirects=False)
        return response.status_code, response.text

    def _refused(self, status: int, page: str) -> Refused | None:
        if status == 303:
            return None
        found = self.FIELD.search(page)
        return Refused(found.group(1), found.group(2)) if found else Refused(f"HTTP {status} without a code")

    def address(self, cart: str, address: dict[str, str]) -> Refused | None:
        return self._refused(*self._post(cart, f"{self.checkout}/address", address))

    def option(self, cart: str, option: str) -> None:
        status, page = self._post(cart, f"{self.checkout}/shipping", {"shippingOption": self.options[option]})
        assert status == 303, page[:500]

    def place(self, cart: str, address: dict[str, str] | None) -> Placed | Refused:
        if address is not None and (refused := self.address(cart, address)):
            return refused
        status, page = self._post(cart, self.checkout, {"email": EMAIL})
        if status == 200 and (number := re.search(r'data-testid="order-number">(\d+)<', page)):
            return int(number.group(1))
        return self._refused(status, page) or Refused("HTTP 303: sent elsewhere, neither an order nor a refusal")


class Sql:
    """The functions as an operator calls them from psql, each in its own transaction."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup

    def _call(self, call: LiteralString, params: tuple[Any, ...]) -> Any:
        try:
            return self.setup.sql(call, params)
        except psycopg.Error as exc:
            error = from_database_error(exc)
            return Refused(error.code, error.details.get("field"))

    def address(self, cart: str, address: dict[str, str]) -> Refused | None:
        answer = self._call("rustok.set_cart_shipping_address(rustok.parse_id(%s), %s)", (cart, Jsonb(address)))
        return answer if isinstance(answer, Refused) else None

    def option(self, cart: str, option: str) -> None:
        call = "rustok.set_cart_shipping_option(rustok.parse_id(%s), rustok.parse_id(%s))"
        assert not isinstance(self._call(call, (cart, self.setup.options[option])), Refused)

    def place(self, cart: str, address: dict[str, str] | None) -> Placed | Refused:
        call = "rustok.place_order(rustok.parse_id(%s), %s, %s) ->> 'displayId'"
        answer = self._call(call, (cart, EMAIL, Jsonb(address) if address else None))
        return answer if isinstance(answer, Refused) else int(answer)


Scenario = Callable[[Path, str], Placed | Refused]


def german_express_steps(path: Path, cart: str) -> None:
    assert path.address(cart, GERMANY) is None
    path.option(cart, "Express")


def german_express(path: Path, cart: str) -> Placed | Refused:
    """The storefront's three steps: a German address, Express, the order."""
    german_express_steps(path, cart)
    return path.place(cart, None)


def straight_to_sweden(path: Path, cart: str) -> Placed | Refused:
    """The order with its address (Nordic region: 25% VAT, no options to choose)."""
    return path.place(cart, SWEDEN)


def moved_to_sweden(path: Path, cart: str) -> Placed | Refused:
    """Germany and Express first, then the order to Sweden: the Nordic region's tax, and Express (an EU option)
    dropped, as a new address on the cart drops it."""
    german_express_steps(path, cart)
    return path.place(cart, SWEDEN)


def no_address(path: Path, cart: str) -> Placed | Refused:
    return path.place(cart, None)


def outside_every_region(path: Path, cart: str) -> Placed | Refused:
    return path.place(cart, JAPAN)


def no_shipping_option(path: Path, cart: str) -> Placed | Refused:
    """The order with a German address: the EU region has options, none is chosen."""
    return path.place(cart, GERMANY)


def address_then_no_shipping_option(path: Path, cart: str) -> Placed | Refused:
    assert path.address(cart, GERMANY) is None
    return path.place(cart, None)


def moved_to_another_currency(path: Path, cart: str) -> Placed | Refused:
    """Germany and Express first, then the order to the US, whose region charges USD (the cart is in EUR)."""
    german_express_steps(path, cart)
    return path.place(cart, USA)


def checkout_every_way(setup: Setup, scenario: Scenario) -> dict[str, tuple[str, Placed | Refused]]:
    """{path: (the cart, what its checkout answered)}, the same cart set-up for each."""
    paths: dict[str, Path] = {"graphql": GraphQL(setup), "storefront": Storefront(setup), "sql": Sql(setup)}
    answers = {}
    for name, path in paths.items():
        cart = same_cart(setup)
        answers[name] = (cart, scenario(path, cart))
    return answers


def order_figures(setup: Setup, display_id: Placed) -> dict[str, Any]:
    row = setup.sql(
        """(select jsonb_build_object('subtotal', subtotal, 'discount', discount_total, 'shipping', shipping_total,
                                      'tax', tax_total, 'total', total, 'country', shipping_address ->> 'countryCode',
                                      'option', shipping_option ->> 'name')
            from commerce_orders where tenant_id = rustok.current_tenant_id() and display_id = %s)""",
        (display_id,),
    )
    assert row is not None
    return dict(row)


def case(scenario: Scenario, *expected: Any) -> Any:
    return pytest.param(scenario, *expected, id=scenario.__name__)


GERMAN_EXPRESS = {"subtotal": 9800, "discount": 980, "shipping": 1500, "tax": 1676, "total": 11996}
SWEDISH = {"subtotal": 9800, "discount": 980, "shipping": 0, "tax": 2205, "total": 11025}


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        case(german_express, {**GERMAN_EXPRESS, "country": "DE", "option": "Express"}),
        case(straight_to_sweden, {**SWEDISH, "country": "SE", "option": None}),
        case(moved_to_sweden, {**SWEDISH, "country": "SE", "option": None}),
    ],
)
def test_every_path_prices_the_order_the_same(setup: Setup, scenario: Scenario, expected: dict[str, Any]) -> None:
    answers = checkout_every_way(setup, scenario)
    figures = {}
    for name, (_, answer) in answers.items():
        assert not isinstance(answer, Refused), (name, answer)
        figures[name] = order_figures(setup, answer)
    assert figures == {name: expected for name in answers}, "VAT and shipping follow the address on every path"


@pytest.mark.parametrize(
    ("scenario", "code", "field"),
    [
        case(no_address, "VALIDATION_FAILED", "shippingAddress"),
        case(outside_every_region, "VALIDATION_FAILED", "shippingAddress.countryCode"),
        case(no_shipping_option, "VALIDATION_FAILED", "shippingOptionId"),
        case(address_then_no_shipping_option, "VALIDATION_FAILED", "shippingOptionId"),
        case(moved_to_another_currency, "REGION_CURRENCY_MISMATCH", "shippingAddress.countryCode"),
    ],
)
def test_every_path_refuses_the_same(setup: Setup, scenario: Scenario, code: str, field: str) -> None:
    answers = checkout_every_way(setup, scenario)
    assert {name: getattr(answer, "code", answer) for name, (_, answer) in answers.items()} == {
        "graphql": code,
        "storefront": code,
        "sql": code,
    }
    assert answers["graphql"][1] == answers["sql"][1] == Refused(code, field), "the same function refused both"
    assert isinstance(answers["storefront"][1], Refused) and answers["storefront"][1].field, "the form names the field"
    for name, (cart, _) in answers.items():
        left = setup.sql("rustok.cart_by_id(rustok.parse_id(%s)) ->> 'status'", (cart,))
        assert left == "active", f"{name}: a refusal leaves the cart as it was, no order"
