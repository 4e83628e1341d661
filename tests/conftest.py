"""Test harness: one embedded PostgreSQL per checkout (kept running between runs, no fsync), one template
database migrated once per run, and a fresh clone of it for every test file — pgTAP files (tests/sql) and
pytest modules (tests/py) alike. `scripts/test` runs the files on several pytest-xdist workers: they share the
cluster and the template (made by the first worker to need it, under a file lock), and each clone's name says
which worker made it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pytest_pgtap.pgtap import Runner
from xdist.scheduler import LoadFileScheduling

from rustok.config import REPO_ROOT
from rustok.db import Database
from rustok.embedded import SHARE_DIR, Cluster, pid_exists
from rustok.events.watchdog import SessionWatchdog
from rustok.migrate import migrate
from rustok.modules import installed_registry

TEST_CLUSTER_DIR = REPO_ROOT / ".tmp" / "pg"
CLUSTER_LOCK = REPO_ROOT / ".tmp" / "pg.lock"  # held while one process starts the cluster or makes the template
TEST_APP_PASSWORD = "rustok-test-app-password"  # a throwaway cluster under .tmp, reachable only by its socket
TEST_ANALYTICS_PASSWORD = "rustok-test-analytics-password"
# The names of this run's databases: r<pid of the run's main process>, which pytest-xdist's workers inherit, so
# they share one template; concurrent runs on one cluster stay apart, and a dead run's databases are dropped.
RUN = os.environ.setdefault("RUSTOK_TEST_RUN", f"r{os.getpid()}")
MAIN_PROCESS = "PYTEST_XDIST_WORKER" not in os.environ
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
TEMPLATE = f"{RUN}_template"
TEMP_ROOT = Path(tempfile.gettempdir())  # each run's tmp_path directories: rustok-r<pid>, short enough
# for a data directory's socket path (108 bytes) below them, which a checkout's own .tmp may not be
PGTAP_SOURCE = Path("/usr/share/postgresql/15/extension")


def pytest_configure(config: pytest.Config) -> None:
    """tmp_path in a directory of this run's own: pytest's default, /tmp/pytest-of-<user>, is shared by every
    run of that user on the machine, and each run's start narrows it to 0700, which clears the ACL that lets the
    embedded server's system user reach a data directory below it (an initdb failed so mid-run)."""
    if MAIN_PROCESS and not config.option.basetemp:  # xdist gives each worker a directory below the main one's
        for old in TEMP_ROOT.glob("rustok-r*"):
            pid = old.name.removeprefix("rustok-r")
            if pid.isdigit() and not pid_exists(int(pid)):
                shutil.rmtree(old, ignore_errors=True)  # a finished run's
        config.option.basetemp = str(TEMP_ROOT / f"rustok-{RUN}")


# Files that change or depend on what is cluster-wide in the shared test cluster — role settings, role grants,
# connection limits — which another worker's migrate (as a superuser) would change under them: one unit.
CLUSTER_ROLE_FILES = frozenset(
    f"tests/py/{name}.py"
    for name in (
        "test_analytics_databases",
        "test_analytics_role",
        "test_analytics_watchdog",
        "test_client_connections",
        "test_commit_order_at_commit",
        "test_migrate",
        "test_migrate_not_superuser",
    )
)


def scope_of(nodeid: str) -> str:
    """What one worker runs whole: a test file, all of tests/e2e (its browser and server are package-scoped), or
    all files that touch the cluster's roles (CLUSTER_ROLE_FILES)."""
    if nodeid.startswith("tests/e2e/"):
        return "tests/e2e"
    path = nodeid.split("::", 1)[0]
    return "cluster roles" if path in CLUSTER_ROLE_FILES else path


class _FileScheduling(LoadFileScheduling):
    """`--dist loadfile` with tests/e2e as one unit, handed out in collection order (slow units first)."""

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    if config.getoption("dist") != "loadfile":
        return None
    config.option.loadscopereorder = False  # xdist would put the units with most tests first
    return _FileScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Units that hold a `slow` test run first, so no worker is left alone with a long one at the end."""
    slow = {scope_of(item.nodeid) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: scope_of(item.nodeid) not in slow)  # stable: each file stays in one piece


@pytest.fixture(autouse=True)
def _session_watchdog_only_where_tested(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session watchdog acts on every analyst session of the cluster, and the cluster is shared by the
    run's workers: a `Worker` in another file (handlers, index, webhooks) would end the analyst sessions the
    CLUSTER_ROLE_FILES are asserting about. Only those files run its rounds in this process."""
    if scope_of(request.node.nodeid) == "cluster roles":
        return

    async def no_round(self: SessionWatchdog) -> list[dict[str, Any]]:
        return []

    monkeypatch.setattr(SessionWatchdog, "enforce", no_round)


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


@contextlib.contextmanager
def _cluster_lock() -> Iterator[None]:
    """Across processes: pytest-xdist's workers, and other runs in this checkout."""
    CLUSTER_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with CLUSTER_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _test_cluster() -> Cluster:
    return Cluster(TEST_CLUSTER_DIR, fast_unsafe=True)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    """Kept running between local runs (the next one starts in milliseconds); stopped after a CI run by the
    run's main process (pytest_sessionfinish), so no server outlives its checkout."""
    cluster = _test_cluster()
    with _cluster_lock():
        _install_pgtap()
        if cluster.missing_settings():  # started by an older checkout: start it again with today's settings
            cluster.stop()
        cluster.ensure_running()
    return cluster


@pytest.fixture(scope="session")
def template_db(cluster: Cluster) -> Database:
    """The migrated template every test database is cloned from: made once per run by the first process that
    needs it; dropped by the run's main process at the end."""
    password = TEST_APP_PASSWORD  # the role is cluster-wide: concurrent runs must agree on its password
    db = Database(
        admin_url=cluster.superuser_url(TEMPLATE),
        app_url=cluster.role_url("rustok_app", password, TEMPLATE),
        app_password=password,
        cluster=cluster,
        analytics_password=TEST_ANALYTICS_PASSWORD,  # cluster-wide too
    )
    with _cluster_lock():
        if not _database_exists(db, TEMPLATE):  # made whole under the lock, or dropped again below
            _drop_leftovers(db)
            try:
                _make_template(db)
            except BaseException:
                drop_database(db, TEMPLATE)
                raise
    return db


def _make_template(db: Database) -> None:
    migrate(db, installed_registry())
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("create schema tap")
        conn.execute("create extension pgtap schema tap")
        for support in sorted((Path(__file__).parent / "sql" / "support").glob("*.sql")):
            conn.execute(support.read_text())  # shared pgTAP set-up (schema test_support)


def _database_exists(db: Database, name: str) -> bool:
    with psycopg.connect(db.server_admin_url(), autocommit=True) as conn:
        return conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is not None


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session: pytest.Session) -> None:
    """In the run's main process only (not in an xdist worker): drop this run's databases, say how much CPU the
    cluster has used (pytest's own CPU shows in `time`, the server's does not), and with CI set stop it."""
    if not MAIN_PROCESS:
        return
    cluster = _test_cluster()
    lock = cluster.lock_file()
    if not cluster.is_running() or lock is None or lock.pid is None:
        return
    with psycopg.connect(cluster.superuser_url(), autocommit=True) as conn:
        names = [r[0] for r in conn.execute("select datname from pg_database where datname like %s", (f"{RUN}_%",))]
        for name in names:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        seconds = _cpu_seconds(lock.pid)
        reporter.write_line(f"embedded PostgreSQL ({TEST_CLUSTER_DIR}): {seconds:.1f} s of CPU since it started")
    if os.environ.get("CI"):
        cluster.stop()


def _cpu_seconds(postmaster: int) -> float:
    """User + system time of the postmaster, its ended backends (reaped: cutime, cstime) and its live ones."""
    tick = os.sysconf("SC_CLK_TCK")

    def times(pid: int, fields: slice) -> int:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(n) for n in stat[fields])  # after "(comm)": utime is the 12th field, then stime, cutime, cstime

    try:
        total = times(postmaster, slice(11, 15))
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    except OSError:
        return 0.0
    for child in children:
        with contextlib.suppress(OSError):
            total += times(int(child), slice(11, 13))
    return total / tick


_counter = iter(range(1, 1_000_000))


def clone_database(template_db: Database, label: str) -> Database:
    name = f"{RUN}_{WORKER}_{next(_counter)}_{re.sub(r'[^a-z0-9]+', '_', label.lower())}"[:60]
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
        if not pid_exists(int(name[1 : name.index("_")])):
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
