"""DTOs shared by the REST endpoints: the error body (api/errors.py builds it) and the health answers. They
describe the JSON on the wire (camelCase) and feed the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Base of every REST DTO: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True, extra="forbid")


class ErrorDetail(ApiModel):
    code: str = Field(description="Stable error code from the registry (docs/error_codes.md).", examples=["NOT_FOUND"])
    message: str = Field(description="Human-readable; clients match on `code`, never on this text.")
    details: dict[str, Any] = Field(description="Machine-readable details, e.g. `field` or `reason`.")
    request_id: str = Field(description="Quote it when reporting a problem.")


class ErrorResponse(ApiModel):
    error: ErrorDetail


class HealthResponse(ApiModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"] | None = None
    pending_migrations: list[str] | None = None
