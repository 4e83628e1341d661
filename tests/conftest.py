"""Test harness: one embedded PostgreSQL per checkout (kept running between runs, no fsync), one template
database migrated once per session, and a fresh clone of it for every test file — pgTAP files (tests/sql)
and pytest modules (tests/py) alike."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pytest_pgtap.pgtap import Runner

from rustok.config import REPO_ROOT
from rustok.db import Database
from rustok.embedded import SHARE_DIR, Cluster, pid_exists
from rustok.migrate import migrate
from rustok.modules import installed_registry

TEST_CLUSTER_DIR = REPO_ROOT / ".tmp" / "pg"
TEST_APP_PASSWORD = "rustok-test-app-password"  # a throwaway cluster under .tmp, reachable only by its socket
TEST_ANALYTICS_PASSWORD = "rustok-test-analytics-password"
RUN = f"r{os.getpid()}"  # names of this run's databases: concurrent runs on one cluster stay apart
TEMPLATE = f"{RUN}_template"
PGTAP_SOURCE = Path("/usr/share/postgresql/15/extension")


def _install_pgtap() -> None:
    """pgTAP is plain SQL from Debian's postgresql-15-pgtap; the embedded server finds it once copied."""
    target = SHARE_DIR / "extension"
    if (target / "pgtap.control").exists():
        return
    sources = sorted(PGTAP_SOURCE.glob("pgtap*"))
    if not sources:
        pytest.exit("pgTAP is missing: install Debian's postgresql-15-pgtap (scripts/test does)", returncode=3)
    for source in sources:
        shutil.copy(source, target / source.name)


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Settings read during tests never touch the developer's RUSTOK_HOME or an outside DATABASE_URL."""
    patch = pytest.MonkeyPatch()
    patch.setenv("RUSTOK_HOME", str(tmp_path_factory.mktemp("rustok-home")))
    for name in ("DATABASE_URL", "RUSTOK_APP_DATABASE_URL", "RUSTOK_APP_PASSWORD", "RUSTOK_MODULES"):
        patch.delenv(name, raising=False)
    yield
    patch.undo()


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """Kept running between local runs (the next one starts in milliseconds); stopped after a CI run, so no
    server outlives its checkout."""
    _install_pgtap()
    cluster = Cluster(TEST_CLUSTER_DIR, fast_unsafe=True)
    if cluster.missing_settings():  # started by an older checkout: start it again with today's settings
        cluster.stop()
    cluster.ensure_running()
    yield cluster
    if os.environ.get("CI"):
        cluster.stop()


@pytest.fixture(scope="session")
def template_db(cluster: Cluster) -> Iterator[Database]:
    """The migrated template every test database is cloned from (rebuilt each session)."""
    password = TEST_APP_PASSWORD  # the role is cluster-wide: concurrent runs must agree on its password
    db = Database(
        admin_url=cluster.superuser_url(TEMPLATE),
        app_url=cluster.role_url("rustok_app", password, TEMPLATE),
        app_password=password,
        cluster=cluster,
        analytics_password=TEST_ANALYTICS_PASSWORD,  # cluster-wide too
    )
    _drop_leftovers(db)
    migrate(db, installed_registry())
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("create schema tap")
        conn.execute("create extension pgtap schema tap")
        for support in sorted((Path(__file__).parent / "sql" / "support").glob("*.sql")):
            conn.execute(support.read_text())  # shared pgTAP set-up (schema test_support)
    yield db
    drop_database(db, TEMPLATE)


_counter = iter(range(1, 1_000_000))


def clone_database(template_db: Database, label: str) -> Database:
    name = f"{RUN}_{next(_counter)}_{re.sub(r'[^a-z0-9]+', '_', label.lower())}"[:60]
    drop_database(template_db, name)
    with psycopg.connect(template_db.server_admin_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("create database {} template {} strategy file_copy").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)
            )
        )
    return template_db.with_dbname(name)


def _drop_leftovers(db: Database) -> None:
    """Databases of earlier runs whose process is gone (a crashed or interrupted run leaves them)."""
    with psycopg.connect(db.server_admin_url(), autocommit=True) as conn:
        names = [r[0] for r in conn.execute("select datname from pg_database where datname ~ '^r[0-9]+_'")]
    for name in names:
        pid = int(name[1 : name.index("_")])
        if pid == os.getpid() or not pid_exists(pid):
            drop_database(db, name)


def restore_client_roles(template_db: Database) -> None:
    """Gives the client roles the settings of a freshly migrated database again: role settings are the
    cluster's, so a test that migrates with other limits (or changes the roles) puts them back after it."""
    with psycopg.connect(template_db.admin_url, autocommit=True) as su:
        su.execute("select rustok._secure_client_roles()")


def drop_database(db: Database, name: str) -> None:
    with psycopg.connect(db.server_admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def db(template_db: Database, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A fresh database for this test module, cloned from the migrated template."""
    clone = clone_database(template_db, Path(str(request.node.path)).stem)
    yield clone
    drop_database(template_db, clone.dbname)


@pytest.fixture
def env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Database:
    """The `rustok` command (rustok.cli.main) pointed at this module's database, with its own RUSTOK_HOME."""
    monkeypatch.setenv("DATABASE_URL", db.admin_url)
    monkeypatch.setenv("RUSTOK_APP_PASSWORD", db.app_password)
    monkeypatch.setenv("RUSTOK_HOME", str(tmp_path))
    monkeypatch.delenv("RUSTOK_APP_DATABASE_URL", raising=False)
    return db


@pytest.fixture
def _pgtap_runner(template_db: Database, request: pytest.FixtureRequest) -> Iterator[Runner]:
    """pytest-pgtap's runner, on a fresh clone per SQL file, as superuser with pgTAP on the search path."""
    clone = clone_database(template_db, Path(str(request.node.path)).stem)
    conn: psycopg.Connection[Any] = psycopg.connect(clone.admin_url, options="-c search_path=public,tap")
    try:
        yield Runner(conn)
    finally:
        conn.close()
        drop_database(template_db, clone.dbname)
