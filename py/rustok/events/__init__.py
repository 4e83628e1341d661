"""Durable event handlers (the manifest's EventHandler) and the worker that runs them.

handlers.py  the contract: DomainEvent, EventEnvelope, EventHandler, RetryPolicy, HandlerContext
consumer.py  one handler's loop: advisory lock, position, retries with backoff, failures recorded
wakeup.py    the worker's LISTEN connection
watchdog.py  the session watchdog the worker runs: client roles' sessions held to their limits
worker.py    `rustok worker`: every handler in its own task, until stopped or (--once) drained
"""

from rustok.events.handlers import DomainEvent, EventEnvelope, EventHandler, HandlerContext, RetryPolicy

__all__ = ["DomainEvent", "EventEnvelope", "EventHandler", "HandlerContext", "RetryPolicy"]
