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


# -- GraphQL over HTTP (the contract of the operations themselves is the SDL) --------------------------------


class GraphQLRequest(ApiModel):
    """One operation. `query` may be left out when extensions.persistedQuery names a query sent before;
    other keys are ignored."""

    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True, extra="allow")

    query: str | None = Field(default=None, description="The GraphQL document.")
    operation_name: str | None = Field(default=None, description="Which operation of the document to run.")
    variables: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = Field(
        default=None, description="persistedQuery: {version: 1, sha256Hash} (automatic persisted queries)."
    )


class GraphQLErrorLocation(BaseModel):
    line: int
    column: int


class GraphQLErrorExtensions(ApiModel):
    code: str = Field(description="Stable error code from the registry (docs/error_codes.md).")
    request_id: str
    details: dict[str, Any] | None = None


class GraphQLErrorItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str
    extensions: GraphQLErrorExtensions
    path: list[str | int] | None = None
    locations: list[GraphQLErrorLocation] | None = None


class GraphQLResponse(BaseModel):
    """`data` when the operation ran (null where an error stopped it), `errors` when something went wrong;
    an operation refused before it ran (syntax, validation, limits) has only `errors`."""

    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any] | None = None
    errors: list[GraphQLErrorItem] | None = None


class GraphQLErrorResponse(BaseModel):
    """A request refused as a whole (not JSON, too large, too many operations, a bad token or tenant)."""

    model_config = ConfigDict(extra="forbid")

    errors: list[GraphQLErrorItem] = Field(min_length=1)
