"""The Subscription.events resolver: a source stream of the tenant's events, fed by the relay.

`subscribe_events(root, info, types=None, after=None)` is a coroutine that authorises first (so a refusal
is the subscription's error, before any event) and then returns the stream: each item is the `Event`
object itself ({id, cursor, type, tenantId, actorId, data, occurredAt}), which the field resolves to as is.
`after` (a cursor) resumes like SSE's Last-Event-ID, for a schema that offers it.

It reads the request context from `info.context["ctx"]` (or `info.context["request"].ctx`) and the services
from `info.context["services"]`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from rustok.api.context import RequestContext
from rustok.events.outbox import parse_cursor
from rustok.realtime.events import parse_types
from rustok.realtime.hub import realtime_of
from rustok.realtime.streams import EventStream


async def subscribe_events(
    root: Any, info: Any, types: list[str] | None = None, after: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Raises UNAUTHENTICATED, FORBIDDEN (no events.read), TENANT_REQUIRED, VALIDATION_FAILED (types),
    BAD_REQUEST (after)."""
    context = info.context
    ctx = context.get("ctx") or context["request"].ctx
    assert isinstance(ctx, RequestContext)
    cursor = parse_cursor(after, "after") if after else None
    stream = EventStream(realtime_of(context["services"]), ctx, cursor, parse_types(types))
    await stream.open()
    return _events(stream)


async def _events(stream: EventStream) -> AsyncIterator[dict[str, Any]]:
    try:
        async for event in stream:
            yield event.graphql()
    finally:
        stream.close()
