#!/usr/bin/env python3
"""Scale-out: read throughput of a catalog query with one database vs primary + streaming replica, and with one
vs two `rustok serve` processes, measured in one run on one machine.

    .venv/bin/python bench/scaleout.py                 # about a minute
    .venv/bin/python bench/scaleout.py --duration 15 --query '{ searchProducts(query: "shirt") { … } }'

What it does:
1. Builds a fresh primary and a streaming replica from the embedded PostgreSQL binaries under .tmp/scaleout
   (TCP on loopback, pg_basebackup -R), migrates, and seeds tenant `bench` with --products published products
   (as superuser, through rustok.create_product).
2. For each of: 1 process / primary only, 1 process / primary + replica, 2 processes / primary only,
   2 processes / primary + replica — starts the processes (`rustok serve --no-migrate --workers 1`, with
   RUSTOK_READ_DATABASE_URL for the replica rows), checks one response, then runs wrk for --duration seconds
   with --connections split evenly over the processes (one wrk per process, run at the same time; the
   requests/s are summed).
3. Prints the table and stops everything.

The query defaults to `products(first: 20)` as the tenant's admin; `searchProducts` (the index module) is
measured the same way with --query once it exists. On a 2-core machine every server shares the same cores, so
a replica adds no CPU: the figures show what the routing costs or saves there, not what a second machine gives.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py"))

from rustok.auth.tokens import TokenIssuer  # noqa: E402
from rustok.db import Database  # noqa: E402
from rustok.embedded import Cluster  # noqa: E402
from rustok.ids import parse_id  # noqa: E402
from rustok.migrate import migrate  # noqa: E402
from rustok.modules import installed_registry  # noqa: E402

APP_PASSWORD = "scaleout-app-password"
REPLICATION = ("rustok_replicator", "scaleout-replication-password")
JWT_SECRET = "scaleout-jwt-secret-0123456789abcdef0123"
DEFAULT_QUERY = "{ products(first: 20) { edges { node { id title handle status } } } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def say(message: str) -> None:
    print(f"scaleout: {message}", file=sys.stderr, flush=True)


def setup(base: Path, products: int) -> tuple[Cluster, Cluster, str]:
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
    migrate(db, installed_registry())
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("select rustok.create_tenant('bench', 'Bench', 'admin@bench.test', 'x') as t").fetchone()
        assert row is not None
        tenant = row[0]
        conn.execute("select rustok.set_context(%s)", (parse_id(tenant["id"]),))
        for i in range(products):
            product = {"title": f"Product {i:05d}", "status": "published", "description": f"shirt number {i}"}
            conn.execute("select rustok.create_product(%s::jsonb)", (json.dumps(product),))
    token = TokenIssuer(JWT_SECRET, 3600).issue(parse_id(tenant["id"]), parse_id(tenant["adminUserId"]), "admin")
    replica.make_standby_of(primary, *REPLICATION)
    replica.start()
    return primary, replica, token


def start_servers(
    primary: Cluster, replica: Cluster | None, count: int, home: Path
) -> list[tuple[int, subprocess.Popen[bytes]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTOK_") and k != "DATABASE_URL"}
    app_url = primary.tcp_url("rustok_app", APP_PASSWORD, "rustok")
    env |= {
        "RUSTOK_HOME": str(home),
        "DATABASE_URL": app_url,
        "RUSTOK_APP_DATABASE_URL": app_url,
        "RUSTOK_APP_PASSWORD": APP_PASSWORD,
        "RUSTOK_JWT_SECRET": JWT_SECRET,
    }
    if replica is not None:
        env["RUSTOK_READ_DATABASE_URL"] = replica.tcp_url("rustok_app", APP_PASSWORD, "rustok")
    servers = []
    for _ in range(count):
        port = free_port()
        argv = [sys.executable, "-m", "rustok.cli", "serve", "--no-migrate", "--workers", "1", "--port", str(port)]
        servers.append(
            (
                port,
                subprocess.Popen(
                    [*argv, "--no-access-log", "--log-level", "warning"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
            )
        )
    deadline = time.monotonic() + 60
    for port, _ in servers:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"rustok serve on port {port} did not become ready")
            time.sleep(0.1)
    return servers


def stop_servers(servers: list[tuple[int, subprocess.Popen[bytes]]]) -> None:
    for _, process in servers:
        process.terminate()
    for _, process in servers:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def lua(query: str, token: str, directory: Path) -> Path:
    body = json.dumps({"query": query}).replace("\\", "\\\\").replace('"', '\\"')
    script = directory / "request.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "function response(status, headers, body)\n"
        '  if status ~= 200 or string.find(body, "errors") then wrk.thread:stop() end\n'
        "end\n"
    )
    return script


def measure(ports: list[int], script: Path, connections: int, duration: int) -> float:
    per = max(1, connections // len(ports))
    runs = [
        subprocess.Popen(
            ["wrk", "-t1", f"-c{per}", f"-d{duration}s", "-s", str(script), f"http://127.0.0.1:{port}/graphql"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for port in ports
    ]
    total = 0.0
    for run in runs:
        out, _ = run.communicate()
        found = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if not found:
            raise SystemExit(f"wrk said:\n{out}")
        if "Non-2xx" in out:
            raise SystemExit(f"bad answers:\n{out}")
        total += float(found.group(1))
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--query", default=DEFAULT_QUERY)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk (or bench/setup)")
    (ROOT / ".tmp").mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="scaleout-", dir=ROOT / ".tmp"))
    primary = replica = None
    rows = []
    try:
        say(f"primary + replica under {base}, {args.products} products")
        primary, replica, token = setup(base, args.products)
        script = lua(args.query, token, base)
        for processes in (1, 2):
            for with_replica in (False, True):
                servers = start_servers(primary, replica if with_replica else None, processes, base / "home")
                try:
                    port = servers[0][0]
                    sample = httpx.post(
                        f"http://127.0.0.1:{port}/graphql",
                        json={"query": args.query},
                        headers={"authorization": f"Bearer {token}"},
                    ).json()
                    if "errors" in sample or not sample.get("data"):
                        raise SystemExit(f"the query fails: {sample}")
                    measure([p for p, _ in servers], script, args.connections, 2)  # warm-up
                    rps = measure([p for p, _ in servers], script, args.connections, args.duration)
                finally:
                    stop_servers(servers)
                label = f"{processes} process(es), {'primary + replica' if with_replica else 'primary only'}"
                say(f"{label}: {rps:,.0f} req/s")
                rows.append((processes, with_replica, rps))
    finally:
        for cluster in (replica, primary):
            if cluster is not None:
                cluster.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)
    print(f"\nquery: {args.query}\n{args.connections} connections, {args.duration} s each, {os.cpu_count()} CPUs\n")
    print("| API processes | database | requests/s |\n| --- | --- | --- |")
    for processes, with_replica, rps in rows:
        print(f"| {processes} | {'primary + replica' if with_replica else 'primary only'} | {rps:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
