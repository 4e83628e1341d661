"""The Subscription.events resolver: a source stream of the tenant's events, fed by the relay.

`events_field(realtime)` is the field; its `subscribe(root, info, types=None, after=None)` is a coroutine
that authorises first (so a refusal is the subscription's error, before any event) and then returns the
stream: each item is the GraphQL `Event` ({id, cursor, type, tenantId, actorId, data, occurredAt}), which
the field resolves to as is. `after` (a cursor) resumes like SSE's Last-Event-ID.

It reads the request context from `info.context["ctx"]` (or `info.context["request"].ctx`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import GraphQLResolveInfo

from rustok.api.context import RequestContext
from rustok.events.outbox import parse_cursor
from rustok.graphql.schema import Subscriber
from rustok.realtime.events import parse_types
from rustok.realtime.hub import Realtime
from rustok.realtime.streams import EventStream
from rustok.types import JsonObject


def events_field(realtime: Realtime) -> Subscriber:
    async def subscribe_events(
        root: object, info: GraphQLResolveInfo[Any], types: list[str] | None = None, after: str | None = None
    ) -> AsyncIterator[JsonObject]:
        """Raises UNAUTHENTICATED, FORBIDDEN (no events.read), TENANT_REQUIRED, VALIDATION_FAILED (types),
        BAD_REQUEST (after)."""
        context = info.context
        ctx = context.get("ctx") or context["request"].ctx
        assert isinstance(ctx, RequestContext)
        cursor = parse_cursor(after, "after") if after else None
        stream = EventStream(realtime, ctx, cursor, parse_types(types))
        await stream.open()
        return _events(stream)

    return Subscriber(subscribe_events)


async def _events(stream: EventStream) -> AsyncIterator[JsonObject]:
    try:
        async for event in stream:
            yield event.graphql()
    finally:
        stream.close()
