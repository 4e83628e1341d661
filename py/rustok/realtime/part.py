"""Realtime as a platform part: the Subscription.events field (schema.graphql, subscriptions.py), and its
routes — GET /api/events (sse.py) and WS /graphql (ws.py) — with the relay started and stopped with the app."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute

from rustok.modules.contract import Part
from rustok.realtime import sse, ws
from rustok.realtime.hub import Realtime
from rustok.realtime.subscriptions import events_field
from rustok.realtime.ws import Executor

SDL = (Path(__file__).parent / "schema.graphql").read_text()


def part(realtime: Realtime) -> Part:
    return Part("realtime", SDL, {"Subscription.events": events_field(realtime)})


def routes(realtime: Realtime, execute: Executor) -> list[BaseRoute]:
    """GET /api/events and WS /graphql (`execute` runs the socket's operations: the GraphQL pipeline)."""
    services = realtime.services

    async def start() -> None:
        realtime.relay.poll_interval = realtime.config.poll_interval
        realtime.relay.batch_size = realtime.config.relay_batch
        await realtime.relay.start()

    services.on_startup.append(start)
    services.on_shutdown.append(realtime.relay.stop)
    return [*sse.routes(realtime), *ws.routes(realtime, execute)]
