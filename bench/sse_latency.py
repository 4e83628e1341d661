#!/usr/bin/env python3
"""SSE delivery latency: from an event's COMMIT to its arrival at Server-Sent Events clients, at a steady rate.

    .venv/bin/python bench/sse_latency.py                          # 200 events/s for 10 s, one client
    .venv/bin/python bench/sse_latency.py --rate 500 --clients 20  # see --help

What it does, in order (each step is announced on stderr):

1. Starts (or reuses) the embedded PostgreSQL under RUSTOK_HOME (default .tmp/bench; --database-url for
   another server), migrates it, and makes tenant `bench-events` with an admin (as superuser, once).
2. Starts `rustok serve` (1 worker, no access log) with a JWT secret of its own and opens --clients streams
   `GET /api/events?types=BenchTick` with the admin's access token.
3. A writer process commits one event per transaction, --rate per second for --warmup + --seconds seconds,
   as the application role with the admin's context (rustok.set_context, rustok.publish_event), and notes
   the monotonic clock just before it sends COMMIT and as soon as COMMIT returns. Each client notes the
   clock when it has parsed the event's SSE frame. CLOCK_MONOTONIC is one clock for the whole machine, so
   these can be subtracted.
4. Prints, for the events after the warm-up: how many were delivered (and lost, which must be none), and
   the latency percentiles over every (event, client) delivery, measured from COMMIT's return (the figure:
   an event can reach a client a little before its writer hears back, so a few are negative) and from
   COMMIT's sending (an upper bound, including the commit itself); writes them as JSON under RUSTOK_HOME.

Everything shares the machine: PostgreSQL, the server, the writer and the clients (one asyncio loop, so with
many clients part of the figure is the clients' own parsing)."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _harness  # first: the project's virtualenv, its database

TENANT = "bench-events"
ADMIN_EMAIL = f"admin@{TENANT}.test"
EVENT_TYPE = "BenchTick"


def say(message: str) -> None:
    print(f"[sse_latency] {message}", file=sys.stderr, flush=True)


def seed(db: Any) -> tuple[str, str]:
    """The bench tenant's id and its admin's id (made once)."""
    import psycopg

    from rustok.auth.passwords import hash_password
    from rustok.ids import parse_id

    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        row = conn.execute(
            "select t.id, u.id from tenants t join users u on u.tenant_id = t.id and u.email = %s where t.slug = %s",
            (ADMIN_EMAIL, TENANT),
        ).fetchone()
        if row is None:
            made = conn.execute(
                "select rustok.create_tenant(%s, 'Bench events', %s, %s)",
                (TENANT, ADMIN_EMAIL, hash_password(secrets.token_urlsafe(16))),
            ).fetchone()
            assert made is not None
            row = (parse_id(made[0]["id"]), parse_id(made[0]["adminUserId"]))
    return str(row[0]), str(row[1])


def write_events(app_url: str, tenant: str, admin: str, rate: float, total: int, out: Any) -> None:
    """The writer process: `total` events, one per transaction, paced at `rate`; sends
    [(n, COMMIT sent, COMMIT returned)]."""
    import psycopg

    committed: list[tuple[int, float, float]] = []
    with psycopg.connect(app_url) as conn:
        start = time.monotonic()
        for n in range(total):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenant, admin))
            conn.execute("select rustok.publish_event(%s, jsonb_build_object('n', %s::int))", (EVENT_TYPE, n))
            sent = time.monotonic()
            conn.commit()
            committed.append((n, sent, time.monotonic()))
    out.put(committed)


class Client:
    """One SSE stream; notes when each event arrived."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.connected = asyncio.Event()

    async def run(self, url: str, token: str) -> None:
        import httpx2 as httpx

        headers = {"authorization": f"Bearer {token}"}
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code != 200:
                raise RuntimeError(f"the stream was refused: {response.status_code} {await response.aread()!r}")
            self.connected.set()
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    now = time.monotonic()
                    self.arrived[json.loads(line[6:])["data"]["n"]] = now


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def measure(args: argparse.Namespace, base: str, token: str, db: Any, tenant: str, admin: str) -> dict[str, Any]:
    clients = [Client() for _ in range(args.clients)]
    url = f"{base}/api/events?types={EVENT_TYPE}"
    tasks = [asyncio.create_task(c.run(url, token)) for c in clients]
    await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 30)
    await asyncio.sleep(0.5)
    total = int(args.rate * (args.warmup + args.seconds))
    say(f"writing {total} events at {args.rate:g}/s ({args.warmup:g} s warm-up, then {args.seconds:g} s measured)")
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    writer = context.Process(target=write_events, args=(db.app_url, tenant, admin, args.rate, total, results))
    writer.start()
    committed: list[tuple[int, float, float]] = await asyncio.to_thread(results.get)
    writer.join()
    await asyncio.sleep(2.0)  # the last events' way to the clients
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    skip = int(args.rate * args.warmup)
    measured = [row for row in committed if row[0] >= skip]
    span = measured[-1][2] - measured[0][2] if len(measured) > 1 else 0.0
    latencies = [(c.arrived[n] - done) * 1000 for c in clients for n, _, done in measured if n in c.arrived]
    upper = [(c.arrived[n] - sent) * 1000 for c in clients for n, sent, _ in measured if n in c.arrived]
    lost = sum(1 for c in clients for n, _, _ in measured if n not in c.arrived)
    return {
        "rate_target": args.rate,
        "rate_achieved": round((len(measured) - 1) / span, 1) if span else None,
        "clients": args.clients,
        "events": len(measured),
        "deliveries": len(latencies),
        "lost": lost,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p90_ms": round(percentile(latencies, 90), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
        "min_ms": round(min(latencies), 2),
        "mean_ms": round(statistics.fmean(latencies), 2),
        "from_commit_sent_p50_ms": round(percentile(upper, 50), 2),
        "from_commit_sent_p99_ms": round(percentile(upper, 99), 2),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=200.0, help="events per second (default 200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds written first and not counted")
    parser.add_argument("--clients", type=int, default=1, help="SSE streams, each receiving every event")
    _harness.database_options(parser, "bench", "5499", fresh=False, from_environment=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _harness.use_database(args.home, args.pg_port, args.database_url)
    secret = secrets.token_urlsafe(36)
    os.environ["RUSTOK_JWT_SECRET"] = secret
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    from rustok.api.tokens import TokenIssuer
    from rustok.ids import parse_id

    say("database: starting and migrating")
    db, started = _harness.open_database(say)
    tenant, admin = seed(db)
    token = TokenIssuer(secret, access_ttl=3600).issue(parse_id(tenant), parse_id(admin), "admin")
    port = _harness.free_port()
    base = f"http://127.0.0.1:{port}"
    command = _harness.serve_command(port)
    say(f"server: {' '.join(command[1:])}")
    server = subprocess.Popen(command)
    try:
        _harness.wait_ready(server, _harness.answers(f"{base}/health/ready"), 60)
        result = asyncio.run(measure(args, base, token, db, tenant, admin))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        if started and db.cluster is not None:  # as every benchmark does: what this run started, it stops
            db.cluster.stop()
    out = Path(os.environ["RUSTOK_HOME"]) / "sse_latency.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"SSE latency, commit -> client: {result['rate_achieved']} events/s x {result['clients']} client(s), "
        f"{result['events']} events, {result['deliveries']} deliveries, {result['lost']} lost\n"
        f"  from COMMIT returned: p50 {result['p50_ms']} ms   p90 {result['p90_ms']} ms   "
        f"p99 {result['p99_ms']} ms   max {result['max_ms']} ms   min {result['min_ms']} ms\n"
        f"  from COMMIT sent:     p50 {result['from_commit_sent_p50_ms']} ms   "
        f"p99 {result['from_commit_sent_p99_ms']} ms   (written to {out})"
    )
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
