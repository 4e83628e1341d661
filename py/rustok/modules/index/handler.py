"""`ReindexRequested {target_type, target_id}` as an event: the durable handler rebuilds one product or node
(target_id) or the tenant's whole index for the target (target_id null) in batches, online."""

from __future__ import annotations

from typing import Any

from rustok import ids
from rustok.events.handlers import DomainEvent, EventEnvelope, EventHandler, HandlerContext


class ReindexHandler(EventHandler):
    name = "index-reindex"

    def __init__(self) -> None:
        self.context: HandlerContext | None = None

    async def start(self, context: HandlerContext) -> None:
        self.context = context

    def handles(self, event: DomainEvent) -> bool:
        return event.type == "ReindexRequested"

    async def handle(self, envelope: EventEnvelope) -> None:
        assert self.context is not None, "start() runs before the first event"
        data = envelope.event.data
        target = str(data.get("target_type") or "")
        if target not in ("products", "content"):
            return  # a malformed request: nothing to retry
        target_id: Any = data.get("target_id")
        if target_id:
            await self.context.call(
                envelope.tenant_id, "rustok.index_refresh(%s, %s)", (target, ids.parse_id(str(target_id)))
            )
            return
        after = None
        while True:
            row = await self.context.call(
                envelope.tenant_id,
                "(select to_jsonb(b) from rustok.index_reindex_batch(%s, %s) b)",  # IndexConfig batchSize
                (target, after),
            )
            if not row or row.get("last_id") is None:
                break
            after = row["last_id"]
        await self.context.call(envelope.tenant_id, "rustok.index_reindex_prune(%s)", (target,))
