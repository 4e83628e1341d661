"""One attempt of one delivery: check the target, POST the signed body, classify the answer.

The body is `{id, type, tenantId, occurredAt, data}` as stored with the delivery (the same bytes on every
attempt). Headers: `X-RusToK-Signature`, `X-RusToK-Event` (the type), `Idempotency-Key` (the delivery id:
one per event and webhook, the same on every attempt), `X-RusToK-Delivery-Attempt`.

Outcomes: a 2xx is `succeeded`. Network errors, timeouts, 408, 429 and 5xx are `retry` after an exponential
backoff with jitter (at least what Retry-After asks for) — or `failed` once the attempts are used up. Any
other status (a redirect included: never followed) and a forbidden target are `failed` at once. The
response body is never read."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx2
import orjson

from rustok.api.numbers import parse_whole_number
from rustok.errors import RusToKError
from rustok.events.reconnect import jittered_backoff
from rustok.ids import to_ulid
from rustok.webhooks import signing
from rustok.webhooks.guard import HostUnresolvable, resolve_target

Outcome = Literal["succeeded", "retry", "failed"]
USER_AGENT = "RusToK-Webhooks/1"


@dataclass(frozen=True)
class DeliveryPolicy:
    """Attempts, backoff and timeouts of webhook deliveries (defaults: 12 attempts over about 2.5 hours)."""

    max_attempts: int = 12
    base_delay: float = 5.0
    max_delay: float = 3600.0
    max_retry_after: float = 86400.0
    connect_timeout: float = 5.0
    timeout: float = 15.0  # one whole attempt: resolve, connect, send, read the status line

    @property
    def lease_seconds(self) -> int:
        """How long a claim holds: well past one attempt, so a live worker never loses its claim."""
        return int(self.timeout * 2 + 30)

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds before the next attempt after attempt number `attempt` failed: exponential, upper half
        random."""
        return jittered_backoff(attempt, self.base_delay, self.max_delay, rng)


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this worker claimed (a row of rustok.claim_webhook_deliveries)."""

    tenant_id: uuid.UUID
    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    url: str
    secret: str
    event_id: uuid.UUID
    event_type: str
    payload: dict[str, Any]
    attempt: int


@dataclass(frozen=True)
class AttemptResult:
    outcome: Outcome
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    retry_in: float | None = None


async def attempt_delivery(
    client: httpx2.AsyncClient,
    delivery: ClaimedDelivery,
    policy: DeliveryPolicy,
    allow_private: bool,
    rng: random.Random | None = None,
) -> AttemptResult:
    """Sends the delivery once and says what happened; never raises for the target's behaviour."""
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    status_code: int | None = None
    retry_after: float | None = None
    try:
        async with asyncio.timeout(policy.timeout):
            status_code, retry_after = await _post(client, delivery, allow_private)
    except RusToKError as exc:  # the guard: forbidden target or malformed URL
        return _result("failed", started_at, clock, error=f"{exc.code}: {exc.message} {exc.details}")
    except HostUnresolvable as exc:
        return _retry_or_fail(delivery, policy, rng, started_at, clock, None, f"DNS: {exc}", None)
    except (httpx2.TimeoutException, TimeoutError):
        return _retry_or_fail(delivery, policy, rng, started_at, clock, None, "timeout", None)
    except httpx2.TransportError as exc:
        return _retry_or_fail(delivery, policy, rng, started_at, clock, None, f"{type(exc).__name__}: {exc}", None)
    if 200 <= status_code < 300:
        return _result("succeeded", started_at, clock, status_code)
    if status_code in (408, 429) or status_code >= 500:
        return _retry_or_fail(delivery, policy, rng, started_at, clock, status_code, f"HTTP {status_code}", retry_after)
    reason = "redirects are not followed" if 300 <= status_code < 400 else "not retried"
    return _result("failed", started_at, clock, status_code, f"HTTP {status_code}: {reason}")


async def _post(client: httpx2.AsyncClient, delivery: ClaimedDelivery, allow_private: bool) -> tuple[int, float | None]:
    target = await resolve_target(delivery.url, allow_private)
    body = orjson.dumps(delivery.payload)
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.HEADER: signing.sign(delivery.secret, body, int(time.time())),
        "X-RusToK-Event": delivery.event_type,
        "Idempotency-Key": to_ulid(delivery.delivery_id),
        "X-RusToK-Delivery-Attempt": str(delivery.attempt),
    }
    extensions = {} if target.host_is_address else {"sni_hostname": target.url.raw_host.decode("ascii")}
    request = client.build_request("POST", target.pinned_url(), content=body, headers=headers, extensions=extensions)
    response = await client.send(request, stream=True, follow_redirects=False)
    await response.aclose()
    return response.status_code, _retry_after(response.headers.get("retry-after"))


def _retry_or_fail(
    delivery: ClaimedDelivery,
    policy: DeliveryPolicy,
    rng: random.Random | None,
    started_at: datetime,
    clock: float,
    status_code: int | None,
    error: str,
    retry_after: float | None,
) -> AttemptResult:
    if delivery.attempt >= policy.max_attempts:
        return _result("failed", started_at, clock, status_code, f"{error} (gave up after {delivery.attempt} attempts)")
    delay = policy.backoff(delivery.attempt, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_retry_after))
    return _result("retry", started_at, clock, status_code, error, delay)


def _result(
    outcome: Outcome,
    started_at: datetime,
    clock: float,
    status_code: int | None = None,
    error: str | None = None,
    retry_in: float | None = None,
) -> AttemptResult:
    duration_ms = int((time.monotonic() - clock) * 1000)
    return AttemptResult(outcome, started_at, duration_ms, status_code, error, retry_in)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    seconds = parse_whole_number(value)
    if seconds is not None:
        return float(seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
