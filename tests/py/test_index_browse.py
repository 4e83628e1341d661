"""The browse mirror's drift through the API: `verifyIndex` lists a wrong facet count (which has no target id)
and a wrong mirror row, and stays exact otherwise."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from rustok.db import Database
from tests.py.graphql_support import Api, make_tenant

VERIFY = "{ verifyIndex { exact differences sample { index targetId problem columns } } }"


def test_verify_index_reports_browse_drift(db: Database) -> None:
    shop = make_tenant(db, "browse")
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s)", (shop.id,))
        product = conn.execute(
            "select rustok.create_product(%s) ->> 'id'",
            (
                Jsonb(
                    {
                        "title": "Lamp",
                        "status": "published",
                        "tags": ["red"],
                        "variants": [{"sku": "L1", "prices": [{"currencyCode": "EUR", "amount": 1500}]}],
                    }
                ),
            ),
        ).fetchone()[0]  # type: ignore[index]
    with Api(db) as api:
        assert api.gql(VERIFY, tenant=shop, role="admin")["data"]["verifyIndex"]["exact"] is True
        with psycopg.connect(db.admin_url) as conn:  # drift, written by the superuser: no upkeep fires
            conn.execute(
                "update rustok.index_products_facets set count = count + 2"
                " where tenant_id = %s and facet = 'tag' and value = 'red' and not in_stock_only",
                (shop.id,),
            )
            conn.execute("update rustok.index_products_browse set has_stock = not has_stock where tenant_id = %s",
                         (shop.id,))  # fmt: skip
        found = api.gql(VERIFY, tenant=shop, role="admin")
    assert "errors" not in found, found
    verification = found["data"]["verifyIndex"]
    assert verification["exact"] is False and verification["differences"] == 2
    by_index = {d["index"]: d for d in verification["sample"]}
    assert by_index["index_products_facets"]["targetId"] is None
    assert by_index["index_products_facets"]["problem"] == "stale"
    assert "count=3/1" in by_index["index_products_facets"]["columns"]
    assert by_index["index_products_browse"] == {
        "index": "index_products_browse", "targetId": product, "problem": "stale",
        "columns": ["currency=EUR", "has_stock"],
    }  # fmt: skip
