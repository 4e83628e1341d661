"""Webhook signatures: `X-RusToK-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.

A receiver recomputes the HMAC over the timestamp, a dot and the raw body with the webhook's secret, compares
in constant time, and refuses timestamps too far from its clock (replays). `verify` does exactly that."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-RusToK-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for this body at this time."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, tolerance: float = 300, now: float | None = None) -> bool:
    """True when the header signs this body with this secret, dated within `tolerance` seconds of now."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))
