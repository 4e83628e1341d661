"""requestReindex names one of the tenant's own products, or its own pages and posts (docs/security.md,
section 11): another tenant's id, or an id of the other kind, answered `true` and emitted an event for it."""

from __future__ import annotations

from rustok.db import Database
from tests.py.graphql_support import Api, codes, data, make_tenant

REINDEX = "mutation($t: IndexTarget!, $id: ID) { requestReindex(target: $t, id: $id) }"


def test_request_reindex_refuses_ids_that_are_not_the_tenants_of_that_kind(db: Database) -> None:
    north, south = make_tenant(db, "north"), make_tenant(db, "south")
    with Api(db) as api:
        product = data(api.gql('mutation { createProduct(input: {title: "Lamp"}) { id } }', tenant=north, role="admin"))
        post = data(
            api.gql('mutation { createNode(input: {kind: POST, title: "Hi"}) { id } }', tenant=north, role="admin")
        )
        product_id, post_id = product["createProduct"]["id"], post["createNode"]["id"]

        def reindex(tenant: object, target: str, id: str | None) -> dict[str, object]:
            return api.gql(REINDEX, {"t": target, "id": id}, tenant=tenant, role="admin")  # type: ignore[arg-type]

        assert data(reindex(north, "PRODUCTS", product_id)) == {"requestReindex": True}
        assert data(reindex(north, "CONTENT", post_id)) == {"requestReindex": True}
        assert data(reindex(north, "CONTENT", None)) == {"requestReindex": True}
        refused = [
            reindex(south, "PRODUCTS", product_id),  # another tenant's product
            reindex(south, "CONTENT", post_id),  # another tenant's post
            reindex(north, "PRODUCTS", post_id),  # a post as a product
            reindex(north, "CONTENT", product_id),  # a product as content
            reindex(north, "PRODUCTS", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),  # nothing at all
        ]
        assert [codes(body) for body in refused] == [["NOT_FOUND"]] * 5, refused
