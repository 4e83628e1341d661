"""Who a request acts for. Built once per request (from the access token or the X-Tenant header) and sent
to PostgreSQL with every call as rustok.set_context(tenant, user, role)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestContext:
    tenant_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    role: str | None = None
    request_id: str = ""
    expires_at: int | None = None  # epoch seconds when the access token ends (None: no token); streams end then

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None
