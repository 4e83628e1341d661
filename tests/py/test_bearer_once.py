"""The Authorization header is parsed in one place (api/tenancy.bearer_token) and the access token decoded once
per request: the SSE stream and the WebSocket take the token's expiry from the request context instead of
decoding the token again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from rustok.api.tenancy import bearer_token
from rustok.api.tokens import AccessClaims
from rustok.db import Database
from rustok.errors import Unauthenticated
from tests.py.realtime_support import Server, Tenant, gql_ws, make_tenant, serving, sse


@pytest.fixture(scope="module")
def a(db: Database) -> Tenant:
    return make_tenant(db, "bearer-a")


@pytest.fixture(scope="module")
def server(db: Database) -> Iterator[Server]:
    with serving(db) as server:
        yield server


@pytest.fixture
def decodes(server: Server, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the server's TokenIssuer decodes while the test runs."""
    seen: list[str] = []
    decode = server.tokens.decode

    def counted(token: str) -> AccessClaims:
        seen.append(token)
        return decode(token)

    monkeypatch.setattr(server.tokens, "decode", counted)
    return seen


def test_the_header_is_parsed_in_one_place() -> None:
    assert bearer_token("Bearer abc ") == "abc"
    assert bearer_token("bearer abc") == "abc"
    for refused in ("Basic abc", "Bearer", "Bearer   ", "abc"):
        with pytest.raises(Unauthenticated) as caught:
            bearer_token(refused)
        assert caught.value.details == {"reason": "scheme"}


def test_an_event_stream_decodes_its_token_once(server: Server, a: Tenant, decodes: list[str]) -> None:
    token = a.token(server.tokens, "admin")

    async def scenario() -> None:
        async with sse(server, token):
            pass

    asyncio.run(scenario())
    assert decodes == [token]


def test_a_socket_decodes_its_token_once(server: Server, a: Tenant, decodes: list[str]) -> None:
    token = a.token(server.tokens, "admin")

    async def scenario() -> dict[str, Any]:
        async with gql_ws(server) as ws:
            return await ws.init(token)

    assert asyncio.run(scenario()) == {"type": "connection_ack"}
    assert decodes == [token]
