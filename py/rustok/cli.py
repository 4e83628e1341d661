"""The `rustok` command. Every failure is one line on stderr and a non-zero exit, never a traceback
(set RUSTOK_DEBUG=1 to see one)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, LiteralString

import psycopg
from psycopg import sql

from rustok import errors
from rustok.auth.passwords import hash_password
from rustok.config import Settings
from rustok.db import Database, DatabaseUnavailable, connect, locate, tenant_transaction
from rustok.embedded import Cluster, EmbeddedError, binary
from rustok.migrate import MigrationError, migrate, status
from rustok.modules import ModuleError, installed_registry

Handler = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "handler", None) is not cmd_db_psql:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.psql_args = extra[1:] if extra[:1] == ["--"] else extra
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args, Settings()))
    except errors.RusToKError as exc:
        return _fail(f"{exc.message} [{exc.code}]" + _details(exc.details))
    except psycopg.Error as exc:
        mapped = errors.from_database_error(exc)
        if isinstance(mapped, errors.Internal):
            return _fail(f"database error: {exc.diag.message_primary or type(exc).__name__}")
        return _fail(f"{mapped.message} [{mapped.code}]" + _details(mapped.details))
    except (DatabaseUnavailable, EmbeddedError, MigrationError, ModuleError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("RUSTOK_DEBUG"):
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc} (RUSTOK_DEBUG=1 shows the traceback)")


def _fail(message: str) -> int:
    print(f"rustok: error: {message}", file=sys.stderr)
    return 1


def _details(details: dict[str, Any]) -> str:
    return f" {json.dumps(details)}" if details else ""


# -- commands ------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from rustok.observability.logging import configure, uvicorn_log_config
    from rustok.observability.multiprocess import share_across_workers
    from rustok.supervisor import supervise

    registry = installed_registry(settings.installed_modules)
    db = locate(settings)
    if not args.no_migrate:
        for warning in migrate(db, registry).warnings:
            print(f"rustok: warning: {warning}", file=sys.stderr)
    print(f"rustok: serving on http://{args.host}:{args.port} (database: {_where(db)})", file=sys.stderr)
    configure(args.log_format, args.log_level, args.access_log)  # the supervisor logs before uvicorn starts
    # this process started the embedded server, so it supervises it (its uvicorn workers never start it)
    supervisor = supervise(db.cluster, settings.home)
    shared_metrics = share_across_workers(settings.home, args.workers)  # one /metrics for --workers N
    try:
        uvicorn.run(
            "rustok.app:app_from_environment",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            access_log=False,  # rustok.access writes the access log: with the request id, in --log-format
            log_config=uvicorn_log_config(args.log_format, args.log_level, args.access_log),
            timeout_graceful_shutdown=5,  # open event streams would hold shutdown forever; clients resume
        )
    finally:
        if shared_metrics is not None:
            shared_metrics.close()
        if supervisor is not None:
            supervisor.stop()
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from rustok.observability import status as health

    # an embedded server that is down is reported, not started: status only looks
    checks = health.collect(locate(settings, start=False), installed_registry(settings.installed_modules))
    print(json.dumps(health.as_json(checks), default=str) if args.json else health.render(checks))
    return 0 if all(c.ok for c in checks) else 1


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    registry = installed_registry(settings.installed_modules)
    db = locate(settings)
    if args.status:
        rows = status(db, registry)
        for row in rows:
            print(f"{'applied' if row.applied else 'PENDING':8} {row.module:12} {row.migration_id}")
        pending = sum(not r.applied for r in rows)
        print(f"{len(rows)} migrations, {pending} pending")
        return 0
    report = migrate(db, registry)
    for migration_id in report.applied:
        print(f"applied  {migration_id}")
    for item in report.dropped:
        print(f"dropped  {item} (no longer defined)")
    for partition in report.partitions:
        print(f"created  partition {partition}")
    for warning in report.warnings:
        print(f"warning  {warning}")
    print(f"migrated: {len(report.applied)} new migration(s); database is current")
    return 0


def cmd_db_url(args: argparse.Namespace, settings: Settings) -> int:
    db = locate(settings)
    print(db.admin_url if args.superuser else db.analytics_url() if args.analytics else db.app_url)
    return 0


def cmd_db_psql(args: argparse.Namespace, settings: Settings) -> int:
    db = locate(settings)
    url = db.admin_url if args.superuser else db.app_url
    psql = str(binary("psql"))
    os.execv(psql, [psql, *args.psql_args, url])
    return 0  # not reached


def cmd_db_start(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url:
        return _fail("DATABASE_URL is set: that server is not managed by rustok")
    cluster = Cluster(settings.pg_data_dir, port=settings.pg_port)
    cluster.ensure_running()
    print(f"PostgreSQL is running (data: {cluster.data_dir})")
    return 0


def cmd_db_stop(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url:
        return _fail("DATABASE_URL is set: that server is not managed by rustok")
    cluster = Cluster(settings.pg_data_dir, port=settings.pg_port)
    cluster.stop()
    print("PostgreSQL is stopped")
    return 0


def cmd_db_schema(args: argparse.Namespace, settings: Settings) -> int:
    from rustok.schema_dump import dump_schema

    sys.stdout.write(dump_schema(locate(settings).admin_url))
    return 0


def cmd_tenant_create(args: argparse.Namespace, settings: Settings) -> int:
    if bool(args.admin_email) != bool(args.admin_password):
        return _fail("--admin-email and --admin-password go together")
    password_hash = hash_password(args.admin_password) if args.admin_password else None
    with _operator(settings) as conn:
        row = conn.execute(
            "select rustok.create_tenant(%s, %s, %s, %s) as tenant",
            (args.slug, args.name, args.admin_email, password_hash),
        ).fetchone()
    tenant = row["tenant"] if row else {}
    print(f"created tenant {tenant['slug']} ({tenant['id']})")
    if tenant.get("adminUserId"):
        print(f"admin user {args.admin_email.strip().lower()} ({tenant['adminUserId']}), role admin")
    return 0


def cmd_tenant_list(args: argparse.Namespace, settings: Settings) -> int:
    with _operator(settings) as conn:
        row = conn.execute("select rustok.list_tenants() as tenants").fetchone()
    tenants = row["tenants"] if row else []
    for t in tenants:
        print(f"{t['slug']:24} {t['id']}  {'active' if t['isActive'] else 'inactive':8}  {t['name']}")
    print(f"{len(tenants)} tenant(s)")
    return 0


def cmd_tenant_export(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from rustok.portability import export_tenant

    export_tenant(locate(settings).admin_url, args.slug, Path(args.file), progress=lambda line: print(line, flush=True))
    return 0


def cmd_tenant_import(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from rustok.portability import import_tenant

    import_tenant(locate(settings).admin_url, Path(args.file), progress=lambda line: print(line, flush=True))
    return 0


def cmd_module_list(args: argparse.Namespace, settings: Settings) -> int:
    with _operator(settings) as conn, _in_tenant(conn, args.tenant):
        modules = conn.execute("select rustok.list_modules() as m").fetchone()["m"]  # type: ignore[index]
    for m in modules:
        deps = ", ".join(m["dependencies"]) or "-"
        print(f"{m['slug']:16} {'enabled' if m['enabled'] else 'disabled':9} v{m['version']:8} needs: {deps}")
    if not modules:
        print("no modules installed")
    return 0


_TOGGLES: dict[str, LiteralString] = {
    "enable": "select rustok.enable_module(%s)",
    "disable": "select rustok.disable_module(%s)",
}


def _module_toggle(action: str) -> Handler:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        with _operator(settings) as conn, _in_tenant(conn, args.tenant):
            conn.execute(_TOGGLES[action], (args.module,))
        print(f"{args.module}: {action}d for {args.tenant}")
        return 0

    return handler


def cmd_maintain(args: argparse.Namespace, settings: Settings) -> int:
    from rustok.events.watchdog import ENFORCE

    registry = installed_registry(settings.installed_modules)
    with _operator(settings) as conn:
        rows = conn.execute("select * from rustok.maintain_partitions()").fetchall()
        purged = conn.execute("select rustok.purge_auth_state() as n").fetchone()
        for r in rows:
            print(f"{r['action']:8} {r['partition_name']}")
        print(f"partitions up to date ({len(rows)} change(s))")
        print(f"auth state: {purged['n'] if purged else 0} expired token(s) and idle login counter(s) removed")
        for module in registry.ordered():
            for task in module.maintenance:
                print(f"{module.slug}: {task}: {_each_tenant_with(conn, module.slug, task)} row(s)")
        stopped = conn.execute(ENFORCE).fetchall()
        for r in stopped:
            print(f"analytics session {r['pid']} {r['action']}: {r['reason']}")
        print(f"analytics: {len(stopped)} session(s) past their limits stopped")
    return 0


def _each_tenant_with(conn: psycopg.Connection[Any], module: str, task: LiteralString) -> int:
    """Runs a module's maintenance expression in every active tenant that has it enabled; the total."""
    tenants = conn.execute(
        "select t.id from public.tenants t join public.tenant_modules tm on tm.tenant_id = t.id"
        " where t.is_active and tm.module_slug = %s and tm.enabled",
        (module,),
    ).fetchall()
    total = 0
    for tenant in tenants:
        with tenant_transaction(conn, tenant["id"]):
            row = conn.execute(sql.SQL("select {} as n").format(sql.SQL(task))).fetchone()
            total += int(row["n"] or 0) if row else 0
    return total


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from rustok.events.worker import WorkerError, run_worker

    logging.basicConfig(level=logging.INFO, format="rustok worker: %(message)s")
    registry = installed_registry(settings.installed_modules)
    names = args.handlers.split(",") if args.handlers is not None else None
    db = locate(settings)
    try:
        report = run_worker(db, registry, settings, names, once=args.once)
    except WorkerError as exc:
        return _fail(str(exc))
    for name, stats in report.consumers.items():
        busy = " (held by another worker)" if stats.busy else ""
        print(f"{name}: {stats.handled} handled, {stats.skipped} skipped, {stats.gave_up} gave up{busy}")
    return 0


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    """Online rebuild in batches (each its own transaction: readers keep their answers), then prune."""
    targets = [args.target] if args.target else ["products", "content"]
    with _operator(settings) as conn:
        if args.tenant:
            tenants = conn.execute("select id, slug from public.tenants where slug = %s", (args.tenant,)).fetchall()
            if not tenants:
                raise errors.NotFound(f"no tenant with slug {args.tenant!r}", {"tenant": args.tenant})
        else:
            tenants = conn.execute("select id, slug from public.tenants where is_active order by slug").fetchall()
        conn.commit()
        for tenant in tenants:
            for target in targets:
                with tenant_transaction(conn, tenant["id"]):
                    row = conn.execute("select rustok.index_source_count(%s) as n", (target,)).fetchone()
                total = int(row["n"]) if row else 0
                done, after = 0, None
                while True:
                    with tenant_transaction(conn, tenant["id"]):
                        batch = conn.execute(
                            "select * from rustok.index_reindex_batch(%s, %s, %s)", (target, after, args.batch_size)
                        ).fetchone()
                    if batch is None or batch["last_id"] is None:
                        break
                    after, done = batch["last_id"], done + int(batch["recomputed"])
                    _progress(f"{tenant['slug']} {target}", done, total)
                with tenant_transaction(conn, tenant["id"]):
                    pruned = conn.execute("select rustok.index_reindex_prune(%s) as n", (target,)).fetchone()
                _progress(f"{tenant['slug']} {target}", done, total)
                print(file=sys.stderr)
                print(f"{tenant['slug']}: {target}: {done} recomputed, {pruned['n'] if pruned else 0} pruned")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Loads (or replaces) the demo tenant, then says where to open it and how to sign in."""
    import secrets

    from rustok.demo import DemoOptions, load_demo

    db = locate(settings)
    if not args.no_migrate:
        migrate(db, installed_registry(settings.installed_modules))
    options = DemoOptions(
        password=args.password or secrets.token_urlsafe(12),
        slug=args.tenant,
        products=args.products,
        posts=args.posts,
    )
    report = load_demo(db, options, progress=lambda stage, done, total: _progress(f"demo {stage:<9}", done, total))
    print(file=sys.stderr)
    counts = ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in report.counts.items())
    again = " (replaced the earlier demo tenant)" if report.replaced else ""
    base = f"http://127.0.0.1:{os.environ.get('RUSTOK_PORT', '8000')}"
    print(f"demo tenant {report.slug!r} loaded in {report.seconds:.1f} s{again}: {counts}")
    print(f"storefront: {base}/t/{report.slug}/")
    print(f"admin:      {base}/admin  (tenant {report.slug})")
    print(f"admin sign-in:    {report.admin_email}  password {report.password}")
    print(f"customer sign-in: {report.customer_email}  password {report.password}")
    print("start the server with `.venv/bin/rustok serve` (or scripts/serve) if it is not running")
    return 0


def _progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width if total == 0 else min(width, width * done // total)
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


def cmd_indexer(args: argparse.Namespace, settings: Settings) -> int:
    """Drains the durable index queue (IndexConfig realtimeSync off) with `workers` threads, each taking
    batches with FOR UPDATE SKIP LOCKED; --once stops when the queue is empty (modules/index/indexer.py)."""
    import threading

    from rustok.modules.index.indexer import Indexer

    with _operator(settings) as conn:
        config = conn.execute("select rustok.index_config(null) as c").fetchone()
    cfg = config["c"] if config else {}
    workers = args.workers or int(cfg.get("workers") or 1)
    batch_size = args.batch_size or int(cfg.get("batchSize") or 500)
    db = locate(settings)
    indexer = Indexer(lambda: connect(db.admin_url), batch_size, poll=args.poll, once=args.once)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            indexer.run()
        except BaseException as exc:  # a thread cannot raise into main: keep it for the exit status
            failures.append(exc)
            indexer.stop.set()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        indexer.stop.set()
    if failures:
        raise failures[0]
    print(f"indexer: {indexer.applied} queued change(s) applied by {workers} worker(s), batch size {batch_size}")
    return 0


# -- helpers -------------------------------------------------------------------------------------------


class _operator:
    """An operator's connection (owner/superuser URL), committed on success."""

    def __init__(self, settings: Settings) -> None:
        self.db: Database = locate(settings)

    def __enter__(self) -> psycopg.Connection[dict[str, Any]]:
        self.conn = connect(self.db.admin_url)
        return self.conn.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.conn.__exit__(*exc)


def _in_tenant(conn: psycopg.Connection[Any], slug: str) -> Any:
    row = conn.execute("select id from public.tenants where slug = %s", (slug,)).fetchone()
    if row is None:
        raise errors.NotFound(f"no tenant with slug {slug!r} (see `rustok tenant list`)", {"tenant": slug})
    return tenant_transaction(conn, row["id"])


def _where(db: Database) -> str:
    return f"embedded, {db.cluster.data_dir}" if db.cluster else "DATABASE_URL"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rustok", description="RusToK platform command line")
    commands = parser.add_subparsers(metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate, then serve the API")
    serve.add_argument("--host", default=os.environ.get("RUSTOK_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("RUSTOK_PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("RUSTOK_WORKERS", "1")))
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate on start")
    serve.add_argument("--log-level", default=os.environ.get("RUSTOK_LOG_LEVEL", "info"))
    serve.add_argument("--no-access-log", dest="access_log", action="store_false")
    serve.add_argument(
        "--log-format",
        choices=("json", "text"),
        default=os.environ.get("RUSTOK_LOG_FORMAT", "json"),
        help="logs as one JSON object per line (default) or plain text; both carry the request id",
    )
    serve.set_defaults(handler=cmd_serve)

    health = commands.add_parser(
        "status", help="health at a glance: database, migrations, outbox and consumers, queues, partitions"
    )
    health.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    health.set_defaults(handler=cmd_status)

    mig = commands.add_parser("migrate", help="apply migrations and re-apply functions and triggers")
    mig.add_argument("--status", action="store_true", help="list migrations and whether each is applied")
    mig.set_defaults(handler=cmd_migrate)

    maintain = commands.add_parser(
        "maintain", help="housekeeping: upcoming partitions, expired partitions, expired auth state"
    )
    maintain.set_defaults(handler=cmd_maintain)

    db = commands.add_parser("db", help="the database").add_subparsers(metavar="ACTION")
    url = db.add_parser("url", help="print the application's connection URL")
    url.add_argument("--superuser", action="store_true", help="the owner/superuser URL instead")
    url.add_argument("--analytics", action="store_true", help="the read-only analysts' URL (index tables only)")
    url.set_defaults(handler=cmd_db_url)
    psql = db.add_parser("psql", help="psql as the app role (--superuser: as owner); other arguments go to psql")
    psql.add_argument("--superuser", action="store_true")
    psql.set_defaults(handler=cmd_db_psql)
    db.add_parser("start", help="start the embedded PostgreSQL").set_defaults(handler=cmd_db_start)
    db.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(handler=cmd_db_stop)
    db.add_parser("schema", help="print the normalised schema dump").set_defaults(handler=cmd_db_schema)

    tenant = commands.add_parser("tenant", help="tenants").add_subparsers(metavar="ACTION")
    create = tenant.add_parser("create", help="create a tenant (emits TenantCreated)")
    create.add_argument("--slug", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--admin-email")
    create.add_argument("--admin-password")
    create.set_defaults(handler=cmd_tenant_create)
    tenant.add_parser("list", help="list tenants").set_defaults(handler=cmd_tenant_list)
    export = tenant.add_parser("export", help="write a whole tenant (every module, ids kept) to a file")
    export.add_argument("slug", metavar="SLUG")
    export.add_argument("file", metavar="FILE")
    export.set_defaults(handler=cmd_tenant_export)
    load = tenant.add_parser("import", help="load a tenant exported by `tenant export` (one transaction)")
    load.add_argument("file", metavar="FILE")
    load.set_defaults(handler=cmd_tenant_import)

    worker = commands.add_parser("worker", help="run the durable event handlers (webhooks, module listeners)")
    worker.add_argument("--handlers", metavar="NAMES", help="comma-separated handler names (default: all)")
    worker.add_argument("--once", action="store_true", help="drain what is there, then exit (tests, cron)")
    worker.set_defaults(handler=cmd_worker)

    reindex = commands.add_parser("reindex", help="rebuild the index tables online, in batches")
    reindex.add_argument("--tenant", metavar="SLUG", help="one tenant (default: every active tenant)")
    reindex.add_argument("--target", choices=("products", "content"), help="one index (default: both)")
    reindex.add_argument("--batch-size", type=int, help="source rows per batch (default: IndexConfig batchSize)")
    reindex.set_defaults(handler=cmd_reindex)

    indexer = commands.add_parser("indexer", help="drain the durable index queue (IndexConfig realtimeSync off)")
    indexer.add_argument("--workers", type=int, help="threads (default: IndexConfig workers)")
    indexer.add_argument("--batch-size", type=int, help="rows per batch (default: IndexConfig batchSize)")
    indexer.add_argument("--once", action="store_true", help="exit when the queue is empty")
    indexer.add_argument("--poll", type=float, default=1.0, help="seconds between polls when idle")
    indexer.set_defaults(handler=cmd_indexer)

    demo = commands.add_parser(
        "demo", help="load a demo tenant (pages, posts, comments, products, orders); re-run to replace it"
    )
    demo.add_argument("--tenant", default="demo", metavar="SLUG", help="its slug (default: demo)")
    demo.add_argument("--password", help="for the admin and the customer (default: a new random one, printed)")
    demo.add_argument("--products", type=int, default=60, metavar="N", help="how many products (default 60)")
    demo.add_argument("--posts", type=int, default=30, metavar="N", help="how many blog posts (default 30)")
    demo.add_argument("--no-migrate", action="store_true", help="do not migrate first")
    demo.set_defaults(handler=cmd_demo)

    module = commands.add_parser("module", help="modules per tenant").add_subparsers(metavar="ACTION")
    listing = module.add_parser("list", help="installed modules and whether each is enabled")
    listing.add_argument("--tenant", required=True, metavar="SLUG")
    listing.set_defaults(handler=cmd_module_list)
    for action in _TOGGLES:
        toggle = module.add_parser(action, help=f"{action} a module for a tenant")
        toggle.add_argument("--tenant", required=True, metavar="SLUG")
        toggle.add_argument("module", metavar="MODULE")
        toggle.set_defaults(handler=_module_toggle(action))
    return parser


if __name__ == "__main__":
    sys.exit(main())
