"""Every per-request walk over a client's value is linear in its size and holds memory for its depth only
(docs/security.md, section 1): one 84 KB body (`{"<60 KB key>": [0]*12000}`) used to pin 300 MB to 1.6 GB
while the JSON depth check built a path string for every child, and a variable of many unknown fields made
the planner collect one error per field, each inspecting the whole value (quadratic)."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import orjson
from graphql import ListValueNode, parse_value

from rustok.api.json_depth import too_deep_at
from rustok.db import Database
from rustok.graphql import scalars
from tests.py.graphql_support import Api, codes, make_tenant

ATTACK = {"k" * 60000: [0] * 12000}  # the attacker's 84 KB shape
MB = 1_000_000


def peak_and_seconds(work: Callable[[], Any]) -> tuple[int, float, Any]:
    """The peak of memory traced while `work()` runs, and its time run again untraced (tracing slows it)."""
    tracemalloc.start()
    try:
        work()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    started = time.perf_counter()
    result = work()
    return peak, time.perf_counter() - started, result


def test_the_depth_check_builds_a_path_only_for_the_spot_too_deep() -> None:
    peak, seconds, found = peak_and_seconds(lambda: too_deep_at(ATTACK))
    assert found is None
    assert peak < 1 * MB, peak  # was 720 MB: a 60 KB path per child
    deep: Any = []
    for _ in range(40):
        deep = [deep]
    late = {"a": [[0]] * 50000 + [{"b": deep}]}
    peak, seconds, found = peak_and_seconds(lambda: too_deep_at(late))
    assert found == "a[50000].b" + "[0]" * 29
    assert peak < 1 * MB, peak
    assert seconds < 1.0, seconds


def test_a_literal_refusal_finds_its_path_without_a_path_per_node() -> None:
    literal = parse_value("{" + "k" * 20000 + ": [" + "0 " * 5000 + "[1]]}")
    target = literal.fields[0].value
    assert isinstance(target, ListValueNode)
    peak, _seconds, path = peak_and_seconds(lambda: scalars._path_to(literal, target.values[-1]))
    assert path == "." + "k" * 20000 + "[5000]"
    assert peak < 2 * MB, peak  # was 100 MB: a 20 KB path for each of 5,000 items


def test_the_attack_body_costs_a_few_megabytes_through_graphql_and_rest(db: Database) -> None:
    tenant = make_tenant(db, "walks")
    mutation = "mutation($m: JSON) { createProduct(input: {title: \"x\", metadata: $m}) { id } }"
    with Api(db) as api:
        api.gql("{ __typename }", tenant=tenant)  # warm
        body = orjson.dumps({"query": mutation, "variables": {"m": ATTACK}})
        sent = {"x-tenant": tenant.slug, "content-type": "application/json"}
        peak, seconds, response = peak_and_seconds(lambda: api.client.post("/graphql", content=body, headers=sent))
        assert codes(response.json()) == ["UNAUTHENTICATED"]
        assert peak < 30 * MB, peak
        assert seconds < 1.0, seconds
        rest = orjson.dumps({"k" * 32000: [0] * 15000})
        peak, seconds, response = peak_and_seconds(
            lambda: api.client.post("/api/auth/login", content=rest, headers=sent)
        )
        assert response.status_code == 422, response.text
        assert peak < 30 * MB, peak
        assert seconds < 1.0, seconds


def test_many_unknown_input_fields_are_refused_in_linear_time(db: Database) -> None:
    tenant = make_tenant(db, "unknowns")
    query = "query($x: ProductSearchFilter) { searchProducts(filter: $x) { edges { cursor } } }"
    unknown = {f"f{i:x}": 0 for i in range(8000)}
    with Api(db) as api:
        api.gql(query, {"x": {}}, tenant=tenant)  # warm: the document is prepared and planned
        started = time.perf_counter()
        body = api.gql(query, {"x": unknown}, tenant=tenant)
        seconds = time.perf_counter() - started
        assert codes(body)[0] == "BAD_REQUEST"
        assert len(codes(body)) <= 2
        assert seconds < 1.0, seconds  # was 8 s (quadratic: every error inspected the whole value)
