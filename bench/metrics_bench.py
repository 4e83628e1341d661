#!/usr/bin/env python3
"""What recording the request metrics costs per GraphQL request: prometheus-client as RusToK uses it (in
memory, and in its multi-process mode) against the hand-written code it replaced, measured in one run
(the variants: bench/metrics_variants.py).

    .venv/bin/python bench/metrics_bench.py                      # micro, then end to end (about 5 minutes)
    .venv/bin/python bench/metrics_bench.py --only micro         # about a minute
    .venv/bin/python bench/metrics_bench.py --only e2e --rounds 20 --duration 5

1. micro: the whole per-request work of the metrics layer (the HTTP wrapper: request id, timing, counter and
   histogram per route; the GraphQL counter and histogram per operation) around an endpoint that answers at
   once, driven without an event loop, in a fresh process per variant (hand, library, library with
   PROMETHEUS_MULTIPROC_DIR), the variants interleaved; and the same endpoint without the layer ("bare").
   Prints ns of the process's CPU time per request (median of the batches; CPU time, not wall time, so that
   other processes' load does not count) and what the layer adds to bare.
2. end to end: bench/api_throughput.py's database, token and wrk, against `uvicorn --factory --workers 2`
   of each variant (hand; library in multi-process mode, as `rustok serve --workers 2` runs it), both up
   throughout and loaded AT THE SAME TIME, each by its own wrk with half the connections (8 of 16), after a
   checked warm-up: on a machine shared with other work both meet the same load at every moment and compete
   for the cores on equal terms, so the one that costs more per request serves fewer. For
   `{ me { id email } }` and the `user(id:)` lookup: requests/s, p50, p99 (wrk --latency), the rate by total
   time (all requests of a row over all its measured seconds), the server's CPU time per request (its
   processes' utime + stime from /proc over the run, divided by the requests measured) and the library /
   hand ratios paired within each round.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _harness  # first: the project's virtualenv, its database
import api_throughput as at

BENCH = _harness.BENCH

PAYLOADS = {
    "me": {"query": "{ me { id email } }"},
    "lookup": {
        "query": "query($id: ID!) { user(id: $id) { id email } }",
        "variables": {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
    },
}
# hand-log: the hand variant with the access log on (JSON lines to /dev/null), the per-request cost this
# project already runs by default: the yardstick, measured in the same run
MICRO_VARIANTS = ("hand", "hand-log", "library", "library-mp")


# -- micro ---------------------------------------------------------------------------------------------


class _Executor:
    """Answers at once, as if the document were cached and the database had replied."""

    async def run(self, payload: Any, ctx: Any, context: Any) -> dict[str, Any]:
        return {"data": {"me": {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "email": "admin@bench.test"}}}


def _drive(app: Any, payload: dict[str, Any]) -> None:
    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": [(b"content-type", b"application/json")]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    coro = app(scope, receive, send)
    try:
        coro.send(None)
    except StopIteration:
        return
    raise AssertionError("the benchmarked app suspended")


def micro_child(variant: str, batches: int, requests: int) -> dict[str, Any]:
    """In a fresh process: ns per request of the metrics layer of one variant (and of the bare endpoint)."""
    from metrics_variants import VARIANTS

    from rustok.observability.logging import configure

    if variant == "hand-log":  # as `rustok serve` logs by default, written to nowhere
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (for the life of this process)
        configure("json", "warning", access_log=True)
    from rustok.graphql.executor import OperationReport
    from rustok.observability.metrics import Instrumented

    metrics = VARIANTS[variant.removesuffix("-mp").removesuffix("-log")]()
    executor = _Executor()
    out: dict[str, Any] = {}
    for name, payload in PAYLOADS.items():

        async def endpoint(scope: Any, receive: Any, send: Any, payload: Any = payload) -> None:
            started = time.perf_counter()  # what GraphQLExecutor.run does for its observer
            result = await executor.run(payload, None, {})
            metrics.observe_operation(OperationReport("anonymous", "query", "ok", time.perf_counter() - started))
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": json.dumps(result).encode()})

        async def bare(scope: Any, receive: Any, send: Any, payload: Any = payload) -> None:
            result = await executor.run(payload, None, {})
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": json.dumps(result).encode()})

        layered = Instrumented(endpoint, metrics)
        for _ in range(2000):  # warm: first label sets, files, caches
            _drive(layered, payload)
            _drive(bare, payload)
        results: dict[str, list[float]] = {"layered": [], "bare": []}
        for _ in range(batches):
            for key, app in (("layered", layered), ("bare", bare)):
                started = time.process_time_ns()
                for _ in range(requests):
                    _drive(app, payload)
                results[key].append((time.process_time_ns() - started) / requests)
        out[name] = results
    return out


def run_micro(args: argparse.Namespace) -> dict[str, Any]:
    at.say(f"micro: {args.micro_rounds} rounds x {', '.join(MICRO_VARIANTS)}, each a fresh process")
    collected: dict[str, dict[str, dict[str, list[float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="rustok-metrics-mp-") as tmp:
        for number in range(args.micro_rounds):
            order = MICRO_VARIANTS if number % 2 == 0 else tuple(reversed(MICRO_VARIANTS))
            for variant in order:
                env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
                if variant.endswith("-mp"):
                    env["PROMETHEUS_MULTIPROC_DIR"] = tmp
                argv = [sys.executable, __file__, "--micro-child", variant, "--micro-batches", "7"]
                result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
                if result.returncode != 0:
                    raise at.BenchError(f"micro {variant}: {result.stderr.strip()}")
                for payload, series in json.loads(result.stdout).items():
                    target = collected.setdefault(variant, {}).setdefault(payload, {"layered": [], "bare": []})
                    for key, values in series.items():
                        target[key].extend(values)
    summary: dict[str, Any] = {}
    for variant, payloads in collected.items():
        for payload, series in payloads.items():
            layered, bare = statistics.median(series["layered"]), statistics.median(series["bare"])
            summary.setdefault(variant, {})[payload] = {
                "layered_ns": layered,
                "bare_ns": bare,
                "layer_ns": layered - bare,
                "batches": len(series["layered"]),
            }
    return summary


def print_micro(summary: dict[str, Any]) -> None:
    print()
    print("Micro: CPU ns per request, the metrics layer (HTTP wrapper + GraphQL recording) around an endpoint")
    print("that answers at once; median of the batches; 'adds' is the layer's own cost (layered - bare)")
    print()
    print("| variant | request | layered ns | bare ns | adds ns | adds vs hand |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for variant, payloads in summary.items():
        for payload, row in payloads.items():
            hand = summary["hand"][payload]["layer_ns"]
            print(
                f"| {variant} | {payload} | {row['layered_ns']:,.0f} | {row['bare_ns']:,.0f} "
                f"| {row['layer_ns']:,.0f} | {row['layer_ns'] - hand:+,.0f} |"
            )
    print()
    print("The yardstick: what the access log (on by default) adds to a request, measured in this run")
    for payload, hand in summary["hand"].items():
        log = summary["hand-log"][payload]["layer_ns"] - hand["layer_ns"]
        for variant in ("library", "library-mp"):
            extra = summary[variant][payload]["layer_ns"] - hand["layer_ns"]
            verdict = "within" if extra <= log else "OVER"
            print(f"  {payload}: {variant} adds {extra:,.0f} ns, the access log {log:,.0f} ns: {verdict} the yardstick")


# -- end to end ----------------------------------------------------------------------------------------


def group_cpu_seconds(pgrp: int) -> float:
    """utime + stime of the live processes of one process group (the server and its workers)."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in at.proc_stats() if int(fields[2]) == pgrp)
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    variant: str
    service: at.Service
    targets: list[at.Target]
    shared: str | None  # the library's PROMETHEUS_MULTIPROC_DIR


def start_server(
    variant: str, args: argparse.Namespace, data: at.Dataset, services: at.Services, scratch: Path, logs: Path
) -> Server:
    port = _harness.free_port()
    secret = "metrics-bench-" + os.urandom(12).hex()
    env = at.base_env(args)
    env["RUSTOK_JWT_SECRET"] = secret
    env.pop("RUSTOK_DEV", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    shared = None
    if variant == "library":  # as `rustok serve --workers 2` runs it
        shared = env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="rustok-metrics-mp-", dir=scratch)
    token = at.TokenIssuer(secret, access_ttl=6 * 3600).issue(
        at.parse_id(data.tenant_id), at.parse_id(data.admin_id), "admin"
    )
    factory = f"metrics_variants:{variant.replace('-', '_')}_app"
    argv = [sys.executable, "-m", "uvicorn", "--factory", "--app-dir", str(BENCH), factory]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(at.WORKERS)]
    argv += ["--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "5"]
    at.say(f"{variant}: starting uvicorn, {at.WORKERS} workers, port {port}")
    service = services.start(f"metrics-{variant}", argv, env, logs)
    at.wait_ready(service, lambda: at.http(f"http://127.0.0.1:{port}/health/live"))
    targets = at.rustok_targets(port, token, data)
    for target in targets:
        if not target.ok(target.sample()):
            raise at.BenchError(f"{variant} {target.label}: unexpected answer {target.sample()}")
        target.label = f"{variant}: {target.label}"
    return Server(variant, service, targets, shared)


def measure_together(
    servers: list[Server], index: int, args: argparse.Namespace, services: at.Services, scratch: Path
) -> list[dict[str, Any]]:
    """Request kind `index` on both servers at once, each with half the connections: both meet the same load
    from the rest of the machine at every moment, and compete for the cores on equal terms."""
    half = argparse.Namespace(**{**vars(args), "connections": max(1, args.connections // 2), "threads": 1})
    # (8 connections per server whatever their number: with three, the machine is shared three ways)
    scripts = {}
    for server in servers:
        directory = scratch / server.variant
        directory.mkdir(exist_ok=True)
        target = server.targets[index]
        warmup = at.run_wrk(target, at.lua_script(target, directory, check=True), args.warmup, half)
        if warmup["bad"] or warmup["socket_errors"]:
            raise at.BenchError(f"{target.label}: bad answers in the warm-up: {warmup['sample'] or '-'}")
        scripts[server.variant] = at.lua_script(target, directory, check=False)
    cpu_before = {s.variant: group_cpu_seconds(s.service.proc.pid) for s in servers}
    machine_before = services.meter.sample()
    with ThreadPoolExecutor(len(servers)) as pool:
        runs = {
            s.variant: pool.submit(at.run_wrk, s.targets[index], scripts[s.variant], args.duration, half)
            for s in servers
        }
        results = {variant: run.result() for variant, run in runs.items()}
    total, ours = services.meter.shares(machine_before, services.meter.sample())
    rows = []
    for server in servers:
        result = results[server.variant]
        cpu = group_cpu_seconds(server.service.proc.pid) - cpu_before[server.variant]
        at.say(f"  {server.targets[index].label}: {result['rps']:,.0f} req/s, {cpu / result['requests'] * 1e6:.0f} µs")
        rows.append(
            {
                "variant": server.variant,
                "target": server.targets[index].key,
                "rps": result["rps"],
                "p50_ms": result["p50_ms"],
                "p99_ms": result["p99_ms"],
                "requests": result["requests"],
                "seconds": args.duration,
                "bad": result["bad"] + result["socket_errors"],
                "others": max(0.0, total - ours),
                "cpu_us_per_request": cpu / max(1, result["requests"]) * 1e6,
            }
        )
    return rows


def run_e2e(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Both servers up throughout; each round measures each request kind on both at once."""
    home = _harness.use_database(args.home, args.pg_port, args.database_url)
    services = at.Services()
    rows: list[dict[str, Any]] = []
    db, stop_database = _harness.open_database(at.say)
    try:
        if db.cluster is not None:
            services.meter.postmasters.add(at.postmaster_pid(db.cluster.data_dir))
        data = at.seed(db, args.users)
        logs = home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="rustok-metrics-bench-") as tmp:
            scratch = Path(tmp)
            servers = [start_server(v, args, data, services, scratch, logs) for v in args.servers]
            for number in range(args.rounds):
                at.say(f"round {number + 1} of {args.rounds}")
                order = servers if number % 2 == 0 else servers[::-1]  # which wrk starts first
                for index in range(len(servers[0].targets)):
                    rows += [row | {"round": number} for row in measure_together(order, index, args, services, scratch)]
            library = next(s for s in servers if s.shared is not None)
            scrape = urlopen_text(library.targets[0].url.replace("/graphql", "/metrics"))
            assert library.shared is not None
            files = sorted(os.listdir(library.shared))
            at.say(f"library: one scrape answers {len(scrape.splitlines())} lines from the files {', '.join(files)}")
    finally:
        services.stop_all()
        if stop_database and db.cluster is not None:
            db.cluster.stop()
    return rows


def urlopen_text(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def print_e2e(rows: list[dict[str, Any]]) -> None:
    print()
    print("End to end: uvicorn --workers 2 per variant, both loaded at once (wrk -c8 each); medians over rounds")
    print("(every round's req/s listed); rate = all requests / all measured seconds; CPU = the server's processes")
    print()
    print("| variant | request | req/s (median) | rounds | rate, total time | p50 ms | p99 ms | CPU µs/req | others |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["variant"], row["target"]), []).append(row)
    for (variant, target), rs in groups.items():
        rate = sum(r["requests"] for r in rs) / sum(r["seconds"] for r in rs)
        each = ", ".join(f"{r['rps']:,.0f}" for r in rs)
        print(
            f"| {variant} | {target} | {statistics.median(r['rps'] for r in rs):,.0f} "
            f"| {each} | {rate:,.0f} "
            f"| {statistics.median(r['p50_ms'] for r in rs):.2f} | {statistics.median(r['p99_ms'] for r in rs):.2f} "
            f"| {statistics.median(r['cpu_us_per_request'] for r in rs):.0f} "
            f"| {statistics.median(r['others'] for r in rs):.0%} |"
        )
    print()
    print("Paired with hand within each round (median over rounds):")
    for variant in [v for v in dict.fromkeys(r["variant"] for r in rows) if v != "hand"]:
        for target in sorted({r["target"] for r in rows}):
            ratios: dict[str, list[float]] = {"rps": [], "p50_ms": [], "p99_ms": [], "cpu_us_per_request": []}
            for number in sorted({r["round"] for r in rows}):
                pair = {r["variant"]: r for r in rows if r["round"] == number and r["target"] == target}
                if variant in pair and "hand" in pair:
                    for key in ratios:
                        ratios[key].append(pair[variant][key] / pair["hand"][key])
            if ratios["rps"]:
                m = {key: statistics.median(values) for key, values in ratios.items()}
                print(
                    f"  {variant} / hand, {target}: req/s {m['rps']:.3f}, p50 {m['p50_ms']:.3f}, "
                    f"p99 {m['p99_ms']:.3f}, CPU per request {m['cpu_us_per_request']:.3f} ({len(ratios['rps'])} pairs)"
                )


# -- main ----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--only", choices=["micro", "e2e"], help="one part only")
    p.add_argument("--micro-rounds", type=int, default=6, help="fresh processes per variant (default 6)")
    p.add_argument("--micro-batches", type=int, default=7, help=argparse.SUPPRESS)
    p.add_argument("--micro-requests", type=int, default=10_000, help="requests per batch (default 10000)")
    p.add_argument("--micro-child", choices=MICRO_VARIANTS, help=argparse.SUPPRESS)
    p.add_argument(
        "--servers",
        default="hand,library",
        type=lambda text: text.split(","),
        help="the servers, in the order they start (default hand,library; hand-log adds the yardstick:\n"
        "the access log on, as rustok serve runs by default)",
    )
    p.add_argument("--rounds", type=int, default=10, help="end-to-end rounds, each variant once (default 10)")
    p.add_argument("--duration", type=float, default=5, help="seconds measured per slice (default 5)")
    p.add_argument("--warmup", type=float, default=1, help="seconds of checked warm-up per slice (default 1)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--users", type=int, default=10_000, help="users seeded per tenant (default 10000)")
    _harness.database_options(p, "bench", "5499", fresh=False)
    p.add_argument("--json", help="also write the results to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _harness.interrupt)  # stop what this run started, as for Ctrl-C
    if args.micro_child:
        print(json.dumps(micro_child(args.micro_child, args.micro_batches, args.micro_requests)))
        return 0
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": at.machine()}
    try:
        if args.only in (None, "micro"):
            results["micro"] = run_micro(args)
            print_micro(results["micro"])
        if args.only in (None, "e2e"):
            results["e2e"] = run_e2e(args)
            print_e2e(results["e2e"])
    except at.BenchError as exc:
        at.say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
