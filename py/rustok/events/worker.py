"""`rustok worker`: runs the durable handlers it is given — the parts' handlers (rustok/platform.py:
webhooks, module hooks, then every installed module's event_listeners) — and the session watchdog
(watchdog.py).

Each handler is a DurableConsumer in its own task (one slow handler never holds up another); one LISTEN
connection wakes them all, and each also polls. Continuous mode runs until stopped (SIGINT/SIGTERM) and then
lets in-flight work end. `once` reads every handler up to the head of the outbox, lets each handler finish
the work that is due (webhooks: send due deliveries) and returns — for tests and cron.

It runs as `rustok worker` or inside `rustok serve` (rustok/background.py). Its connections are named
`rustok-worker:<pid>` in pg_stat_activity, so an operator sees which process runs the handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from rustok.api.database import Gateway, session_settings
from rustok.config import Settings
from rustok.db import Database, DatabaseUnavailable
from rustok.events.consumer import ConsumerOptions, ConsumerStats, DurableConsumer
from rustok.events.handlers import EventHandler, HandlerContext
from rustok.events.wakeup import Wakeups
from rustok.events.watchdog import SessionWatchdog

log = logging.getLogger("rustok.worker")
APPLICATION_NAME = "rustok-worker"


class WorkerError(RuntimeError):
    """The worker cannot run as asked (an unknown handler name, a listener that is not an EventHandler)."""


@dataclass
class WorkerReport:
    consumers: dict[str, ConsumerStats] = field(default_factory=dict)


def select_handlers(handlers: Sequence[EventHandler], names: Iterable[str] | None) -> list[EventHandler]:
    """The handlers named (all when `names` is None), refusing unknown and duplicate names."""
    by_name: dict[str, EventHandler] = {}
    for handler in handlers:
        if handler.name in by_name:
            raise WorkerError(f"two handlers are named {handler.name!r}; a handler's name must be unique")
        by_name[handler.name] = handler
    if names is None:
        return list(handlers)
    wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    unknown = [n for n in wanted if n not in by_name]
    if unknown or not wanted:
        raise WorkerError(
            f"unknown handler(s): {', '.join(unknown) or '(none named)'}; available: {', '.join(by_name)}"
        )
    return [by_name[n] for n in wanted]


class Worker:
    def __init__(
        self,
        app_url: str,
        settings: Settings,
        handlers: Sequence[EventHandler],
        options: ConsumerOptions | None = None,
        pool_size: int = 8,
        stop_grace: float = 10.0,
        watchdog_interval: float = 1.0,
    ) -> None:
        self.app_url = make_conninfo(app_url, application_name=f"{APPLICATION_NAME}:{os.getpid()}")
        self.settings = settings
        self.handlers = list(select_handlers(handlers, None))
        self.options = options or ConsumerOptions()
        self.pool_size = pool_size
        self.stop_grace = stop_grace  # seconds a stopping worker gives handlers to finish the event in hand
        self.consumers: list[DurableConsumer] = []
        self.watchdog_interval = watchdog_interval  # seconds between rounds of the session watchdog

    async def run(self, stop: asyncio.Event | None = None, once: bool = False) -> WorkerReport:
        """Runs the handlers until `stop` is set, or with `once` until caught up and drained."""
        stop = stop or asyncio.Event()
        await _probe(self.app_url)
        settings = session_settings(self.settings, background=True)
        gateway = Gateway(self.app_url, max_size=self.pool_size, session_settings=settings)
        await gateway.open()
        context = HandlerContext(self.settings, self.app_url, gateway, once=once)
        wakeups = Wakeups(self.app_url, self.options.reconnect)
        self.consumers = [DurableConsumer(h, context, wakeups.subscribe(), self.options) for h in self.handlers]
        watchdog = SessionWatchdog(gateway.pool, self.watchdog_interval)
        started: list[EventHandler] = []
        listener: asyncio.Task[None] | None = None
        try:
            for handler in self.handlers:
                await handler.start(context)
                started.append(handler)
            log.info("running handlers: %s%s", ", ".join(h.name for h in self.handlers), " (once)" if once else "")
            if once:
                await watchdog.enforce()
                await asyncio.gather(*(c.run(stop, once=True) for c in self.consumers))
                for handler in self.handlers:
                    await handler.drain()
            else:
                listener = asyncio.create_task(wakeups.run(stop))
                await self._run_until_stopped(stop, watchdog)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            for handler in reversed(started):
                try:
                    await handler.stop()
                except Exception:
                    log.exception("%s: error while stopping", handler.name)
            await gateway.close()
        return WorkerReport({c.name: c.stats for c in self.consumers})

    async def _run_until_stopped(self, stop: asyncio.Event, watchdog: SessionWatchdog) -> None:
        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(c.run(stop), name=f"consumer:{c.name}") for c in self.consumers
        ]
        tasks.append(asyncio.create_task(watchdog.run(stop), name="session-watchdog"))
        await stop.wait()
        _, pending = await asyncio.wait(tasks, timeout=self.stop_grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _probe(app_url: str) -> None:
    """Connects once, so a wrong URL or password is one clear error instead of a pool's retries."""
    try:
        conn = await psycopg.AsyncConnection.connect(app_url)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "no answer"
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL as the application role: {reason}") from None
    await conn.close()


def run_worker(
    db: Database,
    available: Sequence[EventHandler],
    settings: Settings,
    names: Iterable[str] | None = None,
    once: bool = False,
) -> WorkerReport:
    """The `rustok worker` command's body: runs until SIGINT/SIGTERM (or, `once`, until drained)."""
    handlers = select_handlers(available, names)
    worker = Worker(db.app_url, settings, handlers)
    return asyncio.run(_main(worker, once))


async def _main(worker: Worker, once: bool) -> WorkerReport:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        return await worker.run(stop, once=once)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
