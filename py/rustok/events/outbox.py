"""The outbox's read side, shared by every reader (the realtime relay and streams, durable consumers, metrics):
the cursor they keep, the one row type they get, and the SQL they read with.

Events are delivered in commit order (docs/architecture.md, Events). A cursor is `(commit_seq, position)`:
the number the event's transaction drew as it committed, then the event's position within the outbox. Its
text form `<commit_seq>.<position>` is the SSE event id a client sends back as Last-Event-ID and the GraphQL
Event's `cursor`; durable consumers keep it in `event_consumers`.

Every reader gets OutboxEvent rows (or a subclass that adds its own view: realtime.events.Event renders the
client shapes, events.handlers.EventEnvelope the manifest's DomainEvent) from `read_after`; the streams'
tenant-scoped catch-up reads the same COLUMNS through READ_TENANT. The wake-up that tells readers to read is
events/wakeup.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, LiteralString, NamedTuple, Self, TypeVar

import orjson
import psycopg
from psycopg.rows import dict_row

from rustok.errors import BadRequest


class Cursor(NamedTuple):
    commit_seq: int
    position: int

    def text(self) -> str:
        return f"{self.commit_seq}.{self.position}"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Cursor:
        """From a row with `commit_seq` and `position` (COLUMNS, the head, a consumer's position)."""
        return cls(int(row["commit_seq"]), int(row["position"]))


ORIGIN = Cursor(0, 0)  # before every event


@dataclass(slots=True, eq=False, repr=False)
class OutboxEvent:
    """One committed outbox event. `data_json` is the JSON text PostgreSQL produced (relayed as is); `data`
    parses it once, for readers that look inside."""

    cursor: Cursor
    id: uuid.UUID
    tenant_id: uuid.UUID
    actor_id: uuid.UUID | None
    type: str
    data_json: str
    occurred_at: datetime
    _data: Mapping[str, Any] = field(init=False)  # `data`, once parsed

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        """From a row of COLUMNS."""
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
    def data(self) -> Mapping[str, Any]:
        try:
            parsed: Mapping[str, Any] = self._data
        except AttributeError:
            parsed = self._data = orjson.loads(self.data_json)
        return parsed

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.cursor.text()} {self.type} tenant={self.tenant_id}>"


E = TypeVar("E", bound=OutboxEvent)

# The columns of rustok.read_events / rustok.read_tenant_events as readers take them (data as JSON text).
COLUMNS: LiteralString = "commit_seq, position, id, tenant_id, actor_id, type, data::text as data, occurred_at"
READ_TENANT: LiteralString = "select " + COLUMNS + " from rustok.read_tenant_events(%s, %s, %s)"
_READ: LiteralString = "select " + COLUMNS + " from rustok.read_events(%s, %s, %s)"
_HEAD: LiteralString = "select commit_seq, position from rustok.event_head()"
_POSITION: LiteralString = (
    "select last_commit_seq as commit_seq, last_position as position from rustok.consumer_position(%s)"
)
_ACK: LiteralString = "select rustok.ack_events(%s, %s, %s)"


async def read_after(conn: psycopg.AsyncConnection[Any], cursor: Cursor, limit: int, kind: type[E]) -> list[E]:
    """Up to `limit` committed events after `cursor`, of every tenant, in commit order, as `kind`."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_READ, (*cursor, limit))
        return [kind.from_row(row) for row in await cur.fetchall()]


async def head(conn: psycopg.AsyncConnection[Any]) -> Cursor:
    """The cursor after every event committed so far (a reader that starts now starts here)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_HEAD)
        row = await cur.fetchone()
    assert row is not None
    return Cursor.from_row(row)


async def consumer_position(conn: psycopg.AsyncConnection[Any], name: str) -> Cursor:
    """Where the durable consumer `name` acknowledged last (ORIGIN for a new one)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_POSITION, (name,))
        row = await cur.fetchone()
    return Cursor.from_row(row) if row else ORIGIN


async def acknowledge(conn: psycopg.AsyncConnection[Any], name: str, cursor: Cursor) -> None:
    """Moves the durable consumer `name` forward to `cursor` (rustok.ack_events never moves it back)."""
    await conn.execute(_ACK, (name, *cursor))


_TEXT = re.compile(r"^([0-9]{1,19})\.([0-9]{1,19})$")
_BIGINT_MAX = 2**63 - 1


def parse_cursor(text: str, field: str = "lastEventId") -> Cursor:
    """`<commit_seq>.<position>` to a cursor; raises BadRequest (details.field) for anything else."""
    match = _TEXT.match(text.strip())
    if match is None or int(match[1]) > _BIGINT_MAX or int(match[2]) > _BIGINT_MAX:
        raise BadRequest("not an event id (expected <commit_seq>.<position>)", {"field": field, "value": text[:64]})
    return Cursor(int(match[1]), int(match[2]))
