"""GraphQL fields for webhooks (schema.graphql). A URL is checked by the Python guard first — only
Python resolves host names — then the SQL function checks it again and does the work."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from rustok.graphql.fields import SqlField
from rustok.graphql.schema import Resolver
from rustok.ids import parse_id
from rustok.types import JsonObject
from rustok.webhooks.guard import check_registration


async def create_webhook(root: Any, info: GraphQLResolveInfo[Any], input: JsonObject) -> Any:
    services = info.context["services"]
    await check_registration(input["url"], services.settings.webhooks_allow_private)
    return await services.gateway.call(
        info.context["ctx"],
        "rustok.create_webhook(%s, %s, %s)",
        (input["url"], input.get("eventTypes") or [], input.get("description") or ""),
    )


async def update_webhook(root: Any, info: GraphQLResolveInfo[Any], id: str, input: JsonObject) -> Any:
    services = info.context["services"]
    if input.get("url") is not None:
        await check_registration(input["url"], services.settings.webhooks_allow_private)
    return await services.gateway.call(
        info.context["ctx"],
        "rustok.update_webhook(%s, %s, %s, %s, %s, %s)",
        (
            parse_id(id),
            input.get("url"),
            input.get("eventTypes"),
            input.get("description"),
            input.get("isActive"),
            bool(input.get("rotateSecret")),
        ),
    )


RESOLVERS: dict[str, Resolver] = {
    "Query.webhooks": SqlField("rustok.list_webhooks()"),
    "Query.webhookDeliveries": SqlField("rustok.list_webhook_deliveries(%s, %s, %s)", "webhookId", "first", "after"),
    "Mutation.createWebhook": create_webhook,
    "Mutation.updateWebhook": update_webhook,
    "Mutation.deleteWebhook": SqlField("(rustok.delete_webhook(%s) is not null)", "id"),
}
