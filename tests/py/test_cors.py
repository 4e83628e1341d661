"""Browsers: allowed origins are configuration, none by default; with some configured, only those are
answered (the GraphQL hot path then goes through the middleware too)."""

from __future__ import annotations

from rustok.db import Database
from tests.py.graphql_support import Api

PREFLIGHT = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}


def test_no_origin_is_allowed_by_default(db: Database) -> None:
    with Api(db) as api:
        response = api.client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": "https://shop.test"}
        )
        assert response.status_code == 200 and "access-control-allow-origin" not in response.headers
        assert (
            "access-control-allow-origin"
            not in api.client.options("/graphql", headers={"origin": "https://shop.test", **PREFLIGHT}).headers
        )


def test_configured_origins_and_only_those(db: Database) -> None:
    with Api(db, cors_origins=("https://shop.test",)) as api:
        allowed = api.client.options("/graphql", headers={"origin": "https://shop.test", **PREFLIGHT})
        assert allowed.headers["access-control-allow-origin"] == "https://shop.test"
        post = api.client.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": "https://shop.test"})
        assert post.json() == {"data": {"__typename": "Query"}}
        assert post.headers["access-control-allow-origin"] == "https://shop.test"
        refused = api.client.options("/graphql", headers={"origin": "https://evil.test", **PREFLIGHT})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        assert "set-cookie" not in post.headers
