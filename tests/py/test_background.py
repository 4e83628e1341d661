"""rustok/background.py, the supervision of `rustok serve`'s background work: a part that crashes (raises, or
ends while serve still runs) is logged with its reason and started again after a delay that doubles up to a
ceiling; the crash stays in its thread (the caller and the other parts go on); stopping ends it promptly, a
pending restart included. The real serve is in test_serve_background.py."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import pytest

from rustok.background import Background
from rustok.supervisor import Backoff

BACKOFF = Backoff(first=0.3, ceiling=0.6, stable_after=60.0)


class Flaky:
    """Fails `failures` times (raising, or with `ends` returning at once), then works until stopped."""

    def __init__(self, name: str, failures: int, ends: bool = False) -> None:
        self.name = name
        self.failures = failures
        self.ends = ends
        self.starts: list[float] = []
        self.stopped = threading.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self.starts.append(time.monotonic())
        if len(self.starts) <= self.failures:
            if self.ends:
                return
            raise RuntimeError(f"{self.name} broke")
        await stop.wait()
        self.stopped.set()


def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_crashing_part_is_restarted_with_growing_delays_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rustok.background")
    crashing, steady = Flaky("crashing", failures=3), Flaky("steady", failures=0)
    background = Background([crashing, steady], BACKOFF).start()
    try:
        wait_for(lambda: len(crashing.starts) == 4)
        assert len(crashing.starts) == 4 and len(steady.starts) == 1, "the other part was never disturbed"
        gaps = [later - earlier for earlier, later in zip(crashing.starts, crashing.starts[1:], strict=False)]
        assert gaps[0] < 0.25, "the first restart is at once"
        assert 0.3 <= gaps[1] < 2.0 and 0.6 <= gaps[2] < 2.5, f"then doubling, up to the ceiling: {gaps}"
        assert background.restarts == {"crashing": 3, "steady": 0}
    finally:
        began = time.monotonic()
        background.stop(timeout=5)
        assert time.monotonic() - began < 2.0
    assert steady.stopped.is_set() and crashing.stopped.is_set(), "both parts saw the stop"
    crashes = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage().split(";")[0] for r in crashes] == [
        "background crashing stopped (RuntimeError: crashing broke)"
    ] * 3
    assert all(r.exc_info for r in crashes), "with the traceback of what broke"


def test_a_part_that_ends_by_itself_is_started_again(caplog: pytest.LogCaptureFixture) -> None:
    ending = Flaky("ending", failures=1, ends=True)
    background = Background([ending], BACKOFF).start()
    try:
        wait_for(lambda: len(ending.starts) == 2)
        assert len(ending.starts) == 2
    finally:
        background.stop(timeout=5)
    assert any("background ending stopped (it ended by itself)" in r.getMessage() for r in caplog.records)


def test_stopping_drops_a_pending_restart() -> None:
    slow = Background([Flaky("slow", failures=99)], Backoff(first=30.0, ceiling=30.0)).start()
    part = slow.parts[0]
    assert isinstance(part, Flaky)
    wait_for(lambda: len(part.starts) == 2)  # crashed twice: now waiting 30 s for the third try
    began = time.monotonic()
    slow.stop(timeout=5)
    assert time.monotonic() - began < 2.0 and len(part.starts) == 2
