"""`rustok status`: the health at a glance, read from the database as an operator.

What a process keeps in memory (pool, relay) is on each API process's /metrics; from the command line the
database shows the rest: reachable, migrations current, size and connections, the outbox and how far each
durable consumer is behind, the NOTIFY queue, partitions made ahead, the index queue. Each check is one line;
a check that needs attention is marked and makes the command exit 1.

Whether work waits for nobody is read from the locks the workers hold (pg_locks): a durable handler runs
while a session holds its advisory lock (events/consumer.py), the index queue is drained while a session
holds the indexer's shared one (modules/index/indexer.py) — whichever process they run in (`rustok serve`'s
background work, `rustok worker`, `rustok indexer`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import LiteralString

import psycopg

from rustok.db import Database, connect
from rustok.events.consumer import LOCK_PREFIX
from rustok.migrate import status as migration_status
from rustok.modules import ModuleRegistry
from rustok.modules.index.indexer import DRAINING
from rustok.types import JsonObject, Row, RowConnection

NOTIFY_QUEUE_WARNING = 0.5  # fraction of pg_notification_queue_usage() that needs a look (NOTIFY fails at 1)
STALLED_AFTER = 300.0  # seconds a running handler may leave events waiting without acknowledging any
START_WORK = "start `rustok serve` (without --no-background) or `rustok worker`"
START_INDEXER = "start `rustok serve` (without --no-background) or `rustok indexer`"


def _held(key: LiteralString) -> LiteralString:
    """SQL: a session holds the advisory lock hashtextextended(key, 0) in this database, in any mode
    (events/consumer.py takes exclusive ones, modules/index/indexer.py shared ones)."""
    return (
        "exists (select 1 from pg_locks l where l.locktype = 'advisory' and l.granted and l.objsubid = 1"
        " and l.database = (select oid from pg_database where datname = current_database())"
        " and ((l.classid::int8 << 32) | l.objid::int8) = hashtextextended(" + key + ", 0))"
    )


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    summary: str
    details: JsonObject


def collect(db: Database, registry: ModuleRegistry, handlers: Sequence[str]) -> list[Check]:
    """Every check; raises DatabaseUnavailable when the database cannot be reached."""
    with connect(db.admin_url, autocommit=True) as conn:
        conn.execute("set statement_timeout = '10s'")
        checks = [_database(conn), _migrations(db, registry)]
        checks += [_outbox(conn), _consumers(conn, handlers)]
        checks += [_notify_queue(conn), _partitions(conn), _index_queue(conn)]
    return checks


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    return "\n".join(f"{c.name:<{width}}  {'ok' if c.ok else 'CHECK':5}  {c.summary}" for c in checks)


def as_json(checks: list[Check]) -> JsonObject:
    return {"ok": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]}


def _database(conn: RowConnection) -> Check:
    row = conn.execute(
        "select current_setting('server_version') as version, pg_database_size(current_database()) as size,"
        " (select count(*) from pg_stat_activity where datname = current_database()) as connections,"
        " (select count(*) from pg_stat_activity) as connections_total,"
        " current_setting('max_connections')::int as max_connections"
    ).fetchone()
    assert row is not None
    summary = (
        f"PostgreSQL {row['version']}, {_bytes(row['size'])}, {row['connections']} connection(s) here,"
        f" {row['connections_total']} of {row['max_connections']} on the server"
    )
    return Check("database", row["connections_total"] < 0.9 * row["max_connections"], summary, dict(row))


def _migrations(db: Database, registry: ModuleRegistry) -> Check:
    rows = migration_status(db, registry)
    pending = [r.migration_id for r in rows if not r.applied]
    if pending:
        summary = f"{len(pending)} pending: {', '.join(pending[:5])}{' …' if len(pending) > 5 else ''} (rustok migrate)"
    else:
        summary = f"current ({len(rows)} applied)"
    return Check("migrations", not pending, summary, {"applied": len(rows) - len(pending), "pending": pending})


def _outbox(conn: RowConnection) -> Check:
    row = conn.execute(
        "select count(*) as events, min(occurred_at) as oldest, max(occurred_at) as newest,"
        " (select coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)::bigint from pg_inherits i"
        "  where i.inhparent = 'public.event_outbox'::regclass) as size"
        " from public.event_outbox"
    ).fetchone()
    assert row is not None
    summary = f"{row['events']} event(s), {_bytes(row['size'])}"
    if row["newest"] is not None:
        summary += f", newest {_ago(row['newest'])}"
    return Check("outbox", True, summary, {k: row[k] for k in ("events", "size", "oldest", "newest")})


def _consumers(conn: RowConnection, handlers: Sequence[str]) -> Check:
    """Each installed handler (and any other name with a position): how many events wait for it, and whether a
    session runs it. Events waiting for a handler nobody runs, or that a running one has not acknowledged for
    STALLED_AFTER seconds, need a look; a position of a handler no longer installed is only reported."""
    rows = conn.execute(
        "with named as (select unnest(%(handlers)s::text[]) as name union select name from public.event_consumers)"
        " select n.name, n.name = any(%(handlers)s::text[]) as installed,"
        "  " + _held("%(prefix)s || n.name") + " as running,"
        "  w.waiting, w.oldest, c.updated_at as acknowledged"
        " from named n left join public.event_consumers c on c.name = n.name"
        " cross join lateral (select count(e.id) as waiting, min(e.occurred_at) as oldest"
        "  from public.event_commits k join public.event_outbox e on e.txid = k.txid"
        "  where k.seq >= coalesce(c.last_commit_seq, 0)"
        "   and (k.seq, e.position) > (coalesce(c.last_commit_seq, 0), coalesce(c.last_position, 0))) w"
        " order by n.name",
        {"handlers": handlers, "prefix": LOCK_PREFIX},
    ).fetchall()
    if not rows:
        return Check("consumers", True, "no durable handler installed", {"consumers": []})
    parts, unattended = [], []
    for r in rows:
        state = _consumer_state(r)
        r["state"] = state
        if state in ("not running", "stalled"):
            unattended.append(r["name"])
        waiting = f"{r['waiting']} waiting, oldest {_ago(r['oldest'])}" if r["waiting"] else "caught up"
        parts.append(f"{r['name']}: {waiting}" + ("" if state in ("running", "idle") else f", {state.upper()}"))
    summary = "; ".join(parts) + (f" ({START_WORK})" if unattended else "")
    return Check("consumers", not unattended, summary, {"consumers": [dict(r) for r in rows]})


def _consumer_state(row: Row) -> str:
    """running; idle (not running, nothing waits); not running (events wait); stalled (running, events wait
    and nothing was acknowledged for STALLED_AFTER seconds); not installed (a position without a handler)."""
    if not row["installed"]:
        return "not installed"
    if not row["running"]:
        return "not running" if row["waiting"] else "idle"
    if row["waiting"] and _older(row["oldest"], STALLED_AFTER) and _older(row["acknowledged"], STALLED_AFTER):
        return "stalled"
    return "running"


def _older(moment: datetime | None, seconds: float) -> bool:
    """Whether `moment` lies more than `seconds` back (never: None counts as long ago)."""
    return moment is None or (datetime.now(UTC) - moment).total_seconds() > seconds


def _notify_queue(conn: RowConnection) -> Check:
    row = conn.execute("select pg_notification_queue_usage()::float8 as usage").fetchone()
    assert row is not None
    usage = row["usage"]
    return Check("notify queue", usage < NOTIFY_QUEUE_WARNING, f"{usage:.1%} used", {"usage": usage})


def _partitions(conn: RowConnection) -> Check:
    rows = conn.execute(
        "select p.table_name, p.premake,"
        " count(*) filter (where m[1]::timestamptz > now()) as ahead, max(m[2]::timestamptz) as until"
        " from public.partitioned_tables p"
        " left join pg_inherits i on i.inhparent = to_regclass(format('public.%I', p.table_name))"
        " left join pg_class c on c.oid = i.inhrelid"
        " left join lateral regexp_match(pg_get_expr(c.relpartbound, c.oid),"
        "     $$FROM \\('([^']+)'\\) TO \\('([^']+)'\\)$$) m on true"
        " group by p.table_name, p.premake order by p.table_name"
    ).fetchall()
    ok = all(r["ahead"] >= 1 for r in rows)
    parts = [
        f"{r['table_name']}: {r['ahead']} ahead (keeps {r['premake']})"
        + (f" until {r['until']:%Y-%m-%d}" if r["until"] else "")
        for r in rows
    ]
    summary = "; ".join(parts) or "no partitioned tables"
    if not ok:
        summary += " (rustok maintain)"
    return Check("partitions", ok, summary, {"tables": [dict(r) for r in rows]})


def _index_queue(conn: RowConnection) -> Check:
    row = conn.execute(
        "select to_regclass('public.index_queue') is not null as present,"
        " (select rolsuper or rolbypassrls from pg_roles where rolname = current_user) as sees_all,"
        " (select n_live_tup from pg_stat_user_tables where relid = to_regclass('public.index_queue')) as estimate,"
        " " + _held("%s") + " as drained",
        (DRAINING,),
    ).fetchone()
    assert row is not None
    if not row["present"]:
        return Check("index queue", True, "no index module", {"depth": None})
    if row["sees_all"]:  # an exact count needs to see every tenant's rows
        try:
            counted = conn.execute("select count(*) as n, min(queued_at) as oldest from public.index_queue").fetchone()
        except psycopg.errors.UndefinedColumn:  # the index module's queue changed shape: the count alone
            counted = conn.execute("select count(*) as n, null as oldest from public.index_queue").fetchone()
        assert counted is not None
        depth, exact, oldest = counted["n"], True, counted["oldest"]
    else:
        depth, exact, oldest = row["estimate"] or 0, False, None
    summary = f"{'' if exact else '~'}{depth} waiting" + (f", oldest {_ago(oldest)}" if oldest else "")
    unattended = bool(depth) and not row["drained"]
    if unattended:
        summary += f", NOBODY DRAINS IT ({START_INDEXER})"
    details = {"depth": depth, "exact": exact, "oldest": oldest, "drained": row["drained"]}
    return Check("index queue", not unattended, summary, details)


def _ago(moment: datetime) -> str:
    seconds = max(0, int((datetime.now(UTC) - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    if seconds < 172800:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
