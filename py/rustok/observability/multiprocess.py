"""One /metrics for `rustok serve --workers N`: prometheus-client's multi-process mode.

With more than one worker, `rustok serve` (the parent, which never serves a request) makes a fresh directory
`RUSTOK_HOME/run/metrics/<its pid>/` and names it in PROMETHEUS_MULTIPROC_DIR before uvicorn spawns the
workers; each worker then keeps every value in mmap'd files there (`counter_<pid>.db`, `histogram_<pid>.db`,
`gauge_<mode>_<pid>.db`), and the worker that answers a scrape reads them all (metrics.py). Clean-up:
- the directory is removed when serve exits, and any left by a serve that is gone is removed when another
  starts (several serves may share one RUSTOK_HOME: each has its own directory);
- a worker that died (uvicorn starts another in its place) keeps its counts: its counter and histogram files
  stay, so totals never go backwards; its files of live gauges (pool, relay) are removed at the next scrape,
  so they stop counting.
With one worker (serve's default) there is no directory: the values live in memory.
Run under another server (gunicorn, uvicorn by hand) with several workers, set PROMETHEUS_MULTIPROC_DIR to an
empty directory before it starts: the app uses it the same way."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from prometheus_client import values
from prometheus_client.multiprocess import mark_process_dead

from rustok.supervisor import run_dir

ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def directory() -> Path | None:
    """The shared directory of this process's metrics, or None: in memory, for this process alone."""
    named = os.environ.get(ENV)
    if not named:
        return None
    if values.ValueClass is values.MutexValue:  # decided by the library when it was first imported
        raise RuntimeError(f"{ENV} was set after prometheus_client was imported: this process would count alone")
    return Path(named)


class SharedDirectory:
    """The directory that `rustok serve` made for its workers; `close()` removes it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if os.environ.get(ENV) == str(self.path):
            del os.environ[ENV]


def share_across_workers(home: Path, workers: int) -> SharedDirectory | None:
    """For more than one worker: a fresh directory under RUSTOK_HOME/run/metrics, named in the environment
    the workers inherit (in place of any named before); directories of serve processes that are gone are
    removed. For one worker: None (in memory, unless PROMETHEUS_MULTIPROC_DIR was set by hand: the library
    decides when it is first imported, and then that directory is used as it is)."""
    if workers <= 1:
        return None
    parent = run_dir(home) / "metrics"
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in parent.iterdir():
        if old.name.isdigit() and not _alive(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    path = parent / str(os.getpid())
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    os.environ[ENV] = str(path)
    return SharedDirectory(path)


def forget_dead_workers(path: Path) -> None:
    """Removes the live gauges of workers that are gone (their counts stay)."""
    for entry in path.iterdir():
        match = _LIVE_GAUGE_FILE.fullmatch(entry.name)
        if match and not _alive(int(match[1])):
            mark_process_dead(int(match[1]), str(path))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
