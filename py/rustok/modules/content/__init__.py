"""The content module (the manifest's rustok-content): pages, posts and comments as nodes with bodies,
categories, tags, publishing (scheduled too), revisions and search vectors.

Everything lives in SQL (sql/migrations/content, sql/functions/content, sql/triggers/content); this module
is its GraphQL face: the SDL next to this file and one SQL function per field."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from graphql import GraphQLResolveInfo

from rustok import markdown
from rustok.errors import ValidationFailed
from rustok.graphql.fields import SqlField
from rustok.modules.contract import RusToKModule

PREVIEW_MAX_BYTES = 64 * 1024


async def preview_markdown(root: Any, info: GraphQLResolveInfo[Any], body: str, format: str = "markdown") -> str:
    """The editor's preview: the storefront's renderer (rustok.markdown), so both show the same HTML. Editors
    only (content.write, checked in SQL), at most 64 KiB, rendered off the event loop."""
    await info.context["services"].gateway.call(info.context["ctx"], "rustok.require_permission('content.write')")
    if len(body.encode()) > PREVIEW_MAX_BYTES:
        raise ValidationFailed("the body is too long to preview", {"field": "body", "maxBytes": PREVIEW_MAX_BYTES})
    return await asyncio.to_thread(markdown.render, body, format)


RESOLVERS: dict[str, Any] = {
    "Query.node": SqlField("rustok.node_by_id(%s)", "id"),
    "Query.nodeBySlug": SqlField("rustok.node_by_slug(%s, %s)", "kind", "slug"),
    "Query.nodes": SqlField("rustok.list_nodes(%s, %s, %s)", "first", "after", "filter"),
    "Query.categories": SqlField("rustok.list_categories()"),
    "Query.tags": SqlField("rustok.list_tags()"),
    "Query.previewMarkdown": preview_markdown,
    "Query.nodeRevisions": SqlField("rustok.list_node_revisions(%s, %s, %s)", "nodeId", "first", "after"),
    "Mutation.createNode": SqlField("rustok.create_node(%s)", "input"),
    "Mutation.updateNode": SqlField("rustok.update_node(%s, %s)", "id", "input"),
    "Mutation.publishNode": SqlField(
        "rustok.publish_node(%s, rustok._input_instant(to_jsonb(%s::text), 'at'))", "id", "at"
    ),
    "Mutation.unpublishNode": SqlField("rustok.unpublish_node(%s)", "id"),
    "Mutation.deleteNode": SqlField("rustok.delete_node(%s)", "id"),
    "Mutation.restoreRevision": SqlField("rustok.restore_revision(%s, %s)", "nodeId", "revisionId"),
    "Mutation.createCategory": SqlField("rustok.create_category(%s)", "input"),
    "Mutation.updateCategory": SqlField("rustok.update_category(%s, %s)", "id", "input"),
    "Mutation.deleteCategory": SqlField("rustok.delete_category(%s)", "id"),
}

MODULE = RusToKModule(
    slug="content",
    name="Content",
    description="Pages, posts and comments with bodies, categories, tags, scheduled publishing and revisions",
    version="1.0.0",
    graphql_sdl=(Path(__file__).parent / "schema.graphql").read_text(),
    resolvers=RESOLVERS,
)
