"""Access tokens: short-lived JWTs (HS256 pinned; issuer, audience and expiry checked) carrying the tenant,
the user and the role. Refresh tokens are opaque and live in the database (see sql/functions/core/…auth)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from rustok.errors import Unauthenticated
from rustok.ids import parse_id, to_ulid

ALGORITHM = "HS256"
ISSUER = "rustok"
AUDIENCE = "rustok-api"
_VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class AccessClaims:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    expires_at: int


class TokenIssuer:
    def __init__(self, secret: str, access_ttl: int = 900) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret
        self.access_ttl = access_ttl
        self._verified: dict[str, AccessClaims] = {}

    def issue(self, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": to_ulid(user_id),
            "tid": to_ulid(tenant_id),
            "role": role,
            "iat": issued,
            "exp": issued + self.access_ttl,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> AccessClaims:
        """Claims of a valid token; raises Unauthenticated (code UNAUTHENTICATED) for anything else.
        Verified tokens are remembered until they expire: a client sends the same token many times."""
        known = self._verified.get(token)
        if known is not None and known.expires_at > time.time():
            return known
        claims = self._verify(token)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                audience=AUDIENCE,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "tid", "role"]},
            )
            return AccessClaims(
                tenant_id=parse_id(payload["tid"]),
                user_id=parse_id(payload["sub"]),
                role=str(payload["role"]),
                expires_at=int(payload["exp"]),
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("access token expired", {"reason": "expired"}) from None
        except (jwt.InvalidTokenError, ValueError, KeyError):
            raise Unauthenticated("invalid access token", {"reason": "invalid"}) from None
