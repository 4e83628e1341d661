"""Webhooks through GraphQL: the guard runs before SQL, the secret is shown once, permissions hold."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rustok.db import Database
from tests.py.graphql_support import Api, Tenant, codes, make_tenant

CREATE = """mutation($input: CreateWebhookRequest!) {
  createWebhook(input: $input) { id url eventTypes isActive secret secretHint }
}"""


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "hooks")


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


@pytest.fixture(scope="module")
def private_api(db: Database) -> Iterator[Api]:
    with Api(db, webhooks_allow_private=True) as api:
        yield api


def test_create_list_update_and_delete(private_api: Api, tenant: Tenant) -> None:
    created = private_api.gql(
        CREATE,
        {"input": {"url": "http://127.0.0.1:9/hook", "eventTypes": ["OrderPlaced"]}},
        tenant=tenant,
        role="admin",
    )["data"]["createWebhook"]
    assert created["url"] == "http://127.0.0.1:9/hook" and created["eventTypes"] == ["OrderPlaced"]
    assert created["secret"] and created["secretHint"].endswith(created["secret"][-4:])
    listed = private_api.gql("{ webhooks { id secret isActive } }", tenant=tenant, role="admin")["data"]["webhooks"]
    assert listed == [{"id": created["id"], "secret": None, "isActive": True}]
    update = """mutation($id: ID!) { updateWebhook(id: $id, input: {isActive: false, rotateSecret: true}) {
      isActive secret } }"""
    updated = private_api.gql(update, {"id": created["id"]}, tenant=tenant, role="admin")["data"]["updateWebhook"]
    assert updated["isActive"] is False and updated["secret"] not in (None, created["secret"])
    deliveries = (
        """query($id: ID!) { webhookDeliveries(webhookId: $id) { edges { node { id } } pageInfo { hasNextPage } } }"""
    )
    body = private_api.gql(deliveries, {"id": created["id"]}, tenant=tenant, role="admin")
    assert body["data"]["webhookDeliveries"] == {"edges": [], "pageInfo": {"hasNextPage": False}}
    deleted = private_api.gql(
        "mutation($id: ID!) { deleteWebhook(id: $id) }", {"id": created["id"]}, tenant=tenant, role="admin"
    )
    assert deleted["data"] == {"deleteWebhook": True}
    assert private_api.gql("{ webhooks { id } }", tenant=tenant, role="admin")["data"]["webhooks"] == []


def test_private_targets_are_refused_unless_the_operator_allows_them(api: Api, tenant: Tenant) -> None:
    for url in ("http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://169.254.169.254/latest"):
        body = api.gql(CREATE, {"input": {"url": url}}, tenant=tenant, role="admin")
        assert codes(body) == ["WEBHOOK_TARGET_FORBIDDEN"], url
    assert codes(api.gql(CREATE, {"input": {"url": "ftp://example.test/x"}}, tenant=tenant, role="admin")) == [
        "VALIDATION_FAILED"
    ]


def test_only_webhook_managers(private_api: Api, tenant: Tenant) -> None:
    body = private_api.gql(CREATE, {"input": {"url": "http://127.0.0.1:9/x"}}, tenant=tenant, role="manager")
    assert codes(body) == ["FORBIDDEN"]
    assert codes(private_api.gql("{ webhooks { id } }", tenant=tenant)) == ["UNAUTHENTICATED"]
