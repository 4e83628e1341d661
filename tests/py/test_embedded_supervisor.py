"""Supervision of the embedded PostgreSQL (rustok/supervisor.py, the crash marks in rustok/embedded.py), on a
cluster of this file's own: a crash (SIGKILL of the postmaster) is told from a shutdown; a crash is restarted
once the dead server's processes have exited (waited for, never killed), `rustok db stop` is left alone and any
other shutdown (a signal, pg_ctl) restarted, each logged as what it was; a data
directory that cannot start is tried again at a capped pace; stopping serve ends a pending restart at once;
one supervisor per RUSTOK_HOME. `rustok serve` doing it under load is in test_crash_safety.py."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, LiteralString

import psycopg
import pytest

from rustok.config import REPO_ROOT
from rustok.embedded import Cluster, ServerState
from rustok.supervisor import Backoff, EmbeddedSupervisor, read_state
from tests.py.realtime_support import free_port

QUICK = 0.05  # the supervisors' interval here: a tenth of a second is plenty to see what they do
BAD_SETTING = "\nmax_connections = 'many'  # written by test_embedded_supervisor\n"


@pytest.fixture(scope="module")
def server() -> Iterator[Cluster]:
    (REPO_ROOT / ".tmp").mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="supervised-", dir=REPO_ROOT / ".tmp"))
    cluster = Cluster(base / "pg", port=free_port(), fast_unsafe=True)
    try:
        cluster.ensure_running()
        yield cluster
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def cluster(server: Cluster) -> Iterator[Cluster]:
    """The module's server, running and with a good configuration at the start of each test."""
    conf = server.data_dir / "postgresql.conf"
    good = conf.read_text().replace(BAD_SETTING, "")
    conf.write_text(good)
    _wait_for("the server to be startable", lambda: server.restart_blocker() is None, 30)
    server.ensure_running()
    yield server
    conf.write_text(good)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """What the supervisor logs (its own handler: another test may have turned off propagation)."""
    kept: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = kept.append  # type: ignore[method-assign]
    logger = logging.getLogger("rustok.supervisor")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield kept
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def supervisors() -> Iterator[Callable[..., EmbeddedSupervisor]]:
    started: list[EmbeddedSupervisor] = []

    def make(cluster: Cluster, home: Path, backoff: Backoff | None = None) -> EmbeddedSupervisor:
        supervisor = EmbeddedSupervisor(cluster, home, interval=QUICK, backoff=backoff).start()
        started.append(supervisor)
        return supervisor

    yield make
    for supervisor in started:
        supervisor.stop()


def _wait_for(what: str, condition: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _crash(cluster: Cluster) -> int:
    """SIGKILL to the postmaster alone, as the OOM killer would; its pid."""
    lock = cluster.lock_file()
    assert lock is not None and lock.pid is not None
    os.kill(lock.pid, signal.SIGKILL)
    _wait_for("the postmaster to die", lambda: cluster.state() is not ServerState.RUNNING, 10)
    return lock.pid


def _messages(records: list[logging.LogRecord], part: str) -> list[logging.LogRecord]:
    return [r for r in records if part in r.getMessage()]


def _break_configuration(cluster: Cluster) -> None:
    conf = cluster.data_dir / "postgresql.conf"
    conf.write_text(conf.read_text() + BAD_SETTING)


def test_backoff_doubles_to_its_ceiling_and_stays_there() -> None:
    assert [Backoff().delay(n) for n in range(8)] == [0, 1, 2, 4, 8, 16, 30, 30]


def test_the_lock_file_tells_a_crash_from_a_shutdown(cluster: Cluster) -> None:
    assert cluster.state() is ServerState.RUNNING and cluster.is_ready()
    _crash(cluster)
    assert cluster.state() is ServerState.CRASHED  # postmaster.pid outlived its postmaster
    assert not cluster.is_ready()
    cluster.ensure_running()  # what `rustok db start` and `rustok serve` do: it starts after a crash too
    assert cluster.state() is ServerState.RUNNING
    for mode in ("fast", "immediate"):  # a shutdown in any mode removes postmaster.pid
        cluster.stop(mode=mode)
        assert cluster.state() is ServerState.STOPPED
        cluster.start()


def test_a_crash_is_restarted_and_a_shutdown_is_left_alone(
    cluster: Cluster, tmp_path: Path, records: list[logging.LogRecord], supervisors: Callable[..., EmbeddedSupervisor]
) -> None:
    supervisor = supervisors(cluster, tmp_path)
    _wait_for("the supervisor", lambda: supervisor.supervising, 5)
    _crash(cluster)
    _wait_for("the restart", lambda: supervisor.restarts == 1 and cluster.is_ready(), 30)
    _wait_for("the published state", lambda: (s := read_state(tmp_path)) is not None and s.up and s.restarts == 1, 5)
    assert len(_messages(records, "died without shutting down")) == 1
    assert len(_messages(records, "restarted after a crash")) == 1

    cluster.stop()  # the operator's `rustok db stop`
    _wait_for("the shutdown to be seen", lambda: (s := read_state(tmp_path)) is not None and not s.up, 5)
    time.sleep(40 * QUICK)
    assert cluster.state() is ServerState.STOPPED and supervisor.restarts == 1, "a shutdown was undone"
    assert len(_messages(records, "stopped by `rustok db stop`")) == 1

    cluster.start()  # the operator's `rustok db start`: supervised again
    _wait_for("the start to be seen", lambda: (s := read_state(tmp_path)) is not None and s.up, 5)
    _crash(cluster)
    _wait_for("the second restart", lambda: supervisor.restarts == 2 and cluster.is_ready(), 30)
    supervisor.stop()
    assert read_state(tmp_path) is None, "a stopped supervisor still publishes"


@pytest.mark.parametrize(
    ("how", "seen"),
    [
        (signal.SIGQUIT, "without its shutdown checkpoint (immediate"),  # what the re-attack sent
        (signal.SIGINT, "cleanly (smart or fast"),
        ("pg_ctl stop", "cleanly (smart or fast"),
    ],
)
def test_a_shutdown_that_was_not_rustok_db_stop_is_restarted_and_said_as_it_was(
    cluster: Cluster,
    tmp_path: Path,
    records: list[logging.LogRecord],
    supervisors: Callable[..., EmbeddedSupervisor],
    how: signal.Signals | str,
    seen: str,
) -> None:
    """Only `rustok db stop` leaves the mark: a signal to the postmaster, or pg_ctl itself, is not an operator's
    stop through rustok, so the server comes back, and the log says what happened instead of guessing."""
    supervisor = supervisors(cluster, tmp_path)
    _wait_for("the supervisor", lambda: supervisor.supervising, 5)
    lock = cluster.lock_file()
    assert lock is not None and lock.pid is not None
    if isinstance(how, str):
        # -W: pg_ctl's own wait would see the supervisor's fresh postmaster.pid and report "does not shut down"
        cluster._run(["pg_ctl", "stop", "-W", "-D", str(cluster.data_dir)])
    else:
        os.kill(lock.pid, how)
    _wait_for("the restart", lambda: supervisor.restarts == 1 and cluster.is_ready(), 30)
    said = _messages(records, "not by `rustok db stop`")
    assert len(said) == 1 and seen in said[0].getMessage(), [r.getMessage() for r in records]
    assert len(_messages(records, "restarted after a shutdown that was not `rustok db stop`")) == 1
    assert not _messages(records, "shut down cleanly (rustok db stop?)")


def test_the_restart_waits_for_processes_of_the_dead_server_and_kills_none(
    cluster: Cluster, tmp_path: Path, records: list[logging.LogRecord], supervisors: Callable[..., EmbeddedSupervisor]
) -> None:
    # a backend busy in a loop does not notice its postmaster's death: it lives on, attached to the old
    # server's shared memory, and PostgreSQL refuses to start until it exits
    busy = psycopg.connect(cluster.superuser_url(), autocommit=True)
    orphan = busy.info.backend_pid
    loop = threading.Thread(target=_ignore_errors(busy, "do $$ begin loop perform 1; end loop; end $$"), daemon=True)
    loop.start()
    supervisor = supervisors(cluster, tmp_path)
    _wait_for("the supervisor", lambda: supervisor.supervising, 5)
    _crash(cluster)
    _wait_for("the wait to be logged", lambda: _messages(records, "still attached"), 10)
    time.sleep(20 * QUICK)
    assert _alive(orphan), "the supervisor killed a process it did not start"
    assert supervisor.restarts == 0 and supervisor.failed_attempts == 0 and cluster.state() is ServerState.CRASHED

    os.kill(orphan, signal.SIGKILL)  # this test started it
    _wait_for("the restart", lambda: supervisor.restarts == 1 and cluster.is_ready(), 30)
    assert supervisor.failed_attempts == 0, "it tried to start before the old processes were gone"
    loop.join(timeout=5)
    busy.close()


def test_an_unstartable_data_directory_is_retried_at_a_capped_pace(
    cluster: Cluster, tmp_path: Path, records: list[logging.LogRecord], supervisors: Callable[..., EmbeddedSupervisor]
) -> None:
    supervisor = supervisors(cluster, tmp_path, Backoff(first=0.05, ceiling=0.2))
    _wait_for("the supervisor", lambda: supervisor.supervising, 5)
    _break_configuration(cluster)
    _crash(cluster)
    _wait_for("failed attempts", lambda: supervisor.failed_attempts >= 6, 60)
    delays = [float(getattr(r, "next_try_seconds", -1)) for r in _messages(records, "restart attempt")]
    assert delays[:3] == [0.05, 0.1, 0.2] and set(delays[3:]) == {0.2}, delays
    assert "ceiling" in _messages(records, "restart attempt")[-1].getMessage()
    state = read_state(tmp_path)
    assert state is not None and not state.up and state.state == "restarting" and state.failed_attempts >= 6

    (cluster.data_dir / "postgresql.conf").write_text(
        (cluster.data_dir / "postgresql.conf").read_text().replace(BAD_SETTING, "")
    )  # the operator fixes it: the next try starts it
    _wait_for("the restart", lambda: supervisor.restarts == 1 and cluster.is_ready(), 30)


def test_stopping_while_a_restart_is_pending_is_prompt(
    cluster: Cluster, tmp_path: Path, supervisors: Callable[..., EmbeddedSupervisor]
) -> None:
    supervisor = supervisors(cluster, tmp_path, Backoff(first=60, ceiling=60))
    _wait_for("the supervisor", lambda: supervisor.supervising, 5)
    _break_configuration(cluster)
    _crash(cluster)
    _wait_for("the first failure", lambda: supervisor.failed_attempts == 1, 30)  # the next try is a minute away
    started = time.monotonic()
    supervisor.stop()
    elapsed = time.monotonic() - started
    assert elapsed < 2, f"stopping took {elapsed:.1f} s with a restart pending"
    assert read_state(tmp_path) is None and not cluster.is_running()


def test_one_supervisor_per_home(
    cluster: Cluster, tmp_path: Path, supervisors: Callable[..., EmbeddedSupervisor]
) -> None:
    first = supervisors(cluster, tmp_path)
    _wait_for("the first supervisor", lambda: first.supervising, 5)
    second = supervisors(cluster, tmp_path)
    time.sleep(10 * QUICK)
    assert not second.supervising, "two supervisors of one data directory"
    _crash(cluster)
    _wait_for("the restart", lambda: first.restarts == 1 and cluster.is_ready(), 30)
    assert second.restarts == 0 and second.failed_attempts == 0
    first.stop()
    _wait_for("the second to take over", lambda: second.supervising, 5)
    _crash(cluster)
    _wait_for("its restart", lambda: second.restarts == 1 and cluster.is_ready(), 30)


def test_lock_files_naming_a_live_pid_are_cleared(cluster: Cluster) -> None:
    """After a crash the dead postmaster's pid can still exist (a zombie init has not reaped yet) or belong
    to another program: PostgreSQL takes that for a running server and refuses to start."""
    socket_lock = cluster.socket_dir / f".s.PGSQL.{cluster.port}.lock"
    left = [path.read_text().splitlines(keepends=True) for path in (cluster.lock_path, socket_lock)]
    _crash(cluster)
    _wait_for("the dead server's processes", lambda: cluster.restart_blocker() is None, 30)
    for path, lines in zip((cluster.lock_path, socket_lock), left, strict=True):
        path.write_text(f"{os.getpid()}\n" + "".join(lines[1:]))  # a pid that exists: this test's
    assert cluster.state() is ServerState.CRASHED
    cluster.ensure_running()
    assert cluster.is_ready()


def _ignore_errors(conn: psycopg.Connection[Any], statement: LiteralString) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(psycopg.Error):  # the server goes away under it, as intended
            conn.execute(statement)

    return run


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
