"""Events that change who may read a tenant's stream, and whose streams they concern.

A subscription is authorised when it opens; afterwards the relay watches for these events (emitted by triggers
on users and tenants, so a change made in psql counts too). It cuts the concerned subscribers off from live
delivery, and each catches up from the outbox by its own cursor, which authorises again in SQL
(rustok.set_context, rustok.authorize_event_stream): a subscriber still allowed misses nothing, a refused one
ends with the refusal's code."""

from __future__ import annotations

import uuid

import orjson

from rustok.errors import InvalidId
from rustok.ids import parse_id
from rustok.realtime.events import Event

_USER_EVENTS = frozenset({"UserRoleChanged", "UserStatusChanged", "UserDeleted"})  # data.user_id
_TENANT_EVENTS = frozenset({"TenantDeactivated"})

EVERYONE = "everyone"  # every subscriber of the event's tenant


def concerned(event: Event) -> uuid.UUID | str | None:
    """Whose streams of the event's tenant must be authorised again: a user's id, EVERYONE, or None (the
    event changes nothing about access). An access event without a readable user id concerns EVERYONE."""
    if event.type in _TENANT_EVENTS:
        return EVERYONE
    if event.type not in _USER_EVENTS:
        return None
    try:
        data = orjson.loads(event.data_json)
        return parse_id(str(data["user_id"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, InvalidId):
        return EVERYONE
