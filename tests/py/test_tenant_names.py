"""The names a request gives for its tenant (X-Tenant slug, the storefront's /t/{slug} and Host) go through one
bounded cache (api/tenancy.py, TenantResolver): a malformed name is refused without a database trip, so no key
is longer than a name; unknown names are kept apart and bounded, so made-up names by the thousand neither grow
the cache nor push a known tenant out of it."""

from __future__ import annotations

import asyncio
import tracemalloc
import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest

from rustok.api.database import Gateway
from rustok.api.tenancy import TenantResolver, host_name, is_tenant_slug
from rustok.api.tokens import TokenIssuer
from rustok.db import Database
from rustok.errors import BadRequest, NotFound
from tests.py.graphql_support import Api, codes, make_tenant

KNOWN = uuid.uuid4()


class CountingGateway:
    """Answers tenant lookups like the database would (only "demo" and "shop.demo.test" exist), counting trips."""

    def __init__(self) -> None:
        self.trips = 0

    async def call(self, ctx: Any, call: str, params: tuple[Any, ...]) -> Any:
        self.trips += 1
        return KNOWN if params[0] in ("demo", "shop.demo.test") else None


def resolver() -> tuple[TenantResolver, CountingGateway]:
    gateway = CountingGateway()
    return TenantResolver(cast(Gateway, gateway), cast(TokenIssuer, None)), gateway


def names(tenants: TenantResolver) -> Any:
    return tenants._names  # the one cache of tenant names


def test_the_shape_of_a_slug_and_a_host() -> None:
    assert all(map(is_tenant_slug, ["demo", "a", "a-b", "a--b", "x" * 64, "0shop9"]))
    assert not any(map(is_tenant_slug, ["", "Demo", "-a", "a-", "a_b", "x" * 65, "demo\n", "dé", "a b"]))
    assert host_name(" Shop.Demo.Test:8000 ") == "shop.demo.test"
    assert host_name("127.0.0.1:80") == "127.0.0.1"
    assert [host_name(h) for h in ["", "[::1]:80", "a/b", "x" * 254, "shop.demo.test\x00"]] == [None] * 5


def test_a_malformed_slug_is_refused_without_a_lookup_and_without_an_entry() -> None:
    tenants, gateway = resolver()

    async def scenario() -> None:
        for n in range(20_000):  # distinct and long: each would have been a key (and a trip) of its own
            with pytest.raises(BadRequest) as refused:
                await tenants.resolve(None, f"{n}-" + "X" * 8_000, "rid")
            assert refused.value.details == {"field": "X-Tenant", "reason": "format"}
            assert await tenants.tenant_by_host(f"{n}." + "x" * 8_000) is None

    asyncio.run(scenario())
    assert gateway.trips == 0 and len(names(tenants)) == 0


def test_unknown_names_stay_bounded_and_never_push_a_known_tenant_out() -> None:
    tenants, gateway = resolver()
    cache = names(tenants)

    async def scenario() -> int:
        assert await tenants.tenant_by_slug("demo") == KNOWN
        assert await tenants.tenant_by_host("shop.demo.test") == KNOWN
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(30_000):  # more than the cache holds of all names together
            with pytest.raises(NotFound):
                await tenants.tenant_by_slug(f"{n:x}-" + "y" * 55)
            assert await tenants.tenant_by_host(f"h{n}.example.test") is None
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        trips = gateway.trips
        assert await tenants.tenant_by_slug("demo") == KNOWN
        assert await tenants.tenant_by_host("SHOP.demo.test:443") == KNOWN
        assert gateway.trips == trips, "the known names are still cached"
        with pytest.raises(NotFound):
            await tenants.tenant_by_slug(f"{29_999:x}-" + "y" * 55)
        assert gateway.trips == trips, "the latest unknown name is cached too (a client that repeats it)"
        return grown

    grown = asyncio.run(scenario())
    assert len(cache._misses) == cache.misses and len(cache._entries) == 2
    assert grown < 2_000_000, f"{grown} bytes for 60,000 unknown names"


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    make_tenant(db, "names")
    with Api(db) as api:
        yield api


def test_a_malformed_x_tenant_is_bad_request_and_an_unknown_one_not_found(api: Api) -> None:
    query = "{ __typename }"
    bad = api.gql(query, headers={"x-tenant": "Names"}, status=400)
    assert codes(bad) == ["BAD_REQUEST"] and bad["errors"][0]["extensions"]["details"]["field"] == "X-Tenant"
    assert codes(api.gql(query, headers={"x-tenant": "x" * 10_000}, status=400)) == ["BAD_REQUEST"]
    assert codes(api.gql(query, headers={"x-tenant": "nobody"}, status=404)) == ["NOT_FOUND"]
    assert "errors" not in api.gql(query, headers={"x-tenant": "names"})
    login = api.client.post("/api/auth/login", json={"email": "a@b.c", "password": "x" * 12}, headers={"x-tenant": "A"})
    assert (login.status_code, login.json()["error"]["code"]) == (400, "BAD_REQUEST")
    assert api.client.get("/t/Not_A_Slug/").status_code == 404, "a shop's address, not a form field"
