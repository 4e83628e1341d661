#!/usr/bin/env python3
"""Storefront benchmark: server-side render time of the catalogue page (a search term, a filter and a sort)
through the ASGI app, p50/p99, beside the SQL call the page makes.

    .venv/bin/python bench/storefront_bench.py                 # seeds 10,000 products once, then measures
    .venv/bin/python bench/storefront_bench.py --home DIR --tenant SLUG --query q --tag t   # existing data
    .venv/bin/python bench/storefront_bench.py --help

What it does:

1. Starts (or reuses) the embedded PostgreSQL under --home (default .tmp/bench-storefront, socket name 5496), or
   uses --database-url, and migrates it.
2. Unless the tenant --tenant already exists (e.g. loaded by bench/datagen.py into that --home), creates it and
   --products published products through rustok.create_product (two variants each, prices in EUR and USD,
   stock, two tags from a word list, one of 20 categories), in batches of 1,000 per transaction. The index is
   kept by the triggers as in production.
3. Builds the app with create_app (as `rustok serve` does), runs its lifespan, and sends --requests GET
   requests for /t/<tenant>/products?q=<query>&tag=<tag>&sort=<sort> straight into the ASGI app (after
   --warmup ones): the time from the call to the last byte of the response is the server-side time (routing,
   session, tenant, the SQL round trips, Jinja rendering, the access-log middleware). No HTTP parsing or
   network is included. Then times the page's SQL call alone (rustok.search_products through the gateway).
4. Prints p50/p99/mean per request and the page's size and product count; --json writes them too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import _harness  # first: the project's virtualenv, its database
import psycopg
from psycopg.types.json import Jsonb

from rustok.api.context import RequestContext
from rustok.app import create_app
from rustok.config import Settings
from rustok.db import Database
from rustok.modules import installed_registry

WORDS = (  # noqa: SIM905 (a word list reads better as one string)
    "alpha baker cedar delta ember fable garden harbor island jasmine kettle lantern meadow nectar orchard pepper "
    "quartz river saffron timber umber velvet willow xenon yarrow zephyr amber breeze canyon dune echo fjord glacier"
).split()
KINDS = ["shirt", "mug", "lamp", "chair", "scarf", "bottle", "notebook", "jacket", "candle", "basket"]
BATCH = 1_000


def say(message: str) -> None:
    print(f"[storefront-bench] {message}", file=sys.stderr, flush=True)


def seed(db: Database, slug: str, products: int) -> None:
    """The tenant and its products, unless the tenant exists (then its data is used as it is)."""
    with psycopg.connect(db.admin_url) as conn:
        if conn.execute("select rustok.tenant_id_by_slug(%s)", (slug,)).fetchone()[0] is not None:  # type: ignore[index]
            say(f"tenant {slug} exists: using its data")
            return
        tenant = conn.execute("select rustok.create_tenant(%s, %s) ->> 'id'", (slug, "Storefront Bench")).fetchone()
        conn.execute("select rustok.set_context(rustok.parse_id(%s))", (tenant[0],))  # type: ignore[index]
        categories = [
            conn.execute(
                "select rustok.create_product_category(%s) ->> 'id'", (Jsonb({"name": f"Category {i:02d}"}),)
            ).fetchone()[0]  # type: ignore[index]
            for i in range(20)
        ]
        conn.commit()
        started = time.perf_counter()
        for first in range(0, products, BATCH):
            conn.execute("select rustok.set_context(rustok.parse_id(%s))", (tenant[0],))  # type: ignore[index]
            rows = [product(n, categories) for n in range(first, min(first + BATCH, products))]
            conn.execute(
                "select count(rustok.create_product(p)) from unnest(%s::jsonb[]) p", ([Jsonb(r) for r in rows],)
            )
            conn.commit()
            say(f"seeded {min(first + BATCH, products)}/{products} products ({time.perf_counter() - started:.0f} s)")


def product(n: int, categories: list[str]) -> dict[str, Any]:
    a, b, kind = WORDS[n % len(WORDS)], WORDS[(n * 7 + 3) % len(WORDS)], KINDS[n % len(KINDS)]
    price = 500 + (n * 37) % 20_000
    return {
        "title": f"{a.title()} {b.title()} {kind.title()} {n}",
        "handle": f"p-{n}",
        "status": "published",
        "description": f"A {a} {kind} with {b} details. " * 3,
        "tags": [kind, WORDS[(n * 3) % len(WORDS)]],
        "categoryIds": [categories[n % len(categories)]],
        "options": [{"title": "Size", "values": ["S", "L"]}],
        "variants": [
            {
                "sku": f"B{n}-{size}",
                "options": [{"option": "Size", "value": size}],
                "inventoryQuantity": (n + i) % 7,
                "prices": [
                    {"amount": price + i * 300, "currencyCode": "EUR"},
                    {"amount": price + i * 300 + 200, "currencyCode": "USD"},
                ],
            }
            for i, size in enumerate(("S", "L"))
        ],
    }


class AsgiDriver:
    """Calls an ASGI app directly: its lifespan, and GET requests timed to the last body byte."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lifespan_in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._lifespan_out: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = asyncio.create_task(self.app(scope, self._lifespan_in.get, self._lifespan_out.put))
        await self._lifespan_in.put({"type": "lifespan.startup"})
        message = await self._lifespan_out.get()
        assert message["type"] == "lifespan.startup.complete", message

    async def stop(self) -> None:
        await self._lifespan_in.put({"type": "lifespan.shutdown"})
        await self._lifespan_out.get()
        if self._task is not None:
            await self._task

    async def get(self, path: str, query: str) -> tuple[int, bytes, float]:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": [(b"host", b"bench.local"), (b"accept", b"text/html")], "client": ("127.0.0.1", 40000),
            "server": ("bench.local", 80), "state": {},
        }  # fmt: skip
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        started = time.perf_counter()
        await self.app(scope, receive, send)
        return status, b"".join(chunks), time.perf_counter() - started


def summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


async def measure(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    app = create_app(db, installed_registry(Settings().installed_modules), Settings())
    driver = AsgiDriver(app)
    await driver.start()
    try:
        path = f"/t/{args.tenant}/products"
        params = {
            "q": args.query, "tag": args.tag, "category": args.category, "in_stock": "1" if args.in_stock else "",
            "min_price": args.min_price, "max_price": args.max_price, "sort": args.sort,
        }  # fmt: skip
        query = urlencode({k: v for k, v in params.items() if v})
        for _ in range(args.warmup):
            status, body, _ = await driver.get(path, query)
            assert status == 200, (status, body[:500])
        times = []
        for _ in range(args.requests):
            status, body, seconds = await driver.get(path, query)
            assert status == 200, (status, body[:500])
            times.append(seconds)
        page = body.decode()
        count = page.count('data-testid="product-card"')
        total = page.split('data-count="', 1)[1].split('"', 1)[0] if 'data-count="' in page else "?"

        services = app.state.services
        tenant = await services.tenants.tenant_by_slug(args.tenant)
        ctx = RequestContext(tenant, request_id="bench")
        shop = await services.gateway.call(ctx, "rustok.storefront_shop()")
        currency = shop["currencies"][0]["code"] if shop["currencies"] else None
        wanted = {
            "tag": args.tag, "category": args.category, "currency": currency,
            "inStock": True if args.in_stock else None,
            "minPrice": int(args.min_price) if args.min_price else None,
            "maxPrice": int(args.max_price) if args.max_price else None,
        }  # fmt: skip
        sql_filter = {k: v for k, v in wanted.items() if v}
        sql_times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            await services.gateway.call(
                ctx, "rustok.search_products(%s, %s, %s, 24, null)", (args.query or None, Jsonb(sql_filter), args.sort)
            )
            sql_times.append(time.perf_counter() - started)
    finally:
        await driver.stop()
    return {
        "url": f"{path}?{query}",
        "page_bytes": len(body),
        "products_on_page": count,
        "total_matching": total,
        "render": summary(times),
        "sql_call": summary(sql_times),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    _harness.database_options(p, "bench-storefront", "5496")
    p.add_argument("--tenant", default="storefront-bench", help="tenant slug (seeded when it does not exist)")
    p.add_argument("--products", type=int, default=10_000, help="products to seed (default 10000)")
    p.add_argument("--query", default="cedar", help="search term (default cedar)")
    p.add_argument("--tag", default="mug", help="tag filter (default mug; empty: none)")
    p.add_argument("--category", default="", help="category handle filter (default none)")
    p.add_argument("--in-stock", action="store_true", help="only products in stock (in_stock=1)")
    p.add_argument("--min-price", default="", help="price filter, minor units (default none)")
    p.add_argument("--max-price", default="", help="price filter, minor units (default none)")
    p.add_argument("--sort", default="price_asc", help="sort (default price_asc)")
    p.add_argument("--requests", type=int, default=500, help="measured requests (default 500)")
    p.add_argument("--warmup", type=int, default=50, help="requests before measuring (default 50)")
    p.add_argument("--json", help="also write the results to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("rustok").setLevel(logging.WARNING)  # no access log line per request
    with _harness.running_database(args, say) as db:
        seed(db, args.tenant, args.products)
        with psycopg.connect(db.admin_url, autocommit=True) as conn:
            conn.execute("vacuum analyze index_products")
        load = os.getloadavg()
        result = asyncio.run(measure(db, args))
        result["load_before"] = " ".join(f"{x:.2f}" for x in load)
        result["cpus"] = os.cpu_count()
        r, s = result["render"], result["sql_call"]
        print(f"catalogue page {result['url']}")
        print(
            f"  {result['products_on_page']} products shown of {result['total_matching']}, {result['page_bytes']} bytes"
        )
        print(f"  server-side render: p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  mean {r['mean_ms']} ms  (n={r['n']})")
        print(f"  its SQL call alone: p50 {s['p50_ms']} ms  p99 {s['p99_ms']} ms  mean {s['mean_ms']} ms")
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        return 0


if __name__ == "__main__":
    sys.exit(main())
