#!/usr/bin/env python3
"""Scale-out: read throughput of a storefront search (`searchProducts`: text + category/stock filter + price
sort, 24 results with facets) with one database vs primary + streaming replica, and with one vs two
`rustok serve` processes, measured in one run on one machine.

    .venv/bin/python bench/scaleout.py                      # about 6 minutes on a quiet machine (seeding: ~2)
    .venv/bin/python bench/scaleout.py --products 5000 --rounds 1 --duration 5

What it does:
1. Builds a fresh primary and a streaming replica from the embedded PostgreSQL binaries under .tmp/scaleout-*
   (TCP on loopback, pg_basebackup -R), migrates, seeds tenant `bench` with --products published products
   (`seed_catalogue`: the one place to swap in the shared benchmark data generator), VACUUM ANALYZEs, then
   makes the replica, so both start with the same warm statistics.
2. For each round and each of: 1 process / primary only, 1 process / primary + replica, 2 processes / primary
   only, 2 processes / primary + replica — starts the processes (`rustok serve --no-migrate --workers 1`, with
   RUSTOK_READ_DATABASE_URL for the replica rows), checks every search on every process, waits for a quiet
   machine, warms up with every response checked, then measures with one wrk whose threads are spread over
   the processes (wrk's `setup(thread)` gives each thread a process's address), cycling through 8 searches.
   It counts the transactions each server ran meanwhile (pg_stat_database), so the table shows which share
   of the searches the replica answered, and the CPU taken by processes other than this benchmark's.
3. Prints the table (median requests/s over the rounds, p50, p99) and stops everything.

The requests are anonymous storefront requests (X-Tenant header), as a shop's front end sends them. On a
2-core machine every server shares the same two cores: a replica adds no CPU, and two API processes compete
with PostgreSQL for them. The figures show what routing and a second process cost or gain *here*, not what a
second machine gives.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _harness  # first: the project's virtualenv, its database
import httpx2 as httpx
import psycopg
from api_throughput import BenchError, CpuMeter, parse_wrk, postmaster_pid, say, wait_quiet

from rustok.db import Database
from rustok.embedded import Cluster
from rustok.ids import parse_id

ROOT = _harness.REPO
free_port = _harness.free_port
APP_PASSWORD = "scaleout-app-password"
REPLICATION = ("rustok_replicator", "scaleout-replication-password")
TENANT = "bench"

SEARCH = """query Search($q: String, $filter: ProductSearchFilter, $sort: ProductSearchSort) {
  searchProducts(query: $q, filter: $filter, sort: $sort, first: 24) {
    totalCount fuzzy
    edges { cursor node { id title handle price inStock categorySlugs tags } }
    pageInfo { hasNextPage endCursor }
    facets { categories { value label count } tags { value count } priceBuckets { min max count } }
  }
}"""

# The catalogue: "<style> <material> <garment>", one category per garment, material and season as tags.
STYLES = ["classic", "slim", "relaxed", "vintage", "organic", "everyday", "premium", "summer", "winter", "sport"]
MATERIALS = ["cotton", "wool", "linen", "denim", "leather", "silk"]
GARMENTS = ["shirt", "sweater", "jacket", "dress", "trousers", "sneakers", "scarf", "coat", "skirt", "hoodie"]
SEASONS = ["spring", "summer", "autumn", "winter"]

# What shoppers type, with the category they are in and how they sort.
SEARCHES = [
    ("cotton shirt", "shirt", "PRICE_ASC"),
    ("wool sweater", "sweater", "RELEVANCE"),
    ("leather jacket", "jacket", "PRICE_DESC"),
    ("linen dress", "dress", "PRICE_ASC"),
    ("denim trous", "trousers", "RELEVANCE"),  # search-as-you-type: the last word is a prefix
    ("vintage sneakers", "sneakers", "NEWEST"),
    ("silk scarf", "scarf", "PRICE_ASC"),
    ("winter coat", "coat", "RELEVANCE"),
]


def search_body(text: str, category: str, sort: str) -> bytes:
    variables = {"q": text, "filter": {"category": category, "inStock": True, "currency": "EUR"}, "sort": sort}
    return json.dumps({"query": SEARCH, "variables": variables}).encode()


# -- the database ------------------------------------------------------------------------------------------


def seed_catalogue(conn: psycopg.Connection[Any], tenant: uuid.UUID, products: int, seed: int = 7) -> None:
    """Tenant `bench`'s catalogue: 10 categories and `products` published products, each with two variants
    (EUR prices 5-250 €, about 1 in 8 out of stock), a description, and material/season tags; created through
    rustok.create_product in batches of 500, so the index tables are filled by their own triggers. The one
    place to swap for bench/datagen.py: it must leave `products` published products in categories named by
    GARMENTS whose titles use the words in SEARCHES."""
    rng = random.Random(seed)
    categories = {}
    conn.execute("select rustok.set_context(%s)", (tenant,))  # transaction-local: again after each commit
    for garment in GARMENTS:
        made = conn.execute(
            "select rustok.create_product_category(%s::jsonb) ->> 'id'",
            (json.dumps({"name": garment.title(), "handle": garment}),),
        ).fetchone()
        assert made is not None
        categories[garment] = made[0]
    conn.commit()
    for start in range(0, products, 500):
        batch = []
        for n in range(start, min(products, start + 500)):
            style, material, garment = rng.choice(STYLES), rng.choice(MATERIALS), rng.choice(GARMENTS)
            price = rng.randrange(500, 25000, 5)
            stock = 0 if rng.random() < 0.125 else rng.randint(1, 50)
            batch.append(
                {
                    "title": f"{style.title()} {material} {garment} {n:05d}",
                    "status": "published",
                    "description": f"A {style} {garment} made of {material}, for {rng.choice(SEASONS)} days.",
                    "categoryIds": [categories[garment]],
                    "tags": [material, rng.choice(SEASONS)],
                    "variants": [
                        {
                            "title": size,
                            "sku": f"B{n:05d}-{size}",
                            "inventoryQuantity": stock,
                            "prices": [{"amount": price + extra, "currencyCode": "EUR"}],
                        }
                        for size, extra in (("M", 0), ("L", 500))
                    ],
                }
            )
        conn.execute("select rustok.set_context(%s)", (tenant,))
        conn.execute(
            "select count(rustok.create_product(p)) from jsonb_array_elements(%s::jsonb) p", (json.dumps(batch),)
        )
        conn.commit()
        say(f"seeded {min(products, start + 500):,} of {products:,} products")


def setup(base: Path, products: int) -> tuple[Cluster, Cluster]:
    primary = Cluster(base / "primary", port=free_port(), tcp=True)
    replica = Cluster(base / "replica", port=free_port(), tcp=True)
    primary.ensure_running()
    primary.create_replication_role(*REPLICATION)
    db = Database(
        admin_url=primary.superuser_url("rustok"),
        app_url=primary.tcp_url("rustok_app", APP_PASSWORD, "rustok"),
        app_password=APP_PASSWORD,
        cluster=primary,
    )
    _harness.migrated(db, say)
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("select rustok.create_tenant(%s, 'Bench', 'admin@bench.test', 'x') ->> 'id'", (TENANT,))
        tenant = row.fetchone()
        assert tenant is not None
        started = time.monotonic()
        seed_catalogue(conn, parse_id(tenant[0]), products)
        say(f"seeding took {time.monotonic() - started:.0f} s")
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    replica.make_standby_of(primary, *REPLICATION)
    replica.start()
    return primary, replica


def database_time(primary: Cluster, rounds: int = 10) -> float:
    """Milliseconds one search takes in PostgreSQL alone (rustok.search_products as rustok_app, one client,
    the 8 searches in turn, after one warm-up round): what bounds the requests/s two cores can give."""
    url = primary.tcp_url("rustok_app", APP_PASSWORD, "rustok")
    with psycopg.connect(url, autocommit=True) as conn:
        tenant = conn.execute("select rustok.tenant_id_by_slug(%s)", (TENANT,)).fetchone()
        assert tenant is not None
        statement = (
            "with _context as materialized (select rustok.set_context(%s)) "
            "select rustok.search_products(%s, %s::jsonb, %s, 24) from _context"
        )
        calls = [
            (tenant[0], text, json.dumps({"category": category, "inStock": True, "currency": "EUR"}), sort.lower())
            for text, category, sort in SEARCHES
        ]
        for params in calls:
            conn.execute(statement, params, prepare=True).fetchone()
        started = time.perf_counter()
        for _ in range(rounds):
            for params in calls:
                conn.execute(statement, params, prepare=True).fetchone()
        return (time.perf_counter() - started) * 1000 / (rounds * len(calls))


def transactions(cluster: Cluster) -> int:
    """Transactions the server has run in database rustok (committed or not), from its statistics."""
    with psycopg.connect(cluster.superuser_url(), autocommit=True) as conn:
        conn.execute("select pg_stat_clear_snapshot()")
        row = conn.execute("select xact_commit + xact_rollback from pg_stat_database where datname = 'rustok'")
        found = row.fetchone()
    return int(found[0]) if found else 0


# -- the API processes ---------------------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]


def start_servers(primary: Cluster, replica: Cluster | None, count: int, home: Path) -> list[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTOK_") and k != "DATABASE_URL"}
    app_url = primary.tcp_url("rustok_app", APP_PASSWORD, "rustok")
    env |= {
        "RUSTOK_HOME": str(home),
        "DATABASE_URL": app_url,
        "RUSTOK_APP_DATABASE_URL": app_url,
        "RUSTOK_APP_PASSWORD": APP_PASSWORD,
        "RUSTOK_JWT_SECRET": "scaleout-jwt-secret-0123456789abcdef0123",
    }
    if replica is not None:
        env["RUSTOK_READ_DATABASE_URL"] = replica.tcp_url("rustok_app", APP_PASSWORD, "rustok")
    servers = []
    for _ in range(count):
        port = free_port()
        process = subprocess.Popen(
            _harness.serve_command(port, "--workers", "1"),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the CPU meter counts it as ours
        )
        servers.append(Server(port, process))
    for server in servers:
        try:
            _harness.wait_ready(server.process, _harness.answers(f"http://127.0.0.1:{server.port}/health/ready"), 60)
        except RuntimeError as exc:
            raise BenchError(f"rustok serve on port {server.port}: {exc}") from None
    return servers


def stop_servers(servers: list[Server]) -> None:
    for server in servers:
        server.process.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def check_answers(servers: list[Server], bodies: list[bytes]) -> list[int]:
    """Every search on every process answers without errors and with results; their totalCounts."""
    counts = []
    for server in servers:
        for body in bodies:
            answer = httpx.post(
                f"http://127.0.0.1:{server.port}/graphql",
                content=body,
                headers={"content-type": "application/json", "x-tenant": TENANT},
                timeout=10,
            ).json()
            result = (answer.get("data") or {}).get("searchProducts")
            if "errors" in answer or not result or len(result["edges"]) == 0:
                raise BenchError(f"a search fails or finds nothing: {json.dumps(answer)[:500]}")
            counts.append(int(result["totalCount"]))
    return counts


# -- wrk -------------------------------------------------------------------------------------------------------

_LUA = """
local ports = {{{ports}}}
local bodies = {{{bodies}}}
local threads = {{}}
local started = 0
function setup(thread)
  started = started + 1
  local port = ports[(started - 1) % #ports + 1]
  thread.addr = wrk.lookup("127.0.0.1", tostring(port))[1]
  table.insert(threads, thread)
end
function init(args) n = 0; bad = 0; sample = "" end
function request()
  n = n + 1
  return wrk.format("POST", "/graphql", {{["Content-Type"] = "application/json", ["X-Tenant"] = "{tenant}"}},
                    bodies[n % #bodies + 1])
end
{check}
function done(summary, latency, requests)
  local total, first = 0, ""
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
    if first == "" then first = t:get("sample") end
  end
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration, total,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(99)))
  if first ~= "" then io.write("BENCH_SAMPLE " .. string.gsub(first, "\\n", " ") .. "\\n") end
end
"""

_CHECK = """
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) or not string.find(body, '"edges":[{', 1, true) then
    bad = bad + 1
    if sample == "" then sample = string.sub(tostring(status) .. " " .. (body or ""), 1, 300) end
  end
end
"""


def lua_script(ports: list[int], bodies: list[bytes], directory: Path, check: bool) -> Path:
    texts = ", ".join(f"[==[{b.decode()}]==]" for b in bodies)
    script = _LUA.format(
        ports=", ".join(str(p) for p in ports), bodies=texts, tenant=TENANT, check=_CHECK if check else ""
    )
    path = directory / f"search-{len(ports)}{'-check' if check else ''}.lua"
    path.write_text(script)
    return path


def run_wrk(ports: list[int], script: Path, seconds: float, connections: int, threads: int) -> dict[str, Any]:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    argv += ["--latency", "-s", str(script), f"http://127.0.0.1:{ports[0]}/graphql"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0 or result.stderr.strip():
        raise BenchError(f"wrk failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
    return parse_wrk(result.stdout)


# -- the run ---------------------------------------------------------------------------------------------------


@dataclass
class Row:
    processes: int
    replica: bool
    rps: float
    p50_ms: float
    p99_ms: float
    replica_share: float  # of the transactions both servers ran during the measurement
    busy_before: float
    others_during: float
    bad: int

    @property
    def label(self) -> str:
        return f"{self.processes} process{'es' if self.processes > 1 else ''}, " + (
            "primary + replica" if self.replica else "primary only"
        )


def measure_one(
    primary: Cluster, replica: Cluster, processes: int, with_replica: bool, args: argparse.Namespace, base: Path
) -> Row:
    bodies = [search_body(*s) for s in SEARCHES]
    meter = CpuMeter()
    meter.postmasters |= {postmaster_pid(primary.data_dir), postmaster_pid(replica.data_dir)}
    servers = start_servers(primary, replica if with_replica else None, processes, base / "home")
    try:
        meter.groups |= {s.process.pid for s in servers}
        check_answers(servers, bodies)
        ports = [s.port for s in servers]
        threads = max(2, processes)
        warmup = run_wrk(ports, lua_script(ports, bodies, base, check=True), args.warmup, args.connections, threads)
        if warmup["bad"] or warmup["socket_errors"]:
            raise BenchError(f"warm-up: {warmup['bad']} bad answers, e.g. {warmup['sample']}")
        busy = wait_quiet(meter, args.quiet_threshold, args.quiet_timeout)
        counts = (transactions(primary), transactions(replica))
        before = meter.sample()
        result = run_wrk(ports, lua_script(ports, bodies, base, check=False), args.duration, args.connections, threads)
        total, ours = meter.shares(before, meter.sample())
        on_primary, on_replica = transactions(primary) - counts[0], transactions(replica) - counts[1]
        check_answers(servers, bodies[:1])
    finally:
        stop_servers(servers)
    row = Row(
        processes,
        with_replica,
        result["rps"],
        result["p50_ms"],
        result["p99_ms"],
        on_replica / max(1, on_primary + on_replica),
        busy,
        max(0.0, total - ours),
        result["bad"] + result["socket_errors"],
    )
    say(
        f"{row.label}: {row.rps:,.0f} req/s, p50 {row.p50_ms:.1f} ms, p99 {row.p99_ms:.1f} ms, "
        f"replica answered {row.replica_share:.0%}, others took {row.others_during:.0%} of the CPU"
    )
    return row


def report(rows: list[Row], args: argparse.Namespace, counts: list[int], search_ms: float) -> None:
    print(
        f"\nsearchProducts (8 searches, 24 results + facets; {args.products:,} products, results per search "
        f"{min(counts):,} to {max(counts):,}); wrk {args.connections} connections, {args.duration:g} s per "
        f"measurement, {args.rounds} round(s); {os.cpu_count()} CPUs; one search in PostgreSQL alone "
        f"{search_ms:.2f} ms\n"
    )
    print("| API processes | database | req/s (median) | all rounds | p50 ms | p99 ms | replica share | others' CPU |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for processes in (1, 2):
        for with_replica in (False, True):
            mine = [r for r in rows if r.processes == processes and r.replica == with_replica]
            if not mine:
                continue
            median = statistics.median(r.rps for r in mine)
            rounds = " / ".join(f"{r.rps:,.0f}" for r in mine)
            mark = " !" if any(r.bad for r in mine) else ""
            print(
                f"| {processes} | {'primary + replica' if with_replica else 'primary only'} | {median:,.0f}{mark} | "
                f"{rounds} | {statistics.median(r.p50_ms for r in mine):.1f} | "
                f"{statistics.median(r.p99_ms for r in mine):.1f} | "
                f"{statistics.median(r.replica_share for r in mine):.0%} | "
                f"{statistics.median(r.others_during for r in mine):.0%} |"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=20000)
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quiet-threshold", type=float, default=0.15, help="busy share of all cores to wait below")
    parser.add_argument("--quiet-timeout", type=float, default=45)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk (or bench/setup)")
    (ROOT / ".tmp").mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="scaleout-", dir=ROOT / ".tmp"))
    primary = replica = None
    rows: list[Row] = []
    try:
        say(f"primary + replica under {base}, {args.products:,} products")
        primary, replica = setup(base, args.products)
        probe = start_servers(primary, replica, 1, base / "home")
        try:
            counts = check_answers(probe, [search_body(*s) for s in SEARCHES])
        finally:
            stop_servers(probe)
        search_ms = database_time(primary)
        say(f"one search in PostgreSQL alone: {search_ms:.2f} ms")
        for round_ in range(args.rounds):
            for processes in (1, 2):
                for with_replica in (False, True):
                    say(f"round {round_ + 1}: {processes} process(es), replica {'on' if with_replica else 'off'}")
                    rows.append(measure_one(primary, replica, processes, with_replica, args, base))
    except BenchError as exc:
        raise SystemExit(f"scaleout: {exc}") from None
    finally:
        for cluster in (replica, primary):
            if cluster is not None:
                cluster.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)
    report(rows, args, counts, search_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
