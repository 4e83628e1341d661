"""What the realtime routes of one process share: the relay, the services and the tuning knobs.

`routes(services)` builds it once per Services, starts and stops the relay with the app, and returns the
SSE and WebSocket routes; `realtime_of(services)` finds it again (the GraphQL resolver gets only Services)."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from rustok.api.services import Services
from rustok.realtime.relay import Relay

if TYPE_CHECKING:
    from rustok.realtime.ws import Executor


@dataclass
class RealtimeConfig:
    heartbeat: float = 15.0  # seconds between comment lines on an idle SSE stream
    relay_batch: int = 500  # events per relay read; they are offered to subscribers in one go, so...
    queue_limit: int = 2000  # ...a subscriber's queue holds several reads before it is cut off to catch up
    catch_up_batch: int = 500  # events per outbox read while a subscriber catches up
    poll_interval: float = 1.0  # the relay reads at least this often, notification or not
    ready_timeout: float = 5.0  # how long a new stream waits for the relay's first connection
    init_timeout: float = 10.0  # graphql-transport-ws: seconds for connection_init before 4408
    max_operations: int = 100  # graphql-transport-ws: operations running at once on one socket
    max_message_bytes: int = 256 * 1024  # graphql-transport-ws: largest client message


class Realtime:
    def __init__(self, services: Services, config: RealtimeConfig | None = None) -> None:
        self.services = services
        self.config = config or RealtimeConfig()
        # the relay reads every event: tenant events empty the process's tenant caches (api/tenancy.py)
        self.relay = Relay(services.db.app_url, on_event=services.tenants.changes.seen)


_instances: dict[int, Realtime] = {}


def realtime_of(services: Services) -> Realtime:
    """The Realtime of these services, made on first use."""
    found = _instances.get(id(services))
    if found is None or found.services is not services:
        found = Realtime(services)
        _instances[id(services)] = found
        weakref.finalize(services, _instances.pop, id(services), None)
    return found


def routes(services: Services, execute: Executor | None = None) -> list[BaseRoute]:
    """GET /api/events and WS /graphql; the relay starts and stops with the app; the Subscription.events
    resolver is offered to the GraphQL part (so this must run before it builds the schema). `execute`
    runs operations on the socket (default: the GraphQL part's executor, services.graphql)."""
    from rustok.graphql.schema import Subscriber
    from rustok.realtime import sse, ws
    from rustok.realtime.subscriptions import subscribe_events

    realtime = realtime_of(services)
    services.graphql_resolvers["Subscription.events"] = Subscriber(subscribe_events)

    async def start() -> None:
        realtime.relay.poll_interval = realtime.config.poll_interval
        realtime.relay.batch_size = realtime.config.relay_batch
        await realtime.relay.start()

    services.on_startup.append(start)
    services.on_shutdown.append(realtime.relay.stop)
    return [*sse.routes(realtime), *ws.routes(realtime, execute)]
