"""The GraphQL fields the admin's screens read: commerceDashboard, pendingComments, tags, previewMarkdown,
indexStatus, verifyIndex and requestReindex: figures computed in SQL, permissions, bad input codes."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from rustok.db import Database
from tests.py.graphql_support import Api, Tenant, codes, data, make_tenant

DASHBOARD = """query($tz: String, $low: Int) { commerceDashboard(timeZone: $tz, lowStock: $low) {
    timeZone ordersToday { currencyCode orders revenue } ordersThisMonth { currencyCode orders revenue }
    products { total published draft } lowStockThreshold
    lowStock { count variants { sku available productTitle } } } }"""
PRODUCT = "mutation($input: CreateProductRequest!) { createProduct(input: $input) { variants { id sku } } }"
CART = "mutation($input: CreateCartRequest) { createCart(input: $input) { id } }"
ORDER = "mutation($cart: ID!) { placeOrder(cartId: $cart) { id total { amount } } }"
STATUS = "mutation($id: ID!, $s: OrderStatus!) { setOrderStatus(id: $id, status: $s) { status } }"
NODE = "mutation($input: CreateNodeRequest!) { createNode(input: $input) { id } }"
COMMENT = "mutation($node: ID!, $body: String!) { addComment(nodeId: $node, body: $body) { id moderation } }"
PENDING = """query($first: Int, $after: String) { pendingComments(first: $first, after: $after) {
    totalCount edges { node { id body postTitle authorName moderation } } pageInfo { hasNextPage endCursor } } }"""
MODERATE = "mutation($id: ID!) { moderateComment(id: $id, status: APPROVED) { moderation } }"


@pytest.fixture(scope="module")
def tenants(db: Database) -> tuple[Tenant, Tenant]:
    return make_tenant(db, "shop"), make_tenant(db, "other")


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def test_commerce_dashboard_counts_orders_revenue_products_and_low_stock(
    api: Api, tenants: tuple[Tenant, Tenant]
) -> None:
    shop, other = tenants
    empty = data(api.gql(DASHBOARD, tenant=shop, role="manager"))["commerceDashboard"]
    assert empty["ordersToday"] == [] and empty["products"]["total"] == 0 and empty["lowStock"]["count"] == 0

    variants = [
        {"sku": "MUG", "title": "Mug", "prices": [{"amount": 1200, "currencyCode": "EUR"}], "inventoryQuantity": 10},
        {"sku": "CUP", "title": "Cup", "prices": [{"amount": 500, "currencyCode": "EUR"}], "inventoryQuantity": 3},
    ]
    made = data(
        api.gql(
            PRODUCT,
            {"input": {"title": "Mugs", "status": "PUBLISHED", "variants": variants}},
            tenant=shop,
            role="admin",
        )
    )["createProduct"]
    api.gql(PRODUCT, {"input": {"title": "Draft thing"}}, tenant=shop, role="admin")
    mug = next(v["id"] for v in made["variants"] if v["sku"] == "MUG")
    orders = []
    for quantity in (2, 1):
        cart = data(
            api.gql(
                CART,
                {"input": {"currencyCode": "EUR", "lines": [{"variantId": mug, "quantity": quantity}]}},
                tenant=shop,
                role="customer",
            )
        )["createCart"]
        orders.append(data(api.gql(ORDER, {"cart": cart["id"]}, tenant=shop, role="customer"))["placeOrder"])
    data(api.gql(STATUS, {"id": orders[1]["id"], "s": "CANCELED"}, tenant=shop, role="manager"))

    board = data(api.gql(DASHBOARD, {"tz": "Europe/Berlin", "low": 7}, tenant=shop, role="manager"))[
        "commerceDashboard"
    ]
    # two orders today; the canceled one brings no revenue
    assert board["timeZone"] == "Europe/Berlin"
    assert board["ordersToday"] == [{"currencyCode": "EUR", "orders": 2, "revenue": orders[0]["total"]["amount"]}]
    assert board["ordersThisMonth"] == board["ordersToday"]
    assert board["products"] == {"total": 2, "published": 1, "draft": 1}
    # CUP has 3; MUG had 10, 2 sold (the canceled order's unit went back); the draft's Default variant has 0
    assert board["lowStockThreshold"] == 7 and board["lowStock"]["count"] == 2
    assert [(v["sku"], v["available"]) for v in board["lowStock"]["variants"]] == [(None, 0), ("CUP", 3)]
    assert (
        data(api.gql(DASHBOARD, {"low": 8}, tenant=shop, role="admin"))["commerceDashboard"]["lowStock"]["count"] == 3
    )
    # another tenant sees none of it
    assert data(api.gql(DASHBOARD, tenant=other, role="admin"))["commerceDashboard"]["products"]["total"] == 0


def test_commerce_dashboard_refusals(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    shop, _ = tenants
    assert codes(api.gql(DASHBOARD, tenant=shop, role="customer")) == ["FORBIDDEN"]
    assert codes(api.gql(DASHBOARD, tenant=shop)) == ["UNAUTHENTICATED"]
    assert codes(api.gql(DASHBOARD, {"tz": "Mars/Olympus"}, tenant=shop, role="admin")) == ["VALIDATION_FAILED"]
    assert codes(api.gql(DASHBOARD, {"low": -1}, tenant=shop, role="admin")) == ["VALIDATION_FAILED"]


def test_pending_comments_queue(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    shop, other = tenants
    post = data(
        api.gql(NODE, {"input": {"kind": "POST", "title": "News", "status": "PUBLISHED"}}, tenant=shop, role="admin")
    )["createNode"]["id"]
    held = [
        data(api.gql(COMMENT, {"node": post, "body": f"first {i}"}, tenant=shop, role="customer"))["addComment"]
        for i in range(3)
    ]
    assert {c["moderation"] for c in held} == {"PENDING"}
    data(api.gql(COMMENT, {"node": post, "body": "staff"}, tenant=shop, role="manager"))  # approved at once

    page = data(api.gql(PENDING, {"first": 2}, tenant=shop, role="admin"))["pendingComments"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    assert [e["node"]["body"] for e in page["edges"]] == ["first 0", "first 1"]
    assert page["edges"][0]["node"]["postTitle"] == "News"
    rest = data(api.gql(PENDING, {"after": page["pageInfo"]["endCursor"]}, tenant=shop, role="admin"))
    assert [e["node"]["body"] for e in rest["pendingComments"]["edges"]] == ["first 2"]

    data(api.gql(MODERATE, {"id": held[0]["id"]}, tenant=shop, role="admin"))
    assert data(api.gql(PENDING, tenant=shop, role="admin"))["pendingComments"]["totalCount"] == 2
    # a manager moderates comments on their own posts only (the post is the admin's)
    assert data(api.gql(PENDING, tenant=shop, role="manager"))["pendingComments"]["totalCount"] == 0
    assert data(api.gql(PENDING, tenant=other, role="admin"))["pendingComments"]["totalCount"] == 0
    assert codes(api.gql(PENDING, tenant=shop, role="customer")) == ["FORBIDDEN"]
    assert codes(api.gql(PENDING, {"first": 0}, tenant=shop, role="admin")) == ["VALIDATION_FAILED"]
    assert codes(api.gql(PENDING, {"after": "nope"}, tenant=shop, role="admin")) == ["INVALID_ID"]


def test_tags_with_usage(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    shop, other = tenants
    for title, status, tags in (("A", "PUBLISHED", ["Baking", "Bread"]), ("B", "DRAFT", ["Bread"])):
        data(
            api.gql(
                NODE,
                {"input": {"kind": "POST", "title": title, "status": status, "tags": tags}},
                tenant=shop,
                role="admin",
            )
        )
    query = "{ tags { name slug nodeCount } }"
    assert data(api.gql(query, tenant=shop, role="admin"))["tags"] == [
        {"name": "Baking", "slug": "baking", "nodeCount": 1},
        {"name": "Bread", "slug": "bread", "nodeCount": 2},
    ]
    # readers count live nodes only
    assert [t["nodeCount"] for t in data(api.gql(query, tenant=shop))["tags"]] == [1, 1]
    assert data(api.gql(query, tenant=other))["tags"] == []


def test_preview_markdown_is_the_storefront_rendering(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    shop, _ = tenants
    query = "query($b: String!, $f: BodyFormat) { previewMarkdown(body: $b, format: $f) }"
    html = data(api.gql(query, {"b": "# Hi\n\n*there* <script>alert(1)</script>"}, tenant=shop, role="manager"))[
        "previewMarkdown"
    ]
    assert "<h1>Hi</h1>" in html and "<em>there</em>" in html and "<script" not in html
    raw = data(api.gql(query, {"b": "<p onclick=x()>ok</p>", "f": "HTML"}, tenant=shop, role="manager"))[
        "previewMarkdown"
    ]
    assert raw == "<p>ok</p>"
    assert codes(api.gql(query, {"b": "x", "f": "TEXT"}, tenant=shop)) == ["BAD_REQUEST"]


def test_index_status_verify_and_reindex(api: Api, tenants: tuple[Tenant, Tenant], db: Database) -> None:
    shop, _ = tenants
    status = data(
        api.gql(
            "{ indexStatus { indexes { target rows sources lastIndexedAt } queueLength config } }",
            tenant=shop,
            role="admin",
        )
    )["indexStatus"]
    by_target = {i["target"]: i for i in status["indexes"]}
    assert by_target["products"]["sources"] == 2 and by_target["products"]["rows"] == 1  # the published one
    assert by_target["content"]["sources"] >= 2 and status["queueLength"] == 0
    assert status["config"]["realtimeSync"] is True

    verify = (
        "query($n: Int) { verifyIndex(sample: $n) "
        "{ exact differences byProblem { index problem count } sample { index problem } } }"
    )
    assert data(api.gql(verify, tenant=shop, role="admin"))["verifyIndex"] == {
        "exact": True,
        "differences": 0,
        "byProblem": [],
        "sample": [],
    }
    with psycopg.connect(db.admin_url) as conn:  # damage the index as an operator would notice it
        conn.execute("delete from index_products where tenant_id = %s", (shop.id,))
    damaged = data(api.gql(verify, {"n": 0}, tenant=shop, role="admin"))["verifyIndex"]
    assert damaged["exact"] is False and damaged["differences"] == 1 and damaged["sample"] == []
    assert damaged["byProblem"] == [{"index": "index_products", "problem": "missing", "count": 1}]

    reindex = "mutation($t: IndexTarget!) { requestReindex(target: $t) }"
    assert data(api.gql(reindex, {"t": "PRODUCTS"}, tenant=shop, role="admin")) == {"requestReindex": True}
    with psycopg.connect(db.admin_url) as conn:
        event = conn.execute(
            "select data from event_outbox where tenant_id = %s and type = 'ReindexRequested'", (shop.id,)
        ).fetchall()
    assert [e[0] for e in event] == [{"target_type": "products", "target_id": None}]

    for query in ("{ indexStatus { queueLength } }", "{ verifyIndex { exact } }"):
        assert codes(api.gql(query, tenant=shop, role="manager")) == ["FORBIDDEN"]
    assert codes(api.gql(reindex, {"t": "CONTENT"}, tenant=shop, role="manager")) == ["FORBIDDEN"]
    assert codes(api.gql(verify, {"n": 101}, tenant=shop, role="admin")) == ["VALIDATION_FAILED"]
