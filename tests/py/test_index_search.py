"""Search over the index tables through GraphQL (searchProducts, searchContent): full text with prefix
matching, accent folding, typo tolerance, filters, facets, keyset pagination, tsquery-syntax and oversized
input; and EXPLAIN proof that the search uses the GIN index as the application role (see docs/index.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from rustok.db import Database
from tests.py.graphql_support import Api, Tenant, codes, data, make_tenant

PRODUCTS = """query($q: String, $f: ProductSearchFilter, $s: ProductSearchSort, $first: Int, $after: String) {
  searchProducts(query: $q, filter: $f, sort: $s, first: $first, after: $after) {
    edges { cursor node { id title handle price tags inStock prices { currencyCode min max } rank } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount fuzzy
    facets { categories { value count } tags { value count } priceBuckets { min max count } } } }"""
CONTENT = """query($q: String, $f: ContentSearchFilter, $s: ContentSearchSort, $first: Int, $after: String) {
  searchContent(query: $q, filter: $f, sort: $s, first: $first, after: $after) {
    edges { cursor node { id kind title snippet tags categorySlug authorName } }
    pageInfo { hasNextPage endCursor }
    totalCount fuzzy
    facets { kinds { value count } categories { value count } tags { value count } } } }"""


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def product(api: Api, tenant: Tenant, title: str, eur: int, stock: int, tags: list[str], **extra: Any) -> None:
    fields = {
        "title": title,
        "status": "PUBLISHED",
        "tags": tags,
        "variants": [
            {"sku": title.upper()[:20], "prices": [{"amount": eur, "currencyCode": "EUR"}], "inventoryQuantity": stock}
        ],
        **extra,
    }
    data(
        api.gql(
            "mutation($i: CreateProductRequest!) { createProduct(input: $i) { id } }",
            {"i": fields},
            tenant=tenant,
            role="admin",
        )
    )


@pytest.fixture(scope="module")
def shop(api: Api, db: Database) -> tuple[Tenant, Tenant]:
    north, south = make_tenant(db, "north"), make_tenant(db, "south")
    product(api, north, "Linen Shirt", 4900, 5, ["linen", "summer"], description="A breathable shirt")
    product(api, north, "Café Crème Mug", 1200, 0, ["kitchen"], description="Stoneware mug")
    product(api, north, "Wool Sweater", 12900, 3, ["wool", "winter"], description="Warm knit, not linen")
    product(api, north, "Shirt Dress", 8900, 2, ["summer"], subtitle="Cotton")
    product(api, north, "Draft Thing", 100, 1, [], status="DRAFT")
    product(api, south, "Linen Trousers", 5900, 4, ["linen"])
    category = data(
        api.gql('mutation { createCategory(input: {name: "Recipes"}) { id slug } }', tenant=north, role="admin")
    )["createCategory"]
    for kind, title, body, tags in (
        (
            "POST",
            "Crème brûlée at home",
            "Caramelised sugar over a vanilla custard. The classic French dessert.",
            ["dessert"],
        ),
        ("POST", "Sourdough basics", "Flour, water and salt: bread with a starter and patience.", ["bread"]),
        ("PAGE", "About the bakery", "We bake bread and desserts every morning.", []),
    ):
        data(
            api.gql(
                "mutation($i: CreateNodeRequest!) { createNode(input: $i) { id } }",
                {
                    "i": {
                        "kind": kind,
                        "title": title,
                        "body": body,
                        "tags": tags,
                        "status": "PUBLISHED",
                        "categoryId": category["id"] if kind == "POST" else None,
                    }
                },
                tenant=north,
                role="admin",
            )
        )
    return north, south


def search(api: Api, tenant: Tenant, q: str | None = None, **variables: Any) -> Any:
    return data(api.gql(PRODUCTS, {"q": q, **variables}, tenant=tenant))["searchProducts"]


def titles(result: Any) -> list[str]:
    return [e["node"]["title"] for e in result["edges"]]


def test_full_text_ranked_and_tenant_scoped(api: Api, shop: tuple[Tenant, Tenant]) -> None:
    north, south = shop
    result = search(api, north, "linen")
    # title (weight A) ranks above description (C); south's linen trousers and drafts never show
    assert titles(result) == ["Linen Shirt", "Wool Sweater"]
    assert result["edges"][0]["node"]["rank"] > result["edges"][1]["node"]["rank"]
    assert titles(search(api, south, "linen")) == ["Linen Trousers"]
    assert "Draft Thing" not in titles(search(api, north))
    assert search(api, north)["totalCount"] == 4


def test_prefix_accents_and_typos(api: Api, shop: tuple[Tenant, Tenant]) -> None:
    north, _ = shop
    assert titles(search(api, north, "lin")) == ["Linen Shirt", "Wool Sweater"]  # search-as-you-type
    assert titles(search(api, north, "cafe creme")) == ["Café Crème Mug"]  # accents folded both ways
    assert titles(search(api, north, "CAFÉ")) == ["Café Crème Mug"]
    typo = search(api, north, "sweeter")
    assert typo["fuzzy"] is True and titles(typo) == ["Wool Sweater"]


def test_filters_sorts_and_facets(api: Api, shop: tuple[Tenant, Tenant]) -> None:
    north, _ = shop
    cheap_first = search(api, north, s="PRICE_ASC")
    assert titles(cheap_first) == ["Café Crème Mug", "Linen Shirt", "Shirt Dress", "Wool Sweater"]
    assert titles(search(api, north, s="PRICE_DESC"))[0] == "Wool Sweater"
    assert titles(search(api, north, s="TITLE")) == ["Café Crème Mug", "Linen Shirt", "Shirt Dress", "Wool Sweater"]
    assert titles(search(api, north, s="NEWEST"))[0] == "Shirt Dress"
    ranged = search(api, north, f={"currency": "EUR", "minPrice": 2000, "maxPrice": 9000}, s="PRICE_ASC")
    assert titles(ranged) == ["Linen Shirt", "Shirt Dress"]
    assert titles(search(api, north, f={"inStock": True, "tag": "summer"}, s="TITLE")) == ["Linen Shirt", "Shirt Dress"]
    facets = search(api, north, "shirt")["facets"]
    assert {"value": "summer", "count": 2} in facets["tags"]
    assert {"value": "linen", "count": 1} in facets["tags"]
    assert facets["priceBuckets"] == [{"min": 1000, "max": 5000, "count": 1}, {"min": 5000, "max": 10000, "count": 1}]


def test_keyset_pagination(api: Api, shop: tuple[Tenant, Tenant]) -> None:
    north, _ = shop
    seen: list[str] = []
    after = None
    for _ in range(5):
        page = search(api, north, s="PRICE_ASC", first=1, after=after)
        seen += titles(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert page["edges"][-1]["cursor"] == after
    assert seen == ["Café Crème Mug", "Linen Shirt", "Shirt Dress", "Wool Sweater"]
    relevance = search(api, north, "shirt", first=1)
    rest = search(api, north, "shirt", first=5, after=relevance["pageInfo"]["endCursor"])
    assert len(titles(relevance) + titles(rest)) == 2 and set(titles(relevance)).isdisjoint(titles(rest))


@pytest.mark.parametrize("q", ["&|!():*<>'\\", "shirt & | !", "'linen':* | wool", "(shirt", "\\", "<->", "!!!"])
def test_tsquery_syntax_is_just_text(api: Api, shop: tuple[Tenant, Tenant], q: str) -> None:
    north, _ = shop
    body = api.gql(PRODUCTS, {"q": q}, tenant=north)
    assert "errors" not in body, body
    assert all(
        t in {"Linen Shirt", "Wool Sweater", "Shirt Dress", "Café Crème Mug"}
        for t in titles(body["data"]["searchProducts"])
    )


def test_bad_input(api: Api, shop: tuple[Tenant, Tenant]) -> None:
    north, _ = shop
    assert search(api, north, "")["totalCount"] == 4  # empty query: browse
    assert codes(api.gql(PRODUCTS, {"q": "x" * 10_000}, tenant=north)) == ["VALIDATION_FAILED"]
    assert len(titles(search(api, north, "shirt " * 33))) >= 1  # 198 characters: fine
    unknown = api.gql(PRODUCTS, {"f": {"currency": "XXX"}}, tenant=north)  # the commerce rule, as everywhere
    assert codes(unknown) == ["CURRENCY_UNKNOWN"] and unknown["errors"][0]["extensions"]["details"]["field"] == (
        "filter.currency"
    )
    assert codes(api.gql(PRODUCTS, {"after": "not-a-cursor"}, tenant=north)) == ["VALIDATION_FAILED"]
    assert codes(api.gql(PRODUCTS, {"first": 0}, tenant=north)) == ["VALIDATION_FAILED"]
    # an unknown enum value is a request error of GraphQL itself; SQL callers get VALIDATION_FAILED
    assert codes(api.gql(PRODUCTS, {"s": "CHEAPEST"}, tenant=north)) == ["BAD_REQUEST"]


def test_search_content(api: Api, shop: tuple[Tenant, Tenant]) -> None:
    north, south = shop
    result = data(api.gql(CONTENT, {"q": "creme brulee"}, tenant=north))["searchContent"]
    assert [e["node"]["title"] for e in result["edges"]] == ["Crème brûlée at home"]
    bread = data(api.gql(CONTENT, {"q": "bread"}, tenant=north))["searchContent"]
    assert {e["node"]["title"] for e in bread["edges"]} == {"Sourdough basics", "About the bakery"}
    assert any("<b>bread</b>" in (e["node"]["snippet"] or "") for e in bread["edges"])
    assert {"value": "post", "count": 1} in bread["facets"]["kinds"]
    assert {"value": "page", "count": 1} in bread["facets"]["kinds"]
    posts = data(api.gql(CONTENT, {"f": {"kind": "post", "category": "recipes"}, "s": "TITLE"}, tenant=north))
    assert [e["node"]["title"] for e in posts["searchContent"]["edges"]] == ["Crème brûlée at home", "Sourdough basics"]
    assert posts["searchContent"]["facets"]["categories"] == [{"value": "recipes", "count": 2}]
    tagged = data(api.gql(CONTENT, {"f": {"tag": "dessert"}}, tenant=north))["searchContent"]
    assert tagged["totalCount"] == 1
    assert data(api.gql(CONTENT, {"q": "bread"}, tenant=south))["searchContent"]["totalCount"] == 0
    assert codes(api.gql(CONTENT, {"q": "(bread:* & !"}, tenant=north)) == []
    assert codes(api.gql(CONTENT, {"f": {"author": "nope"}}, tenant=north)) == ["INVALID_ID"]


@pytest.fixture(scope="module")
def bulk(db: Database, shop: tuple[Tenant, Tenant]) -> Iterator[list[Tenant]]:
    """2,000 index rows in two tenants (every 250th titled ... zeppelin), ANALYZEd."""
    tenants = [make_tenant(db, "bulk-a"), make_tenant(db, "bulk-b")]
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        for t in tenants:
            conn.execute(
                """insert into index_products (tenant_id, product_id, title, handle, status, search_vector,
                                               created_at, prices, min_price, currencies)
                   select %s, gen_random_uuid(), 'Item ' || i || case when i %% 250 = 0 then ' zeppelin' else '' end,
                          'item-' || i, 'published',
                          to_tsvector('simple', 'item ' || i || case when i %% 250 = 0 then ' zeppelin' else '' end
                                      || ' a sturdy everyday product made of cotton wool linen or steel number ' || i),
                          now(), '{"EUR": {"min": 100, "max": 100}}', 100, '{EUR}'
                   from generate_series(1, 1000) i""",
                (t.id,),
            )
        conn.execute("vacuum analyze index_products, rustok.index_products_text")
    yield tenants
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("delete from index_products where tenant_id = any(%s)", ([t.id for t in tenants],))


@pytest.mark.parametrize(
    ("query", "index", "condition"),
    [
        ("zeppelin", "index_products_text_search", "search_vector @@"),  # full text
        ("zeplin", "index_products_text_title", "title_folded"),  # a typo: the trigram fallback (<%)
    ],
)
def test_search_uses_the_gin_index_as_the_app_role(
    db: Database, bulk: list[Tenant], query: str, index: str, condition: str
) -> None:
    """The search run as rustok_app with a tenant set: auto_explain (nested statements, as notices) shows the
    text match - and, for a typo, the trigram fallback - as a Bitmap Index Scan on the GIN index of the one
    mirror partition holding the tenant, with the condition in Index Cond, never a scan of the tenant's rows."""
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        notices: list[str] = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute("load 'auto_explain'")
        conn.execute("set auto_explain.log_min_duration = 0")
        conn.execute("set auto_explain.log_nested_statements = on")
        conn.execute("set auto_explain.log_level = notice")
        with conn.transaction():
            conn.execute("set local role rustok_app")
            # a mirror partition holds ~1,000 rows here, which the planner would rather read whole; without
            # sequential scans it must find the GIN path - which is what row-level security could take away
            conn.execute("set local enable_seqscan = off")
            conn.execute("select rustok.set_context(%s)", (bulk[0].id,))
            row = conn.execute("select rustok.search_products(%s) ->> 'totalCount'", (query,)).fetchone()
            assert row is not None and row[0] == "4"
    plans = [n for n in notices if re.search(r"index_products_text_p\d+ \w+", n) and condition in n]
    assert plans, notices
    # one partition of the mirror (hash of the tenant), its GIN index (in each branch of the search's union)
    assert any(len(set(re.findall(rf"Bitmap Index Scan on {index}_p(\d+)\b", p))) == 1 for p in plans), plans
    assert any("Index Cond:" in p and condition in p.split("Index Cond:")[1] for p in plans), plans
    assert not any("Seq Scan on index_products" in p for p in plans), plans
