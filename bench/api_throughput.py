#!/usr/bin/env python3
"""API throughput: RusToK's GraphQL over HTTP against PostGraphile v5 and a Starlette hello-world, in one run,
on one database and one machine.

    .venv/bin/python bench/api_throughput.py            # about 2 minutes per round
    .venv/bin/python bench/api_throughput.py --help

What it does, in order (each step is announced on stderr):

1. Checks for wrk and for PostGraphile + Node.js 22 under bench/postgraphile/node_modules; when something is
   missing it runs bench/setup (Debian's wrk via apt-get when root, otherwise it prints the command; the npm
   packages with `npm ci` from the lock file).
2. Starts (or reuses) the embedded PostgreSQL under RUSTOK_HOME (default .tmp/bench), migrates it, and seeds it
   as superuser: tenant `bench` with an admin (rustok.create_tenant) and --users customers, and a second tenant
   with as many users, so that row-level security has something to filter.
3. For each round, one server at a time, each with 2 worker processes:
   - Starlette hello-world JSON (bench/hello_app.py) under uvicorn: the Python HTTP ceiling;
   - `rustok serve --workers 2` (uvicorn, uvloop + httptools): `{ me { id email } }` and
     `query($id: ID!) { user(id: $id) { id email } }` as the tenant's admin (Bearer access token);
   - PostGraphile v5 (bench/postgraphile/server.mjs, node:cluster with 2 processes, application role, RLS,
     `rustok.tenant_id`/`user_id`/`role` set per request through pgSettings): its generated primary-key lookup
     of the same row (found by introspection).
   Each measurement: wait for a quiet machine; a warm-up (default 3 s) in which wrk's Lua script checks every
   response (status 200, the expected e-mail in the body); then wrk with 16 connections (default 10 s,
   --latency) counting non-200 answers and socket errors, while the CPU other processes take is recorded.
4. Prints one response of each server (the same row), the table (requests/s, p50, p99, bad responses) and the
   ratios RusToK / PostGraphile and RusToK / hello-world; writes the results as JSON under RUSTOK_HOME.
5. Stops everything it started (servers; the database too, unless it was already running), also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import _harness  # first: the project's virtualenv, its database
import psycopg
from psycopg.rows import dict_row

from rustok.api.tokens import TokenIssuer
from rustok.auth.passwords import hash_password
from rustok.db import Database, DatabaseUnavailable
from rustok.embedded import EmbeddedError
from rustok.ids import parse_id, to_ulid
from rustok.migrate import MigrationError

BENCH, REPO = _harness.BENCH, _harness.REPO
PG_DIR = BENCH / "postgraphile"
NODE = PG_DIR / "node_modules" / ".bin" / "node"
free_port = _harness.free_port

TENANT = "bench"
OTHER_TENANT = "bench-other"
ADMIN_EMAIL = "admin@bench.test"
WORKERS = 2


# -- output --------------------------------------------------------------------------------------------

_T0 = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A failure with a one-line explanation (no traceback)."""


# -- processes -----------------------------------------------------------------------------------------


class Service:
    """A server process started by the benchmark, in its own process group (its workers included), logging
    to a file; stopped with SIGTERM to that group, SIGKILL after a grace period."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path, cwd: Path = REPO) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        # workers left behind in the group (their parent gone first) get the same treatment
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


class Services:
    def __init__(self) -> None:
        self.running: list[Service] = []
        self.meter = CpuMeter()

    def start(self, *args: Any, **kwargs: Any) -> Service:
        service = Service(*args, **kwargs)
        self.running.append(service)
        self.meter.groups.add(service.proc.pid)
        return service

    def stop(self, service: Service) -> None:
        service.stop()
        self.running.remove(service)
        self.meter.groups.discard(service.proc.pid)

    def stop_all(self) -> None:
        for service in reversed(self.running):
            service.stop()
        self.running.clear()


def http(url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 5) -> Any:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def wait_ready(service: Service, probe: Any, timeout: float = 90) -> None:
    try:
        _harness.wait_ready(service.proc, probe, timeout, service.name)
    except RuntimeError as exc:
        raise BenchError(f"{exc}; its log:\n{service.log_tail()}") from None


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/<pid>/stat after the command: state, ppid, pgrp, …) of every live process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            yield int(entry.name), (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue


class CpuMeter:
    """Splits the machine's CPU time into this benchmark's (itself and wrk, the servers it started, the embedded
    PostgreSQL) and everyone else's, from /proc, so that a measurement disturbed by other work is marked."""

    def __init__(self) -> None:
        self.groups: set[int] = set()  # process groups of the servers started (each in its own session)
        self.postmasters: set[int] = set()  # each PostgreSQL server's: its children are backends (own sessions)

    def sample(self) -> tuple[int, int, int]:
        """(idle, total) jiffies of the machine and the jiffies used so far by this benchmark's processes."""
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        me = os.getpid()
        ours = 0
        for pid, fields in proc_stats():
            ppid, pgrp = int(fields[1]), int(fields[2])
            if pid == me:  # with the children it waited for (wrk)
                ours += sum(int(v) for v in fields[11:15])
            elif pgrp in self.groups or pid in self.postmasters or ppid in self.postmasters:
                ours += int(fields[11]) + int(fields[12])
        return values[3] + values[4], sum(values[:8]), ours

    @staticmethod
    def shares(before: tuple[int, int, int], after: tuple[int, int, int]) -> tuple[float, float]:
        """(busy, ours): fractions of all cores' time between two samples."""
        span = max(1, after[1] - before[1])
        return 1 - (after[0] - before[0]) / span, (after[2] - before[2]) / span

    def over(self, seconds: float) -> tuple[float, float]:
        first = self.sample()
        time.sleep(seconds)
        return self.shares(first, self.sample())


def postmaster_pid(data_dir: Path) -> int:
    """The PID of the PostgreSQL server running on data_dir (first line of its postmaster.pid), for CpuMeter."""
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def wait_quiet(meter: CpuMeter, threshold: float, timeout: float) -> float:
    """Waits until the machine is nearly idle (the server under test started and idle, nothing else busy);
    returns the last busy fraction, which is above the threshold when the wait timed out."""
    deadline = time.monotonic() + timeout
    busy, ours = meter.over(1.0)
    said = 0.0
    while busy > threshold and time.monotonic() < deadline:
        if time.monotonic() - said > 15:
            say(
                f"  waiting for a quiet machine: {busy:.0%} of all cores busy ({ours:.0%} this benchmark, "
                f"{busy - ours:.0%} other processes); at most {deadline - time.monotonic():.0f} s more"
            )
            said = time.monotonic()
        busy, ours = meter.over(2.0)
    if busy > threshold:
        say(
            f"  WARNING: still {busy:.0%} busy ({busy - ours:.0%} other processes); measuring anyway "
            "(the row is marked '!')"
        )
    return busy


# -- preflight -----------------------------------------------------------------------------------------


def node_ready() -> bool:
    stamp = PG_DIR / "node_modules" / ".rustok-bench-lock.sha256"
    if not (NODE.exists() and stamp.exists()):
        return False
    import hashlib

    return stamp.read_text().strip() == hashlib.sha256((PG_DIR / "package-lock.json").read_bytes()).hexdigest()


def preflight(skip_postgraphile: bool) -> None:
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk")
    if not skip_postgraphile and not node_ready():
        missing.append("PostGraphile v5 + Node.js 22 (bench/postgraphile/node_modules)")
    if not missing:
        return
    say(f"setup: missing {', '.join(missing)}: running bench/setup")
    if shutil.which("wrk") is None and os.geteuid() != 0:
        raise BenchError("wrk is missing: install it with `sudo apt-get install -y wrk` (or run bench/setup as root)")
    result = subprocess.run([str(BENCH / "setup")], check=False)
    if result.returncode != 0:
        raise BenchError("bench/setup failed (see above)")


# -- database ------------------------------------------------------------------------------------------


@dataclass
class Dataset:
    tenant_id: str  # uuid
    admin_id: str  # uuid
    target_id: str  # uuid of the user looked up
    target_email: str
    users_per_tenant: int


def open_database() -> Database:
    """The database of use_database, started if need be and migrated (bench/_harness.py)."""
    return _harness.open_database(say)[0]


def seed(db: Database, users: int) -> Dataset:
    with psycopg.connect(db.admin_url, row_factory=dict_row, autocommit=True) as conn:
        password_hash: str | None = None
        for slug, name in ((TENANT, "Bench"), (OTHER_TENANT, "Bench (other tenant)")):
            row = conn.execute("select id from public.tenants where slug = %s", (slug,)).fetchone()
            if row is None:
                password_hash = password_hash or hash_password(secrets.token_urlsafe(16))
                created = conn.execute(
                    "select rustok.create_tenant(%s, %s, %s, %s) as t",
                    (slug, name, ADMIN_EMAIL.replace("bench.test", f"{slug}.test"), password_hash),
                ).fetchone()["t"]  # type: ignore[index]
                tenant_id = parse_id(created["id"])
            else:
                tenant_id = row["id"]
            have = conn.execute(
                "select count(*) as n from public.users where tenant_id = %s and email like 'user-%%'", (tenant_id,)
            ).fetchone()["n"]  # type: ignore[index]
            if have < users:
                password_hash = password_hash or hash_password(secrets.token_urlsafe(16))
                conn.execute(
                    "insert into public.users (tenant_id, email, password_hash, role) "
                    "select %s, format(%s, lpad(g::text, 6, '0')), %s, 'customer' "
                    "from generate_series(1, %s) g on conflict do nothing",
                    (tenant_id, f"user-%s@{slug}.test", password_hash, users),
                )
        conn.execute("analyze public.users")
        tenant = conn.execute("select id from public.tenants where slug = %s", (TENANT,)).fetchone()["id"]  # type: ignore[index]
        admin = conn.execute(
            "select id from public.users where tenant_id = %s and email = %s", (tenant, ADMIN_EMAIL)
        ).fetchone()
        if admin is None:
            raise BenchError(f"tenant {TENANT!r} exists without {ADMIN_EMAIL}: remove RUSTOK_HOME or use --fresh")
        target_email = f"user-{max(1, users // 2):06d}@{TENANT}.test"
        target = conn.execute(
            "select id from public.users where tenant_id = %s and email = %s", (tenant, target_email)
        ).fetchone()
        total = conn.execute("select count(*) as n from public.users").fetchone()["n"]  # type: ignore[index]
    say(f"data: tenants {TENANT!r} and {OTHER_TENANT!r}, {total} users in all; lookup target {target_email}")
    return Dataset(str(tenant), str(admin["id"]), str(target["id"]), target_email, users)  # type: ignore[index]


# -- wrk -----------------------------------------------------------------------------------------------


@dataclass
class Target:
    key: str
    label: str
    url: str
    body: bytes | None
    headers: dict[str, str]
    expect: str  # a substring every good response body contains

    def sample(self) -> Any:
        return http(self.url, self.body, self.headers)

    def ok(self, response: Any) -> bool:
        return self.expect in json.dumps(response, separators=(",", ":"))


@dataclass
class Measurement:
    key: str
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # non-200 status or a body without the expected text
    socket_errors: int
    busy_before: float  # the machine's busy share (all cores) just before, with the server idle
    others_during: float  # share of all cores used by other processes than this benchmark's during the run
    rounds: list[float] = field(default_factory=list)


# The request; in the checking variant (the warm-up) every response is checked: status 200 and the expected
# text in the body. Checking costs wrk a Lua call per response (on 2 cores that slows the hello-world by a third),
# so the measurement itself counts only what wrk sees without Lua: non-200 statuses and socket errors.
_LUA_REQUEST = """
wrk.method = "{method}"
{headers}
{body}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; sample = "" end
"""

_LUA_CHECK = """
local expect = {expect}
function response(status, headers, body)
  if status ~= 200 or not string.find(body, expect, 1, true) then
    bad = bad + 1
    if sample == "" then sample = string.sub(tostring(status) .. " " .. (body or ""), 1, 300) end
  end
end
"""

_LUA_DONE = """
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


def lua_script(target: Target, directory: Path, check: bool) -> Path:
    def long_string(text: str) -> str:
        if "]==]" in text:
            raise BenchError("body contains ]==]")
        return f"[==[{text}]==]"

    headers = "\n".join(f"wrk.headers[ {long_string(k)} ] = {long_string(v)}" for k, v in target.headers.items())
    body = f"wrk.body = {long_string(target.body.decode())}" if target.body else ""
    script = _LUA_REQUEST.format(method="POST" if target.body else "GET", headers=headers, body=body)
    if check:
        script += _LUA_CHECK.format(expect=long_string(target.expect))
    path = directory / f"{target.key}{'-check' if check else ''}.lua"
    path.write_text(script + _LUA_DONE)
    return path


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(output: str) -> dict[str, Any]:
    """requests/s, p50 and p99 (ms) from wrk's --latency output; totals from the Lua done() line."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    percentiles = {p: re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M) for p in ("50", "99")}
    line = re.search(r"^BENCH ([\d ]+)$", output, re.M)
    if not rps or not line or not all(percentiles.values()):
        raise BenchError(f"cannot read wrk's output:\n{output}")
    requests, _duration, checked_bad, connect, read, write, status, timeout, _p99 = (int(v) for v in line[1].split())
    p50 = percentiles["50"]
    p99 = percentiles["99"]
    assert p50 and p99
    sample = re.search(r"^BENCH_SAMPLE (.*)$", output, re.M)
    return {
        "rps": float(rps[1]),
        "p50_ms": float(p50[1]) * _UNIT_MS[p50[2]],
        "p99_ms": float(p99[1]) * _UNIT_MS[p99[2]],
        "requests": requests,
        "bad": max(checked_bad, status),  # status: responses with a status >= 400
        "socket_errors": connect + read + write + timeout,
        "sample": sample[1] if sample else "",
    }


def run_wrk(target: Target, script: Path, seconds: float, args: argparse.Namespace) -> dict[str, Any]:
    argv = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        target.url,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0 or result.stderr.strip():  # wrk reports a Lua error on stderr and runs on
        raise BenchError(f"wrk failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
    return parse_wrk(result.stdout)


def measure(target: Target, args: argparse.Namespace, scratch: Path, services: Services) -> Measurement:
    busy = wait_quiet(services.meter, args.quiet_threshold, args.quiet_timeout)
    say(f"  {target.label}: warm-up {args.warmup:g} s, every response body checked")
    warmup = run_wrk(target, lua_script(target, scratch, check=True), args.warmup, args)
    if warmup["bad"] or warmup["socket_errors"]:
        raise BenchError(
            f"{target.label}: {warmup['bad']} bad responses and {warmup['socket_errors']} socket errors out of "
            f"{warmup['requests']} in the warm-up; first bad one: {warmup['sample'] or '-'}"
        )
    say(f"  {target.label}: measuring {args.duration:g} s, {args.connections} connections")
    before = services.meter.sample()
    result = run_wrk(target, lua_script(target, scratch, check=False), args.duration, args)
    total, ours = services.meter.shares(before, services.meter.sample())
    others = max(0.0, total - ours)
    if result["bad"] or result["socket_errors"]:
        say(f"  WARNING: {result['bad']} non-200 responses, {result['socket_errors']} socket errors")
    after = target.sample()
    if not target.ok(after):
        raise BenchError(f"{target.label}: after the measurement the answer is {json.dumps(after)}")
    say(f"  {target.label}: {result['rps']:,.0f} req/s, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms")
    return Measurement(
        target.key,
        target.label,
        result["rps"],
        result["p50_ms"],
        result["p99_ms"],
        result["requests"],
        result["bad"],
        result["socket_errors"],
        busy,
        others,
    )


# -- the servers ---------------------------------------------------------------------------------------


def base_env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUSTOK_DEBUG",))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_hello(services: Services, args: argparse.Namespace, scratch: Path, logs: Path) -> list[Measurement]:
    port = free_port()
    say(f"hello-world: starting Starlette under uvicorn, {WORKERS} workers, port {port}")
    service = services.start(
        "hello",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(BENCH),
            "hello_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        base_env(args),
        logs,
    )
    try:
        target = Target("hello", "hello-world (Starlette)", f"http://127.0.0.1:{port}/", None, {}, '"hello":"world"')
        wait_ready(service, target.sample)
        return [measure(target, args, scratch, services)]
    finally:
        services.stop(service)


def rustok_targets(port: int, token: str, data: Dataset) -> list[Target]:
    url = f"http://127.0.0.1:{port}/graphql"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    me = {"query": "{ me { id email } }"}
    lookup = {
        "query": "query($id: ID!) { user(id: $id) { id email } }",
        "variables": {"id": to_ulid(parse_id(data.target_id))},
    }
    return [
        Target(
            "rustok_me", "RusToK { me { id email } }", url, json.dumps(me).encode(), headers, f'"email":"{ADMIN_EMAIL}"'
        ),
        Target(
            "rustok_user",
            "RusToK user(id:) lookup",
            url,
            json.dumps(lookup).encode(),
            headers,
            f'"email":"{data.target_email}"',
        ),
    ]


def run_rustok(
    services: Services, args: argparse.Namespace, scratch: Path, logs: Path, data: Dataset, samples: dict[str, Any]
) -> list[Measurement]:
    port = free_port()
    secret = secrets.token_urlsafe(36)
    env = base_env(args)
    env["RUSTOK_JWT_SECRET"] = secret
    env.pop("RUSTOK_DEV", None)
    token = TokenIssuer(secret, access_ttl=6 * 3600).issue(parse_id(data.tenant_id), parse_id(data.admin_id), "admin")
    say(f"RusToK: starting `rustok serve --workers {WORKERS}` on port {port}")
    service = services.start("rustok", _harness.serve_command(port, "--workers", str(WORKERS)), env, logs)
    try:
        targets = rustok_targets(port, token, data)
        # live, not ready: /health/ready also reports migrations added to the work tree after this run migrated;
        # the checked sample requests below show whether the server answers these queries
        wait_ready(service, lambda: http(f"http://127.0.0.1:{port}/health/live"))
        results = []
        for target in targets:
            response = target.sample()
            samples[target.key] = response
            if not target.ok(response):
                raise BenchError(f"{target.label}: unexpected answer {json.dumps(response)}")
            results.append(measure(target, args, scratch, services))
        return results
    finally:
        services.stop(service)


_INTROSPECT = """{
  __type(name: "Query") { fields { name type { name } args { name type { kind name ofType { name } } } } }
  user: __type(name: "User") { fields { name } }
}"""


def postgraphile_target(port: int, data: Dataset) -> Target:
    """PostGraphile's generated lookup of users by primary key (tenant_id, id), found by introspection."""
    url = f"http://127.0.0.1:{port}/graphql"
    answer = http(url, json.dumps({"query": _INTROSPECT}).encode(), {"Content-Type": "application/json"})
    if "data" not in answer or not answer["data"]["__type"]:
        raise BenchError(f"PostGraphile introspection failed: {json.dumps(answer)[:500]}")
    user_fields = {f["name"] for f in answer["data"]["user"]["fields"]}
    id_field = "rowId" if "rowId" in user_fields else "id"
    field_name = None
    arg_types: dict[str, str] = {}
    for f in answer["data"]["__type"]["fields"]:
        names = [a["name"] for a in f["args"]]
        if f["type"]["name"] == "User" and sorted(names) == sorted(["tenantId", id_field]):
            field_name = f["name"]
            arg_types = {a["name"]: (a["type"]["ofType"] or a["type"])["name"] for a in f["args"]}
    if field_name is None:
        raise BenchError(
            f"PostGraphile has no User lookup by (tenantId, {id_field}); Query fields: "
            f"{[f['name'] for f in answer['data']['__type']['fields']]}"
        )
    query = (
        f"query($tenantId: {arg_types['tenantId']}!, $id: {arg_types[id_field]}!) "
        f"{{ {field_name}(tenantId: $tenantId, {id_field}: $id) {{ {id_field} email }} }}"
    )
    body = {"query": query, "variables": {"tenantId": data.tenant_id, "id": data.target_id}}
    headers = {
        "Content-Type": "application/json",
        "x-rustok-tenant-id": data.tenant_id,
        "x-rustok-user-id": data.admin_id,
        "x-rustok-role": "admin",
    }
    return Target(
        "postgraphile_user",
        f"PostGraphile {field_name}",
        url,
        json.dumps(body).encode(),
        headers,
        f'"email":"{data.target_email}"',
    )


def run_postgraphile(
    services: Services,
    args: argparse.Namespace,
    scratch: Path,
    logs: Path,
    db: Database,
    data: Dataset,
    samples: dict[str, Any],
) -> list[Measurement]:
    port = free_port()
    env = base_env(args)
    env.update(DATABASE_URL=db.app_url, PORT=str(port), WORKERS=str(WORKERS), NODE_ENV="production")
    say(f"PostGraphile: starting server.mjs, {WORKERS} Node processes (node:cluster), port {port}")
    service = services.start("postgraphile", [str(NODE), "server.mjs"], env, logs, cwd=PG_DIR)
    try:
        probe_body = json.dumps({"query": "{ __typename }"}).encode()
        wait_ready(
            service,
            lambda: http(f"http://127.0.0.1:{port}/graphql", probe_body, {"Content-Type": "application/json"})["data"],
        )
        target = postgraphile_target(port, data)
        response = target.sample()
        samples[target.key] = response
        samples["postgraphile_query"] = json.loads(target.body or b"{}")["query"]
        if not target.ok(response):
            raise BenchError(f"PostGraphile: unexpected answer {json.dumps(response)}")
        results = [measure(target, args, scratch, services)]
        if args.postgraphile_bare:
            # For orientation only: no pgSettings, so no transaction around the query (one round trip instead
            # of four) — and row-level security hides every row, so the answer is null.
            bare_headers = {"Content-Type": "application/json"}
            field_name = target.label.split()[-1]
            bare = Target(
                "postgraphile_bare",
                "PostGraphile without pgSettings (RLS: null)",
                target.url,
                target.body,
                bare_headers,
                f'"{field_name}":null',
            )
            samples[bare.key] = bare.sample()
            if not bare.ok(samples[bare.key]):
                raise BenchError(f"PostGraphile without settings: unexpected answer {json.dumps(samples[bare.key])}")
            results.append(measure(bare, args, scratch, services))
        return results
    finally:
        services.stop(service)


# -- report --------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    os_name = ""
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    node = ""
    if NODE.exists():
        node = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    from importlib.metadata import version

    postgraphile = ""
    with contextlib.suppress(OSError, ValueError, KeyError):
        postgraphile = json.loads((PG_DIR / "node_modules" / "postgraphile" / "package.json").read_text())["version"]
    stack = ", ".join(
        f"{name} {version(name)}" for name in ("uvicorn", "uvloop", "httptools", "starlette", "graphql-core")
    )
    return {
        "stack": f"{stack}, postgraphile {postgraphile or '-'}",
        "cpu": f"{os.cpu_count()} x {model}",
        "memory": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "os": os_name or platform.platform(),
        "python": platform.python_version(),
        "node": node,
        "wrk": wrk.split(" [")[0],
    }


def combine(rounds: list[list[Measurement]], args: argparse.Namespace) -> list[Measurement]:
    """One row per target: the round with the median requests/s among the undisturbed rounds (all rounds when
    every one was disturbed); every round's requests/s is kept in `rounds`."""
    by_key: dict[str, list[Measurement]] = {}
    for round_ in rounds:
        for m in round_:
            by_key.setdefault(m.key, []).append(m)
    rows = []
    for ms in by_key.values():
        candidates = sorted((m for m in ms if not disturbed(m, args)), key=lambda m: m.rps) or sorted(
            ms, key=lambda m: m.rps
        )
        median = candidates[len(candidates) // 2]  # the upper one of two
        row = Measurement(**{**asdict(median), "rounds": [m.rps for m in ms]})
        row.bad = sum(m.bad for m in ms)
        row.socket_errors = sum(m.socket_errors for m in ms)
        rows.append(row)
    return rows


def disturbed(row: Measurement, args: argparse.Namespace) -> bool:
    threshold = float(args.quiet_threshold)
    return row.busy_before > threshold or row.others_during > threshold


def table(rows: list[Measurement], args: argparse.Namespace) -> str:
    """Markdown, so that it can go into bench/README.md as it is."""
    lines = [
        "| target (2 worker processes each) | req/s | p50 ms | p99 ms | bad | others' CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        flag = " !" if disturbed(r, args) else ""
        spread = f" (rounds: {', '.join(f'{x:,.0f}' for x in r.rounds)})" if len(r.rounds) > 1 else ""
        lines.append(
            f"| {r.label} | {r.rps:,.0f}{spread} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.bad + r.socket_errors} "
            f"| {r.others_during:.0%}{flag} |"
        )
    return "\n".join(lines)


def ratios(rows: list[Measurement]) -> list[str]:
    by = {r.key: r for r in rows}
    out = []
    for key in ("rustok_me", "rustok_user"):
        if key not in by:
            continue
        r = by[key]
        for peer, name in (("postgraphile_user", "PostGraphile lookup"), ("hello", "hello-world")):
            if peer in by:
                out.append(f"{r.label} / {name}: {r.rps / by[peer].rps:.2f}x")
    return out


# -- main ----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=10, help="seconds measured per query (default 10)")
    p.add_argument("--warmup", type=float, default=3, help="seconds of warm-up before each measurement (default 3)")
    p.add_argument("--connections", type=int, default=16, help="concurrent clients (default 16)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat the whole sequence; each row is the median of the undisturbed rounds",
    )
    p.add_argument("--users", type=int, default=10_000, help="users seeded per tenant (default 10000)")
    p.add_argument(
        "--only", default="hello,rustok,postgraphile", help="comma-separated subset of hello, rustok, postgraphile"
    )
    _harness.database_options(p, "bench", "5499", fresh=False, from_environment=True)
    p.add_argument(
        "--postgraphile-bare",
        action="store_true",
        help="also measure PostGraphile's lookup without pgSettings (no transaction; RLS answers null):\n"
        "for orientation, not a comparison",
    )
    p.add_argument("--fresh", action="store_true", help="delete the benchmark's embedded database first")
    p.add_argument(
        "--quiet-threshold",
        type=float,
        default=0.06,
        help="wait before each measurement until the machine (all cores) is at most this busy, and mark a\n"
        "measurement during which other processes used more (default 0.06)",
    )
    p.add_argument("--quiet-timeout", type=float, default=600, help="longest wait for a quiet machine, s (default 600)")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    args.only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = args.only - {"hello", "rustok", "postgraphile"}
    if unknown:
        p.error(f"--only: unknown {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = _harness.use_database(args.home, args.pg_port, args.database_url)
    signal.signal(signal.SIGTERM, _harness.interrupt)
    signal.signal(signal.SIGINT, _harness.interrupt)  # also when started in the background (SIGINT ignored by default)
    services = Services()
    db: Database | None = None
    stop_database = False
    try:
        say("preflight: wrk, PostGraphile, Node.js")
        preflight("postgraphile" not in args.only)
        info = machine()
        say(f"machine: {info['cpu']}, {info['memory']}, {info['os']}")
        say("database: starting and migrating")
        db, stop_database = _harness.open_database(say, fresh=args.fresh)
        if db.cluster is not None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                services.meter.postmasters.add(postmaster_pid(db.cluster.data_dir))
        with psycopg.connect(db.admin_url, autocommit=True) as conn:
            info["postgresql"] = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
        data = seed(db, args.users)
        logs = home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        rounds: list[list[Measurement]] = []
        failed = False
        samples: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="rustok-bench-") as tmp:
            scratch = Path(tmp)
            for number in range(1, args.rounds + 1):
                if args.rounds > 1:
                    say(f"round {number} of {args.rounds}")
                results: list[Measurement] = []
                try:
                    if "hello" in args.only:
                        results += run_hello(services, args, scratch, logs)
                    if "rustok" in args.only:
                        results += run_rustok(services, args, scratch, logs, data, samples)
                    if "postgraphile" in args.only:
                        results += run_postgraphile(services, args, scratch, logs, db, data, samples)
                except BenchError as exc:
                    if not rounds:
                        raise
                    say(f"error in round {number}: {exc}")
                    say(f"reporting the {len(rounds)} complete round(s)")
                    failed = True
                    break
                rounds.append(results)
        rows = combine(rounds, args)
        print_report(rows, samples, info, args, data)
        write_json(home, args, rows, rounds, samples, info)
        return 0 if not failed and all(r.bad == 0 and r.socket_errors == 0 for r in rows) else 1
    except KeyboardInterrupt:
        say("interrupted: stopping what this run started")
        return 130
    except MigrationError as exc:
        say(f"error: {exc} (a migration edited after this database applied it? start over with --fresh)")
        return 1
    except (BenchError, DatabaseUnavailable, EmbeddedError) as exc:
        say(f"error: {exc}")
        return 1
    except psycopg.Error as exc:
        say(f"error: database: {exc.diag.message_primary or exc}")
        return 1
    finally:
        services.stop_all()
        if stop_database and db is not None and db.cluster is not None:
            db.cluster.stop()
            say("database: stopped (this run started it)")


def print_report(
    rows: list[Measurement], samples: dict[str, Any], info: dict[str, str], args: argparse.Namespace, data: Dataset
) -> None:
    print()
    print(f"API throughput — {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(
        f"machine: {info['cpu']}, {info['memory']}; {info['os']}; PostgreSQL {info.get('postgresql', '?')}; "
        f"Python {info['python']}; Node {info['node'] or '-'}; {info['wrk']}"
    )
    print(f"stack: {info['stack']}")
    print(f"data: {data.users_per_tenant} users in each of 2 tenants; lookup of {data.target_email}")
    print()
    if samples:
        print("One response of each (the same row: RusToK's id is the ULID of PostGraphile's uuid):")
        for key, value in samples.items():
            if key == "postgraphile_query":
                print(f"  PostGraphile query: {value}")
            else:
                print(f"  {key}: {json.dumps(value, separators=(',', ':'))}")
        rustok = samples.get("rustok_user", {}).get("data", {}).get("user") or {}
        if rustok.get("id"):
            same = str(parse_id(rustok["id"])) == data.target_id
            print(
                f"  RusToK id {rustok['id']} = uuid {parse_id(rustok['id'])}: "
                f"{'same row' if same else 'NOT the row PostGraphile was asked for'}"
            )
        print()
    print(table(rows, args))
    busy = [r for r in rows if disturbed(r, args)]
    if busy:
        print("! other processes kept the machine busy before or during this measurement: repeat it on a quiet machine")
    lines = ratios(rows)
    if lines:
        print()
        print("Ratios (requests/s):")
        for line in lines:
            print(f"  {line}")
    print()


def write_json(
    home: Path,
    args: argparse.Namespace,
    rows: list[Measurement],
    rounds: list[list[Measurement]],
    samples: dict[str, Any],
    info: dict[str, str],
) -> None:
    payload = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": info,
        "settings": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()},
        "rows": [asdict(r) for r in rows],
        "rounds": [[asdict(m) for m in r] for r in rounds],
        "samples": samples,
    }
    paths = [home / f"api_throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"]
    if args.json:
        paths.append(Path(args.json))
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2) + "\n")
    say(f"results written to {', '.join(str(p) for p in paths)}")


if __name__ == "__main__":
    sys.exit(main())
