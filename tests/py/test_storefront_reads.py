"""Storefront reads touch the index tables only. Checked from the catalog: the SQL functions the catalogue,
product, content and sitemap pages call, and every rustok function they call in turn, reference no table but
the index tables (and the search mirrors) — apart from the module check, the tenant's own row and the ISO
4217 reference table. And the page modules call no other SQL function."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from rustok.db import Database

STOREFRONT = Path(__file__).resolve().parents[2] / "py" / "rustok" / "storefront"
INDEX = {
    "index_products", "index_content", "index_products_text", "index_content_text",
    "index_products_browse", "index_products_facets",
}
# rustok.require_module (is the index module enabled for the tenant) and the tenant's own row (its text-search
# configuration; the shop's name)
MODULE_CHECK = {"tenant_modules", "tenants"}
READS = {
    "search_products": INDEX | MODULE_CHECK | {"commerce_currencies"},  # a filter's currency code is validated
    "search_content": INDEX | MODULE_CHECK,
    "storefront_product": INDEX | MODULE_CHECK,
    "storefront_node": INDEX | MODULE_CHECK,
    "storefront_home": INDEX | MODULE_CHECK,
    "storefront_sitemap": INDEX | MODULE_CHECK,
    "storefront_shop": INDEX | MODULE_CHECK | {"commerce_currencies"},
}
CALL = re.compile(r"\brustok\.([a-z_0-9]+)\s*\(")
TABLE = re.compile(r"\b(?:public|rustok)\.([a-z_0-9]+)\b(?!\s*\()")


def tables_read(conn: psycopg.Connection[tuple[str, str]], root: str) -> set[str]:
    """Tables referenced by a function and by every rustok function it calls, transitively."""
    relations = {r[0] for r in conn.execute("select relname::text from pg_class where relkind in ('r', 'p', 'v')")}
    sources = dict(
        conn.execute(
            "select p.proname::text, string_agg(p.prosrc, ' ') from pg_proc p "
            "where p.pronamespace = 'rustok'::regnamespace group by 1"
        ).fetchall()
    )
    seen, todo, tables = set(), [root], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in sources:
            continue
        seen.add(name)
        body = sources[name]
        tables |= {t for t in TABLE.findall(body) if t in relations}
        todo += CALL.findall(body)
    return tables


def test_storefront_read_functions_reference_index_tables_only(db: Database) -> None:
    with psycopg.connect(db.admin_url) as conn:
        found = {root: tables_read(conn, root) for root in READS}
        control = tables_read(conn, "product_by_handle")  # the walker does see a write-model read
    for root, allowed in READS.items():
        assert found[root], root
        assert found[root] <= allowed, (root, found[root] - allowed)
    assert "commerce_products" in control and "commerce_products" not in set().union(*found.values())


def test_page_modules_call_only_index_reads() -> None:
    def calls(module: str) -> set[str]:
        return set(CALL.findall((STOREFRONT / module).read_text()))

    assert calls("catalogue.py") <= {"search_products", "storefront_home", "storefront_product"}
    assert calls("content.py") <= {
        "search_content",
        "storefront_node",
        "storefront_sitemap",
        "list_comments",  # comments are not indexed: a page of the blog module's thread, moderation applied
        "add_comment",
    }
    assert calls("catalogue.py") and calls("content.py")
