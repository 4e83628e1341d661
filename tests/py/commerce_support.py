"""Shared set-up for checkout tests: a tenant's regions with tax rates and shipping options."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from rustok.db import Database
from tests.py.graphql_support import Tenant

Region = tuple[dict[str, Any], dict[str, int]]  # rustok.create_region's input, and its options {name: amount}


def seed_regions(db: Database, tenant: Tenant, eu_countries: tuple[str, ...] = ("DE", "FR")) -> None:
    """Region EU (EUR, `eu_countries`, 19% VAT; options Standard 4.99 and Express 15.00) and region US (USD,
    no tax; option Ground 7.00), made by the tenant's admin."""
    eu = {
        "name": "EU",
        "currencyCode": "EUR",
        "countries": list(eu_countries),
        "taxRate": {"name": "VAT", "rate": 1900},
    }
    us = {"name": "US", "currencyCode": "USD", "countries": ["US"]}
    add_regions(db, tenant, ((eu, {"Standard": 499, "Express": 1500}), (us, {"Ground": 700})))


def add_regions(db: Database, tenant: Tenant, regions: Iterable[Region]) -> None:
    """Makes each region and its shipping options as the tenant's admin."""
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenant.id, tenant.users["admin"]))
        for region, options in regions:
            region_id = conn.execute("select rustok.create_region(%s) ->> 'id'", (Jsonb(region),)).fetchone()[0]
            for name, amount in options.items():
                option = {"regionId": region_id, "name": name, "amount": amount}
                conn.execute("select rustok.create_shipping_option(%s)", (Jsonb(option),))
