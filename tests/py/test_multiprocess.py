"""Many API processes on one database: two `rustok serve` subprocesses (different ports, the same
DATABASE_URL, application password and JWT secret). An event committed through one reaches the SSE and
subscription clients of the other; a refresh token rotated on one is dead on the other; login throttling
counts across both."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
from websockets.asyncio.client import connect

from rustok.api.tokens import TokenIssuer
from rustok.db import Database
from rustok.ids import to_ulid
from tests.py.realtime_support import EVENTS_QUERY, GqlWs, SseClient, Tenant, make_tenant, set_password
from tests.py.serve_support import ServeProcess, serve_processes

JWT_SECRET = "multiprocess-test-jwt-secret-0123456789abcdef"
PASSWORD = "correct horse battery staple"
Servers = tuple[ServeProcess, ServeProcess]
SET_ROLE = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { role } }"


@pytest.fixture(scope="module")
def servers(db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    home = tmp_path_factory.mktemp("multiprocess-home")
    with serve_processes(db, home, 2, {"RUSTOK_JWT_SECRET": JWT_SECRET}) as (one, other):
        yield one, other


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    tenant = make_tenant(db, "multi")
    set_password(db, tenant, PASSWORD)
    return tenant


def _token(tenant: Tenant, role: str = "admin") -> str:
    return tenant.token(TokenIssuer(JWT_SECRET, 900), role)


@pytest.mark.slow
def test_an_event_committed_through_one_reaches_sse_and_subscriptions_of_the_other(
    servers: Servers, tenant: Tenant
) -> None:
    one, other = servers
    token = _token(tenant)
    ws_url = f"ws://127.0.0.1:{other.port}/graphql"

    async def scenario() -> None:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client,
            connect(ws_url, subprotocols=["graphql-transport-ws"]) as socket,  # type: ignore[list-item]
        ):
            request = client.build_request(
                "GET", f"{other.base}/api/events?types=UserRoleChanged", headers={"authorization": f"Bearer {token}"}
            )
            response = await client.send(request, stream=True)
            assert response.status_code == 200, await response.aread()
            stream = SseClient(response)
            ws = GqlWs(socket)
            assert (await ws.init(token))["type"] == "connection_ack"
            await ws.subscribe("1", EVENTS_QUERY, {"types": ["UserRoleChanged"]})

            # a subscription answers nothing until an event comes: commit through `one` until both have one
            roles: list[str] = []
            sse_event = ws_message = None
            deadline = time.monotonic() + 15
            while sse_event is None or ws_message is None:
                assert time.monotonic() < deadline, (sse_event, ws_message)
                role = "MANAGER" if len(roles) % 2 == 0 else "CUSTOMER"
                answer = (
                    await client.post(
                        f"{one.base}/graphql",
                        json={"query": SET_ROLE, "variables": {"id": str(tenant.users["customer"]), "role": role}},
                        headers={"authorization": f"Bearer {token}"},
                    )
                ).json()
                assert answer["data"]["setUserRole"]["role"] == role, answer
                roles.append(role.lower())
                if sse_event is None:
                    with contextlib.suppress(TimeoutError):
                        sse_event = await stream.next(timeout=0.5)
                if ws_message is None:
                    with contextlib.suppress(TimeoutError):
                        ws_message = await ws.receive(timeout=0.5)
            assert sse_event.type == "UserRoleChanged"
            assert ws_message["type"] == "next", ws_message
            event: dict[str, Any] = ws_message["payload"]["data"]["events"]
            assert event["type"] == "UserRoleChanged"
            customer = to_ulid(tenant.users["customer"])
            for data in (sse_event.data["data"], event["data"]):  # each is one of the roles set through `one`
                assert data["user_id"] == customer and data["role"] in roles, (data, roles)
            stream._task.cancel()
            await response.aclose()

    asyncio.run(scenario())


@pytest.mark.slow
def test_a_refresh_token_rotated_on_one_is_dead_on_the_other(servers: Servers, tenant: Tenant, db: Database) -> None:
    one, other = servers
    login = httpx.post(
        f"{one.base}/api/auth/login",
        json={"email": "manager@multi.test", "password": PASSWORD},
        headers={"x-tenant": tenant.slug},
    )
    assert login.status_code == 200, login.text
    first = login.json()["refreshToken"]
    rotated = httpx.post(f"{one.base}/api/auth/refresh", json={"refreshToken": first})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refreshToken"]
    with psycopg.connect(db.admin_url) as conn:  # past the grace in which a second tab may present it again
        conn.execute(
            "update auth_refresh_tokens set used_at = now() - rustok._refresh_grace() - interval '1 second' "
            "where used_at is not null and tenant_id = %s",
            (tenant.id,),
        )

    reused = httpx.post(f"{other.base}/api/auth/refresh", json={"refreshToken": first})
    assert reused.status_code == 401
    assert reused.json()["error"]["details"]["reason"] == "reused", reused.json()
    # reuse revoked the whole family, on both processes
    for process in (other, one):
        dead = httpx.post(f"{process.base}/api/auth/refresh", json={"refreshToken": second})
        assert dead.status_code == 401, dead.text


def _failures_until_throttled(processes: list[ServeProcess], tenant: Tenant, email: str) -> int:
    """Failed logins, taking the processes in turn, until one answers RATE_LIMITED: how many failed first."""
    for attempt in range(20):
        process = processes[attempt % len(processes)]
        answer = httpx.post(
            f"{process.base}/api/auth/login",
            json={"email": email, "password": "wrong password"},
            headers={"x-tenant": tenant.slug},
            timeout=10,
        )
        if answer.status_code == 429:
            return attempt
        assert answer.status_code == 401, answer.text
    raise AssertionError("never throttled")


@pytest.mark.slow
def test_login_throttling_counts_across_processes(servers: Servers, tenant: Tenant) -> None:
    one, other = servers
    on_one = _failures_until_throttled([one], tenant, "customer@multi.test")
    alternating = _failures_until_throttled([one, other], tenant, "admin@multi.test")
    assert on_one == alternating
    assert 1 < alternating < 20
