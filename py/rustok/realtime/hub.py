"""What the realtime routes of one process share: the relay, the services and the tuning knobs. The
composition root (rustok/platform.py) makes one per process; part.py turns it into routes and a resolver."""

from __future__ import annotations

from dataclasses import dataclass

from rustok.api.services import Services
from rustok.realtime.relay import Relay


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
