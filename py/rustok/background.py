"""What `rustok serve` runs beside the API unless told not to (`--no-background`): the durable event handlers
(events/worker.py: webhooks, module hooks, modules' listeners, and the session watchdog) and the index queue
drainer (modules/index/indexer.py), so that one `rustok serve` is the whole platform.

- **Once per serve, whatever --workers.** One daemon thread of the `rustok serve` process itself, with its own
  event loop and connections (with --workers N the parent, which also supervises the embedded server; uvicorn's
  workers never run it). More copies are safe but idle: each handler is held by one session at a time (its
  advisory lock: a second serve or a `rustok worker` stands by and takes over when the holder goes), and the
  index queue is shared by FOR UPDATE SKIP LOCKED.
- **A crash never reaches the API.** Each part (worker, indexer) that raises, or ends while serve still runs,
  is logged with the reason and started again after a delay that doubles from `Backoff.first` to
  `Backoff.ceiling` (back to at once after `Backoff.stable_after` seconds up). Database outages are waited
  out inside each part, as the standalone commands do.
- **The indexer needs an operator.** It drains every tenant's queue, so it runs only when the owner/superuser
  URL is one (embedded: always); otherwise it says once that `rustok indexer` must run with such a URL.
- **Stopping serve stops it**: handlers finish the event in hand (10 s at most), the indexer its batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from rustok.config import Settings
from rustok.db import Database, DatabaseUnavailable, connect
from rustok.events.worker import Worker
from rustok.modules import ModuleRegistry
from rustok.platform import available_handlers
from rustok.supervisor import Backoff

log = logging.getLogger("rustok.background")


class Part(Protocol):
    name: str

    async def run(self, stop: asyncio.Event) -> None:
        """Works until `stop` is set; raising (or returning before) counts as a crash."""


class WorkerPart:
    """The durable handlers and the session watchdog, as `rustok worker` runs them (fresh handlers each run)."""

    name = "worker"

    def __init__(self, db: Database, registry: ModuleRegistry, settings: Settings) -> None:
        self.db = db
        self.registry = registry
        self.settings = settings
        available_handlers(registry)  # a module's listener that is not an EventHandler fails serve at start

    async def run(self, stop: asyncio.Event) -> None:
        await Worker(self.db.app_url, self.settings, available_handlers(self.registry)).run(stop)


class IndexerPart:
    """One indexer thread over every tenant's queue, each tenant's IndexConfig batchSize."""

    name = "indexer"

    def __init__(self, admin_url: str, poll: float = 1.0) -> None:
        self.admin_url = admin_url
        self.poll = poll
        self._said_not_operator = False

    async def run(self, stop: asyncio.Event) -> None:
        from rustok.modules.index.indexer import Indexer

        if not await asyncio.to_thread(self._is_operator):
            await stop.wait()
            return
        indexer = Indexer(lambda: connect(self.admin_url), None, poll=self.poll)
        drain = asyncio.ensure_future(asyncio.to_thread(indexer.run))
        halt = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({drain, halt}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            indexer.stop.set()
            halt.cancel()
        await drain  # its exception, if it raised

    def _is_operator(self) -> bool:
        with connect(self.admin_url) as conn:
            row = conn.execute("select rustok.is_operator() as operator").fetchone()
        if row and row["operator"]:
            return True
        if not self._said_not_operator:
            log.warning(
                "the index queue is not drained by this rustok serve: its database URL is not an owner or"
                " superuser one (DATABASE_URL); run `rustok indexer` with such a URL"
            )
            self._said_not_operator = True
        return False


class Background:
    """The parts in one daemon thread; `start()`, then `stop()`."""

    def __init__(self, parts: Sequence[Part], backoff: Backoff | None = None) -> None:
        self.parts = list(parts)
        self.backoff = backoff or Backoff(first=1.0, ceiling=30.0, stable_after=60.0)
        self.restarts = {part.name: 0 for part in self.parts}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="rustok-background", daemon=True)

    def start(self) -> Background:
        self._thread.start()
        self._ready.wait()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("background work did not stop within %.0f s; leaving it to the process's exit", timeout)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        finally:
            self._ready.set()  # should the loop never have started

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        log.info("background work in this process: %s", ", ".join(part.name for part in self.parts))
        await asyncio.gather(*(self._supervise(part, self._stop) for part in self.parts))

    async def _supervise(self, part: Part, stop: asyncio.Event) -> None:
        attempt = 0  # restarts since the part last ran for `stable_after` seconds
        while not stop.is_set():
            began = time.monotonic()
            trace: BaseException | None = None  # a traceback in the log, for what is not an outage
            try:
                await part.run(stop)
                if stop.is_set():
                    return
                reason = "it ended by itself"
            except (DatabaseUnavailable, OSError) as exc:  # the database unreachable as it started
                reason = f"{type(exc).__name__}: {exc}"
            except Exception as exc:
                reason, trace = f"{type(exc).__name__}: {exc}", exc
            if time.monotonic() - began >= self.backoff.stable_after:
                attempt = 0
            delay = self.backoff.delay(attempt)
            attempt += 1
            self.restarts[part.name] += 1
            log.error(
                "background %s stopped (%s); starting it again in %.0f s (restart %d)",
                part.name,
                reason,
                delay,
                self.restarts[part.name],
                exc_info=trace,
                extra={"part": part.name, "restarts": self.restarts[part.name], "next_try_seconds": delay},
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)


def for_serve(db: Database, registry: ModuleRegistry, settings: Settings) -> Background:
    """The background work of `rustok serve`: the worker, and the indexer when the index module is installed."""
    parts: list[Part] = [WorkerPart(db, registry, settings)]
    if "index" in {module.slug for module in registry.ordered()}:
        parts.append(IndexerPart(db.admin_url))
    return Background(parts)
