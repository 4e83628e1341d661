"""The commerce GraphQL fields through HTTP: every query and mutation of the module, with money as integer minor
units (beyond 32 bits too), permissions and tenant isolation enforced in SQL, and error codes for bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from rustok.db import Database
from rustok.ids import parse_id, to_ulid
from tests.py.graphql_support import Api, Tenant, codes, data, make_tenant

PRODUCT_FIELDS = """
    id handle title status discountable tags
    options { title values { value } }
    variants { id sku title inventoryQuantity inStock options { option value }
               prices { amount currencyCode minQuantity priceListId } }
"""
CART_FIELDS = """
    id status currencyCode customerId itemCount discountCode
    lines { id sku quantity unitPrice { amount currencyCode } subtotal { amount } }
    subtotal { amount currencyCode } discountTotal { amount } taxTotal { amount } shippingTotal { amount }
    total { amount currencyCode }
"""
ORDER_FIELDS = """
    id displayId status customerId email currencyCode
    lines { sku title quantity unitPrice { amount } subtotal { amount } }
    subtotal { amount } discountTotal { amount } taxTotal { amount } total { amount currencyCode }
    shippingAddress { firstName countryCode }
"""
CREATE_PRODUCT = f"mutation($input: CreateProductRequest!) {{ createProduct(input: $input) {{ {PRODUCT_FIELDS} }} }}"
CREATE_CART = f"mutation($input: CreateCartRequest) {{ createCart(input: $input) {{ {CART_FIELDS} }} }}"
PLACE_ORDER = f"""mutation($cart: ID!, $email: String, $ship: AddressInput) {{
    placeOrder(cartId: $cart, email: $email, shippingAddress: $ship) {{ {ORDER_FIELDS} }} }}"""


@pytest.fixture(scope="module")
def tenants(db: Database) -> tuple[Tenant, Tenant]:
    north, south = make_tenant(db, "north"), make_tenant(db, "south")
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s)", (north.id,))
        north.users["other"] = conn.execute(
            "select rustok._insert_user('other@north.test', 'x-hash', 'customer')"
        ).fetchone()[0]
        conn.execute(
            'select rustok.create_discount(\'{"code": "TEN", "kind": "percentage", "value": 10}\'),'
            " rustok.create_discount(jsonb_build_object('code', 'OLD', 'kind', 'percentage', 'value', 10,"
            "                        'endsAt', now() - interval '1 day'))"
        )
    return north, south


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def make_product(api: Api, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    product: dict[str, Any] = data(api.gql(CREATE_PRODUCT, {"input": fields}, tenant=tenant, role="admin"))[
        "createProduct"
    ]
    return product


@pytest.fixture(scope="module")
def shirt(api: Api, tenants: tuple[Tenant, Tenant]) -> dict[str, Any]:
    north, _ = tenants
    return make_product(
        api,
        north,
        title="Linen Shirt",
        status="PUBLISHED",
        tags=["linen"],
        options=[{"title": "Size", "values": ["S", "M"]}],
        variants=[
            {
                "sku": "LS-S",
                "options": [{"option": "Size", "value": "S"}],
                "prices": [{"amount": 4900, "currencyCode": "EUR"}, {"amount": 7_000_000_000, "currencyCode": "JPY"}],
                "inventoryQuantity": 5,
            },
            {
                "sku": "LS-M",
                "options": [{"option": "Size", "value": "M"}],
                "prices": [
                    {"amount": 4900, "currencyCode": "EUR"},
                    {"amount": 3900, "currencyCode": "EUR", "minQuantity": 3},
                ],
                "inventoryQuantity": 10,
            },
        ],
    )


def variant(product: dict[str, Any], sku: str) -> str:
    return str(next(v["id"] for v in product["variants"] if v["sku"] == sku))


def test_create_product_with_options_variants_and_prices(shirt: dict[str, Any]) -> None:
    assert shirt["handle"] == "linen-shirt" and shirt["status"] == "PUBLISHED" and shirt["tags"] == ["linen"]
    assert shirt["options"] == [{"title": "Size", "values": [{"value": "S"}, {"value": "M"}]}]
    small = next(v for v in shirt["variants"] if v["sku"] == "LS-S")
    assert small["title"] == "S" and small["inventoryQuantity"] == 5 and small["inStock"] is True
    assert small["options"] == [{"option": "Size", "value": "S"}]
    assert {"amount": 7_000_000_000, "currencyCode": "JPY", "minQuantity": 1, "priceListId": None} in small["prices"], (
        "amounts beyond 32 bits travel as integers"
    )


def test_create_product_refusals(api: Api, tenants: tuple[Tenant, Tenant], shirt: dict[str, Any]) -> None:
    north, _ = tenants

    def refused(role: str | None, **fields: Any) -> list[str]:
        return codes(api.gql(CREATE_PRODUCT, {"input": {"title": "Refused", **fields}}, tenant=north, role=role))

    assert refused("customer") == ["FORBIDDEN"]
    assert refused(None) == ["UNAUTHENTICATED"]
    price = {"currencyCode": "EUR"}
    assert refused("admin", variants=[{"prices": [{**price, "amount": -1}]}]) == ["VALIDATION_FAILED"]
    assert refused("admin", variants=[{"prices": [{**price, "amount": 19.99}]}]) == ["VALIDATION_FAILED"]
    assert refused("admin", variants=[{"prices": [{"amount": 100, "currencyCode": "XXY"}]}]) == ["CURRENCY_UNKNOWN"]
    assert refused("admin", variants=[{"sku": "NEW"}, {"sku": "LS-S"}]) == ["CONFLICT"]
    assert refused("manager", handle="linen-shirt") == ["CONFLICT"]
    assert refused("admin", categoryIds=["not-an-id"]) == ["INVALID_ID"]
    query = '{ products(filter: {search: "Refused"}) { edges { node { id } } } }'
    assert data(api.gql(query, tenant=north, role="admin"))["products"]["edges"] == [], "nothing half-written"


def test_product_and_product_by_handle(api: Api, tenants: tuple[Tenant, Tenant], shirt: dict[str, Any]) -> None:
    north, south = tenants
    draft = make_product(api, north, title="Hidden Draft")
    by_id = "query($id: ID!) { product(id: $id) { handle status } }"
    by_handle = "query($h: String!) { productByHandle(handle: $h) { id } }"
    assert data(api.gql(by_id, {"id": shirt["id"]}, tenant=north))["product"] == {
        "handle": "linen-shirt",
        "status": "PUBLISHED",
    }
    assert data(api.gql(by_id, {"id": draft["id"]}, tenant=north))["product"] is None
    assert data(api.gql(by_id, {"id": draft["id"]}, tenant=north, role="manager"))["product"]["status"] == "DRAFT"
    assert data(api.gql(by_handle, {"h": "linen-shirt"}, tenant=north))["productByHandle"] == {"id": shirt["id"]}
    assert data(api.gql(by_handle, {"h": "hidden-draft"}, tenant=north, role="customer"))["productByHandle"] is None
    assert data(api.gql(by_id, {"id": shirt["id"]}, tenant=south, role="admin"))["product"] is None
    assert codes(api.gql(by_id, {"id": "nope"}, tenant=north)) == ["INVALID_ID"]


def test_products_connection(api: Api, tenants: tuple[Tenant, Tenant], shirt: dict[str, Any]) -> None:
    north, south = tenants
    for n in range(3):
        make_product(api, north, title=f"Sock {n}", status="PUBLISHED", tags=["socks"])
    query = """query($after: String, $filter: ProductFilter) {
        products(first: 2, after: $after, filter: $filter) {
            edges { cursor node { handle } } pageInfo { hasNextPage endCursor } } }"""
    socks = {"tag": "socks"}
    first = data(api.gql(query, {"filter": socks}, tenant=north))["products"]
    assert [e["node"]["handle"] for e in first["edges"]] == ["sock-2", "sock-1"]
    assert first["pageInfo"]["hasNextPage"] is True
    after = first["pageInfo"]["endCursor"]
    second = data(api.gql(query, {"filter": socks, "after": after}, tenant=north))["products"]
    assert [e["node"]["handle"] for e in second["edges"]] == ["sock-0"] and not second["pageInfo"]["hasNextPage"]
    drafts = {"status": "DRAFT"}
    assert data(api.gql(query, {"filter": drafts}, tenant=north))["products"]["edges"] == [], (
        "anonymous: published only"
    )
    assert data(api.gql(query, {"filter": drafts}, tenant=north, role="admin"))["products"]["edges"]
    assert data(api.gql(query, {"filter": socks}, tenant=south))["products"]["edges"] == []
    assert codes(api.gql("{ products(first: 500) { edges { cursor } } }", tenant=north)) == ["VALIDATION_FAILED"]


def test_update_product(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, south = tenants
    hat = make_product(api, north, title="Hat", variants=[{"sku": "HAT-1"}])
    mutation = """mutation($id: ID!, $input: UpdateProductRequest!) {
        updateProduct(id: $id, input: $input) { title status handle variants { sku title } } }"""
    changes = {"title": "Wool Hat", "status": "ARCHIVED", "variants": [{"sku": "HAT-2", "title": "Large"}]}
    updated = data(api.gql(mutation, {"id": hat["id"], "input": changes}, tenant=north, role="manager"))
    assert updated["updateProduct"] == {
        "title": "Wool Hat",
        "status": "ARCHIVED",
        "handle": "hat",
        "variants": [{"sku": "HAT-1", "title": "Default"}, {"sku": "HAT-2", "title": "Large"}],
    }
    assert codes(api.gql(mutation, {"id": hat["id"], "input": {"title": "X"}}, tenant=north, role="customer")) == [
        "FORBIDDEN"
    ]
    assert codes(api.gql(mutation, {"id": hat["id"], "input": {"title": "X"}}, tenant=south, role="admin")) == [
        "NOT_FOUND"
    ]


def test_delete_product(api: Api, tenants: tuple[Tenant, Tenant], db: Database) -> None:
    north, south = tenants
    cap = make_product(api, north, title="Cap", status="PUBLISHED")
    mutation = "mutation($id: ID!) { deleteProduct(id: $id) { id } }"
    assert codes(api.gql(mutation, {"id": cap["id"]}, tenant=south, role="admin")) == ["NOT_FOUND"]
    assert data(api.gql(mutation, {"id": cap["id"]}, tenant=north, role="admin"))["deleteProduct"] == {"id": cap["id"]}
    assert (
        data(api.gql("query($id: ID!) { product(id: $id) { id } }", {"id": cap["id"]}, tenant=north))["product"] is None
    )
    with psycopg.connect(db.admin_url) as conn:
        deleted = conn.execute(
            "select count(*) from event_outbox where type = 'ProductDeleted' and data ->> 'product_id' = %s",
            (cap["id"],),
        ).fetchone()
    assert deleted == (1,)


def test_set_price(api: Api, tenants: tuple[Tenant, Tenant], shirt: dict[str, Any]) -> None:
    north, south = tenants
    mutation = (
        """mutation($input: SetPriceRequest!) { setPrice(input: $input) { sku prices { amount currencyCode } } }"""
    )
    small = variant(shirt, "LS-S")
    body = data(
        api.gql(
            mutation, {"input": {"variantId": small, "currencyCode": "usd", "amount": 5500}}, tenant=north, role="admin"
        )
    )
    assert {"amount": 5500, "currencyCode": "USD"} in body["setPrice"]["prices"]
    removed = data(
        api.gql(
            mutation, {"input": {"variantId": small, "currencyCode": "USD", "amount": None}}, tenant=north, role="admin"
        )
    )
    assert all(p["currencyCode"] != "USD" for p in removed["setPrice"]["prices"])
    refusals = [
        ({"variantId": small, "currencyCode": "EUR", "amount": -5}, "admin", north, "VALIDATION_FAILED"),
        ({"variantId": small, "currencyCode": "ABC", "amount": 5}, "admin", north, "CURRENCY_UNKNOWN"),
        ({"variantId": small, "currencyCode": "EUR", "amount": 5}, "customer", north, "FORBIDDEN"),
        ({"variantId": small, "currencyCode": "EUR", "amount": 5}, "admin", south, "NOT_FOUND"),
    ]
    for request, role, tenant, code in refusals:
        assert codes(api.gql(mutation, {"input": request}, tenant=tenant, role=role)) == [code], request


def test_adjust_inventory(api: Api, tenants: tuple[Tenant, Tenant], shirt: dict[str, Any]) -> None:
    north, south = tenants
    mutation = """mutation($input: AdjustInventoryRequest!) {
        adjustInventory(input: $input) { variantId stockedQuantity reservedQuantity availableQuantity } }"""
    medium = variant(shirt, "LS-M")
    body = data(
        api.gql(
            mutation, {"input": {"variantId": medium, "delta": 5, "reason": "delivery"}}, tenant=north, role="manager"
        )
    )
    assert body["adjustInventory"] == {
        "variantId": medium,
        "stockedQuantity": 15,
        "reservedQuantity": 0,
        "availableQuantity": 15,
    }
    assert codes(api.gql(mutation, {"input": {"variantId": medium, "delta": -100}}, tenant=north, role="admin")) == [
        "INSUFFICIENT_STOCK"
    ]
    assert codes(api.gql(mutation, {"input": {"variantId": medium, "delta": 1}}, tenant=north, role="customer")) == [
        "FORBIDDEN"
    ]
    assert codes(api.gql(mutation, {"input": {"variantId": medium, "delta": 1}}, tenant=south, role="admin")) == [
        "NOT_FOUND"
    ]


def test_cart_lines_discounts_and_totals(api: Api, tenants: tuple[Tenant, Tenant], shirt: dict[str, Any]) -> None:
    north, south = tenants
    small, medium = variant(shirt, "LS-S"), variant(shirt, "LS-M")
    cart = data(
        api.gql(
            CREATE_CART,
            {"input": {"currencyCode": "EUR", "lines": [{"variantId": small, "quantity": 1}]}},
            tenant=north,
        )
    )["createCart"]
    assert cart["status"] == "ACTIVE" and cart["customerId"] is None and cart["itemCount"] == 1
    assert cart["total"] == {"amount": 4900, "currencyCode": "EUR"}

    add = f"""mutation($c: ID!, $v: ID!, $q: Int!) {{
        addCartLine(cartId: $c, variantId: $v, quantity: $q) {{ {CART_FIELDS} }} }}"""
    cart = data(api.gql(add, {"c": cart["id"], "v": medium, "q": 3}, tenant=north))["addCartLine"]
    line = next(line for line in cart["lines"] if line["sku"] == "LS-M")
    assert line["unitPrice"] == {"amount": 3900, "currencyCode": "EUR"}, "three reach the quantity tier"
    assert cart["subtotal"] == {"amount": 4900 + 3 * 3900, "currencyCode": "EUR"}

    update = f"""mutation($c: ID!, $l: ID!, $q: Int!) {{
        updateCartLine(cartId: $c, lineId: $l, quantity: $q) {{ {CART_FIELDS} }} }}"""
    cart = data(api.gql(update, {"c": cart["id"], "l": line["id"], "q": 2}, tenant=north))["updateCartLine"]
    assert cart["subtotal"]["amount"] == 4900 + 2 * 4900

    discount = f"mutation($c: ID!, $code: String) {{ applyDiscount(cartId: $c, code: $code) {{ {CART_FIELDS} }} }}"
    cart = data(api.gql(discount, {"c": cart["id"], "code": "ten"}, tenant=north))["applyDiscount"]
    assert cart["discountCode"] == "TEN" and cart["discountTotal"] == {"amount": 1470}
    assert cart["total"]["amount"] == 14700 - 1470
    assert codes(api.gql(discount, {"c": cart["id"], "code": "OLD"}, tenant=north)) == ["DISCOUNT_INVALID"]

    remove = f"mutation($c: ID!, $l: ID!) {{ removeCartLine(cartId: $c, lineId: $l) {{ {CART_FIELDS} }} }}"
    cart = data(api.gql(remove, {"c": cart["id"], "l": line["id"]}, tenant=north))["removeCartLine"]
    assert [line["sku"] for line in cart["lines"]] == ["LS-S"]

    assert codes(api.gql(add, {"c": cart["id"], "v": small, "q": -1}, tenant=north)) == ["VALIDATION_FAILED"]
    assert codes(api.gql(add, {"c": cart["id"], "v": small, "q": 50}, tenant=north)) == ["INSUFFICIENT_STOCK"]
    assert codes(api.gql(update, {"c": cart["id"], "l": line["id"], "q": 1}, tenant=north)) == ["NOT_FOUND"]
    assert codes(api.gql(add, {"c": cart["id"], "v": small, "q": 1}, tenant=south)) == ["NOT_FOUND"]
    foreign = make_product(
        api,
        south,
        title="South tee",
        status="PUBLISHED",
        variants=[{"prices": [{"amount": 1, "currencyCode": "EUR"}], "inventoryQuantity": 1}],
    )
    assert codes(api.gql(add, {"c": cart["id"], "v": foreign["variants"][0]["id"], "q": 1}, tenant=north)) == [
        "NOT_FOUND"
    ], "a variant of another tenant"
    assert codes(api.gql(CREATE_CART, {"input": {"currencyCode": "EURO"}}, tenant=north)) == ["CURRENCY_UNKNOWN"]

    query = "query($id: ID!) { cart(id: $id) { id itemCount total { amount } } }"
    assert data(api.gql(query, {"id": cart["id"]}, tenant=north))["cart"] == {
        "id": cart["id"],
        "itemCount": 1,
        "total": {"amount": 4410},
    }
    assert data(api.gql(query, {"id": cart["id"]}, tenant=south))["cart"] is None


def test_a_customers_cart_is_theirs(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, _ = tenants
    cart = data(api.gql(CREATE_CART, {"input": {"currencyCode": "EUR"}}, tenant=north, role="customer"))["createCart"]
    assert cart["customerId"] == to_ulid(north.users["customer"])
    query = "query($id: ID!) { cart(id: $id) { id } }"
    assert data(api.gql(query, {"id": cart["id"]}, tenant=north, role="customer"))["cart"] == {"id": cart["id"]}
    assert data(api.gql(query, {"id": cart["id"]}, tenant=north))["cart"] is None
    assert data(api.gql(query, {"id": cart["id"]}, tenant=north, role="manager"))["cart"] == {"id": cart["id"]}


def test_place_order_orders_and_status(
    api: Api, tenants: tuple[Tenant, Tenant], shirt: dict[str, Any], db: Database
) -> None:
    north, south = tenants
    small = variant(shirt, "LS-S")
    lines = [{"variantId": small, "quantity": 2}]
    cart = data(
        api.gql(CREATE_CART, {"input": {"currencyCode": "EUR", "lines": lines}}, tenant=north, role="customer")
    )["createCart"]
    order = data(
        api.gql(
            PLACE_ORDER,
            {"cart": cart["id"], "ship": {"firstName": "Ada", "countryCode": "gb"}},
            tenant=north,
            role="customer",
        )
    )["placeOrder"]
    assert order["status"] == "PENDING" and order["customerId"] == to_ulid(north.users["customer"])
    assert order["email"] == "customer@north.test" and order["shippingAddress"] == {
        "firstName": "Ada",
        "countryCode": "GB",
    }
    assert order["lines"] == [
        {
            "sku": "LS-S",
            "title": "Linen Shirt",
            "quantity": 2,
            "unitPrice": {"amount": 4900},
            "subtotal": {"amount": 9800},
        }
    ]
    assert order["total"] == {"amount": 9800, "currencyCode": "EUR"} and order["displayId"] >= 1
    assert codes(api.gql(PLACE_ORDER, {"cart": cart["id"]}, tenant=north, role="customer")) == ["INVALID_STATE"]
    with psycopg.connect(db.admin_url) as conn:
        placed = conn.execute(
            "select data from event_outbox where type = 'OrderPlaced' and data ->> 'order_id' = %s", (order["id"],)
        ).fetchone()
    assert placed is not None and placed[0] == {
        "order_id": order["id"],
        "display_id": order["displayId"],
        "customer_id": order["customerId"],
        "total": 9800,
        "currency": "EUR",
    }

    big = data(
        api.gql(
            CREATE_CART,
            {"input": {"currencyCode": "EUR", "lines": [{"variantId": small, "quantity": 3}]}},
            tenant=north,
        )
    )["createCart"]
    fits = data(
        api.gql(
            CREATE_CART,
            {"input": {"currencyCode": "EUR", "lines": [{"variantId": small, "quantity": 1}]}},
            tenant=north,
        )
    )["createCart"]
    guest = data(api.gql(PLACE_ORDER, {"cart": fits["id"], "email": "guest@example.com"}, tenant=north))["placeOrder"]
    assert guest["displayId"] == order["displayId"] + 1 and guest["customerId"] is None
    assert codes(api.gql(PLACE_ORDER, {"cart": big["id"], "email": "late@example.com"}, tenant=north)) == [
        "INSUFFICIENT_STOCK"
    ], "the three there were when the cart was filled are two now"

    one = f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"
    assert data(api.gql(one, {"id": order["id"]}, tenant=north, role="customer"))["order"]["id"] == order["id"]
    other = {"authorization": f"Bearer {api.services.tokens.issue(north.id, north.users['other'], 'customer')}"}
    assert data(api.gql(one, {"id": order["id"]}, headers=other))["order"] is None, "another customer's order"
    assert data(api.gql(one, {"id": guest["id"]}, tenant=north, role="customer"))["order"] is None
    assert (
        data(api.gql(one, {"id": guest["id"]}, tenant=north, role="manager"))["order"]["email"] == "guest@example.com"
    )
    assert codes(api.gql(one, {"id": order["id"]}, tenant=north)) == ["UNAUTHENTICATED"]
    assert data(api.gql(one, {"id": order["id"]}, tenant=south, role="admin"))["order"] is None

    many = """query($filter: OrderFilter) { orders(first: 10, filter: $filter) {
        edges { node { id displayId } } pageInfo { hasNextPage } } }"""
    mine = data(api.gql(many, tenant=north, role="customer"))["orders"]["edges"]
    assert [e["node"]["id"] for e in mine] == [order["id"]]
    every = data(api.gql(many, tenant=north, role="admin"))["orders"]["edges"]
    assert [e["node"]["id"] for e in every][:2] == [guest["id"], order["id"]], "newest first"
    pending = data(api.gql(many, {"filter": {"status": "PAID"}}, tenant=north, role="admin"))["orders"]["edges"]
    assert pending == []
    assert data(api.gql(many, tenant=south, role="admin"))["orders"]["edges"] == []
    assert codes(api.gql(many, tenant=north)) == ["UNAUTHENTICATED"]

    status = "mutation($id: ID!, $s: OrderStatus!) { setOrderStatus(id: $id, status: $s) { status } }"
    assert codes(api.gql(status, {"id": order["id"], "s": "PAID"}, tenant=north, role="customer")) == ["FORBIDDEN"]
    assert data(api.gql(status, {"id": order["id"], "s": "PAID"}, tenant=north, role="manager"))["setOrderStatus"] == {
        "status": "PAID"
    }
    assert codes(api.gql(status, {"id": order["id"], "s": "PENDING"}, tenant=north, role="manager")) == [
        "INVALID_STATE"
    ]
    assert codes(api.gql(status, {"id": order["id"], "s": "CANCELED"}, tenant=south, role="admin")) == ["NOT_FOUND"]
    stock = "query($id: ID!) { product(id: $id) { variants { sku inventoryQuantity } } }"
    before = data(api.gql(stock, {"id": shirt["id"]}, tenant=north))["product"]["variants"]
    assert data(api.gql(status, {"id": order["id"], "s": "CANCELED"}, tenant=north, role="admin"))["setOrderStatus"]
    after = data(api.gql(stock, {"id": shirt["id"]}, tenant=north))["product"]["variants"]
    assert {v["sku"]: v["inventoryQuantity"] for v in after}["LS-S"] == (
        {v["sku"]: v["inventoryQuantity"] for v in before}["LS-S"] + 2
    ), "canceling returns the stock"
    assert parse_id(order["id"])
