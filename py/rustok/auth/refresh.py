"""Refresh tokens: `<tenant ULID>.<43 random URL-safe characters>` (256 random bits). The prefix lets the
server find the tenant without a header; the database keeps only the sha256 digest of the whole token."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

from rustok.errors import InvalidId, Unauthenticated
from rustok.ids import parse_id, to_ulid

_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_refresh_token(tenant_id: uuid.UUID) -> tuple[str, bytes]:
    """A fresh token for the tenant and the digest to store."""
    token = f"{to_ulid(tenant_id)}.{secrets.token_urlsafe(32)}"
    return token, digest(token)


def parse_refresh_token(token: str) -> tuple[uuid.UUID, bytes]:
    """The tenant a token names and its digest; raises Unauthenticated (reason "invalid") for a token that
    cannot be one of ours."""
    prefix, _, secret = token.strip().partition(".")
    try:
        tenant_id = parse_id(prefix)
    except InvalidId:
        tenant_id = None
    if tenant_id is None or len(prefix) != 26 or not _SECRET.match(secret):
        raise Unauthenticated("invalid refresh token", {"reason": "invalid"})
    return tenant_id, digest(token.strip())
