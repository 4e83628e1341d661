"""The outbox's read side, shared by every reader (the realtime relay and streams, durable consumers, metrics):
the cursor they keep and the SQL they read with.

Events are delivered in commit order (docs/architecture.md, Events). A cursor is `(commit_seq, position)`:
the number the event's transaction drew as it committed, then the event's position within the outbox. Its
text form `<commit_seq>.<position>` is the SSE event id a client sends back as Last-Event-ID and the GraphQL
Event's `cursor`; durable consumers keep it in `event_consumers`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, LiteralString, NamedTuple

from rustok.errors import BadRequest


class Cursor(NamedTuple):
    commit_seq: int
    position: int

    def text(self) -> str:
        return f"{self.commit_seq}.{self.position}"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Cursor:
        """From a row with `commit_seq` and `position` (COLUMNS, HEAD, POSITION)."""
        return cls(int(row["commit_seq"]), int(row["position"]))


ORIGIN = Cursor(0, 0)  # before every event

# The columns of rustok.read_events / rustok.read_tenant_events as readers take them (data as JSON text).
COLUMNS: LiteralString = "commit_seq, position, id, tenant_id, actor_id, type, data::text as data, occurred_at"
READ: LiteralString = "select " + COLUMNS + " from rustok.read_events(%s, %s, %s)"
READ_TENANT: LiteralString = "select " + COLUMNS + " from rustok.read_tenant_events(%s, %s, %s)"
HEAD: LiteralString = "select commit_seq, position from rustok.event_head()"
POSITION: LiteralString = (
    "select last_commit_seq as commit_seq, last_position as position from rustok.consumer_position(%s)"
)
ACK: LiteralString = "select rustok.ack_events(%s, %s, %s)"

_TEXT = re.compile(r"^([0-9]{1,19})\.([0-9]{1,19})$")
_BIGINT_MAX = 2**63 - 1


def parse_cursor(text: str, field: str = "lastEventId") -> Cursor:
    """`<commit_seq>.<position>` to a cursor; raises BadRequest (details.field) for anything else."""
    match = _TEXT.match(text.strip())
    if match is None or int(match[1]) > _BIGINT_MAX or int(match[2]) > _BIGINT_MAX:
        raise BadRequest("not an event id (expected <commit_seq>.<position>)", {"field": field, "value": text[:64]})
    return Cursor(int(match[1]), int(match[2]))
