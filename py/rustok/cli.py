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

    registry = installed_registry(settings.installed_modules)
    db = locate(settings)
    if not args.no_migrate:
        migrate(db, registry)
    print(f"rustok: serving on http://{args.host}:{args.port} (database: {_where(db)})", file=sys.stderr)
    uvicorn.run(
        "rustok.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_graceful_shutdown=5,  # open event streams would hold shutdown forever; clients resume
    )
    return 0


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
    print(f"migrated: {len(report.applied)} new migration(s); database is current")
    return 0


def cmd_db_url(args: argparse.Namespace, settings: Settings) -> int:
    db = locate(settings)
    print(db.admin_url if args.superuser else db.app_url)
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
    serve.set_defaults(handler=cmd_serve)

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

    worker = commands.add_parser("worker", help="run the durable event handlers (webhooks, module listeners)")
    worker.add_argument("--handlers", metavar="NAMES", help="comma-separated handler names (default: all)")
    worker.add_argument("--once", action="store_true", help="drain what is there, then exit (tests, cron)")
    worker.set_defaults(handler=cmd_worker)

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
