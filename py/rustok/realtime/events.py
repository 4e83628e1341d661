"""An outbox event as the relay and the streams read it, and the shapes clients see.

Its cursor (rustok.events.outbox: `(commit_seq, position)`, written `<commit_seq>.<position>`) is the SSE event
id a client sends back as Last-Event-ID, and the GraphQL Event's `cursor`. Each event renders its SSE frame
once, however many subscribers receive it; `data` is kept as the JSON text PostgreSQL produced and embedded as
is."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC

import orjson

from rustok.errors import ValidationFailed
from rustok.events.outbox import OutboxEvent
from rustok.ids import to_ulid
from rustok.types import JsonObject

MAX_TYPES = 50

_TYPE = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")


def parse_types(values: Iterable[str] | None, field: str = "types") -> frozenset[str] | None:
    """A type filter (None = every type); raises ValidationFailed for a name that is not an event type."""
    if values is None:
        return None
    types = frozenset(v.strip() for v in values if v.strip())
    if len(types) > MAX_TYPES or not all(_TYPE.match(t) for t in types):
        raise ValidationFailed(f"event types are PascalCase names, at most {MAX_TYPES}", {"field": field})
    return types or None


class Event(OutboxEvent):
    """One committed outbox event (events/outbox.py, as the relay and the streams read it) and the shapes
    clients see."""

    __slots__ = ("_frame",)
    _frame: bytes

    @property
    def cursor_text(self) -> str:
        return self.cursor.text()

    def envelope(self) -> JsonObject:
        """{id, type, tenantId, actorId, data, occurredAt}; `data` as an orjson fragment (already JSON)."""
        return {
            "id": to_ulid(self.id),
            "type": self.type,
            "tenantId": to_ulid(self.tenant_id),
            "actorId": to_ulid(self.actor_id) if self.actor_id else None,
            "data": orjson.Fragment(self.data_json),
            "occurredAt": self.occurred_at.astimezone(UTC).isoformat(),
        }

    def sse_frame(self) -> bytes:
        """The Server-Sent Events message: id (the cursor), event (the type), data (the envelope, one line)."""
        try:
            return self._frame
        except AttributeError:
            head = f"id: {self.cursor_text}\nevent: {self.type}\ndata: ".encode()
            self._frame = head + orjson.dumps(self.envelope()) + b"\n\n"
            return self._frame

    def graphql(self) -> JsonObject:
        """The GraphQL `Event` object: {id, cursor, type, tenantId, actorId, data, occurredAt}."""
        return {
            "id": to_ulid(self.id),
            "cursor": self.cursor_text,
            "type": self.type,
            "tenantId": to_ulid(self.tenant_id),
            "actorId": to_ulid(self.actor_id) if self.actor_id else None,
            "data": orjson.loads(self.data_json),
            "occurredAt": self.occurred_at.astimezone(UTC).isoformat(),
        }
