"""Schemathesis hooks for the fuzz run (loaded by the `schemathesis` command through SCHEMATHESIS_HOOKS):
strategies for the schema's own GraphQL scalars, and the check that makes the run's criterion — no answer
carries the INTERNAL code, a GraphQL 200 included, and every GraphQL error carries a registered code."""

from __future__ import annotations

import os
import string
from typing import Any

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from rustok.errors import BY_CODE

_TEXT = st.text(string.printable, max_size=40)


def _json_nodes(depth: int) -> st.SearchStrategy[graphql.ValueNode]:
    """Any JSON value as a GraphQL literal, nested up to `depth` levels (deeper than the server allows too)."""
    leaves = st.one_of(
        st.just(nodes.Null), st.booleans().map(nodes.Boolean), st.integers().map(nodes.Int), _TEXT.map(nodes.String)
    )

    def extend(children: st.SearchStrategy[graphql.ValueNode]) -> st.SearchStrategy[graphql.ValueNode]:
        fields = st.dictionaries(st.from_regex(r"\A[a-z][A-Za-z0-9_]{0,8}\Z"), children, max_size=3).map(
            lambda d: nodes.Object(
                [graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v) for k, v in d.items()]
            )
        )
        return st.one_of(st.lists(children, max_size=3).map(nodes.List), fields)

    return st.recursive(leaves, extend, max_leaves=depth)


def _deep_list(levels: int) -> graphql.ValueNode:
    value: graphql.ValueNode = nodes.Int(1)
    for _ in range(levels):
        value = nodes.List([value])
    return value


_INSTANTS = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2}|Z)?\Z"),
    _TEXT,
)

# ids of things the fuzz run made (fuzz_support.FuzzTarget._seed), beside well-formed ids of nothing and junk
_KNOWN_IDS = [i for i in os.environ.get("RUSTOK_FUZZ_IDS", "").split(",") if i]
_ULIDS = st.from_regex(r"\A[0-9A-HJKMNP-TV-Z]{26}\Z")
_IDS = st.sampled_from(_KNOWN_IDS) if _KNOWN_IDS else _ULIDS
schemathesis.graphql.scalar("ID", st.one_of(_IDS, _IDS, _IDS, _ULIDS, _TEXT).map(nodes.String))
# instants SQL takes, and what it must refuse with a code: offsets beyond ±15:59, numbers, objects, junk
_BAD_OFFSETS = st.from_regex(r"\A20[0-9]{2}-0[1-9]-1[0-9]T1[0-9]:[0-5][0-9]:[0-5][0-9][+-](1[6-9]|[2-9][0-9]):00\Z")
schemathesis.graphql.scalar(
    "DateTime",
    st.one_of(
        _INSTANTS.map(nodes.String),
        _BAD_OFFSETS.map(nodes.String),
        st.integers().map(nodes.Int),
        _json_nodes(3),
    ),
)
schemathesis.graphql.scalar(
    "JSON", st.one_of(_json_nodes(12), st.integers(0, 64).map(_deep_list), st.just(_deep_list(40)))
)
schemathesis.graphql.scalar(
    "MinorUnits",
    st.one_of(
        st.integers().map(nodes.Int), st.from_regex(r"\A-?\d{1,22}\Z").map(nodes.String), _TEXT.map(nodes.String)
    ),
)


def _codes(body: Any) -> list[Any]:
    """The error codes of an answer: REST's {"error": {code}}, GraphQL's errors[].extensions.code, batched."""
    if isinstance(body, list):
        return [code for item in body for code in _codes(item)]
    if not isinstance(body, dict):
        return []
    found = [body["error"].get("code")] if isinstance(body.get("error"), dict) else []
    for error in body.get("errors") or ():
        found.append((error.get("extensions") or {}).get("code") if isinstance(error, dict) else None)
    return found


@schemathesis.check
def no_internal_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, no INTERNAL code in the body (a GraphQL 200 included), and every error names a registered code."""
    assert response.status_code < 500, f"status {response.status_code}: {response.text[:500]}"
    try:
        body = response.json()
    except ValueError:
        return None
    codes = _codes(body)
    assert "INTERNAL" not in codes, f"INTERNAL in the answer: {response.text[:500]}"
    assert all(code in BY_CODE for code in codes), f"an error without a registered code: {response.text[:500]}"
    return None
