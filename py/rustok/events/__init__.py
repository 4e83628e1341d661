"""Durable event handlers (the manifest's EventHandler) and the worker that runs them.

outbox.py    the outbox's read side for every reader: Cursor, OutboxEvent (the one row type), read_after
wakeup.py    the one LISTEN loop (OutboxListener, for the relay and the worker) and the worker's Wakeups
reconnect.py how every reader keeps its connection: one reconnect rule (growing, jittered), pause/until
handlers.py  the contract: DomainEvent, EventEnvelope, EventHandler, RetryPolicy, HandlerContext
consumer.py  one handler's loop: advisory lock, position, retries with backoff, failures recorded
watchdog.py  the session watchdog the worker runs: client roles' sessions held to their limits
worker.py    `rustok worker`: every handler in its own task, until stopped or (--once) drained
"""

from rustok.events.handlers import DomainEvent, EventEnvelope, EventHandler, HandlerContext, RetryPolicy

__all__ = ["DomainEvent", "EventEnvelope", "EventHandler", "HandlerContext", "RetryPolicy"]
