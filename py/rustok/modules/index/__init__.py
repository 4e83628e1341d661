"""The index module (the manifest's rustok-index): the CQRS read model `index_products` / `index_content`.

Everything that keeps it right is SQL (sql/migrations/index, sql/functions/index, sql/triggers/index): row
triggers on the content and commerce tables record the affected ids, a deferred trigger recomputes each
once at commit (or queues it when IndexConfig realtimeSync is off). This package registers the module, its
durable handler for `ReindexRequested`, the batch loops behind `rustok reindex` and `rustok indexer`, and
the search fields (schema.graphql; rustok.search_products / rustok.search_content). See docs/index.md."""

from __future__ import annotations

from pathlib import Path

from rustok.graphql.fields import SqlField
from rustok.modules.contract import RusToKModule
from rustok.modules.index.handler import ReindexHandler

SDL = (Path(__file__).parent / "schema.graphql").read_text()

RESOLVERS = {
    "Query.searchProducts": SqlField(
        "rustok.search_products(%s, %s, %s, %s, %s)", "query", "filter", "sort", "first", "after"
    ),
    "Query.searchContent": SqlField(
        "rustok.search_content(%s, %s, %s, %s, %s)", "query", "filter", "sort", "first", "after"
    ),
    "Query.indexStatus": SqlField("rustok.index_status()"),
    "Query.verifyIndex": SqlField("rustok.index_verify_summary(%s)", "sample"),
    "Mutation.requestReindex": SqlField("(rustok.request_reindex(%s, %s) ->> 'requested')::boolean", "target", "id"),
}

MODULE = RusToKModule(
    slug="index",
    name="Index",
    description="Denormalized read model of products and content for storefronts, search and analysts",
    version="1.0.0",
    dependencies=("content", "commerce"),
    event_listeners=(ReindexHandler(),),
    maintenance=("rustok.index_requeue_price_windows()", "rustok.index_reindex_scheduled()"),
    graphql_sdl=SDL,
    resolvers=RESOLVERS,
)
