"""`rustok serve --workers 2`: whichever worker answers a scrape reports what both counted (prometheus-client's
multi-process mode, observability/multiprocess.py); a killed worker's counts stay while its pool stops
counting; the shared directory is made fresh, and removed with serve."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from rustok.db import Database
from rustok.observability import multiprocess
from tests.py.crash_support import Serve
from tests.py.realtime_support import free_port
from tests.py.test_metrics import parse, value

OPERATION = "CountedTwice"
POOL_MAX = 10  # each worker's pool (api/database.Gateway)


def _by_worker(shared: Path, pattern: str, name: str, **labels: str) -> dict[int, float]:
    """One sample's value in each worker's own file (read as the scrape reads them, one file at a time)."""
    found: dict[int, float] = {}
    for path in shared.glob(pattern) if shared.is_dir() else ():
        for family in MultiProcessCollector.merge([str(path)]):  # type: ignore[no-untyped-call]
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    found[int(path.stem.rsplit("_", 1)[1])] = sample.value
    return found


def _counted_by_worker(shared: Path) -> dict[int, float]:
    return _by_worker(shared, "counter_*.db", "rustok_graphql_operations_total", operation=OPERATION)


def _pool_published_by(shared: Path) -> set[int]:
    return set(_by_worker(shared, "gauge_livesum_*.db", "rustok_db_pool_max", pool="pool"))


@pytest.mark.slow
def test_two_workers_add_up_in_one_scrape(db: Database, tmp_path: Path) -> None:
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    stale = tmp_path / "run" / "metrics" / str(pid_max + 1)  # left by a serve that is gone
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"")
    env = {"DATABASE_URL": db.admin_url, "RUSTOK_APP_PASSWORD": db.app_password}
    serve = Serve(tmp_path, free_port(), env, "--no-migrate", "--workers", "2")
    shared = tmp_path / "run" / "metrics" / str(serve.popen.pid)
    try:
        serve.wait_ready(60)
        # each request on a new connection, until both workers have counted some (or a bound is reached)
        sent = 0
        while sent < 400 and len(_counted_by_worker(shared)) < 2:
            for _ in range(20):
                query = {"query": f"query {OPERATION} {{ me {{ id }} }}"}
                assert httpx.post(f"{serve.base}/graphql", json=query).status_code == 200
                sent += 1
        by_worker = _counted_by_worker(shared)
        for _ in range(6):  # any worker may answer: each scrape reports the sum
            samples = parse(serve.metrics())[0]
            ops = value(samples, "rustok_graphql_operations_total", operation=OPERATION, type="query", outcome="ok")
            assert ops == sent, f"one scrape counts all {sent} requests, not one worker's share ({by_worker})"
            count = value(samples, "rustok_graphql_operation_duration_seconds_count", operation=OPERATION, type="query")
            assert count == sent
            assert value(samples, "rustok_db_pool_max", pool="pool") == 2 * POOL_MAX
        assert len(by_worker) == 2 and sum(by_worker.values()) == sent, by_worker
        assert not stale.exists(), "a gone serve's directory was removed when this one started"

        # a worker killed: uvicorn starts another; the dead one's counts stay, its pool no longer counts
        killed = next(iter(by_worker))
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (_pool_published_by(shared) - set(by_worker)):
            time.sleep(0.2)  # until the new worker has published its pool
        assert _pool_published_by(shared) - set(by_worker), "uvicorn started a worker in the killed one's place"
        samples = parse(serve.metrics())[0]
        ops = value(samples, "rustok_graphql_operations_total", operation=OPERATION, type="query", outcome="ok")
        assert ops == sent
        assert value(samples, "rustok_db_pool_max", pool="pool") == 2 * POOL_MAX
        assert killed not in _pool_published_by(shared), "the dead worker's live gauges are removed"
    finally:
        serve.stop()
    assert not shared.exists(), "serve removes its directory when it stops"


def test_one_worker_shares_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(multiprocess.ENV, raising=False)
    assert multiprocess.share_across_workers(tmp_path, 1) is None
    assert multiprocess.ENV not in os.environ and not (tmp_path / "run").exists()
    assert multiprocess.directory() is None


def test_a_directory_named_after_the_library_was_imported_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This test process imported prometheus_client with no directory named: its values live in memory, so
    a worker set up that way would count alone; it fails at start instead."""
    monkeypatch.setenv(multiprocess.ENV, str(tmp_path))
    with pytest.raises(RuntimeError, match=multiprocess.ENV):
        multiprocess.directory()


def test_a_dead_workers_live_gauges_go_and_its_counts_stay(tmp_path: Path) -> None:
    dead, alive = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1, os.getpid()
    names = [f"gauge_livesum_{dead}.db", f"gauge_livemin_{dead}.db", f"counter_{dead}.db", f"histogram_{dead}.db"]
    names += [f"gauge_min_{dead}.db", f"gauge_livesum_{alive}.db", f"counter_{alive}.db"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    multiprocess.forget_dead_workers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
