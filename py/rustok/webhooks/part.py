"""Webhooks as a platform part: their GraphQL fields (schema.graphql, graphql.py) and the durable handler that
turns events into deliveries (handler.py)."""

from __future__ import annotations

from pathlib import Path

from rustok.modules.contract import Part
from rustok.webhooks.graphql import RESOLVERS
from rustok.webhooks.handler import WebhooksHandler

SDL = (Path(__file__).parent / "schema.graphql").read_text()


def part() -> Part:
    """A fresh part (its handler holds the dispatcher of one worker run)."""
    return Part("webhooks", SDL, RESOLVERS, (WebhooksHandler(),))
