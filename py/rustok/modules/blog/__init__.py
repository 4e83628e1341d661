"""The blog module (the manifest's rustok-blog, on top of content): posts with categories and tags come from
content; the blog adds threaded comments on posts with moderation.

The SQL is in sql/migrations/blog and sql/functions/blog (thread columns and reply counters are content's
triggers); this module is its GraphQL face: the SDL next to this file and one SQL function per field.
Per-tenant settings (tenant_modules.settings of 'blog'): {"commentsNeedApproval": true} (the default) holds
customers' comments as pending until a moderator approves them; {"commentsPerMinute": 10} (the default) is how
many comments one user without comments.moderate may add in a minute (RATE_LIMITED beyond)."""

from __future__ import annotations

from pathlib import Path

from rustok.graphql.fields import SqlField
from rustok.modules.contract import RusToKModule

RESOLVERS = {
    "Query.pendingComments": SqlField("rustok.list_pending_comments(%s, %s)", "first", "after"),
    "Query.comments": SqlField("rustok.list_comments(%s, %s, %s)", "nodeId", "first", "after"),
    "Mutation.addComment": SqlField("rustok.add_comment(%s, %s, %s)", "nodeId", "parentId", "body"),
    "Mutation.moderateComment": SqlField("rustok.moderate_comment(%s, %s)", "id", "status"),
}

MODULE = RusToKModule(
    slug="blog",
    name="Blog",
    description="Threaded, moderated comments on posts",
    version="1.0.0",
    dependencies=("content",),
    graphql_sdl=(Path(__file__).parent / "schema.graphql").read_text(),
    resolvers=RESOLVERS,
)
