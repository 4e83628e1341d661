"""The blog module through GraphQL over HTTP: comments (thread order, what each reader sees, pages),
addComment (replies, approval by role and by the tenant's setting, refusals) and moderateComment (who may,
reply counts following)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from rustok.db import Database
from tests.py.graphql_support import Api, Tenant, codes, make_tenant

ADD = (
    "mutation($node: ID!, $parent: ID, $body: String!) { addComment(nodeId: $node, parentId: $parent, body: $body) "
    "{ id nodeId parentId authorId body depth position replyCount moderation } }"
)
MODERATE = "mutation($id: ID!, $status: ModerationStatus!) { moderateComment(id: $id, status: $status) { moderation } }"
COMMENTS = (
    "query($node: ID!, $first: Int, $after: String) { comments(nodeId: $node, first: $first, after: $after) "
    "{ edges { cursor node { id body depth replyCount moderation } } pageInfo { hasNextPage endCursor } } }"
)
POST = "mutation($input: CreateNodeRequest!) { createNode(input: $input) { id } }"


@pytest.fixture(scope="module")
def tenants(db: Database) -> tuple[Tenant, Tenant]:
    return make_tenant(db, "east"), make_tenant(db, "west")


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def post(api: Api, tenant: Tenant, status: str = "PUBLISHED") -> str:
    body = api.gql(
        POST, {"input": {"kind": "POST", "title": "Thread", "status": status}}, tenant=tenant, role="manager"
    )
    node_id: str = body["data"]["createNode"]["id"]
    return node_id


def add(api: Api, tenant: Tenant, role: str, node: str, text: str, parent: str | None = None) -> dict[str, Any]:
    body = api.gql(ADD, {"node": node, "parent": parent, "body": text}, tenant=tenant, role=role)
    assert "errors" not in body, body
    comment: dict[str, Any] = body["data"]["addComment"]
    return comment


def thread(api: Api, tenant: Tenant, node: str, role: str | None = None, **page: Any) -> list[str]:
    body = api.gql(COMMENTS, {"node": node, **page}, tenant=tenant, role=role)
    return [f"{e['node']['depth']}:{e['node']['body']}" for e in body["data"]["comments"]["edges"]]


def test_comments_replies_moderation_and_visibility(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    east, _ = tenants
    node = post(api, east)
    first = add(api, east, "manager", node, "first")
    assert first == {**first, "nodeId": node, "parentId": None, "depth": 0, "position": 0, "moderation": "APPROVED"}
    reply = add(api, east, "customer", node, "a customer's reply", parent=first["id"])
    assert (reply["parentId"], reply["depth"], reply["moderation"]) == (first["id"], 1, "PENDING")
    add(api, east, "admin", node, "an admin's reply", parent=first["id"])
    add(api, east, "customer", node, "second")
    assert thread(api, east, node) == ["0:first", "1:an admin's reply"], "anonymous: approved comments only"
    assert thread(api, east, node, role="customer") == [
        "0:first",
        "1:a customer's reply",
        "1:an admin's reply",
        "0:second",
    ], "the customer sees their own pending comments, in thread order"
    assert codes(api.gql(MODERATE, {"id": reply["id"], "status": "APPROVED"}, tenant=east, role="customer")) == [
        "FORBIDDEN"
    ]
    moderated = api.gql(MODERATE, {"id": reply["id"], "status": "APPROVED"}, tenant=east, role="manager")
    assert moderated["data"]["moderateComment"] == {"moderation": "APPROVED"}, "the post's author moderates"
    body = api.gql(COMMENTS, {"node": node}, tenant=east)["data"]["comments"]["edges"]
    assert body[0]["node"]["replyCount"] == 2, "the approved reply counts now"
    api.gql(MODERATE, {"id": first["id"], "status": "SPAM"}, tenant=east, role="admin")
    assert thread(api, east, node) == [], "spam hides the comment and its replies"
    api.gql(MODERATE, {"id": first["id"], "status": "APPROVED"}, tenant=east, role="admin")
    page = api.gql(COMMENTS, {"node": node, "first": 2}, tenant=east, role="admin")["data"]["comments"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = thread(api, east, node, role="admin", first=10, after=page["pageInfo"]["endCursor"])
    assert rest == ["1:an admin's reply", "0:second"]


def test_add_comment_refusals(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    east, west = tenants
    live, draft = post(api, east), post(api, east, status="DRAFT")
    scheduled = api.gql(
        POST,
        {"input": {"kind": "POST", "title": "Soon", "status": "PUBLISHED", "publishedAt": "2999-01-01T00:00:00Z"}},
        tenant=east,
        role="manager",
    )["data"]["createNode"]["id"]
    other_tenant = post(api, west)
    cases: list[tuple[dict[str, Any], str | None, str]] = [
        ({"node": draft, "body": "x"}, "manager", "NOT_PUBLISHED"),
        ({"node": scheduled, "body": "x"}, "admin", "NOT_PUBLISHED"),
        ({"node": draft, "body": "x"}, "customer", "NOT_FOUND"),
        ({"node": other_tenant, "body": "x"}, "admin", "NOT_FOUND"),
        ({"node": live, "body": "   "}, "customer", "VALIDATION_FAILED"),
        ({"node": live, "parent": other_tenant, "body": "x"}, "customer", "NOT_FOUND"),
        ({"node": "nonsense", "body": "x"}, "customer", "INVALID_ID"),
        ({"node": live, "body": "x"}, None, "UNAUTHENTICATED"),
    ]
    for variables, role, code in cases:
        assert codes(api.gql(ADD, variables, tenant=east, role=role)) == [code], (variables, role)
    assert codes(api.gql(COMMENTS, {"node": draft}, tenant=east)) == ["NOT_FOUND"]


def test_the_tenant_setting_lets_customers_comments_in_directly(
    db: Database, api: Api, tenants: tuple[Tenant, Tenant]
) -> None:
    _, west = tenants
    node = post(api, west)
    assert add(api, west, "customer", node, "held")["moderation"] == "PENDING"
    with psycopg.connect(db.admin_url) as conn:
        conn.execute(
            "update tenant_modules set settings = '{\"commentsNeedApproval\": false}' "
            "where tenant_id = %s and module_slug = 'blog'",
            (west.id,),
        )
    assert add(api, west, "customer", node, "straight in")["moderation"] == "APPROVED"
    assert thread(api, west, node) == ["0:straight in"]


def test_a_disabled_blog_refuses_comments(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    _, west = tenants
    node = post(api, west)
    api.gql('mutation { disableModule(slug: "blog") { slug } }', tenant=west, role="admin")
    try:
        assert codes(api.gql(ADD, {"node": node, "body": "x"}, tenant=west, role="customer")) == ["MODULE_DISABLED"]
        assert codes(api.gql(COMMENTS, {"node": node}, tenant=west)) == ["MODULE_DISABLED"]
        assert api.gql("query($id: ID!) { node(id: $id) { id } }", {"id": node}, tenant=west)["data"]["node"] == {
            "id": node
        }, "content itself is still on"
    finally:
        api.gql('mutation { enableModule(slug: "blog") { slug } }', tenant=west, role="admin")
