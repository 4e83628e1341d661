"""Sign-in and registration budgets per client address and per tenant (docs/auth.md, "Budgets"; docs/security.md,
"Rate limits"): spent in the database before any password is hashed, by every way in (REST, GraphQL's signIn,
the storefront's forms), with the client address uvicorn takes from a trusted proxy's X-Forwarded-For. A flood
from one address is refused cheaply while a customer elsewhere signs in; on a real `rustok serve` too. The
rules of each bucket are in tests/sql/test_auth_budgets.sql."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from rustok.api.clients import client_key
from rustok.app import create_app
from rustok.auth import passwords
from rustok.config import Settings
from rustok.db import Database
from rustok.modules import installed_registry
from tests.py.graphql_support import make_tenant
from tests.py.serve_support import ServeProcess
from tests.py.storefront_support import csrf_of

PASSWORD = "correct horse battery"
SIGN_IN = "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { accessToken } }"
FLOOD_SECONDS = 3.0


def test_a_budget_is_kept_per_ipv4_address_and_per_ipv6_64() -> None:
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7", "an IPv4-mapped address is its IPv4 address"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert client_key("fe80::1%eth0") == "fe80::/64"
    for nothing in (None, "", "testclient", "203.0.113.7, 198.51.100.1"):
        assert client_key(nothing) is None


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[TestClient]:
    """The app behind uvicorn's proxy-header handling, trusting the test client as a proxy: each request names
    its client address in X-Forwarded-For, as nginx does (deploy/nginx/nginx.conf). The default bursts, with
    their refill slowed to one in ten minutes: on a loaded machine 20 sign-ins can take longer than the
    3 seconds the default refill needs for one more (the refill is tests/sql/test_auth_budgets.sql's)."""
    make_tenant(db, "acme")
    with psycopg.connect(db.admin_url, autocommit=True) as owner:
        owner.execute(
            "update platform_settings set value = jsonb_set(value, '{perMinute}', '0.1')"
            " where key in ('auth.login_per_client', 'auth.register_per_client')"
        )
    app = ProxyHeadersMiddleware(create_app(db, installed_registry(), Settings(jwt_secret="s" * 40)), "testclient")
    with TestClient(app) as client:
        registered = client.post(
            "/api/auth/register",
            json={"email": "buyer@acme.test", "password": PASSWORD},
            headers={"x-tenant": "acme", "x-forwarded-for": "192.0.2.200"},
        )
        assert registered.status_code == 201, registered.text
        yield client


def _from(address: str) -> dict[str, str]:
    return {"x-tenant": "acme", "x-forwarded-for": address}


def _login(api: TestClient, address: str, email: str, password: str = "wrong password") -> Any:
    return api.post("/api/auth/login", json={"email": email, "password": password}, headers=_from(address))


def _refusal(response: Any) -> tuple[int, str, str | None]:
    error = response.json().get("error", {})
    return response.status_code, error.get("code", ""), error.get("details", {}).get("reason")


def test_a_flooding_address_is_refused_before_any_hash_and_everywhere(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real_verify = passwords.verify_password

    def counting(password_hash: str, password: str) -> bool:
        verified.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    answers = [_login(api, "203.0.113.9", f"{uuid.uuid4().hex[:10]}@nobody.test") for _ in range(25)]
    assert [a.status_code for a in answers] == [401] * 20 + [429] * 5, "the default burst: 20 a client"
    assert _refusal(answers[-1]) == (429, "RATE_LIMITED", "client")
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert len(verified) == 20, "a refused attempt costs no password hash"

    # the same budget whichever way the address comes in: GraphQL's signIn, the storefront's form
    body = api.post(
        "/graphql",
        json={"query": SIGN_IN, "variables": {"e": "buyer@acme.test", "p": PASSWORD}},
        headers=_from("203.0.113.9"),
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert body["errors"][0]["extensions"]["details"]["reason"] == "client"
    page = api.get("/t/acme/signin", headers=_from("203.0.113.9"))
    form = {"csrf": csrf_of(page.text), "email": "buyer@acme.test", "password": PASSWORD}
    assert (
        api.post("/t/acme/signin", data=form, headers=_from("203.0.113.9"), follow_redirects=False).status_code == 429
    )
    assert len(verified) == 20

    # a customer elsewhere signs in, over REST and GraphQL
    assert _login(api, "198.51.100.7", "buyer@acme.test", PASSWORD).status_code == 200
    body = api.post(
        "/graphql",
        json={"query": SIGN_IN, "variables": {"e": "buyer@acme.test", "p": PASSWORD}},
        headers=_from("198.51.100.7"),
    ).json()
    assert body["data"]["signIn"]["accessToken"]


def test_addresses_of_one_ipv6_64_share_a_budget(api: TestClient) -> None:
    codes = [_login(api, f"2001:db8:7:7::{n:x}", f"nobody{n}@nobody.test").status_code for n in range(1, 23)]
    assert codes == [401] * 20 + [429] * 2, "rotating addresses within a /64 gains nothing"
    assert _login(api, "2001:db8:7:8::1", "nobody@nobody.test").status_code == 401, "the next /64 has its own"


def test_registration_is_budgeted_per_address_before_its_hash(api: TestClient) -> None:
    """Five at once (then two a minute by default): 30 accounts in 3.8 s from one address was the attack. A taken email
    (CONFLICT: registration tells which emails exist, docs/auth.md) spends the budget like any attempt, which
    bounds how fast anyone can enumerate; a password refused by the policy spends nothing."""

    def register(address: str, email: str, password: str = PASSWORD) -> Any:
        return api.post("/api/auth/register", json={"email": email, "password": password}, headers=_from(address))

    assert register("203.0.113.50", "short@acme.test", "short").status_code == 422
    answers = [register("203.0.113.50", f"new{n}@acme.test") for n in range(4)]
    answers += [register("203.0.113.50", "buyer@acme.test") for _ in range(3)]
    assert [a.status_code for a in answers] == [201] * 4 + [409, 429, 429]
    assert _refusal(answers[-1]) == (429, "RATE_LIMITED", "client")
    assert register("198.51.100.50", "elsewhere@acme.test").status_code == 201


# -- a real `rustok serve`: one process, its one hashing queue, a flood of 80 concurrent sign-ins -------------


async def _flood_and_sign_in(base: str) -> tuple[dict[int, int], list[tuple[int, float]]]:
    """80 concurrent anonymous sign-ins with random emails from one address for FLOOD_SECONDS (the re-attack),
    and meanwhile a customer signing in from another address every 0.3 s: what each got."""
    flood: dict[int, int] = {}
    customer: list[tuple[int, float]] = []
    stop = time.monotonic() + FLOOD_SECONDS
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def flooding() -> None:
            while time.monotonic() < stop:
                body = {"email": f"{uuid.uuid4().hex[:10]}@nobody.test", "password": "whatever123"}
                response = await client.post("/api/auth/login", json=body, headers=_from("203.0.113.66"))
                flood[response.status_code] = flood.get(response.status_code, 0) + 1

        async def signing_in() -> None:
            await asyncio.sleep(0.5)
            while time.monotonic() < stop:
                started = time.perf_counter()
                body = {"email": "buyer@acme.test", "password": PASSWORD}
                response = await client.post("/api/auth/login", json=body, headers=_from("198.51.100.66"))
                customer.append((response.status_code, time.perf_counter() - started))
                await asyncio.sleep(0.3)

        await asyncio.gather(*(flooding() for _ in range(80)), signing_in())
    return flood, customer


def test_a_flood_from_one_address_leaves_a_customer_elsewhere_signing_in(
    db: Database, api: TestClient, tmp_path: Path
) -> None:
    """Over HTTP to `rustok serve`, which believes X-Forwarded-For from 127.0.0.1 (uvicorn's default
    FORWARDED_ALLOW_IPS). Before the budgets, the flood filled the process's hashing queue and the customer got
    429 (reason busy) on nearly every try."""
    server = ServeProcess(db, tmp_path, env={"RUSTOK_JWT_SECRET": "s" * 40}, log=tmp_path / "serve.log")
    try:
        server.wait_ready(time.monotonic() + 60)
        flood, customer = asyncio.run(_flood_and_sign_in(server.base))
    finally:
        server.stop()
    assert customer and all(status == 200 for status, _ in customer), customer
    assert max(seconds for _, seconds in customer) < 8.0, customer  # ~0.05 s idle; 2.7 s seen at a load of 12
    assert flood.get(429, 0) > 0 and set(flood) <= {401, 429}, flood
    assert flood.get(401, 0) <= 20 + 1, "only the burst (and its refill) was hashed"


def test_a_trusted_proxy_reporting_no_address_leaves_the_peer_budgeted(
    db: Database, api: TestClient, tmp_path: Path
) -> None:
    """Over HTTP to `rustok serve` (which trusts 127.0.0.1): a proxy sending X-Forwarded-For "unknown" (or garbage)
    does not make the request client-less; the budget is the connection's peer's (127.0.0.1), refused after the
    burst over REST and GraphQL alike. Before, such requests had no client key: no client budget (22/22
    through) and no hashing share. The `api` fixture has slowed the refill; its own tenant keeps the tenant
    budget of the other tests apart."""
    make_tenant(db, "proxied")
    server = ServeProcess(db, tmp_path, env={"RUSTOK_JWT_SECRET": "s" * 40}, log=tmp_path / "serve.log")
    try:
        server.wait_ready(time.monotonic() + 60)
        with httpx.Client(base_url=server.base, timeout=30) as client:
            codes = []
            for n in range(22):
                forwarded = ("unknown", "not-an-address", "unknown, garbage")[n % 3]
                body = {"email": f"{uuid.uuid4().hex[:10]}@nobody.test", "password": "whatever123"}
                headers = {"x-tenant": "proxied", "x-forwarded-for": forwarded}
                codes.append(client.post("/api/auth/login", json=body, headers=headers).status_code)
            answer = client.post(
                "/graphql",
                json={"query": SIGN_IN, "variables": {"e": "nobody@nobody.test", "p": "whatever123"}},
                headers={"x-tenant": "proxied", "x-forwarded-for": "unknown"},
            ).json()
    finally:
        server.stop()
    assert codes == [401] * 20 + [429] * 2, "the peer's budget: 20 at once"
    assert answer["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert answer["errors"][0]["extensions"]["details"]["reason"] == "client"
