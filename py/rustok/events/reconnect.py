"""How every outbox reader keeps its connection (the relay's and the worker's LISTEN connection, each durable
consumer's own), and how it waits without missing a stop.

- **The rule** (Reconnect): after the n-th failure in a row a reader waits `jittered_backoff(n, first,
  ceiling)`: growing (0.1 s doubling to 5 s by default), its upper half random, so that readers which lost
  the same server do not all come back in the same instant. A connection that stayed up `stable_after`
  seconds counts as recovered: its loss starts the count again.
- **The loop** (keep_connected): connect, run the session until it returns (done) or fails; a database outage
  (psycopg.Error, OSError, Unavailable) is logged as one warning line, anything else with its traceback (a
  bug must not end delivery for good); then the delay, unless stopped. With `once` it raises instead, for
  commands that must report (`rustok worker --once`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg

from rustok.errors import Unavailable

T = TypeVar("T")
Connect = Callable[[], Awaitable[psycopg.AsyncConnection[Any]]]
Session = Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]]

OUTAGES: tuple[type[Exception], ...] = (psycopg.Error, OSError, Unavailable)  # the database, not the code
_RANDOM = random.Random()


def jittered_backoff(
    failed_attempts: int, base_delay: float, max_delay: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter: base_delay · 2^(failed_attempts-1), at most max_delay, of which the
    upper half is random — it still grows, and clients that failed together spread out."""
    ceiling = min(max_delay, base_delay * 2.0 ** max(failed_attempts - 1, 0))
    return ceiling / 2 + (rng or _RANDOM).uniform(0, ceiling / 2)


@dataclass(frozen=True)
class Reconnect:
    first: float = 0.1  # seconds before the first retry (its upper half random)
    ceiling: float = 5.0  # the longest wait
    stable_after: float = 10.0  # a connection up this long was a recovery: its loss counts from 1 again

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after `failures` failures in a row (1, 2, …)."""
        return jittered_backoff(failures, self.first, self.ceiling, rng)


async def keep_connected(
    connect: Connect,
    session: Session,
    stop: asyncio.Event,
    *,
    name: str,
    log: logging.Logger,
    rule: Reconnect,
    once: bool = False,
    rng: random.Random | None = None,
) -> None:
    """Runs `session` on a connection from `connect` until it returns or `stop` is set, reconnecting by `rule`
    after each failure (`once`: raising it)."""
    failures = 0
    while not stop.is_set():
        up_since: float | None = None
        try:
            async with await connect() as conn:
                up_since = time.monotonic()
                await session(conn)
                return
        except OUTAGES as exc:
            if once:
                raise
            failures = _count(failures, up_since, rule)
            delay = rule.delay(failures, rng)
            reason = (str(exc).strip().splitlines() or [""])[0]
            log.warning("%s: %s: %s; reconnecting in %.2f s", name, type(exc).__name__, reason, delay)
        except Exception:
            if once:
                raise
            failures = _count(failures, up_since, rule)
            delay = rule.delay(failures, rng)
            log.exception("%s: unexpected error; reconnecting in %.2f s", name, delay)
        await pause(stop, delay)


def _count(failures: int, up_since: float | None, rule: Reconnect) -> int:
    if up_since is not None and time.monotonic() - up_since >= rule.stable_after:
        return 1
    return failures + 1


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Waits `seconds`, less when `stop` is set meanwhile; False when stopped."""
    if not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await stop.wait()
    return not stop.is_set()


async def until(stop: asyncio.Event, waiting: Awaitable[T], timeout: float | None = None) -> T | None:
    """What `waiting` gives (or raises); None when `stop` is set or `timeout` passes first (it is cancelled)."""
    task = asyncio.ensure_future(waiting)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, stopped), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            task.add_done_callback(_consume)
    return task.result() if task.done() else None


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieves a cancelled wait's outcome, so a failure in its last moment is not reported as unretrieved."""
    if not task.cancelled():
        task.exception()
