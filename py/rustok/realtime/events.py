"""An outbox event as the relay reads it, and the shapes clients see.

Its cursor (rustok.events.outbox: `(commit_seq, position)`, written `<commit_seq>.<position>`) is the SSE event
id a client sends back as Last-Event-ID, and the GraphQL Event's `cursor`. Each event renders its SSE frame
once, however many subscribers receive it; `data` is kept as the JSON text PostgreSQL produced and embedded as
is."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import orjson

from rustok.errors import ValidationFailed
from rustok.events.outbox import Cursor
from rustok.ids import to_ulid
from rustok.types import JsonObject, Row

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


class Event:
    """One committed outbox event."""

    __slots__ = ("_frame", "actor_id", "cursor", "data_json", "id", "occurred_at", "tenant_id", "type")

    def __init__(
        self,
        cursor: Cursor,
        id: uuid.UUID,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        type: str,
        data_json: str,
        occurred_at: datetime,
    ) -> None:
        self.cursor = cursor
        self.id = id
        self.tenant_id = tenant_id
        self.actor_id = actor_id
        self.type = type
        self.data_json = data_json
        self.occurred_at = occurred_at
        self._frame: bytes | None = None

    @classmethod
    def from_row(cls, row: Row) -> Event:
        """From a row of rustok.events.outbox.COLUMNS."""
        return cls(
            Cursor.from_row(row),
            row["id"],
            row["tenant_id"],
            row["actor_id"],
            row["type"],
            row["data"],
            row["occurred_at"],
        )

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
        if self._frame is None:
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
