"""Where the database is and how to reach it: the owner/superuser URL (migrations, operators) and the
application role's URL (everything the API does). The application role is neither superuser, owner nor
BYPASSRLS, so row-level security holds for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from rustok.config import Settings, stored_secret
from rustok.embedded import Cluster, ServerState
from rustok.types import RowConnection

APP_ROLE = "rustok_app"
ANALYTICS_ROLE = "rustok_analytics"  # read-only: SELECT on the index tables, under the same tenant RLS
OWNER_ROLE = "rustok_owner"
CLIENTS_ROLE = "rustok_clients"
DATABASE_NAME = "rustok"


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or set up; the message says what to check."""


@dataclass(frozen=True)
class Database:
    admin_url: str
    app_url: str
    app_password: str
    cluster: Cluster | None = None
    analytics_password: str = ""

    def analytics_url(self) -> str:
        """The analysts' role on the same server and database (`rustok db url --analytics`)."""
        return _with_credentials(self.admin_url, ANALYTICS_ROLE, self.analytics_password)

    @property
    def dbname(self) -> str:
        return urlsplit(self.admin_url).path.lstrip("/") or DATABASE_NAME

    def with_dbname(self, dbname: str) -> Database:
        """The same server, another database (tests clone one per file)."""
        return replace(self, admin_url=_set_dbname(self.admin_url, dbname), app_url=_set_dbname(self.app_url, dbname))

    def server_admin_url(self) -> str:
        """The owner/superuser URL on the maintenance database, for CREATE/DROP DATABASE."""
        return _set_dbname(self.admin_url, "postgres")


def locate(settings: Settings, must_run: bool = True) -> Database:
    """The configured database: DATABASE_URL if set, else the embedded server. Nothing is started here (what
    may start it calls `locate_started` and says so); with `must_run`, an embedded server that is not
    running raises DatabaseUnavailable saying how to start it."""
    password = settings.app_password or stored_secret(settings, "app_password")
    analytics = settings.analytics_password or stored_secret(settings, "analytics_password")
    if settings.database_url:
        admin_url = settings.database_url
        app_url = settings.app_database_url or _with_credentials(admin_url, APP_ROLE, password)
        return Database(admin_url=admin_url, app_url=app_url, app_password=password, analytics_password=analytics)
    cluster = Cluster(settings.pg_data_dir, port=settings.pg_port)
    if must_run and (stopped := not_running(cluster)):
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {stopped}")
    return Database(
        admin_url=cluster.superuser_url(DATABASE_NAME),
        app_url=settings.app_database_url or cluster.role_url(APP_ROLE, password, DATABASE_NAME),
        app_password=password,
        cluster=cluster,
        analytics_password=analytics,
    )


def locate_started(settings: Settings) -> tuple[Database, list[str]]:
    """The configured database, its embedded server started when it is not running (only for what brings the
    platform up: serve, migrate, demo, benchmarks), and what was done, one sentence each, to say."""
    db = locate(settings, must_run=False)
    return db, db.cluster.ensure_running() if db.cluster is not None else []


def not_running(cluster: Cluster) -> str | None:
    """Why the embedded server cannot be reached and how to start it, or None when it runs."""
    state = cluster.state()
    if state is ServerState.RUNNING:
        return None
    if not cluster.is_initialised():
        why = " (it was never started here)"
    elif state is ServerState.CRASHED:
        why = " (it died without shutting down)"
    else:
        why = ""
    return (
        f"the embedded PostgreSQL in {cluster.data_dir} is not running{why}; "
        "start it with `rustok db start` (or `rustok serve`)"
    )


def connect(url: str, **kwargs: Any) -> RowConnection:
    """A connection with dict rows; errors become DatabaseUnavailable with the reason, never a traceback."""
    try:
        return psycopg.connect(url, row_factory=dict_row, **kwargs)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "no answer"
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL ({_redact(url)}): {reason}") from exc


@contextmanager
def tenant_transaction(
    conn: psycopg.Connection[Any], tenant_id: Any, user_id: Any = None, role: str | None = None
) -> Iterator[psycopg.Connection[Any]]:
    """One transaction with the request's context set first (rustok.set_context, transaction-local)."""
    with conn.transaction():
        conn.execute("select rustok.set_context(%s, %s, %s)", (tenant_id, user_id, role))
        yield conn


def _with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


def _set_dbname(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + dbname))


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{host}"))
