"""Shared set-up for storefront tests: a shop with a category, products (one with size variants, one with a
hostile title, one sold out, 30 socks for paging), a post with a hostile body, a CMS page, and helpers to read forms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from rustok.db import Database
from tests.py.graphql_support import Tenant, make_tenant

HOST = "shop.acme.test"
HOSTILE = '<script>alert("x")</script>'


@dataclass
class Shop:
    tenant: Tenant
    base: str
    shirt: dict[str, Any]
    post: dict[str, Any]


def _as_admin(conn: psycopg.Connection[Any], tenant: Tenant) -> None:
    conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenant.id, tenant.users["admin"]))


def seed_shop(db: Database, slug: str = "acme") -> Shop:
    tenant = make_tenant(db, slug)
    with psycopg.connect(db.admin_url) as conn:
        conn.execute(
            "update tenants set settings = settings || %s where id = %s", (Jsonb({"domains": [HOST]}), tenant.id)
        )
        _as_admin(conn, tenant)
        category = conn.execute(
            """select rustok.create_product_category('{"name": "Shirts", "handle": "shirts"}') ->> 'id'"""
        ).fetchone()[0]
        shirt = conn.execute(
            "select rustok.create_product(%s)",
            (
                Jsonb(
                    {
                        "title": "Linen Shirt",
                        "status": "published",
                        "description": "Cool in summer.",
                        "tags": ["featured", "linen"],
                        "categoryIds": [category],
                        "metadata": {"metaTitle": "Linen shirts for summer", "metaDescription": "Breathable linen."},
                        "options": [{"title": "Size", "values": ["S", "M"]}],
                        "variants": [
                            {
                                "sku": "LS-S",
                                "options": [{"option": "Size", "value": "S"}],
                                "inventoryQuantity": 5,
                                "prices": [
                                    {"amount": 4900, "currencyCode": "EUR"},
                                    {"amount": 5500, "currencyCode": "USD"},
                                ],
                            },
                            {
                                "sku": "LS-M",
                                "options": [{"option": "Size", "value": "M"}],
                                "inventoryQuantity": 0,
                                "prices": [
                                    {"amount": 5900, "currencyCode": "EUR"},
                                    {"amount": 6500, "currencyCode": "USD"},
                                ],
                            },
                        ],
                    }
                ),
            ),
        ).fetchone()[0]
        conn.execute(
            "select rustok.create_product(%s)",
            (
                Jsonb(
                    {
                        "title": f"{HOSTILE} Mug",
                        "handle": "evil-mug",
                        "status": "published",
                        "description": f"{HOSTILE} & more",
                        "tags": ["kitchen"],
                        "variants": [
                            {"sku": "MUG", "inventoryQuantity": 3, "prices": [{"amount": 1200, "currencyCode": "EUR"}]}
                        ],
                    }
                ),
            ),
        )
        conn.execute(
            """select rustok.create_product(jsonb_build_object(
                   'title', 'Sock ' || lpad(n::text, 2, '0'), 'status', 'published', 'tags', '["socks"]'::jsonb,
                   'variants', jsonb_build_array(jsonb_build_object(
                       'sku', 'SOCK-' || n, 'inventoryQuantity', 10,
                       'prices', jsonb_build_array(jsonb_build_object('amount', 300 + n, 'currencyCode', 'EUR'))))))
               from generate_series(1, 30) n"""
        )
        conn.execute(
            "select rustok.create_product(%s)",
            (Jsonb({"title": "Draft Hat", "status": "draft", "variants": [{"sku": "HAT"}]}),),
        )
        conn.execute(
            "select rustok.create_product(%s)",
            (
                Jsonb(
                    {
                        "title": "Sold-out Scarf",
                        "status": "published",
                        "tags": ["winter"],
                        "variants": [
                            {
                                "sku": "SCARF",
                                "inventoryQuantity": 0,
                                "prices": [{"amount": 2500, "currencyCode": "EUR"}],
                            }
                        ],
                    }
                ),
            ),
        )
        post = conn.execute(
            "select rustok.create_node(%s)",
            (
                Jsonb(
                    {
                        "kind": "post",
                        "title": "Hello World",
                        "slug": "hello-world",
                        "excerpt": "Our first post.",
                        "body": f'Some **bold** words.\n\n{HOSTILE}\n\n<a href="javascript:alert(1)">x</a>',
                        "status": "published",
                        "tags": ["news"],
                        "metaTitle": "Hello from Acme",
                        "metaDescription": "The first post of the Acme shop.",
                    }
                ),
            ),
        ).fetchone()[0]
        conn.execute(
            "select rustok.create_node(%s)",
            (
                Jsonb(
                    {
                        "kind": "page",
                        "title": "About us",
                        "slug": "about",
                        "body": "<p>We sell <em>things</em>.</p>",
                        "format": "html",
                        "status": "published",
                    }
                ),
            ),
        )
        conn.execute(
            "select rustok.create_node(%s)",
            (Jsonb({"kind": "post", "title": "Secret draft", "slug": "secret", "body": "x", "status": "draft"}),),
        )
    return Shop(tenant, f"/t/{slug}", shirt, post)


CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)
