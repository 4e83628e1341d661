"""Ids: ULIDs stored as uuid, made here or by rustok.gen_id() in SQL, shown to clients as 26-character text."""

from __future__ import annotations

import re
import uuid

from ulid import ULID

from rustok.errors import InvalidId

ULID_PATTERN = r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$"  # a ULID's text (its first character fits 48 bits of time)
_ULID_TEXT = re.compile(ULID_PATTERN)
_UUID_TEXT = re.compile(r"^[0-9A-F]{8}-?[0-9A-F]{4}-?[0-9A-F]{4}-?[0-9A-F]{4}-?[0-9A-F]{12}$")


def new_id() -> uuid.UUID:
    """A new id: millisecond time then 80 random bits, ordered with ids made in SQL."""
    return ULID().to_uuid()


def to_ulid(value: uuid.UUID) -> str:
    """The 26-character form the API shows."""
    return str(ULID.from_uuid(value))


def parse_id(text: str) -> uuid.UUID:
    """ULID (any case) or UUID text to uuid; anything else raises InvalidId (code INVALID_ID)."""
    candidate = text.strip().upper() if isinstance(text, str) else ""
    if _ULID_TEXT.match(candidate):
        return ULID.from_str(candidate).to_uuid()
    if _UUID_TEXT.match(candidate):
        return uuid.UUID(candidate)
    raise InvalidId("not a ULID or UUID", {"value": str(text)[:64]})
