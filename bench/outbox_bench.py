#!/usr/bin/env python3
"""The outbox's write path: what a transaction that publishes events costs, measured with pgbench.

    .venv/bin/python bench/outbox_bench.py                    # database outbox_bench, this checkout's SQL
    PYTHONPATH=<other checkout>/py .venv/bin/python bench/outbox_bench.py --dbname outbox_before --setup-only
    .venv/bin/python bench/outbox_bench.py --compare outbox_before outbox_bench   # both, rounds alternating

The second line migrates a database with another checkout's code (e.g. main before commit order), on the
same server; --compare then measures the databases named, one after the other in each round, so both see
the same machine.

- Server: the embedded PostgreSQL under --home (default .tmp/bench-outbox, socket only, port --pg-port),
  with its defaults: fsync and synchronous_commit on, as in production (the test cluster has them off).
- Each database: migrated (unless --compare), tenant `bench` with its admin, made once.
- Workloads, each a pgbench run (-M prepared) of one statement per transaction, in autocommit, as the API
  sends them (rustok.set_context in a CTE, then the call), as the application role:
    publish         rustok.publish_event of one small event;
    create_product  rustok.create_product (3 variants x 2 currencies, stock, a tag), index upkeep included.
  at each --clients count, for --seconds after --warmup seconds of the same.
  With --async-commit the sessions run with synchronous_commit off: no wait for the WAL flush, so what is
  left is the CPU and locking of the commit path (on a disk shared with other work, flush times vary more
  than what is measured).
- Reports transactions/s and per-transaction latency p50/p99 (from pgbench's --log), writes JSON under --home.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import _harness  # first: the project's virtualenv
import psycopg

from rustok.db import Database
from rustok.embedded import Cluster, binary

REPO = _harness.REPO
APP_PASSWORD = "bench-outbox-app-password"  # the server listens on its socket only

CONTEXT = "with _context as materialized (select rustok.set_context(:tenant::uuid, :user::uuid, 'admin'))"
SCRIPTS = {
    "publish": "\\set n random(1, 1000000000)\n"
    + CONTEXT
    + " select rustok.publish_event('BenchTick', jsonb_build_object('n', :n::int)) from _context;\n",
    "create_product": "\\set n random(1, 1000000000000)\n"
    + CONTEXT
    + """ select rustok.create_product(jsonb_build_object(
    'title', 'Bench Oak Chair ' || :client_id || '-' || :n, 'status', 'published', 'tags', jsonb_build_array('bench'),
    'options', '[{"title": "Size", "values": ["S", "M", "L"]}]'::jsonb,
    'variants', (select jsonb_agg(jsonb_build_object(
        'sku', 'B-' || :client_id || '-' || :n || '-' || s.size,
        'options', jsonb_build_array(jsonb_build_object('option', 'Size', 'value', s.size)),
        'prices', jsonb_build_array(jsonb_build_object('amount', 1990 + 100 * s.i, 'currencyCode', 'EUR'),
                                    jsonb_build_object('amount', 2190 + 100 * s.i, 'currencyCode', 'USD')),
        'inventoryQuantity', 100))
        from (values (0, 'S'), (1, 'M'), (2, 'L')) s(i, size)))) ->> 'id' from _context;
""",
}


def say(message: str) -> None:
    print(f"[outbox_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Result:
    database: str
    workload: str
    clients: int
    tps: float
    p50_ms: float
    p99_ms: float
    transactions: int


def cluster(home: Path, port: int) -> Cluster:
    server = Cluster(home / "pgdata", port=port)
    server.ensure_running()
    return server


def set_up(server: Cluster, dbname: str) -> tuple[str, str]:
    """Migrates the database with the code on the path; the tenant `bench` and its admin: (tenant, user)."""
    db = Database(
        admin_url=server.superuser_url(dbname),
        app_url=server.role_url("rustok_app", APP_PASSWORD, dbname),
        app_password=APP_PASSWORD,
        cluster=server,
    )
    say(f"{dbname}: migrating with the SQL of {sys.modules['rustok.migrate'].__file__}")
    _harness.migrated(db, say)
    return tenant_of(server, dbname, create=True)


def tenant_of(server: Cluster, dbname: str, create: bool = False) -> tuple[str, str]:
    with psycopg.connect(server.superuser_url(dbname)) as conn:
        row = conn.execute(
            "select t.id, u.id from tenants t join users u on u.tenant_id = t.id and u.role = 'admin'"
            " where t.slug = 'bench'"
        ).fetchone()
        if row is None and create:
            conn.execute("select rustok.create_tenant('bench', 'Bench', 'admin@bench.test', 'not-a-real-hash')")
            conn.commit()
            return tenant_of(server, dbname)
    assert row is not None, f"{dbname}: no tenant bench (run without --compare first)"
    return str(row[0]), str(row[1])


def pgbench(
    server: Cluster, dbname: str, workload: str, clients: int, seconds: int, ids: tuple[str, str], async_commit: bool
) -> Result:
    env = {**os.environ, "PGOPTIONS": "-c synchronous_commit=off"} if async_commit else None
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / f"{workload}.sql"
        script.write_text(SCRIPTS[workload])
        result = subprocess.run(
            [str(binary("pgbench")), "-n", "-M", "prepared", "-f", str(script), "-c", str(clients), "-j",
             str(min(clients, 2)), "-T", str(seconds), "-D", f"tenant={ids[0]}", "-D", f"user={ids[1]}",
             "--log", f"--log-prefix={tmp}/log", server.role_url("rustok_app", APP_PASSWORD, dbname)],
            capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        if result.returncode != 0:
            raise SystemExit(f"pgbench failed: {result.stderr.strip()[-2000:]}")
        latencies = [int(line.split()[2]) / 1000 for log in Path(tmp).glob("log*") for line in log.open()]
    tps = next(float(line.split()[2]) for line in result.stdout.splitlines() if line.startswith("tps = "))
    ordered = sorted(latencies)
    return Result(
        dbname, workload, clients, tps, statistics.median(ordered), ordered[int(len(ordered) * 0.99)], len(ordered)
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--home", type=Path, default=REPO / ".tmp" / "bench-outbox")
    p.add_argument("--pg-port", type=int, default=5498)
    p.add_argument("--dbname", default="outbox_bench")
    p.add_argument("--setup-only", action="store_true", help="migrate and make the tenant, measure nothing")
    p.add_argument("--compare", nargs="+", metavar="DBNAME", help="measure these databases (set up earlier)")
    p.add_argument("--workloads", nargs="+", default=list(SCRIPTS), choices=list(SCRIPTS))
    p.add_argument("--clients", nargs="+", type=int, default=[1, 8])
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--async-commit", action="store_true", help="synchronous_commit off in the measured sessions")
    args = p.parse_args(argv)
    server = cluster(args.home, args.pg_port)
    if args.compare:
        databases = {name: tenant_of(server, name) for name in args.compare}
    else:
        databases = {args.dbname: set_up(server, args.dbname)}
    if args.setup_only:
        return 0
    results: list[Result] = []
    for n in range(args.rounds):
        for workload in args.workloads:
            for clients in args.clients:
                for name, ids in databases.items():
                    pgbench(server, name, workload, clients, args.warmup, ids, args.async_commit)
                    r = pgbench(server, name, workload, clients, args.seconds, ids, args.async_commit)
                    results.append(r)
                    say(f"round {n + 1}: {name} {workload} x{clients}: {r.tps:,.0f} tps, "
                        f"p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms")  # fmt: skip
    print(f"{'database':<16} {'workload':<15} {'clients':>7} {'tps':>9} {'p50 ms':>8} {'p99 ms':>8}  (median round)")
    for name in databases:
        for workload in args.workloads:
            for clients in args.clients:
                runs = [r for r in results if (r.database, r.workload, r.clients) == (name, workload, clients)]
                mid = sorted(runs, key=lambda r: r.tps)[len(runs) // 2]
                print(f"{name:<16} {workload:<15} {clients:>7} {mid.tps:>9,.0f} {mid.p50_ms:>8.2f} {mid.p99_ms:>8.2f}")
    out = args.home / f"outbox_bench{'_async' if args.async_commit else ''}.json"
    out.write_text(json.dumps([asdict(r) for r in results], indent=2))
    say(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
