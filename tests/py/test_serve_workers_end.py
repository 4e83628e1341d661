"""`rustok serve --workers 2` killed with SIGKILL: its uvicorn workers end too (rustok/parent_death.py), instead
of answering on the port with no supervisor and no background work while a new serve finds the port taken."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from rustok.db import Database
from tests.py.serve_support import ServeProcess


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found |= {int(child) for child in children}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_workers_end_when_serve_is_killed(db: Database, tmp_path: Path) -> None:
    serve = ServeProcess(db, tmp_path / "home", workers=2)
    workers: set[int] = set()
    try:
        serve.wait_ready(time.monotonic() + 60)
        deadline = time.monotonic() + 30
        while len(workers := _children(serve.popen.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) >= 2, workers
        os.kill(serve.popen.pid, signal.SIGKILL)
        serve.popen.wait()
        deadline = time.monotonic() + 20
        while (left := {w for w in workers if _alive(w)}) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"workers {sorted(left)} outlived their serve"
    finally:
        for worker in workers:  # orphans, when the test fails
            if _alive(worker):
                os.kill(worker, signal.SIGKILL)
        serve.stop()
