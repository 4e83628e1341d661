"""Home, catalogue (search box, filters, facets, sort, keyset pages) and product pages: every read is one call
to a function over the index tables (rustok.search_products, rustok.search_content, rustok.storefront_product)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from psycopg.types.json import Jsonb
from starlette.responses import Response

from rustok.api.numbers import whole_number
from rustok.errors import NotFound
from rustok.storefront.render import html
from rustok.storefront.visit import Visit

PAGE_SIZE = 24
SORTS = {
    "relevance": "Best match",
    "newest": "Newest",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "title": "Name",
}
FILTERS = ("q", "category", "tag", "in_stock", "min_price", "max_price", "sort")


def query_string(params: dict[str, str], **changes: str | None) -> str:
    """The catalogue's query string with some parameters changed (None removes one); a change starts over at
    the first page."""
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "") and k != "after"}
    if changes.get("after"):
        merged["after"] = str(changes["after"])
    return "?" + urlencode(merged) if merged else "?"


def _minor_units(params: dict[str, str], name: str) -> int | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    return whole_number(value, name)


def product_filter(visit: Visit, params: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {"currency": visit.currency}
    if params.get("category"):
        found["category"] = params["category"]
    if params.get("tag"):
        found["tag"] = params["tag"]
    if params.get("in_stock") == "1":
        found["inStock"] = True
    found["minPrice"] = _minor_units(params, "min_price")
    found["maxPrice"] = _minor_units(params, "max_price")
    return {k: v for k, v in found.items() if v is not None}


async def home(visit: Visit) -> Response:
    """Featured products (tag `featured`; the newest when none is) and the latest posts: a few index rows."""
    found = await visit.call("rustok.storefront_home(8, 5)")
    return html("home.html", visit.context(**found))


async def catalogue(visit: Visit) -> Response:
    params = {k: visit.request.query_params.get(k, "") for k in FILTERS}
    query = params["q"].strip()
    sort = params["sort"] or ("relevance" if query else "newest")
    after = visit.request.query_params.get("after") or None
    result = await visit.call(
        "rustok.search_products(%s, %s, %s, %s, %s)",
        (query or None, Jsonb(product_filter(visit, params)), sort, PAGE_SIZE, after),
    )
    return html(
        "catalogue.html",
        visit.context(
            result=result,
            params=params,
            query=query,
            sort=sort,
            sorts=SORTS,
            paged=after is not None,
            qs=lambda **changes: query_string(params, **changes),
            meta_title="Products",
        ),
    )


async def product(visit: Visit) -> Response:
    handle = str(visit.request.path_params["handle"])
    found = await visit.call("rustok.storefront_product(%s)", (handle[:255],))
    if found is None:
        raise NotFound("no such product", {"handle": handle[:255]})
    chosen = visit.request.query_params.get("variant")
    variants = found["variants"]
    selected = next((v for v in variants if v["id"] == chosen), None) or next(
        (v for v in variants if v["inStock"]), variants[0] if variants else None
    )
    return html(
        "product.html",
        visit.context(
            product=found,
            selected=selected,
            meta_title=found.get("metaTitle") or found["title"],
            meta_description=found.get("metaDescription") or (found.get("description") or "")[:300],
            canonical=visit.url(f"/products/{found['handle']}"),
        ),
    )
