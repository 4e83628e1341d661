"""The GraphQL caches are bounded by bytes (issue 13, point 7): the prepared documents and the persisted
queries each stay within their configured estimate of bytes, however large and many the documents a client
sends, and the estimate follows what tracemalloc measures. A persisted query is registered only once its
document passed every check."""

from __future__ import annotations

import gc
import hashlib
import itertools
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import get_introspection_query

from rustok.db import Database
from rustok.graphql.caches import ByteBoundedLRU, document_bytes
from rustok.graphql.limits import Limits
from rustok.graphql.prepare import prepare
from tests.py.graphql_support import Api, Tenant, codes, make_tenant

MiB = 2**20
DOCUMENTS, PERSISTED = 2 * MiB, 1 * MiB
FRESH = itertools.count()


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "cached")


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    settings = {"graphql_document_cache_bytes": DOCUMENTS, "graphql_persisted_cache_bytes": PERSISTED}
    with Api(db, dev=True, **settings) as api:
        yield api


def _register(api: Api, tenant: Tenant, query: str) -> dict[str, Any]:
    """Sent as an automatic persisted query's first request: the text with its hash (anonymously)."""
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    response = api.client.post(
        "/graphql", json={"query": query, "extensions": extensions}, headers={"x-tenant": tenant.slug}
    )
    body: dict[str, Any] = response.json()
    return body


def _by_hash(api: Api, tenant: Tenant, query: str) -> dict[str, Any]:
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    body: dict[str, Any] = api.client.post(
        "/graphql", json={"extensions": extensions}, headers={"x-tenant": tenant.slug}
    ).json()
    return body


def _large(kilobytes: int) -> str:
    """A valid query of about `kilobytes` KiB that no cache has seen (most of it a comment)."""
    return f"# {next(FRESH)} " + "x" * (kilobytes * 1024) + "\n{ tenant { slug } }"


def test_many_large_documents_stay_within_the_byte_bounds(api: Api, tenant: Tenant) -> None:
    executor = api.platform.graphql
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20):  # 20 documents of 150 KiB: 6 MiB pinned if the caches were bounded by count
            assert _register(api, tenant, _large(150)) == {"data": {"tenant": {"slug": "cached"}}}
            assert executor.documents.bytes <= DOCUMENTS and executor.persisted.bytes <= PERSISTED
        gc.collect()
        pinned = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(executor.documents) >= 3 and len(executor.persisted) >= 3  # bounded, not switched off
    assert pinned < 1.5 * (DOCUMENTS + PERSISTED), f"{pinned / MiB:.1f} MiB still allocated"


def test_the_least_recently_used_entries_go_first_and_an_oversized_one_never_comes_in() -> None:
    cache: ByteBoundedLRU[str] = ByteBoundedLRU(100)
    for key in "abcd":
        cache.put(key, key.upper(), 30)
    assert cache.peek("a") is None and cache.bytes == 90  # a went when d came
    assert cache.get("b") == "B"  # b is now the most recent
    cache.put("e", "E", 30)
    assert [cache.peek(k) for k in "bcde"] == ["B", None, "D", "E"] and cache.bytes == 90
    cache.put("huge", "H", 101)
    assert cache.peek("huge") is None and len(cache) == 3


@pytest.mark.parametrize(
    "query",
    [
        "{ tenant { nope } }",  # not valid
        "{ tenant { slug ",  # not parsed
        "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }",  # past a limit
    ],
)
def test_a_refused_document_is_never_registered(api: Api, tenant: Tenant, query: str) -> None:
    assert "data" not in _register(api, tenant, query)
    assert codes(_by_hash(api, tenant, query)) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_anonymous_clients_register_persisted_queries_as_apq_expects(api: Api, tenant: Tenant) -> None:
    query = f"query Shop{next(FRESH)} {{ tenant {{ slug }} }}"
    assert codes(_by_hash(api, tenant, query)) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert _register(api, tenant, query) == {"data": {"tenant": {"slug": "cached"}}}
    assert _by_hash(api, tenant, query) == {"data": {"tenant": {"slug": "cached"}}}


@pytest.mark.parametrize(
    "query",
    [
        get_introspection_query(descriptions=True),  # names and punctuation
        "{ " + " ".join(f"a{i}: tenant {{ id slug name isActive }}" for i in range(400)) + " }",  # dense
        "# " + "x" * 200_000 + "\n{ tenant { slug } }",  # mostly comment
        '{ product(id: "' + "x" * 100_000 + '") { id } }',  # mostly one string
    ],
    ids=["introspection", "dense", "comment", "string"],
)
def test_the_estimate_follows_what_tracemalloc_measures(api: Api, query: str) -> None:
    schema = api.platform.graphql.schema
    generous = Limits(max_aliases=10**6, max_cost=10**9, max_tokens=10**6)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        prepared = prepare(schema, query, None, {}, generous, introspection=True)
        gc.collect()
        measured = tracemalloc.get_traced_memory()[0] - before + len(query)  # the text was allocated before
    finally:
        tracemalloc.stop()
    estimate = document_bytes(query, prepared.shape.tokens)
    assert estimate == prepared.size
    assert 0.8 * measured <= estimate <= 2.0 * measured, (estimate, measured)
