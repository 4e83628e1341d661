"""Migrations: frozen yoyo migrations per module, then every function and trigger file re-applied.

Order of one migrate (all under an advisory lock in the database, so concurrent starts cannot race):
1. bootstrap (idempotent): roles, the database, schema `rustok`;
2. the function files numbered 00-09 (`0N_*.sql`: errors, ids, context, input rules: what table defaults,
   CHECKs and policies call);
3. yoyo migrations of the core, then of each installed module in dependency order;
4. in one transaction: every function file, then every trigger file; any function in schema `rustok` or
   trigger calling one that was not re-created by this pass is dropped (a changed signature never leaves a
   stale overload); installed modules are recorded; `rustok._after_migrate()` secures tenant tables and
   grants EXECUTE by allow-list; then, as the migrating role itself, `rustok._secure_client_roles()` gives the
   client roles their settings (role-wide), caps the analysts' connections, lets the API's role use the
   reserved connections and (superuser only) closes the pg_catalog functions that let a client hold others
   up. What it could not do (a role that is not superuser; a server without reserved connections or with
   maintenance databases open to every role) comes back as warnings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, LiteralString
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

from rustok.config import SQL_DIR
from rustok.db import ANALYTICS_ROLE, APP_ROLE, CLIENTS_ROLE, OWNER_ROLE, Database, connect
from rustok.modules import ModuleRegistry

_LOCK_KEY = 7_242_017  # pg_advisory_lock key of `rustok migrate` (in the database it migrates)
_CORE = "core"


@dataclass(frozen=True)
class MigrationStatus:
    module: str
    migration_id: str
    applied: bool


@dataclass(frozen=True)
class MigrateReport:
    applied: list[str]
    dropped: list[str]
    partitions: list[str]
    warnings: list[str] = field(default_factory=list)


def sql_folders(kind: str, registry: ModuleRegistry) -> list[Path]:
    """sql/<kind>/<module> for the core and each installed module, in dependency order."""
    names = [_CORE, *(m.slug for m in registry.ordered())]
    return [SQL_DIR / kind / name for name in names if (SQL_DIR / kind / name).is_dir()]


BEFORE_MIGRATIONS = "0"  # function files 00-09: applied before the migrations (defaults, CHECKs, policies call them)


def sql_files(kind: str, registry: ModuleRegistry, prefix: str = "") -> list[Path]:
    return [f for folder in sql_folders(kind, registry) for f in sorted(folder.glob(f"{prefix}*.sql"))]


def migrate(db: Database, registry: ModuleRegistry) -> MigrateReport:
    with _migration_lock(db):
        _bootstrap(db)
        with connect(db.admin_url, autocommit=False) as conn:
            _apply_files(conn, sql_files("functions", registry, prefix=BEFORE_MIGRATIONS))
            conn.commit()
        applied = _apply_migrations(db, registry)
        with connect(db.admin_url, autocommit=False) as conn:
            replaced = _reapply_functions(conn, [*sql_files("functions", registry), *sql_files("triggers", registry)])
            dropped = [*replaced, *_drop_stale(conn)]
            for module in registry.ordered():
                conn.execute(
                    "select rustok._register_module(%s, %s, %s, %s, %s)",
                    (module.slug, module.name, module.description, module.version, list(module.dependencies)),
                )
            partitions = [
                r["partition_name"]
                for r in conn.execute("select * from rustok.maintain_partitions() where action = 'created'").fetchall()
            ]
            conn.execute("select rustok._after_migrate()")
            conn.execute(sql.SQL("grant select on public._yoyo_migration to {}").format(sql.Identifier(CLIENTS_ROLE)))
            conn.execute("reset role")  # role settings and pg_catalog grants: as the migrating role itself
            secured = conn.execute("select rustok._secure_client_roles() as skipped").fetchone()
            conn.commit()
    warnings = list(secured["skipped"]) if secured else []
    return MigrateReport(applied=applied, dropped=dropped, partitions=partitions, warnings=warnings)


def status(db: Database, registry: ModuleRegistry) -> list[MigrationStatus]:
    """Every migration of the installed modules and whether it is applied."""
    backend = get_backend(_yoyo_url(db.admin_url))
    try:
        rows = []
        for folder in sql_folders("migrations", registry):
            for migration in read_migrations(str(folder)):
                rows.append(MigrationStatus(folder.name, migration.id, backend.is_applied(migration)))
        return rows
    finally:
        backend.connection.close()


def expected_migration_ids(registry: ModuleRegistry) -> set[str]:
    """Ids of all migration files of the installed modules (for the readiness check)."""
    return {
        f.stem
        for folder in sql_folders("migrations", registry)
        for f in folder.glob("*.sql")
        if not f.name.endswith(".rollback.sql")
    }


def _bootstrap(db: Database) -> None:
    """Roles, their grants and the database's privileges; safe to run any number of times."""
    with connect(db.admin_url, autocommit=True) as conn:
        _create_roles(conn)
        for role, password in ((APP_ROLE, db.app_password), (ANALYTICS_ROLE, db.analytics_password or None)):
            _make_client_role(conn, role, password)
            conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(CLIENTS_ROLE), sql.Identifier(role)))
        # the analytics watchdog (rustok.enforce_analytics_limits, run by the worker as the application role)
        # sees and signals analysts' sessions through this membership, and no other session
        conn.execute(
            sql.SQL("grant {} to {} with inherit true, set false").format(
                sql.Identifier(ANALYTICS_ROLE), sql.Identifier(APP_ROLE)
            )
        )
        database = sql.Identifier(db.dbname)
        conn.execute(sql.SQL("grant connect on database {} to {}").format(database, sql.Identifier(CLIENTS_ROLE)))
        # no temporary tables (each one takes a transaction id) and no new schemas or tables for clients
        conn.execute(sql.SQL("revoke temporary, create on database {} from public").format(database))
        conn.execute("revoke create on schema public from public")
        if db.cluster is not None:
            # the embedded server is rustok's alone: nobody but the superuser needs its maintenance databases,
            # where any role could otherwise connect and make temporary tables (docs/security.md, point 3)
            conn.execute("revoke connect, temporary on database postgres, template1 from public")
        conn.execute(sql.SQL("grant create, usage on schema public to {}").format(sql.Identifier(OWNER_ROLE)))
        conn.execute(sql.SQL("create schema if not exists rustok authorization {}").format(sql.Identifier(OWNER_ROLE)))


# pg_roles column -> the clause that takes the attribute away from a client role
_CLIENT_ROLE_DROPS: dict[str, LiteralString] = {
    "rolsuper": "nosuperuser",
    "rolcreatedb": "nocreatedb",
    "rolcreaterole": "nocreaterole",
    "rolbypassrls": "nobypassrls",
    "rolreplication": "noreplication",
}


def _make_client_role(conn: psycopg.Connection[Any], role: str, password: str | None) -> None:
    """LOGIN with this password and none of the attributes in _CLIENT_ROLE_DROPS. An attribute is named only
    when the role has it: PostgreSQL refuses even a no-op NOSUPERUSER (or NOBYPASSRLS, NOREPLICATION) from a
    role that is not superuser, which is what migrates on a managed server."""
    row = conn.execute("select * from pg_roles where rolname = %s", (role,)).fetchone()
    drops = [sql.SQL(clause) for column, clause in _CLIENT_ROLE_DROPS.items() if row and row[column]]
    conn.execute(
        sql.SQL("alter role {} with login {} password {}").format(
            sql.Identifier(role), sql.SQL(" ").join(drops), sql.Literal(password)
        )
    )


def _create_roles(conn: psycopg.Connection[Any]) -> None:
    roles = ((OWNER_ROLE, "nologin"), (CLIENTS_ROLE, "nologin"), (APP_ROLE, "login"), (ANALYTICS_ROLE, "login"))
    for role, options in roles:
        if not conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
            conn.execute(sql.SQL("create role {} " + options).format(sql.Identifier(role)))
    is_superuser = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
    if is_superuser and not is_superuser["rolsuper"]:
        conn.execute(sql.SQL("grant {} to current_user").format(sql.Identifier(OWNER_ROLE)))


def _create_database(db: Database) -> None:
    """The database (owned by rustok_owner) and the roles it needs, when it does not exist yet."""
    with connect(db.server_admin_url(), autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", (db.dbname,)).fetchone():
            return
        _create_roles(conn)
        conn.execute(
            sql.SQL("create database {} owner {}").format(sql.Identifier(db.dbname), sql.Identifier(OWNER_ROLE))
        )


def _reapply_functions(conn: psycopg.Connection[Any], files: list[Path], attempts: int = 50) -> list[str]:
    """Applies function and trigger files in one transaction. CREATE OR REPLACE cannot change a function's
    return type: when a file does, the transaction starts over with that function dropped first (still one
    transaction, so the database never lacks it in between). Returns what had to be dropped."""
    drops: list[str] = []
    for _ in range(attempts):
        try:
            for signature in drops:
                conn.execute(sql.SQL("drop function {}").format(sql.SQL(signature)))
            _apply_files(conn, files)
            return [f"function {s} (return type changed; re-created)" for s in drops]
        except MigrationError as exc:
            cause = exc.__cause__
            hint = cause.diag.message_hint if isinstance(cause, psycopg.Error) else None
            found = re.match(r"Use DROP FUNCTION (rustok\.\S+\(.*\)) first\.$", hint or "")
            if not isinstance(cause, psycopg.errors.InvalidFunctionDefinition) or found is None:
                raise
            conn.rollback()
            drops.append(found.group(1))
    raise MigrationError("too many functions changed their return type in one migrate")


def _apply_files(conn: psycopg.Connection[Any], files: Iterable[Path]) -> None:
    """Runs SQL files in the connection's open transaction, as the owner role."""
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(OWNER_ROLE)))
    conn.execute("set local search_path = public, pg_catalog")
    for path in files:
        try:
            conn.execute(path.read_text())
        except psycopg.Error as exc:
            raise MigrationError(f"{path.relative_to(SQL_DIR)}: {exc.diag.message_primary}") from exc


def _drop_stale(conn: psycopg.Connection[Any]) -> list[str]:
    """Drops triggers and functions of schema rustok that this transaction did not re-create."""
    dropped: list[str] = []
    stale_triggers = conn.execute(
        """select t.tgname, t.tgrelid::regclass::text as rel
           from pg_trigger t join pg_proc p on p.oid = t.tgfoid join pg_namespace n on n.oid = p.pronamespace
           where not t.tgisinternal and n.nspname = 'rustok'
             and t.xmin::text <> (pg_current_xact_id()::xid)::text"""
    ).fetchall()
    for row in stale_triggers:
        conn.execute(sql.SQL("drop trigger {} on {}").format(sql.Identifier(row["tgname"]), sql.SQL(row["rel"])))
        dropped.append(f"trigger {row['tgname']} on {row['rel']}")
    stale_functions = conn.execute(
        """select p.oid::regprocedure::text as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where n.nspname = 'rustok' and p.xmin::text <> (pg_current_xact_id()::xid)::text"""
    ).fetchall()
    for row in stale_functions:
        try:
            conn.execute(sql.SQL("drop function {}").format(sql.SQL(row["fn"])))
        except psycopg.errors.DependentObjectsStillExist as exc:
            raise MigrationError(f"stale function {row['fn']} is still used: {exc.diag.message_detail}") from exc
        dropped.append(f"function {row['fn']}")
    return dropped


def _apply_migrations(db: Database, registry: ModuleRegistry) -> list[str]:
    backend = get_backend(_yoyo_url(db.admin_url))
    try:
        migrations = read_migrations(*(str(f) for f in sql_folders("migrations", registry)))
        pending = backend.to_apply(migrations)
        with backend.lock():
            backend.apply_migrations(pending)
        return [m.id for m in pending]
    finally:
        backend.connection.close()


def _yoyo_url(admin_url: str) -> str:
    """The admin URL for yoyo: psycopg 3 driver, every statement as the owner role."""
    parts = urlsplit(admin_url)
    query = dict(parse_qsl(parts.query))
    query["options"] = f"-c role={OWNER_ROLE} -c search_path=public"
    return urlunsplit(parts._replace(scheme="postgresql+psycopg", query=urlencode(query)))


@contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    """One migrate at a time per database: an advisory lock in that database, where only the owner and the
    API role may take advisory locks (rustok._close_catalog_functions). In the maintenance database any role
    that can log in could hold it, and with it every migrate and every `rustok serve` start. A database that
    does not exist yet is first created under the same key there."""
    with connect(db.server_admin_url(), autocommit=True) as server:
        missing = not server.execute("select 1 from pg_database where datname = %s", (db.dbname,)).fetchone()
    if missing:
        with _advisory_lock(db.server_admin_url()):
            _create_database(db)
    with _advisory_lock(db.admin_url):
        yield


@contextmanager
def _advisory_lock(url: str) -> Iterator[None]:
    with connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))


class MigrationError(RuntimeError):
    """A migration or SQL file failed; the message names the file and the database's reason."""
