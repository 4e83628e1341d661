"""Webhooks: tenants register URLs with event types and a secret (SQL: sql/functions/core/40_webhooks.sql);
the worker's webhooks handler turns events into deliveries and sends them signed, retried and logged.

guard.py       the SSRF guard (registration and every delivery)
signing.py     X-RusToK-Signature: sign and verify
delivery.py    one attempt: POST, classify, backoff
dispatcher.py  claims due deliveries, sends them concurrently, records attempts
handler.py     the durable handler: events -> deliveries
graphql.py     the GraphQL fields (schema.graphql)
part.py        all of it as a platform part (rustok/modules/contract.py: Part)
"""
