#!/usr/bin/env python3
"""What the revocation check costs: rustok.set_context (which reads the tenant and the user by primary key on
every call) against the unchecked set_context it replaced (three settings and a lookup of the claimed role), in
one run, on one connection, interleaved, so a busy machine slows both alike.

    .venv/bin/python bench/context_cost.py            # about a minute
    .venv/bin/python bench/context_cost.py --help

What it does, in order (each step is announced on stderr):

1. Starts (or reuses) the embedded PostgreSQL under --home (default .tmp/bench-context, socket name 5497),
   migrates it, and seeds as superuser tenant `context-bench` with its admin and --users customers, and a
   second tenant with as many, so both tables have rows to look through.
2. As the application role, creates the unchecked set_context of before (a temporary function, the old body)
   and measures, alternating blocks of --block calls until --calls of each:
   - the API's statement for a primary-key lookup of a customer as the admin (api_throughput's `user(id:)`:
     it checks users.read), one round trip each: `with _context as materialized (select <set_context>($1, $2,
     $3)) select rustok.user_by_id($4) from _context`, with the checked and with the unchecked function (p50,
     p99, mean per call);
   - the function alone, server side: a DO block calling it --loop times (microseconds per call).
3. Prints the table and the differences, writes JSON under --home, stops the database if it started it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, LiteralString

import _harness  # first: the project's virtualenv
import psycopg
from psycopg import sql

from rustok.db import Database

TENANT = "context-bench"
# The body of rustok.set_context before the check (commit e0b14cc), as a temporary function of the session.
UNCHECKED: LiteralString = """
create function pg_temp.unchecked_context(tenant_id uuid, user_id uuid default null, role text default null)
returns void language plpgsql volatile as $$
begin
    if role is not null and not exists (select 1 from public.roles r where r.slug = unchecked_context.role) then
        perform rustok.raise('VALIDATION_FAILED', 'unknown role', jsonb_build_object('role', role));
    end if;
    perform set_config('rustok.tenant_id', coalesce(tenant_id::text, ''), true),
            set_config('rustok.user_id', coalesce(user_id::text, ''), true),
            set_config('rustok.role', coalesce(role, ''), true);
end
$$"""
VARIANTS: dict[str, LiteralString] = {"checked": "rustok.set_context", "unchecked": "pg_temp.unchecked_context"}


def _statement(fn: LiteralString) -> LiteralString:
    """The API's statement for a primary-key lookup as the Gateway sends it, with either function."""
    return "with _context as materialized (select " + fn + "(%s, %s, %s)) select rustok.user_by_id(%s) from _context"


def _loop(fn: LiteralString) -> LiteralString:
    """The function alone, called bench.loop times in one DO block with the ids from settings (a DO block takes
    no parameters)."""
    return (
        "do $$ begin for i in 1..current_setting('bench.loop')::int loop perform " + fn + "("
        "current_setting('bench.tenant')::uuid, current_setting('bench.admin')::uuid, 'admin'); end loop; end $$"
    )


def say(message: str) -> None:
    print(f"[context-cost {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def seed(db: Database, users: int) -> tuple[Any, Any, Any]:
    """The bench tenant's id, its admin's and a customer's; two tenants with `users` customers each, made once."""
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        for slug in (TENANT, f"{TENANT}-other"):
            if conn.execute("select 1 from tenants where slug = %s", (slug,)).fetchone() is None:
                made = conn.execute(
                    "select rustok.create_tenant(%s, %s, %s, 'x') ->> 'id'", (slug, slug, f"a@{slug}.test")
                )
                tenant = conn.execute("select rustok.parse_id(%s)", made.fetchone()).fetchone()
                assert tenant is not None
                conn.execute(
                    "insert into users (tenant_id, email, password_hash) "
                    "select %s, 'user-' || n || '@' || %s || '.test', 'x' from generate_series(1, %s) n",
                    (tenant[0], slug, users),
                )
        row = conn.execute(
            "select t.id, a.id, c.id from tenants t join users a on a.tenant_id = t.id and a.role = 'admin' "
            "join users c on c.tenant_id = t.id and c.email = 'user-' || (%s / 2) || '@' || t.slug || '.test' "
            "where t.slug = %s",
            (users, TENANT),
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def create_unchecked(db: Database, conn: psycopg.Connection[Any]) -> None:
    """UNCHECKED in the session of conn (the application role's): `rustok migrate` revokes temporary objects
    from it, so the owner allows them for as long as this takes (the session's temporary schema, once made,
    stays usable)."""
    with psycopg.connect(db.admin_url, autocommit=True) as owner:
        database = sql.Identifier(owner.info.dbname)
        owner.execute(sql.SQL("grant temporary on database {} to rustok_app").format(database))
        try:
            conn.execute(UNCHECKED)
        finally:
            owner.execute(sql.SQL("revoke temporary on database {} from rustok_app").format(database))


def measure(
    db: Database, tenant: Any, admin: Any, customer: Any, args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """Per variant: the statement's round trip (p50, p99, mean in ms) and the function alone (µs per call)."""
    timings: dict[str, list[float]] = {name: [] for name in VARIANTS}
    alone: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with psycopg.connect(db.app_url, autocommit=True) as conn:
        create_unchecked(db, conn)
        statements = {name: _statement(fn) for name, fn in VARIANTS.items()}
        loops = {name: _loop(fn) for name, fn in VARIANTS.items()}
        for statement in statements.values():  # warm-up: plans cached, pages in memory
            for _ in range(args.block):
                conn.execute(statement, (tenant, admin, "admin", customer)).fetchone()
        while min(len(t) for t in timings.values()) < args.calls:
            for name, statement in statements.items():
                for _ in range(args.block):
                    started = time.perf_counter()
                    conn.execute(statement, (tenant, admin, "admin", customer)).fetchone()
                    timings[name].append((time.perf_counter() - started) * 1000)
            for name, loop in loops.items():
                started = time.perf_counter()
                with conn.transaction():
                    conn.execute(
                        "select set_config('bench.loop', %s, true), set_config('bench.tenant', %s, true), "
                        "set_config('bench.admin', %s, true)",
                        (str(args.loop), str(tenant), str(admin)),
                    )
                    conn.execute(loop)
                alone[name].append((time.perf_counter() - started) * 1e6 / args.loop)
    return {
        name: {
            "p50_ms": statistics.median(values),
            "p99_ms": statistics.quantiles(values, n=100)[98],
            "mean_ms": statistics.fmean(values),
            "function_us": statistics.median(alone[name]),
        }
        for name, values in timings.items()
    }


def report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    lines = [
        f"{args.calls} statements each, in blocks of {args.block}, one connection; function alone: median of "
        f"DO loops of {args.loop} calls",
        "",
        "| set_context | p50 ms | p99 ms | mean ms | function alone µs/call |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['mean_ms']:.3f} | {r['function_us']:.1f} |"
        )
    checked, unchecked = results["checked"], results["unchecked"]
    lines += [
        "",
        f"the check costs {(checked['p50_ms'] - unchecked['p50_ms']) * 1000:+.0f} µs per statement at p50, "
        f"{(checked['mean_ms'] - unchecked['mean_ms']) * 1000:+.0f} µs on the mean, "
        f"{checked['function_us'] - unchecked['function_us']:+.1f} µs per call of the function alone",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--calls", type=int, default=5_000, help="statements measured per variant (default 5000)")
    p.add_argument("--block", type=int, default=250, help="statements per variant before switching (default 250)")
    p.add_argument("--loop", type=int, default=20_000, help="calls per server-side DO loop (default 20000)")
    p.add_argument("--users", type=int, default=10_000, help="customers seeded per tenant (default 10000)")
    _harness.database_options(p, "bench-context", "5497", fresh=False)
    p.add_argument("--json", help="also write the results to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with _harness.running_database(args, say) as db:
        tenant, admin, customer = seed(db, args.users)
        say(f"measuring: {args.calls} statements per variant, alternating blocks of {args.block}")
        load_before = os.getloadavg()
        results = measure(db, tenant, admin, customer, args)
        print(report(results, args))
        result = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "load": [load_before, os.getloadavg()],
            "results": results,
            "args": vars(args),
        }
        _harness.write_results(Path(args.home).resolve(), "context_cost", result, args.json, say)
        return 0


if __name__ == "__main__":
    sys.exit(main())
