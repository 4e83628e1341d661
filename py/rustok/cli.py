"""The `rustok` command. Every failure is one line on stderr and a non-zero exit, never a traceback
(set RUSTOK_DEBUG=1 to see one). Results go to stdout (`--json` where a command prints a list or a record),
progress and warnings to stderr; docs/cli.md describes both."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, LiteralString

import psycopg
from psycopg import sql

from rustok import errors
from rustok.auth.passwords import hash_password
from rustok.config import SQL_DIR, Settings
from rustok.db import (
    Database,
    DatabaseUnavailable,
    connect,
    locate,
    locate_started,
    not_running,
    tenant_transaction,
)
from rustok.embedded import Cluster, EmbeddedError, binary
from rustok.migrate import MigrationError, migrate, status
from rustok.modules import ModuleError, installed_registry
from rustok.private_paths import UnsafePath
from rustok.progress import Progress
from rustok.types import JsonObject, RowConnection

if TYPE_CHECKING:
    from rustok.graphql.artifact import Comparison

Handler = Callable[[argparse.Namespace, Settings], int]
# rustok.observability.logging.FORMATS, not imported here: that package pulls in Starlette (+27 ms on every
# command); tests/py/test_cli_help.py keeps the two in step
LOG_FORMATS = ("auto", "json", "text")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "handler", None) is not cmd_db_psql:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.psql_args = extra[1:] if extra[:1] == ["--"] else extra
    if not hasattr(args, "handler"):
        getattr(args, "usage_of", parser).print_help()  # `rustok tenant` shows the tenant actions
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
    except (DatabaseUnavailable, EmbeddedError, MigrationError, ModuleError, UnsafePath) as exc:
        return _fail(str(exc))
    except _Usage as exc:
        print(f"rustok: error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, EOFError):  # Ctrl-C, or Ctrl-D at a prompt
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("RUSTOK_DEBUG"):
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc} (RUSTOK_DEBUG=1 shows the traceback)")


def _fail(message: str) -> int:
    print(f"rustok: error: {message}", file=sys.stderr)
    return 1


def _details(details: JsonObject) -> str:
    return f" {json.dumps(details)}" if details else ""


def _warn(message: str) -> None:
    print(f"rustok: warning: {message}", file=sys.stderr)


def _print_json(value: Any) -> None:
    """One JSON document on stdout: the `--json` output of every command (keys: docs/cli.md)."""
    print(json.dumps(value, indent=2, default=str))


# -- commands ------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    import uvicorn

    from rustok import served
    from rustok.background import for_serve
    from rustok.listening import listen_problem
    from rustok.observability.logging import configure, uvicorn_log_config
    from rustok.observability.multiprocess import share_across_workers
    from rustok.supervisor import supervise

    if problem := listen_problem(args.host, args.port, args.workers):
        return _fail(problem)  # before anything starts: nothing to undo
    registry = installed_registry(settings.installed_modules)
    db = _started(settings)
    if not args.no_migrate:
        for warning in migrate(db, registry).warnings:
            print(f"rustok: warning: {warning}", file=sys.stderr)
    print(f"rustok: serving on http://{args.host}:{args.port} (database: {_where(db)})", file=sys.stderr)
    configure(args.log_format, args.log_level, args.access_log)  # the supervisor logs before uvicorn starts
    if not args.background:
        logging.getLogger("rustok.background").info(
            "background work is off (--no-background): event handlers, webhooks and the index queue wait for"
            " `rustok worker` and `rustok indexer`"
        )
    # this process started the embedded server, so it supervises it (its uvicorn workers never start it); it
    # runs the background work too: once, whatever --workers (rustok/background.py)
    supervisor = supervise(db.cluster, settings.home)
    shared_metrics = share_across_workers(settings.home, args.workers)  # one /metrics for --workers N
    background = for_serve(db, registry, settings).start() if args.background else None
    address = served.announce(
        settings.home, served.Served(os.getpid(), args.host, args.port, args.workers, args.background)
    )
    try:
        uvicorn.run(
            "rustok.app:app_from_environment",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            proxy_headers=False,  # the app applies FORWARDED_ALLOW_IPS itself, keeping the peer (api/clients.py)
            access_log=False,  # rustok.access writes the access log: with the request id, in --log-format
            log_config=uvicorn_log_config(args.log_format, args.log_level, args.access_log),
            timeout_graceful_shutdown=5,  # open event streams would hold shutdown forever; clients resume
        )
    finally:
        served.withdraw(address)
        if background is not None:
            background.stop()
        if shared_metrics is not None:
            shared_metrics.close()
        if supervisor is not None:
            supervisor.stop()
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from rustok.observability import status as health
    from rustok.platform import handler_names

    # an embedded server that is down is reported, not started: status only looks
    registry = installed_registry(settings.installed_modules)
    checks = health.collect(locate(settings), registry, handler_names(registry))
    print(json.dumps(health.as_json(checks), default=str) if args.json else health.render(checks))
    return 0 if all(c.ok for c in checks) else 1


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    registry = installed_registry(settings.installed_modules)
    db = locate(settings) if args.status else _started(settings)  # --status only looks
    if args.status:
        rows = status(db, registry)
        pending = sum(not r.applied for r in rows)
        if args.json:
            migrations = [{"module": r.module, "id": r.migration_id, "applied": r.applied} for r in rows]
            _print_json({"migrations": migrations, "pending": pending})
            return 0
        for row in rows:
            print(f"{'applied' if row.applied else 'PENDING':8} {row.module:12} {row.migration_id}")
        print(f"{len(rows)} migrations, {pending} pending")
        return 0
    report = migrate(db, registry)
    if args.json:
        _print_json(
            {
                "applied": report.applied,
                "dropped": report.dropped,
                "partitions": report.partitions,
                "warnings": report.warnings,
            }
        )
        return 0
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


NOT_RUNNING = 3  # `rustok db url`: the URL is printed, but the embedded server behind it is not running


def cmd_db_url(args: argparse.Namespace, settings: Settings) -> int:
    """Prints the URL and never starts anything: exit 0 when the server runs (or is DATABASE_URL's, which
    rustok does not watch), NOT_RUNNING with a line on stderr when the embedded one does not."""
    db = locate(settings, must_run=False)
    print(db.admin_url if args.superuser else db.analytics_url() if args.analytics else db.app_url)
    if db.cluster is not None and (stopped := not_running(db.cluster)):
        print(f"rustok: {stopped}", file=sys.stderr)
        return NOT_RUNNING
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
    _say(cluster.ensure_running())
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
    from rustok.schema_dump import dump

    schema = dump(locate(settings).admin_url)
    if args.write:
        for path in schema.write(SQL_DIR):
            print(f"wrote {path}")
    else:
        sys.stdout.write(schema.functions if args.functions else schema.schema)
    return 0


def cmd_graphql_schema(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from graphql import GraphQLError

    from rustok.graphql import artifact
    from rustok.platform import schema_parts

    every_module = settings.installed_modules is None
    live = artifact.merged_sdl(schema_parts(installed_registry(settings.installed_modules)))
    if not (args.check or args.write):
        if args.file:
            raise _Usage("--file names the schema to --check against or to --write")
        sys.stdout.write(live)
        return 0
    path = Path(args.file) if args.file else artifact.SCHEMA_FILE
    if args.write and not args.file and not every_module:
        raise _Usage(f"{path} is every module's schema: unset RUSTOK_MODULES to write it, or name a --file")
    committed = artifact.read_committed(path)
    if committed is None and args.check:
        return _fail(f"no schema at {path} to check against: `rustok graphql schema --write` writes it")
    try:
        changes = artifact.compare(committed, live) if committed is not None else None
    except GraphQLError as exc:
        return _fail(f"{path} is not a valid GraphQL schema ({exc.message}): restore it (git) or --write it anew")
    if changes is not None:
        _print_changes(changes, path)
    if args.write:
        if committed == live:
            print(f"{path} is up to date")
            return 0
        path.write_text(live)
        print(f"wrote {path}")
        if changes is not None and changes.is_breaking:
            _warn(f"{len(changes.breaking)} breaking change(s) written: note them in docs/graphql.md's changelog")
        return 0
    if changes is not None and changes.is_breaking:
        return _fail(
            f"{len(changes.breaking)} breaking change(s) against {path} (listed above): keep the old fields, or make"
            " the break deliberate with `rustok graphql schema --write` and a note in docs/graphql.md's changelog"
        )
    if committed != live:
        _warn(f"{path} is out of date (no breaking change): `rustok graphql schema --write` updates it")
    else:
        print(f"{path} is up to date")
    return 0


def _print_changes(changes: Comparison, path: object) -> None:
    """What `graphql schema --check/--write` found, one line per change, grouped by how much it matters."""
    for title, found in (
        ("breaking changes", changes.breaking),
        ("dangerous changes", changes.dangerous),
        ("additions", changes.added),
    ):
        if found:
            print(f"{title} against {path} ({len(found)}):")
            for change in found:
                print(f"  {change}")


def cmd_tenant_create(args: argparse.Namespace, settings: Settings) -> int:
    password = None
    if args.admin_email:
        password = _password(args, "--admin-password", f"password for {args.admin_email.strip()}")
    elif args.admin_password or args.password_stdin:
        raise _Usage("a password needs --admin-email: it is the first admin's")
    password_hash = hash_password(password) if password else None
    with _operator(settings) as conn:
        row = conn.execute(
            "select rustok.create_tenant(%s, %s, %s, %s) as tenant",
            (args.slug, args.name, args.admin_email, password_hash),
        ).fetchone()
    tenant = row["tenant"] if row else {}
    if args.json:
        _print_json(tenant)
        return 0
    print(f"created tenant {tenant['slug']} ({tenant['id']})")
    if tenant.get("adminUserId"):
        print(f"admin user {args.admin_email.strip().lower()} ({tenant['adminUserId']}), role admin")
    return 0


def cmd_tenant_list(args: argparse.Namespace, settings: Settings) -> int:
    with _operator(settings) as conn:
        row = conn.execute("select rustok.list_tenants() as tenants").fetchone()
    tenants = row["tenants"] if row else []
    if args.json:
        _print_json({"tenants": tenants})
        return 0
    for t in tenants:
        print(f"{t['slug']:24} {t['id']}  {'active' if t['isActive'] else 'inactive':8}  {t['name']}")
    print(f"{len(tenants)} tenant(s)")
    return 0


def cmd_tenant_export(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from rustok.ids import to_ulid
    from rustok.portability import export_tenant
    from rustok.portability.transfer import size_text

    with Progress(f"export {args.slug}", "tables") as bar:
        report = export_tenant(locate(settings).admin_url, args.slug, Path(args.file), progress=bar)
    print(
        f"exported tenant {report.slug} ({to_ulid(report.tenant_id)}): {report.rows:,} rows in"
        f" {len(report.tables)} tables, {size_text(report.size)} -> {args.file} ({report.seconds:.1f} s)"
    )
    return 0


def cmd_tenant_import(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from rustok.ids import to_ulid
    from rustok.portability import import_tenant

    with Progress(f"import {Path(args.file).name}", "steps") as bar:
        report = import_tenant(locate(settings).admin_url, Path(args.file), progress=bar)
    print(
        f"imported tenant {report.slug} ({to_ulid(report.tenant_id)}): {report.rows:,} rows in"
        f" {len(report.tables)} tables ({report.seconds:.1f} s)"
    )
    return 0


def cmd_module_list(args: argparse.Namespace, settings: Settings) -> int:
    with _operator(settings) as conn, _in_tenant(conn, args.tenant):
        modules = conn.execute("select rustok.list_modules() as m").fetchone()["m"]  # type: ignore[index]
    if args.json:
        _print_json({"tenant": args.tenant, "modules": modules})
        return 0
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
            print(f"{r['role']} session {r['pid']} {r['action']}: {r['reason']}")
        print(f"client sessions: {len(stopped)} past their limits stopped")
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
    from rustok.events.worker import WorkerError, run_worker
    from rustok.observability.logging import configure
    from rustok.platform import available_handlers

    configure(args.log_format, args.log_level, access_log=False)
    registry = installed_registry(settings.installed_modules)
    names = args.handlers.split(",") if args.handlers is not None else None
    db = locate(settings)
    try:
        report = run_worker(db, available_handlers(registry), settings, names, once=args.once)
    except WorkerError as exc:
        return _fail(str(exc))
    for name, stats in report.consumers.items():
        busy = " (held by another worker)" if stats.busy else ""
        print(f"{name}: {stats.handled} handled, {stats.skipped} skipped, {stats.gave_up} gave up{busy}")
    return 0


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    """Online rebuild in batches (each its own transaction: readers keep their answers), then prune; one
    progress bar over every tenant's source rows, counted first."""
    targets = [args.target] if args.target else ["products", "content"]
    with _operator(settings) as conn:
        if args.tenant:
            tenants = conn.execute("select id, slug from public.tenants where slug = %s", (args.tenant,)).fetchall()
            if not tenants:
                raise errors.NotFound(f"no tenant with slug {args.tenant!r}", {"tenant": args.tenant})
        else:
            tenants = conn.execute("select id, slug from public.tenants where is_active order by slug").fetchall()
        conn.commit()
        work = []
        for tenant in tenants:
            for target in targets:
                with tenant_transaction(conn, tenant["id"]):
                    row = conn.execute("select rustok.index_source_count(%s) as n", (target,)).fetchone()
                work.append((tenant, target, int(row["n"]) if row else 0))
        total, done, results = sum(n for *_, n in work), 0, []
        with Progress("reindex", "rows") as bar:
            bar(0, total)
            for tenant, target, _ in work:
                recomputed, after = 0, None
                while True:
                    with tenant_transaction(conn, tenant["id"]):
                        batch = conn.execute(
                            "select * from rustok.index_reindex_batch(%s, %s, %s)", (target, after, args.batch_size)
                        ).fetchone()
                    if batch is None or batch["last_id"] is None:
                        break
                    after, recomputed = batch["last_id"], recomputed + int(batch["recomputed"])
                    bar(min(total, done + recomputed), total, f"{tenant['slug']} {target}")
                with tenant_transaction(conn, tenant["id"]):
                    pruned = conn.execute("select rustok.index_reindex_prune(%s) as n", (target,)).fetchone()
                done += recomputed
                pruned_rows = pruned["n"] if pruned else 0
                results.append(f"{tenant['slug']}: {target}: {recomputed} recomputed, {pruned_rows} pruned")
        print("\n".join(results))
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Loads (or replaces) the demo tenant, then says where to open it and how to sign in."""
    import secrets

    from rustok import served
    from rustok.demo import DemoOptions, load_demo
    from rustok.ids import to_ulid

    db = _started(settings)
    if not args.no_migrate:
        migrate(db, installed_registry(settings.installed_modules))
    # never asked for: without one the demo makes a password and prints it
    password = _password(args, "--password", None) if args.password or args.password_stdin else None
    options = DemoOptions(
        password=password or secrets.token_urlsafe(12),
        slug=args.tenant,
        products=args.products,
        posts=args.posts,
    )
    with Progress("demo", "steps") as bar:
        report = load_demo(db, options, progress=bar)
    servers = served.running(settings.home)  # the address of the server that runs, or the default one
    port = int(os.environ.get("RUSTOK_PORT", "8000"))
    base = servers[0].url if servers else served.base_url("127.0.0.1", port)
    if args.json:
        _print_json(
            {
                "tenant": report.slug,
                "tenantId": to_ulid(report.tenant_id),
                "replaced": report.replaced,
                "seconds": round(report.seconds, 2),
                "counts": report.counts,
                "storefrontUrl": f"{base}/t/{report.slug}/",
                "adminUrl": f"{base}/admin",
                "serverRunning": bool(servers),
                "signIn": {
                    "admin": {"email": report.admin_email, "password": report.password},
                    "customer": {"email": report.customer_email, "password": report.password},
                },
            }
        )
        return 0
    counts = ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in report.counts.items())
    again = " (replaced the earlier demo tenant)" if report.replaced else ""
    print(f"demo tenant {report.slug!r} loaded in {report.seconds:.1f} s{again}: {counts}")
    print(f"storefront: {base}/t/{report.slug}/")
    print(f"admin:      {base}/admin  (tenant {report.slug})")
    print(f"admin sign-in:    {report.admin_email}  password {report.password}")
    print(f"customer sign-in: {report.customer_email}  password {report.password}")
    if servers:
        print(f"served by rustok serve (pid {servers[0].pid}); it answers for the new tenant at once")
    else:
        print(
            f"no rustok serve is running for {settings.home}: start it with `.venv/bin/rustok serve` (or"
            f" scripts/serve); the addresses above assume its default port {port} (RUSTOK_PORT, or 8000)"
        )
    return 0


def cmd_indexer(args: argparse.Namespace, settings: Settings) -> int:
    """Drains the durable index queue (IndexConfig realtimeSync off) with `workers` threads, each taking
    batches with FOR UPDATE SKIP LOCKED; --once stops when the queue is empty (modules/index/indexer.py)."""
    import logging
    import threading

    from rustok.modules.index.indexer import Indexer
    from rustok.observability.logging import configure

    configure(args.log_format, args.log_level, access_log=False)
    with _operator(settings) as conn:
        config = conn.execute("select rustok.index_config(null) as c").fetchone()
    cfg = config["c"] if config else {}
    workers = args.workers or int(cfg.get("workers") or 1)
    batch_size = args.batch_size or int(cfg.get("batchSize") or 500)
    db = locate(settings)
    indexer = Indexer(lambda: connect(db.admin_url), batch_size, poll=args.poll, once=args.once)
    logging.getLogger("rustok.indexer").info(
        "draining the index queue: %d worker(s), batch size %d%s", workers, batch_size, " (once)" if args.once else ""
    )
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


def _started(settings: Settings) -> Database:
    """The database, for the commands that bring the platform up (serve, migrate, demo): an embedded server
    that is not running is started, and what was done is said on stderr."""
    db, done = locate_started(settings)
    _say(done)
    return db


def _say(done: list[str]) -> None:
    for sentence in done:
        print(f"rustok: {sentence}", file=sys.stderr)


def _password(args: argparse.Namespace, flag: str, prompt: str | None) -> str:
    """A new password from the first line of stdin (--password-stdin), else from `flag` on the command line
    (kept for scripts written before, with a warning: it lands in shell history and the process list), else
    asked twice on the terminal (`prompt`; None: never asked). Fails when none of them can give one."""
    given = getattr(args, flag.lstrip("-").replace("-", "_"))
    if args.password_stdin and given:
        raise _Usage(f"{flag} and --password-stdin: give one of them")
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password.strip():
            raise _Usage("--password-stdin: the first line of standard input is empty")
        return password.removesuffix("\r")
    if given:
        _warn(f"{flag} leaves the password in your shell history and the process list; use --password-stdin")
        return str(given)
    if prompt is None or not sys.stdin.isatty():
        raise _Usage("no password: standard input is not a terminal, so pipe it in with --password-stdin")
    password = getpass.getpass(f"{prompt}: ")
    if getpass.getpass("the same again: ") != password:
        raise _Usage("the two passwords differ; nothing was changed")
    return password


class _Usage(Exception):
    """A command used in a way that cannot work: one line, exit 2 (as argparse's own usage errors)."""


class _operator:
    """An operator's connection (owner/superuser URL), committed on success."""

    def __init__(self, settings: Settings) -> None:
        self.db: Database = locate(settings)

    def __enter__(self) -> RowConnection:
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


class _Help(argparse.RawDescriptionHelpFormatter):
    """Examples (the epilogs) kept as written, option help a little further out than argparse's default.
    Plain argparse rather than rich-argparse: colour was not worth +49 ms per --help (docs/cli.md)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


Commands = argparse._SubParsersAction  # what add_subparsers returns (argparse names it privately)


def _command(commands: Commands[argparse.ArgumentParser], name: str, summary: str, examples: str) -> Any:
    """A command with its one-line summary (in `rustok --help`) and its examples (in its own --help)."""
    return commands.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip("\n"), "  "),
        formatter_class=_Help,
    )


def _group(commands: Commands[argparse.ArgumentParser], name: str, summary: str, examples: str) -> Any:
    """A command of commands (`rustok tenant …`); on its own it prints its help."""
    parser = _command(commands, name, summary, examples)
    parser.set_defaults(usage_of=parser)
    return parser.add_subparsers(metavar="ACTION", title="actions")


def _log_format(value: str) -> str:
    """--log-format, and RUSTOK_LOG_FORMAT as its default (argparse checks choices on the command line only)."""
    if value not in LOG_FORMATS:
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(LOG_FORMATS)} (RUSTOK_LOG_FORMAT?)")
    return value


def _log_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        type=_log_format,
        choices=LOG_FORMATS,
        default=os.environ.get("RUSTOK_LOG_FORMAT", "auto"),
        help="auto: readable text on a terminal, one JSON object per line anywhere else (a file, a pipe, a"
        " container); json or text to choose (default: %(default)s, or RUSTOK_LOG_FORMAT)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("RUSTOK_LOG_LEVEL", "info"),
        choices=("critical", "error", "warning", "info", "debug"),
        help="the least important records written (default: %(default)s, or RUSTOK_LOG_LEVEL)",
    )


def _json_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"{what} as one JSON document (keys: docs/cli.md)")


def _password_stdin_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (for scripts: never in shell history)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rustok",
        description="RusToK: a multi-tenant CMS and commerce platform whose logic lives in PostgreSQL.",
        epilog=textwrap.dedent(
            """\
            first steps:
              rustok demo                  load a demo shop and blog; prints where to sign in
              rustok serve                 serve it on http://127.0.0.1:8000
              rustok COMMAND --help        a command's options and examples

            Without DATABASE_URL every command uses the embedded PostgreSQL under RUSTOK_HOME."""
        ),
        formatter_class=_Help,
    )
    commands = parser.add_subparsers(metavar="COMMAND", title="commands")

    serve = _command(
        commands,
        "serve",
        "migrate, then serve the API, the storefront and the admin",
        """
        rustok serve                               # http://127.0.0.1:8000
        rustok serve --port 9000 --workers 2
        RUSTOK_DEV=1 rustok serve                  # with the GraphQL console and introspection
        rustok serve --log-format json 2>> rustok.log
        """,
    )
    serve.add_argument(
        "--host",
        default=os.environ.get("RUSTOK_HOST", "127.0.0.1"),
        help="address to listen on; 0.0.0.0 for every interface (default: %(default)s, or RUSTOK_HOST)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("RUSTOK_PORT", "8000")),
        help="TCP port (default: %(default)s, or RUSTOK_PORT)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("RUSTOK_WORKERS", "1")),
        help="uvicorn worker processes; one per core is a good start (default: %(default)s, or RUSTOK_WORKERS)",
    )
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate on start")
    serve.add_argument(
        "--no-background",
        dest="background",
        action="store_false",
        default=os.environ.get("RUSTOK_BACKGROUND", "on") != "off",
        help="do not run the event handlers (webhooks, module hooks), the session watchdog and the index queue"
        " in this process, once whatever --workers: run `rustok worker` and `rustok indexer` instead, as compose"
        " does (default: run them, unless RUSTOK_BACKGROUND=off)",
    )
    serve.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="no log line per request (it costs about 10 µs a request)",
    )
    _log_options(serve)
    serve.set_defaults(handler=cmd_serve)

    health = _command(
        commands,
        "status",
        "health at a glance: database, migrations, outbox and consumers, queues, partitions",
        """
        rustok status                              # exit status 1 when a line says CHECK
        rustok status --json | jq '.checks[] | select(.ok | not)'
        """,
    )
    _json_option(health, "the checks")
    health.set_defaults(handler=cmd_status)

    mig = _command(
        commands,
        "migrate",
        "apply migrations and re-apply functions and triggers",
        """
        rustok migrate
        rustok migrate --status                    # what is applied, what is pending
        rustok migrate --status --json | jq .pending
        """,
    )
    mig.add_argument("--status", action="store_true", help="list migrations and whether each is applied")
    _json_option(mig, "what was done (or, with --status, the migrations)")
    mig.set_defaults(handler=cmd_migrate)

    maintain = _command(
        commands,
        "maintain",
        "housekeeping: upcoming partitions, expired partitions, expired auth state",
        """
        rustok maintain                            # hourly, e.g. from cron: 7 * * * * rustok maintain
        """,
    )
    maintain.set_defaults(handler=cmd_maintain)

    db = _group(
        commands,
        "db",
        "the database: its URLs, psql, the embedded server, the schema",
        """
        rustok db url
        rustok db psql --superuser
        rustok db stop
        """,
    )
    url = _command(
        db,
        "url",
        "print the application's connection URL (row-level security applies to it)",
        """
        psql "$(rustok db url)"
        psql "$(rustok db url --analytics)" -c 'select count(*) from index_products'
        """,
    )
    url.add_argument("--superuser", action="store_true", help="the owner/superuser URL instead")
    url.add_argument("--analytics", action="store_true", help="the read-only analysts' URL (index tables only)")
    url.set_defaults(handler=cmd_db_url)
    psql = _command(
        db,
        "psql",
        "psql as the app role (--superuser: as owner); other arguments go to psql",
        """
        rustok db psql --superuser
        rustok db psql --superuser -c 'select slug, name from tenants'
        """,
    )
    psql.add_argument("--superuser", action="store_true", help="as the owner/superuser instead of the app role")
    psql.set_defaults(handler=cmd_db_psql)
    for action, summary, example in (
        ("start", "start the embedded PostgreSQL", "rustok db start"),
        ("stop", "stop the embedded PostgreSQL", "rustok db stop"),
    ):
        handler = {"start": cmd_db_start, "stop": cmd_db_stop}[action]
        _command(db, action, summary, example).set_defaults(handler=handler)
    schema = _command(
        db,
        "schema",
        "print the normalised schema dump (no function bodies, no partition children)",
        """
        rustok db schema --write                       # sql/schema.sql and sql/schema_functions.txt
        rustok db schema --functions | grep definer    # one line per function: the SECURITY DEFINER ones
        rustok db schema | less
        """,
    )
    shown = schema.add_mutually_exclusive_group()
    shown.add_argument("--functions", action="store_true", help="print the list of functions instead")
    shown.add_argument(
        "--write", action="store_true", help="write both into sql/schema.sql and sql/schema_functions.txt"
    )
    schema.set_defaults(handler=cmd_db_schema)

    graphql = _group(
        commands,
        "graphql",
        "the GraphQL API: its schema",
        """
        rustok graphql schema > schema.graphql
        rustok graphql schema --check
        """,
    )
    gql_schema = _command(
        graphql,
        "schema",
        "print the merged GraphQL schema (SDL), or check or update the committed one (API v1)",
        """
        rustok graphql schema | less
        rustok graphql schema --check              # exit 1 naming each breaking change against schema.graphql
        rustok graphql schema --write              # a deliberate change: then note it (docs/graphql.md)
        rustok graphql schema --check --file v1.graphql
        """,
    )
    checked = gql_schema.add_mutually_exclusive_group()
    checked.add_argument(
        "--check",
        action="store_true",
        help="compare with the committed schema: list breaking, dangerous and added changes; exit 1 on a breaking one",
    )
    checked.add_argument(
        "--write", action="store_true", help="write the schema into the committed file, listing what changed"
    )
    gql_schema.add_argument(
        "--file",
        metavar="PATH",
        help="the schema file to check against or write (default: schema.graphql at the repository root)",
    )
    gql_schema.set_defaults(handler=cmd_graphql_schema)

    tenant = _group(
        commands,
        "tenant",
        "tenants: create, list, export, import",
        """
        rustok tenant create --slug acme --name Acme --admin-email boss@acme.test
        rustok tenant list
        """,
    )
    create = _command(
        tenant,
        "create",
        "create a tenant, optionally with its first admin (emits TenantCreated)",
        """
        rustok tenant create --slug acme --name "Acme Inc."
        rustok tenant create --slug acme --name Acme --admin-email boss@acme.test    # asks for the password
        printf '%s\\n' "$ADMIN_PASSWORD" |
          rustok tenant create --slug acme --name Acme --admin-email boss@acme.test --password-stdin
        rustok tenant create --slug acme --name Acme --json | jq -r .id
        """,
    )
    create.add_argument("--slug", required=True, help="its short name in URLs and X-Tenant: a-z, 0-9 and dashes")
    create.add_argument("--name", required=True, help="its display name")
    create.add_argument(
        "--admin-email",
        metavar="EMAIL",
        help="also create its first admin with this email; the password is asked for on a terminal",
    )
    _password_stdin_option(create)
    create.add_argument(
        "--admin-password",
        metavar="PASSWORD",
        help="the admin's password on the command line: avoid it (shell history, process list); warns",
    )
    _json_option(create, "the tenant")
    create.set_defaults(handler=cmd_tenant_create)
    listing = _command(
        tenant,
        "list",
        "list tenants, oldest first",
        """
        rustok tenant list
        rustok tenant list --json | jq -r '.tenants[] | select(.isActive) | .slug'
        """,
    )
    _json_option(listing, "the tenants")
    listing.set_defaults(handler=cmd_tenant_list)
    export = _command(
        tenant,
        "export",
        "write a whole tenant (every module, ids kept) to a file",
        """
        rustok tenant export acme acme.rustok.tar.gz
        """,
    )
    export.add_argument("slug", metavar="SLUG", help="the tenant to export")
    export.add_argument("file", metavar="FILE", help="the file to write (replaced when it exists)")
    export.set_defaults(handler=cmd_tenant_export)
    load = _command(
        tenant,
        "import",
        "load a tenant exported by `tenant export` (one transaction; needs a superuser)",
        """
        DATABASE_URL=postgresql://postgres@db.example/rustok rustok tenant import acme.rustok.tar.gz
        """,
    )
    load.add_argument("file", metavar="FILE", help="a file written by `rustok tenant export`")
    load.set_defaults(handler=cmd_tenant_import)

    worker = _command(
        commands,
        "worker",
        "run the durable event handlers (webhooks, module listeners)",
        """
        rustok worker
        rustok worker --handlers webhooks --once   # drain what waits, then exit
        """,
    )
    worker.add_argument("--handlers", metavar="NAMES", help="comma-separated handler names (default: all)")
    worker.add_argument("--once", action="store_true", help="drain what is there, then exit (tests, cron)")
    _log_options(worker)
    worker.set_defaults(handler=cmd_worker)

    reindex = _command(
        commands,
        "reindex",
        "rebuild the index tables online, in batches",
        """
        rustok reindex
        rustok reindex --tenant acme --target products --batch-size 200
        """,
    )
    reindex.add_argument("--tenant", metavar="SLUG", help="one tenant (default: every active tenant)")
    reindex.add_argument("--target", choices=("products", "content"), help="one index (default: both)")
    reindex.add_argument("--batch-size", type=int, help="source rows per batch (default: IndexConfig batchSize)")
    reindex.set_defaults(handler=cmd_reindex)

    indexer = _command(
        commands,
        "indexer",
        "drain the durable index queue (IndexConfig realtimeSync off)",
        """
        rustok indexer --workers 2
        rustok indexer --once                      # exit when the queue is empty
        """,
    )
    indexer.add_argument("--workers", type=int, help="threads (default: IndexConfig workers)")
    indexer.add_argument("--batch-size", type=int, help="rows per batch (default: IndexConfig batchSize)")
    indexer.add_argument("--once", action="store_true", help="exit when the queue is empty")
    indexer.add_argument(
        "--poll", type=float, default=1.0, help="seconds between polls when idle (default: %(default)s)"
    )
    _log_options(indexer)
    indexer.set_defaults(handler=cmd_indexer)

    demo = _command(
        commands,
        "demo",
        "load a demo tenant (pages, posts, comments, products, orders); re-run to replace it",
        """
        rustok demo                                # prints where to sign in, with a new password
        rustok demo --tenant shop2 --products 200 --posts 10
        rustok demo --json | jq -r .signIn.admin.password
        """,
    )
    demo.add_argument("--tenant", default="demo", metavar="SLUG", help="its slug (default: %(default)s)")
    _password_stdin_option(demo)
    demo.add_argument(
        "--password",
        help="for the admin and the customer, on the command line: avoid it (shell history); warns"
        " (default: a new random one, printed)",
    )
    demo.add_argument("--products", type=int, default=60, metavar="N", help="how many products (default %(default)s)")
    demo.add_argument("--posts", type=int, default=30, metavar="N", help="how many blog posts (default %(default)s)")
    demo.add_argument("--no-migrate", action="store_true", help="do not migrate first")
    _json_option(demo, "the tenant, its URLs and sign-in details")
    demo.set_defaults(handler=cmd_demo)

    module = _group(
        commands,
        "module",
        "modules per tenant: list, enable, disable",
        """
        rustok module list --tenant acme
        rustok module enable --tenant acme commerce
        """,
    )
    modules = _command(
        module,
        "list",
        "installed modules and whether each is enabled for a tenant",
        """
        rustok module list --tenant acme
        rustok module list --tenant acme --json | jq -r '.modules[] | select(.enabled) | .slug'
        """,
    )
    modules.add_argument("--tenant", required=True, metavar="SLUG", help="the tenant")
    _json_option(modules, "the modules")
    modules.set_defaults(handler=cmd_module_list)
    for action in _TOGGLES:
        toggle = _command(
            module,
            action,
            f"{action} a module for a tenant (emits Module{action.capitalize()}d)",
            f"rustok module {action} --tenant acme blog",
        )
        toggle.add_argument("--tenant", required=True, metavar="SLUG", help="the tenant")
        toggle.add_argument("module", metavar="MODULE", help="its slug, as `rustok module list` shows it")
        toggle.set_defaults(handler=_module_toggle(action))
    return parser


if __name__ == "__main__":
    sys.exit(main())
