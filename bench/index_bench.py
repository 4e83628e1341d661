#!/usr/bin/env python3
"""Index benchmark: does the CQRS split pay? Measured in one run on data from bench/datagen.py.

    .venv/bin/python bench/index_bench.py            # full size: generates 100 tenants / 200k products / 200k
                                                     # nodes first when the database has none (~15 min)
    .venv/bin/python bench/index_bench.py --small    # quick run: 10 tenants, 5,000 products, 10,000 bulk
    .venv/bin/python bench/index_bench.py --help

What it measures, in order (each step announced on stderr):

1. Storefront search on the largest tenant (<prefix>-001): text + price range (EUR) + in stock + category,
   sorted by price, 24 results. Index path: `rustok.search_products` as the application role with the tenant
   set, one statement as the API's gateway sends it (its answer includes totalCount and facets). Join path:
   the same answer from the write tables (products, variants, prices, stock, category links, tags), as the
   application role under the same RLS, written with the write tables' keys: the category's product links
   first, then per product its guest price (base price, quantity 1: the generated data has no price lists, so
   this is the rule's answer), stock and the text match computed on the fly (the write tables have no text
   index; the vector is the index's: title, subtitle, tags, description, unaccented). Both must give the same
   24 ids (checked for every query before timing). --searches calls of each, interleaved; p50/p99 and ratio
   at the SQL level (each statement's time inside the server: clock_timestamp() - statement_timestamp()), and
   as the client sees them (the round trip and the answer decoded too).
2. createProduct (3 variants x 2 currencies, stock, a tag, a category) through `rustok.create_product` as the
   tenant's admin, one transaction per call, with the index module's triggers enabled and disabled (ALTER
   TABLE ... DISABLE TRIGGER on the `_700_index_*` triggers in this benchmark database; the same calls
   otherwise), in alternating halves; calls/s and the overhead.
3. Bulk import of --bulk products (bench.datagen.add_products: set-based, batches of --batch per transaction)
   into a new tenant with upkeep on, into another with upkeep off, and into a third whose IndexConfig has
   realtimeSync off (the flush queues the ids), whose queue `rustok indexer --once --workers 2` then drains;
   then the upkeep-off tenant is rebuilt with the real reindex (`rustok.index_reindex_batch`, batches of 500
   like `rustok reindex`): rows/s, and the content of the largest tenant likewise. `rustok.index_verify` must
   be empty for every tenant touched.
4. `searchProducts` over HTTP: `rustok serve --workers 2`, guest requests (X-Tenant) of the query of step 1,
   wrk -t2 -c16 for --http-seconds after a checked warm-up (bench/api_throughput.py's machinery).

Prints a table and writes JSON under --home. The embedded database is left running for a later run (stop it
with `RUSTOK_HOME=<home> RUSTOK_PG_PORT=<port> .venv/bin/rustok db stop`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import _harness  # first: the project's virtualenv, its database
import datagen
import psycopg
from psycopg.types.json import Jsonb

REPO = _harness.REPO

CONTEXT = "with _context as materialized (select rustok.set_context(%s, %s, %s)) select {call} from _context"
# a call and, beside its answer, the statement's time inside the server (parse, plan, execution: "the SQL
# level", without the network and the client decoding the answer)
TIMED = (
    "with _context as materialized (select rustok.set_context(%s, %s, %s)),"
    " _call as materialized (select {call} as answer from _context)"
    " select answer, 1000 * extract(epoch from clock_timestamp() - statement_timestamp())::float8 from _call"
)
SEARCH = TIMED.format(call="rustok.search_products(%s, %s, 'price_asc', 24)")
CREATE_PRODUCT = CONTEXT.format(call="rustok.create_product(%s) ->> 'id'")
# (text, category handle): words of the generator's titles and descriptions, and its categories
QUERIES = [
    ("oak", "furniture"),
    ("leather", "bags"),
    ("lamp", "lighting"),
    ("cotton", "textiles"),
    ("ceramic", "tableware"),
    ("steel", "kitchen"),
    ("wool", "clothing"),
    ("durable", "garden"),
]
PRICE_FILTER = {"currency": "EUR", "minPrice": 1000, "maxPrice": 30000, "inStock": True}

# The same answer from the write tables (see the module docstring). Parameters: query text, category handle,
# min and max price (EUR minor units).
JOIN_SEARCH = TIMED.format(
    call="""array(
    select rustok.ulid(p.id)
    from commerce_categories c
    join commerce_product_categories pc on pc.tenant_id = c.tenant_id and pc.category_id = c.id
    join commerce_products p on p.tenant_id = pc.tenant_id and p.id = pc.product_id
    cross join lateral (
        select min(pr.amount) as price
        from commerce_variants v
        join commerce_prices pr on pr.tenant_id = v.tenant_id and pr.variant_id = v.id
        where v.tenant_id = p.tenant_id and v.product_id = p.id and pr.currency_code = 'EUR'
          and pr.price_list_id is null and pr.min_quantity = 1) pz
    where c.handle = %s and p.status = 'published' and pz.price between %s and %s
      and exists (
        select 1 from commerce_variants v
        where v.tenant_id = p.tenant_id and v.product_id = p.id
          and (not v.manage_inventory or v.allow_backorder
               or (select coalesce(sum(l.stocked_quantity - l.reserved_quantity), 0)
                   from commerce_inventory_levels l where l.tenant_id = v.tenant_id and l.variant_id = v.id) > 0))
      and to_tsvector('simple', public.unaccent(concat_ws(' ', p.title, p.subtitle,
            (select string_agg(t.value, ' ') from commerce_product_tags t
             where t.tenant_id = p.tenant_id and t.product_id = p.id), p.description)))
          @@ rustok._search_query('simple', %s)
    order by pz.price, p.id
    limit 24)"""
)


def say(message: str) -> None:
    print(f"[index-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Row:
    measure: str
    value: str
    detail: str


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def tenant_by_slug(conn: psycopg.Connection[Any], slug: str) -> tuple[Any, Any]:
    row = conn.execute(
        "select t.id, (select u.id from users u where u.tenant_id = t.id and u.role = 'admin' order by u.id limit 1)"
        " from tenants t where t.slug = %s",
        (slug,),
    ).fetchone()
    if row is None:
        raise SystemExit(f"no tenant {slug!r}: generate the data first (bench/datagen.py)")
    return row[0], row[1]


def set_upkeep(admin: psycopg.Connection[Any], enabled: bool) -> None:
    """Enables or disables the index module's triggers on the source tables (this benchmark database only)."""
    rows = admin.execute(
        r"select tgrelid::regclass::text, tgname from pg_trigger where tgname like '\_700\_index\_touch%'"
        " and tgparentid = 0"
    ).fetchall()
    action = "enable" if enabled else "disable"
    for table, trigger in rows:
        admin.execute(f"alter table {table} {action} trigger {trigger}")  # names from the catalog


# -- 1. storefront search -----------------------------------------------------------------------------------


def measure_search(db: Any, slug: str, rounds: int) -> list[Row]:
    with psycopg.connect(db.admin_url, autocommit=True) as admin:
        tenant, _ = tenant_by_slug(admin, slug)
        products = admin.execute("select count(*) from index_products where tenant_id = %s", (tenant,)).fetchone()
    # per path: milliseconds seen by the client (round trip, the answer decoded) and inside the server
    client: dict[str, list[float]] = {"index": [], "join": []}
    server: dict[str, list[float]] = {"index": [], "join": []}
    matched: list[int] = []
    with psycopg.connect(db.app_url, autocommit=True) as conn:

        def by_index(q: str, category: str) -> tuple[list[str], int, float]:
            row = conn.execute(
                SEARCH, (tenant, None, None, q, Jsonb({**PRICE_FILTER, "category": category}))
            ).fetchone()
            assert row is not None and not row[0]["fuzzy"], f"{q!r}: fewer than 3 text matches (typo fallback)"
            return [e["node"]["id"] for e in row[0]["edges"]], int(row[0]["totalCount"]), float(row[1])

        def by_join(q: str, category: str) -> tuple[list[str], float]:
            row = conn.execute(
                JOIN_SEARCH, (tenant, None, None, category, PRICE_FILTER["minPrice"], PRICE_FILTER["maxPrice"], q)
            ).fetchone()
            assert row is not None
            return list(row[0]), float(row[1])

        for q, category in QUERIES:  # same answers, and warm caches
            ids, total, _ = by_index(q, category)
            joined, _ = by_join(q, category)
            if ids != joined:
                raise SystemExit(f"search {q!r} in {category}: the index and the join disagree:\n{ids}\n{joined}")
            matched.append(total)
        say(f"  same 24-or-fewer ids from both paths for {len(QUERIES)} queries; filtered set sizes {matched}")
        for i in range(rounds):
            q, category = QUERIES[i % len(QUERIES)]
            began = time.perf_counter()
            server["index"].append(by_index(q, category)[2])
            client["index"].append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            server["join"].append(by_join(q, category)[1])
            client["join"].append((time.perf_counter() - began) * 1000)

    def p50_p99(values: list[float]) -> tuple[float, float]:
        return statistics.median(values), percentile(values, 0.99)

    (si50, si99), (sj50, sj99) = p50_p99(server["index"]), p50_p99(server["join"])
    (ci50, ci99), (cj50, cj99) = p50_p99(client["index"]), p50_p99(client["join"])
    say(f"  SQL level: index p50 {si50:.2f} ms p99 {si99:.2f} ms; join p50 {sj50:.2f} ms p99 {sj99:.2f} ms")
    where = f"{slug}, {products[0] if products else '?'} products, {rounds} calls each"
    return [
        Row(
            "storefront search, index (search_products)", f"p50 {si50:.2f} ms, p99 {si99:.2f} ms", f"SQL level; {where}"
        ),
        Row("storefront search, joins over write tables", f"p50 {sj50:.2f} ms, p99 {sj99:.2f} ms", "SQL level"),
        Row(
            "search: joins / index",
            f"{sj50 / si50:.1f}x (p50), {sj99 / si99:.1f}x (p99)",
            f"SQL level; filtered sets {min(matched)}-{max(matched)} rows",
        ),
        Row(
            "search seen by the client (psycopg)",
            f"index p50 {ci50:.2f} / p99 {ci99:.2f} ms",
            f"joins p50 {cj50:.2f} / p99 {cj99:.2f} ms: round trip and the answer decoded",
        ),
    ]


# -- 2. createProduct ---------------------------------------------------------------------------------------


def product_input(tag: str, n: int, category: str) -> dict[str, Any]:
    sizes = ("S", "M", "L")
    return {
        "title": f"Bench Oak Chair {tag}-{n}",
        "description": "A sturdy chair of oiled oak for the kitchen table",
        "status": "published",
        "tags": ["bench"],
        "categoryIds": [category],
        "options": [{"title": "Size", "values": list(sizes)}],
        "variants": [
            {
                "sku": f"B-{tag}-{n}-{size}",
                "options": [{"option": "Size", "value": size}],
                "prices": [
                    {"amount": 1990 + 100 * i, "currencyCode": "EUR"},
                    {"amount": 2190 + 100 * i, "currencyCode": "USD"},
                ],
                "inventoryQuantity": 100,
            }
            for i, size in enumerate(sizes)
        ],
    }


def measure_create(db: Any, admin: psycopg.Connection[Any], tenant: Any, user: Any, calls: int) -> list[Row]:
    category = admin.execute(
        "select rustok.ulid(id) from commerce_categories where tenant_id = %s order by position limit 1", (tenant,)
    ).fetchone()
    assert category is not None
    tag = f"{int(time.time() * 1000):x}"
    seconds = {True: 0.0, False: 0.0}
    done = {True: 0, False: 0}
    latencies: dict[bool, list[float]] = {True: [], False: []}
    half = max(1, calls // 8)
    with psycopg.connect(db.app_url, autocommit=True) as conn:
        for j in range(3):  # warm-up, not counted
            conn.execute(CREATE_PRODUCT, (tenant, user, "admin", Jsonb(product_input(tag + "w", j, category[0]))))
        n = 0
        for enabled in (True, False) * 4:
            set_upkeep(admin, enabled)
            try:
                for _ in range(half):
                    began = time.perf_counter()
                    conn.execute(CREATE_PRODUCT, (tenant, user, "admin", Jsonb(product_input(tag, n, category[0]))))
                    elapsed = time.perf_counter() - began
                    seconds[enabled] += elapsed
                    latencies[enabled].append(elapsed * 1000)
                    done[enabled] += 1
                    n += 1
            finally:
                set_upkeep(admin, True)
    # the median call: a few calls of a run on a shared machine wait for seconds (other sessions' load), which
    # a total-time rate would charge to whichever half they fell in
    p50 = {k: statistics.median(v) for k, v in latencies.items()}
    on, off = 1000 / p50[True], 1000 / p50[False]
    say(f"  createProduct: {on:.0f}/s with upkeep, {off:.0f}/s without (median calls)")
    return [
        Row(
            "createProduct, upkeep on",
            f"{on:,.0f} calls/s (median call)",
            f"p50 {p50[True]:.2f} ms, p99 {percentile(latencies[True], 0.99):.2f} ms, {done[True]} calls, "
            f"{done[True] / seconds[True]:,.0f}/s by total time",
        ),
        Row(
            "createProduct, upkeep off",
            f"{off:,.0f} calls/s (median call)",
            f"p50 {p50[False]:.2f} ms, p99 {percentile(latencies[False], 0.99):.2f} ms, {done[False]} calls, "
            f"{done[False] / seconds[False]:,.0f}/s by total time",
        ),
        Row("createProduct: upkeep overhead", f"{(p50[True] / p50[False] - 1) * 100:.0f} %", "median call, on vs off"),
    ]


# -- 3. bulk import and reindex -----------------------------------------------------------------------------


def reindex(db: Any, tenant: Any, target: str) -> tuple[int, float]:
    """The loop of `rustok reindex` for one tenant and target (batches of 500, each a transaction)."""
    done, after = 0, None
    began = time.perf_counter()
    with psycopg.connect(db.admin_url) as conn:
        while True:
            with conn.transaction():
                conn.execute("select rustok.set_context(%s)", (tenant,))
                batch = conn.execute(
                    "select * from rustok.index_reindex_batch(%s, %s, 500)", (target, after)
                ).fetchone()
            if batch is None or batch[0] is None:
                break
            after, done = batch[0], done + int(batch[1])
        with conn.transaction():
            conn.execute("select rustok.set_context(%s)", (tenant,))
            conn.execute("select rustok.index_reindex_prune(%s)", (target,))
    return done, time.perf_counter() - began


def measure_bulk(
    db: Any, admin: psycopg.Connection[Any], count: int, plan: datagen.Plan, largest: Any, suffix: str
) -> tuple[list[Row], list[Any]]:
    seconds: dict[str, float] = {}
    tenants: dict[str, Any] = {}
    for mode in ("on", "off", "queued"):
        slug = f"bulk-{mode}-{suffix}"
        tenant = datagen.create_tenant(admin, slug, 500, count, 0, plan)
        tenants[mode] = tenant.id
        if mode == "queued":  # IndexConfig realtimeSync off: the flush queues the ids for `rustok indexer`
            admin.execute(
                "update tenant_modules set settings = settings || '{\"realtimeSync\": false}'"
                " where tenant_id = %s and module_slug = 'index'",
                (tenant.id,),
            )
        say(f"bulk import: {count:,} products into {slug}, upkeep {mode}")
        set_upkeep(admin, mode != "off")
        try:
            began = time.perf_counter()
            datagen.add_products(admin, tenant, count, plan, start=1)
            seconds[mode] = time.perf_counter() - began
        finally:
            set_upkeep(admin, True)
    say("draining the queued tenant's index queue: rustok indexer --once --workers 2")
    began = time.perf_counter()
    subprocess.run([str(REPO / ".venv" / "bin" / "rustok"), "indexer", "--once", "--workers", "2"], check=True)
    drain_seconds = time.perf_counter() - began
    say("reindex: products of the upkeep-off tenant, then the content of the largest tenant")
    products, product_seconds = reindex(db, tenants["off"], "products")
    nodes, node_seconds = reindex(db, largest, "content")
    ratio = seconds["on"] / seconds["off"]
    say(
        f"  bulk {ratio:.2f}x (queued {seconds['queued'] / seconds['off']:.2f}x, drained in {drain_seconds:.1f} s);"
        f" reindex {products / product_seconds:,.0f} products/s, {nodes / node_seconds:,.0f} nodes/s"
    )
    return [
        Row("bulk import, upkeep on", f"{count / seconds['on']:,.0f} products/s", f"{seconds['on']:.1f} s"),
        Row("bulk import, upkeep off", f"{count / seconds['off']:,.0f} products/s", f"{seconds['off']:.1f} s"),
        Row("bulk import: on / off", f"{ratio:.2f}x", f"{count:,} products, batches of {plan.batch:,}"),
        Row(
            "bulk import, upkeep queued (realtimeSync off)",
            f"{count / seconds['queued']:,.0f} products/s",
            f"{seconds['queued']:.1f} s, {seconds['queued'] / seconds['off']:.2f}x off",
        ),
        Row(
            "queue drained (rustok indexer --workers 2)",
            f"{count / drain_seconds:,.0f} products/s",
            f"{drain_seconds:.1f} s after the import",
        ),
        Row(
            "reindex products",
            f"{products / product_seconds:,.0f} rows/s",
            f"{products:,} products in {product_seconds:.1f} s",
        ),
        Row("reindex content", f"{nodes / node_seconds:,.0f} rows/s", f"{nodes:,} nodes in {node_seconds:.1f} s"),
    ], list(tenants.values())


# -- 4. HTTP ------------------------------------------------------------------------------------------------


def measure_http(db: Any, args: argparse.Namespace, slug: str) -> list[Row]:
    import api_throughput as api

    if shutil.which("wrk") is None:
        say("HTTP: no wrk (run bench/setup as root); skipped")
        return [Row("searchProducts over HTTP", "skipped", "wrk missing")]
    q, category = QUERIES[0]
    body = {
        "query": "query($q: String, $f: ProductSearchFilter) { searchProducts(query: $q, filter: $f, sort: PRICE_ASC,"
        " first: 24) { totalCount edges { node { id title price inStock } } } }",
        "variables": {"q": q, "f": {**PRICE_FILTER, "category": category}},
    }
    home = Path(args.home).resolve()
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    port = _harness.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTOK_DEBUG")}
    env.pop("RUSTOK_DEV", None)
    services = api.Services()
    if db.cluster is not None:  # the embedded PostgreSQL is this benchmark's, not "others' CPU"
        services.meter.postmasters.add(api.postmaster_pid(db.cluster.data_dir))
    service = services.start(
        "rustok-search",
        _harness.serve_command(port, "--workers", "2"),
        env,
        logs,
    )
    try:
        api.wait_ready(service, lambda: api.http(f"http://127.0.0.1:{port}/health/live"))
        target = api.Target(
            "search",
            "searchProducts",
            f"http://127.0.0.1:{port}/graphql",
            json.dumps(body).encode(),
            {"Content-Type": "application/json", "X-Tenant": slug},
            '"totalCount":',
        )
        sample = target.sample()
        if "errors" in sample or not target.ok(sample):
            raise SystemExit(f"searchProducts over HTTP: {json.dumps(sample)[:500]}")
        wrk_args = argparse.Namespace(
            threads=2, connections=16, warmup=3, duration=args.http_seconds, quiet_threshold=1.0, quiet_timeout=0
        )
        measured = api.measure(target, wrk_args, logs, services)
    finally:
        services.stop_all()
    return [
        Row(
            "searchProducts over HTTP (16 clients, 2 workers)",
            f"{measured.rps:,.0f} req/s",
            f"p50 {measured.p50_ms:.2f} ms, p99 {measured.p99_ms:.2f} ms, bad {measured.bad}, "
            f"others' CPU {measured.others_during:.0%}",
        )
    ]


# -- main ---------------------------------------------------------------------------------------------------


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    mem = next(
        (
            int(line.split()[1]) // 1024 // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    return f"{os.cpu_count()} vCPU {cpu}, {mem} GiB"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--small", action="store_true", help="quick: 10 tenants, 5000 products/nodes, --bulk 10000")
    p.add_argument("--tenants", type=int, default=100)
    p.add_argument("--products", type=int, default=200_000)
    p.add_argument("--nodes", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--prefix", default="gen", help="slug prefix of the generated tenants (default gen)")
    p.add_argument("--searches", type=int, default=400, help="search calls per path (default 400)")
    p.add_argument("--creates", type=int, default=400, help="createProduct calls, half with upkeep (default 400)")
    p.add_argument("--bulk", type=int, default=100_000, help="products per bulk import (default 100000)")
    p.add_argument("--batch", type=int, default=5_000, help="products per bulk transaction (default 5000)")
    p.add_argument("--http-seconds", type=float, default=10, help="wrk duration (default 10)")
    p.add_argument("--skip", default="", help="comma list of steps to skip: search,create,bulk,http")
    _harness.database_options(p, "bench-index", "5496", fresh=False)
    args = p.parse_args(argv)
    if args.small:
        args.tenants, args.products, args.nodes, args.bulk = 10, 5_000, 5_000, 10_000
        args.prefix = "small" if args.prefix == "gen" else args.prefix
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    with _harness.running_database(args, say) as db:
        return run(db, args, skip)


def run(db: Any, args: argparse.Namespace, skip: set[str]) -> int:
    plan = datagen.Plan(args.tenants, args.products, args.nodes, 1.0, args.seed, args.batch, args.prefix)
    largest_slug = f"{args.prefix}-001"
    rows: list[Row] = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with psycopg.connect(db.admin_url, autocommit=True) as admin:
        if admin.execute("select 1 from tenants where slug = %s", (largest_slug,)).fetchone() is None:
            say(f"generating: {args.tenants} tenants, {args.products:,} products, {args.nodes:,} nodes")
            datagen.generate(admin, plan)
            admin.execute("vacuum analyze")
        largest, _ = tenant_by_slug(admin, largest_slug)
        info = {
            "postgresql": admin.execute("show server_version").fetchone()[0],  # type: ignore[index]
            "products": admin.execute("select count(*) from commerce_products").fetchone()[0],  # type: ignore[index]
            "nodes": admin.execute("select count(*) from nodes").fetchone()[0],  # type: ignore[index]
            "tenants": admin.execute("select count(*) from tenants").fetchone()[0],  # type: ignore[index]
            "machine": machine(),
            "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "started": started,
        }
        say(f"database: {info}")
        touched: list[Any] = [largest]
        if "search" not in skip:
            say(f"storefront search on {largest_slug}: index vs joins, {args.searches} calls each")
            rows += measure_search(db, largest_slug, args.searches)
        suffix = f"{int(time.time()) % 100_000}"
        if "create" not in skip:
            say(f"createProduct: {args.creates} calls, upkeep on and off alternating")
            made = datagen.create_tenant(admin, f"create-{suffix}", 501, 0, 0, plan)
            datagen.add_products(admin, made, 2_000, plan, start=1)
            rows += measure_create(db, admin, made.id, made.admin_id, args.creates)
            say("reindex of the createProduct tenant (its upkeep-off products)")
            reindex(db, made.id, "products")
            touched.append(made.id)
        if "bulk" not in skip:
            bulk_rows, bulk_tenants = measure_bulk(db, admin, args.bulk, plan, largest, suffix)
            rows += bulk_rows
            touched += bulk_tenants
        say("verify: every tenant this run wrote to")
        problems = sum(
            int(admin.execute("select count(*) from rustok.index_verify(%s)", (t,)).fetchone()[0])  # type: ignore[index]
            for t in touched
        )
        rows.append(Row("index_verify after the run", f"{problems} problem(s)", f"{len(touched)} tenants checked"))
        admin.execute("vacuum analyze")
    if "http" not in skip:
        say("searchProducts over HTTP")
        rows += measure_http(db, args, largest_slug)
    info["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    width = max(len(r.measure) for r in rows)
    print(
        f"\nIndex benchmark - {info['machine']}; PostgreSQL {info['postgresql']}; {info['tenants']} tenants, "
        f"{info['products']:,} products, {info['nodes']:,} nodes; load {info['load_before']} before, "
        f"{info['load_after']} after\n"
    )
    for r in rows:
        print(f"{r.measure:<{width}}  {r.value:<32} {r.detail}")
    out = Path(args.home).resolve() / f"index_bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps({"info": info, "rows": [asdict(r) for r in rows], "args": vars(args)}, indent=2, default=str)
    )
    say(f"results: {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
