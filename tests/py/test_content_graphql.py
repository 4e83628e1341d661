"""The content module through GraphQL over HTTP: every query (node, nodeBySlug, nodes, categories,
nodeRevisions) and mutation (createNode, updateNode, publishNode, unpublishNode, deleteNode, restoreRevision,
createCategory, updateCategory, deleteCategory), with enums as SQL values upper-cased, Relay connections, and
the codes of refusals and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from rustok.db import Database
from rustok.ids import to_ulid
from tests.py.graphql_support import Api, Tenant, codes, make_tenant

NODE = (
    "id kind status isLive title slug excerpt body format parentId authorId categoryId category { slug } "
    "tags { name slug } metaTitle metaDescription metadata depth replyCount moderation publishedAt"
)
CREATE = f"mutation($input: CreateNodeRequest!) {{ createNode(input: $input) {{ {NODE} }} }}"
UPDATE = f"mutation($id: ID!, $input: UpdateNodeRequest!) {{ updateNode(id: $id, input: $input) {{ {NODE} }} }}"
GET = "query($id: ID!) { node(id: $id) { id title status isLive } }"
LIST = (
    "query($first: Int, $after: String, $filter: NodeFilter) { nodes(first: $first, after: $after, filter: $filter) "
    "{ edges { cursor node { id title kind status } } pageInfo { hasNextPage endCursor } } }"
)
CATEGORY = "id parentId name slug description position depth"


@pytest.fixture(scope="module")
def tenants(db: Database) -> tuple[Tenant, Tenant]:
    north, south = make_tenant(db, "north"), make_tenant(db, "south")
    with psycopg.connect(db.admin_url) as conn:  # a second manager in north
        conn.execute("select rustok.set_context(%s)", (north.id,))
        north.users["writer"] = conn.execute(
            "select rustok._insert_user('writer@north.test', 'x-hash', 'manager')"
        ).fetchone()[0]
    return north, south


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def create(api: Api, tenant: Tenant, role: str, **fields: Any) -> dict[str, Any]:
    body = api.gql(CREATE, {"input": {"kind": "POST", "title": "Untitled", **fields}}, tenant=tenant, role=role)
    assert "errors" not in body, body
    node: dict[str, Any] = body["data"]["createNode"]
    return node


def writer_token(api: Api, tenant: Tenant) -> dict[str, str]:
    return {"authorization": f"Bearer {api.services.tokens.issue(tenant.id, tenant.users['writer'], 'manager')}"}


def test_create_node_returns_the_node_with_enums_tags_and_category(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, _ = tenants
    category = api.gql(
        f'mutation {{ createCategory(input: {{name: "Recipes"}}) {{ {CATEGORY} }} }}', tenant=north, role="admin"
    )["data"]["createCategory"]
    node = create(
        api,
        north,
        "manager",
        title="Crème brûlée",
        excerpt="Sweet",
        body="<p>Caramel</p>",
        format="HTML",
        tags=["Desserts", "French"],
        categoryId=category["id"],
        metaTitle="Brûlée",
        metaDescription="How to",
        metadata={"servings": 4},
    )
    assert node["id"] and node["authorId"] == to_ulid(north.users["manager"])
    assert {k: node[k] for k in ("kind", "status", "isLive", "slug", "format", "body", "moderation")} == {
        "kind": "POST",
        "status": "DRAFT",
        "isLive": False,
        "slug": "creme-brulee",
        "format": "HTML",
        "body": "<p>Caramel</p>",
        "moderation": None,
    }
    assert node["category"] == {"slug": "recipes"} and node["categoryId"] == category["id"]
    assert node["tags"] == [{"name": "Desserts", "slug": "desserts"}, {"name": "French", "slug": "french"}]
    assert (node["metaTitle"], node["metaDescription"], node["metadata"]) == ("Brûlée", "How to", {"servings": 4})
    assert create(api, north, "manager", title="Crème Brûlée!")["slug"] == "creme-brulee-2"


def test_create_node_refusals_and_bad_input(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, south = tenants
    create(api, north, "manager", title="Taken", slug="taken")
    bad: list[tuple[dict[str, Any], str | None, str]] = [
        ({"slug": "taken"}, "manager", "CONFLICT"),
        ({"slug": "Not a slug"}, "manager", "VALIDATION_FAILED"),
        ({"kind": "COMMENT"}, "manager", "VALIDATION_FAILED"),
        ({"title": " "}, "manager", "VALIDATION_FAILED"),
        ({"publishedAt": "yesterday", "status": "PUBLISHED"}, "manager", "VALIDATION_FAILED"),
        ({"parentId": "not-an-id"}, "manager", "INVALID_ID"),
        ({}, "customer", "FORBIDDEN"),
        ({}, None, "UNAUTHENTICATED"),
    ]
    for fields, role, code in bad:
        body = api.gql(CREATE, {"input": {"kind": "POST", "title": "X", **fields}}, tenant=north, role=role)
        assert codes(body) == [code], (fields, role, body)
    south_page = create(api, south, "admin", kind="PAGE", title="South page")
    body = api.gql(
        CREATE, {"input": {"kind": "PAGE", "title": "X", "parentId": south_page["id"]}}, tenant=north, role="manager"
    )
    assert codes(body) == ["NOT_FOUND"] and body["errors"][0]["extensions"]["details"] == {"field": "parentId"}
    body = api.gql('mutation { createNode(input: {kind: VIDEO, title: "X"}) { id } }', tenant=north, role="manager")
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"], "an unknown kind is refused before SQL"


def test_node_and_node_by_slug_show_drafts_only_to_their_author_and_admins(
    api: Api, tenants: tuple[Tenant, Tenant]
) -> None:
    north, south = tenants
    draft = create(api, north, "manager", title="Secret plans")
    by_id = {"id": draft["id"]}
    assert api.gql(GET, by_id, tenant=north, role="manager")["data"]["node"]["title"] == "Secret plans"
    assert api.gql(GET, by_id, tenant=north, role="admin")["data"]["node"]["status"] == "DRAFT"
    assert api.gql(GET, by_id, tenant=north)["data"]["node"] is None
    assert api.gql(GET, by_id, headers=writer_token(api, north))["data"]["node"] is None
    assert api.gql(GET, by_id, tenant=south, role="admin")["data"]["node"] is None
    slug_query = "query($kind: NodeKind!, $slug: String!) { nodeBySlug(kind: $kind, slug: $slug) { id } }"
    assert api.gql(slug_query, {"kind": "POST", "slug": "secret-plans"}, tenant=north)["data"]["nodeBySlug"] is None
    api.gql("mutation($id: ID!) { publishNode(id: $id) { id } }", by_id, tenant=north, role="manager")
    found = api.gql(slug_query, {"kind": "POST", "slug": "secret-plans"}, tenant=north)["data"]["nodeBySlug"]
    assert found == {"id": draft["id"]}
    assert api.gql(slug_query, {"kind": "PAGE", "slug": "secret-plans"}, tenant=north)["data"]["nodeBySlug"] is None


def test_publish_now_scheduled_and_unpublish(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, _ = tenants
    node = create(api, north, "manager", title="Launch")
    publish = "mutation($id: ID!, $at: DateTime) { publishNode(id: $id, at: $at) { status isLive publishedAt } }"
    scheduled = api.gql(publish, {"id": node["id"], "at": "2999-01-01T00:00:00Z"}, tenant=north, role="manager")
    assert scheduled["data"]["publishNode"]["status"] == "PUBLISHED"
    assert scheduled["data"]["publishNode"]["isLive"] is False
    assert api.gql(GET, {"id": node["id"]}, tenant=north)["data"]["node"] is None, "scheduled: not visible yet"
    live = api.gql(publish, {"id": node["id"]}, tenant=north, role="manager")["data"]["publishNode"]
    assert live["isLive"] is True
    assert api.gql(GET, {"id": node["id"]}, tenant=north)["data"]["node"]["isLive"] is True
    assert codes(api.gql(publish, {"id": node["id"], "at": "soon"}, tenant=north, role="manager")) == [
        "VALIDATION_FAILED"
    ]
    unpublish = "mutation($id: ID!) { unpublishNode(id: $id) { status publishedAt } }"
    assert codes(api.gql(unpublish, {"id": node["id"]}, headers=writer_token(api, north))) == ["FORBIDDEN"]
    assert codes(api.gql(unpublish, {"id": node["id"]}, tenant=north, role="customer")) == ["FORBIDDEN"]
    body = api.gql(unpublish, {"id": node["id"]}, tenant=north, role="manager")
    assert body["data"]["unpublishNode"] == {"status": "DRAFT", "publishedAt": None}
    assert api.gql(GET, {"id": node["id"]}, tenant=north)["data"]["node"] is None


def test_nodes_filters_visibility_and_pages(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    _, south = tenants
    for i in range(3):
        create(
            api, south, "admin", title=f"Page {i}", kind="PAGE", status="PUBLISHED", tags=["odd" if i % 2 else "even"]
        )
    create(api, south, "admin", title="Draft post")
    anonymous = api.gql(LIST, {"first": 10}, tenant=south)["data"]["nodes"]
    assert [e["node"]["title"] for e in anonymous["edges"]] == ["Page 2", "Page 1", "Page 0"]
    admin = api.gql(LIST, {"first": 10}, tenant=south, role="admin")["data"]["nodes"]
    assert [e["node"]["title"] for e in admin["edges"]][:2] == ["Draft post", "Page 2"]
    first = api.gql(LIST, {"first": 2, "filter": {"kind": "PAGE"}}, tenant=south)["data"]["nodes"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = api.gql(
        LIST, {"first": 2, "after": first["pageInfo"]["endCursor"], "filter": {"kind": "PAGE"}}, tenant=south
    )["data"]["nodes"]
    assert [e["node"]["title"] for e in rest["edges"]] == ["Page 0"] and rest["pageInfo"]["hasNextPage"] is False
    tagged = api.gql(LIST, {"filter": {"tag": "even"}}, tenant=south)["data"]["nodes"]
    assert [e["node"]["title"] for e in tagged["edges"]] == ["Page 2", "Page 0"]
    drafts = api.gql(LIST, {"filter": {"status": "DRAFT"}}, tenant=south, role="admin")["data"]["nodes"]
    assert {e["node"]["status"] for e in drafts["edges"]} == {"DRAFT"}
    assert "Draft post" in {e["node"]["title"] for e in drafts["edges"]}
    mine = api.gql(LIST, {"filter": {"authorId": to_ulid(south.users["admin"])}}, tenant=south, role="admin")
    assert {"Draft post", "Page 0", "Page 1", "Page 2"} <= {e["node"]["title"] for e in mine["data"]["nodes"]["edges"]}
    theirs = api.gql(LIST, {"filter": {"authorId": to_ulid(south.users["manager"])}}, tenant=south, role="admin")
    assert theirs["data"]["nodes"]["edges"] == []
    assert codes(api.gql(LIST, {"after": "bad"}, tenant=south)) == ["INVALID_ID"]
    assert codes(api.gql(LIST, {"first": 500}, tenant=south)) == ["VALIDATION_FAILED"]
    assert codes(api.gql(LIST, {"filter": {"categoryId": "bad"}}, tenant=south)) == ["INVALID_ID"]


def test_update_node_revisions_and_restore(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, south = tenants
    node = create(api, north, "manager", title="Essay", body="first draft")
    for text in ("second draft", "third draft"):
        body = api.gql(UPDATE, {"id": node["id"], "input": {"body": text}}, tenant=north, role="manager")
        assert body["data"]["updateNode"]["body"] == text
    renamed = api.gql(
        UPDATE,
        {"id": node["id"], "input": {"title": "Essay, final", "tags": ["a"], "categoryId": None}},
        tenant=north,
        role="manager",
    )["data"]["updateNode"]
    assert (renamed["title"], renamed["slug"], renamed["tags"]) == (
        "Essay, final",
        "essay",
        [{"name": "a", "slug": "a"}],
    )
    revisions = "query($id: ID!) { nodeRevisions(nodeId: $id) { edges { node { id number body format } } } }"
    listed = api.gql(revisions, {"id": node["id"]}, tenant=north, role="manager")["data"]["nodeRevisions"]["edges"]
    assert [(e["node"]["number"], e["node"]["body"]) for e in listed] == [(2, "second draft"), (1, "first draft")]
    assert codes(api.gql(revisions, {"id": node["id"]}, tenant=north, role="customer")) == ["NOT_FOUND"]  # a draft
    assert codes(api.gql(revisions, {"id": node["id"]}, tenant=south, role="admin")) == ["NOT_FOUND"]
    restore = "mutation($n: ID!, $r: ID!) { restoreRevision(nodeId: $n, revisionId: $r) { body } }"
    first = listed[1]["node"]["id"]
    body = api.gql(restore, {"n": node["id"], "r": first}, tenant=north, role="manager")
    assert body["data"]["restoreRevision"] == {"body": "first draft"}
    after = api.gql(revisions, {"id": node["id"]}, tenant=north, role="manager")["data"]["nodeRevisions"]["edges"]
    assert after[0]["node"]["body"] == "third draft", "restoring kept the replaced body as a revision"
    other = create(api, north, "manager", title="Other")
    assert codes(api.gql(restore, {"n": other["id"], "r": first}, tenant=north, role="manager")) == ["NOT_FOUND"]
    assert codes(api.gql(UPDATE, {"id": node["id"], "input": {"title": "Mine"}}, headers=writer_token(api, north))) == [
        "NOT_FOUND"
    ], "another manager cannot see the draft"
    assert codes(
        api.gql(
            UPDATE,
            {"id": node["id"], "input": {"status": "PUBLISHED", "publishedAt": "x"}},
            tenant=north,
            role="manager",
        )
    ) == ["VALIDATION_FAILED"]
    admin_edit = api.gql(UPDATE, {"id": node["id"], "input": {"excerpt": "By the admin"}}, tenant=north, role="admin")
    assert admin_edit["data"]["updateNode"]["excerpt"] == "By the admin"


def test_delete_node(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    north, _ = tenants
    parent = create(api, north, "manager", kind="PAGE", title="Parent")
    child = create(api, north, "manager", kind="PAGE", title="Child", parentId=parent["id"])
    assert child["parentId"] == parent["id"] and child["depth"] == 1
    delete = "mutation($id: ID!) { deleteNode(id: $id) }"
    assert codes(api.gql(delete, {"id": parent["id"]}, tenant=north, role="manager")) == ["INVALID_STATE"]
    assert codes(api.gql(delete, {"id": child["id"]}, tenant=north, role="customer")) == ["NOT_FOUND"]
    assert api.gql(delete, {"id": child["id"]}, tenant=north, role="manager")["data"] == {"deleteNode": child["id"]}
    assert api.gql(delete, {"id": parent["id"]}, tenant=north, role="admin")["data"] == {"deleteNode": parent["id"]}
    assert api.gql(GET, {"id": parent["id"]}, tenant=north, role="admin")["data"]["node"] is None
    assert codes(api.gql(delete, {"id": parent["id"]}, tenant=north, role="admin")) == ["NOT_FOUND"]


def test_categories_tree_and_mutations(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    _, south = tenants
    make = f"mutation($input: CreateCategoryRequest!) {{ createCategory(input: $input) {{ {CATEGORY} }} }}"
    top = api.gql(make, {"input": {"name": "Travel"}}, tenant=south, role="admin")["data"]["createCategory"]
    sub = api.gql(
        make,
        {"input": {"name": "Europe", "parentId": top["id"], "description": "Old world"}},
        tenant=south,
        role="admin",
    )["data"]["createCategory"]
    assert sub == {**sub, "parentId": top["id"], "slug": "europe", "depth": 1, "description": "Old world"}
    assert codes(api.gql(make, {"input": {"name": "X", "slug": "europe"}}, tenant=south, role="admin")) == ["CONFLICT"]
    assert codes(api.gql(make, {"input": {"name": "X"}}, tenant=south, role="manager")) == ["FORBIDDEN"]
    tree = "{ categories { name depth parentId } }"
    assert api.gql(tree, tenant=south)["data"]["categories"] == [
        {"name": "Travel", "depth": 0, "parentId": None},
        {"name": "Europe", "depth": 1, "parentId": top["id"]},
    ]
    move = (
        "mutation($id: ID!, $input: UpdateCategoryRequest!) "
        f"{{ updateCategory(id: $id, input: $input) {{ {CATEGORY} }} }}"
    )
    body = api.gql(move, {"id": top["id"], "input": {"parentId": sub["id"]}}, tenant=south, role="admin")
    assert codes(body) == ["CATEGORY_CYCLE"] and body["errors"][0]["extensions"]["details"] == {"field": "parentId"}
    moved = api.gql(
        move, {"id": sub["id"], "input": {"parentId": None, "name": "Europa", "slug": None}}, tenant=south, role="admin"
    )["data"]["updateCategory"]
    assert (moved["parentId"], moved["depth"], moved["slug"]) == (None, 0, "europa")
    delete = "mutation($id: ID!) { deleteCategory(id: $id) }"
    assert api.gql(delete, {"id": top["id"]}, tenant=south, role="admin")["data"] == {"deleteCategory": top["id"]}
    assert [c["name"] for c in api.gql(tree, tenant=south)["data"]["categories"]] == ["Europa"]
    assert codes(api.gql(delete, {"id": top["id"]}, tenant=south, role="admin")) == ["NOT_FOUND"]


PREVIEW = "query($b: String!) { previewMarkdown(body: $b) }"


def test_preview_markdown_is_for_editors_and_bounded(api: Api, tenants: tuple[Tenant, Tenant]) -> None:
    """Rendering is CPU work: nobody anonymous, no customer, nothing over 64 KiB (one 240 KB body of "[a](" once
    stalled the server for seconds)."""
    north, _ = tenants
    assert codes(api.gql(PREVIEW, {"b": "[a](" * 60000}, tenant=north)) == ["UNAUTHENTICATED"]
    assert codes(api.gql(PREVIEW, {"b": "*hi*"}, tenant=north, role="customer")) == ["FORBIDDEN"]
    assert codes(api.gql(PREVIEW, {"b": "x" * (64 * 1024 + 1)}, tenant=north, role="manager")) == ["VALIDATION_FAILED"]
    assert (
        api.gql(PREVIEW, {"b": "*hi*"}, tenant=north, role="manager")["data"]["previewMarkdown"]
        == "<p><em>hi</em></p>\n"
    )
