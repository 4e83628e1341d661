"""Realtime events. One relay per process LISTENs for the outbox's wake-up, reads `rustok.read_events` from
its cursor and fans each event out to the subscribers of its tenant: Server-Sent Events (`GET /api/events`,
resumable with Last-Event-ID) and GraphQL subscriptions over graphql-transport-ws (`WS /graphql`).

    events.py         an outbox event, its cursor and the shapes clients see
    relay.py          the LISTEN connection, polling, reconnecting and per-subscriber bounded queues
    streams.py        one subscriber's stream: authorised in SQL, outbox catch-up, then live, no gaps
    hub.py            what the routes share (relay, services, settings): one per process
    sse.py            GET /api/events
    ws.py             the graphql-transport-ws protocol on WS /graphql
    _execution.py     how the socket runs operations with the process's GraphQL executor
    subscriptions.py  the Subscription.events resolver (its SDL: schema.graphql)
    part.py           all of it as a platform part and its routes

docs/realtime.md describes it for clients and operators.
"""

from rustok.realtime._execution import socket_executor
from rustok.realtime.hub import Realtime, RealtimeConfig
from rustok.realtime.part import part, routes

__all__ = ["Realtime", "RealtimeConfig", "part", "routes", "socket_executor"]
