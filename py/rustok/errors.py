"""Typed errors (the manifest's RusToKError). One class per registered code; SQL raises the same codes with
SQLSTATE class "RK" (sql/functions/core/00_errors.sql is the registry, docs/error_codes.md describes it), and
`from_database_error` turns any psycopg error into one of these classes. SQL text never leaves this module."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import psycopg


class RusToKError(Exception):
    """Base of every error a client may see: a stable code, an HTTP status and machine-readable details."""

    code: ClassVar[str] = "INTERNAL"
    sqlstate: ClassVar[str] = "RK500"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidId(RusToKError):
    code, sqlstate, http_status = "INVALID_ID", "RK001", 400


class ValidationFailed(RusToKError):
    code, sqlstate, http_status = "VALIDATION_FAILED", "RK002", 422


class NotFound(RusToKError):
    code, sqlstate, http_status = "NOT_FOUND", "RK003", 404


class Conflict(RusToKError):
    code, sqlstate, http_status = "CONFLICT", "RK004", 409


class Forbidden(RusToKError):
    code, sqlstate, http_status = "FORBIDDEN", "RK005", 403


class Unauthenticated(RusToKError):
    code, sqlstate, http_status = "UNAUTHENTICATED", "RK006", 401


class TenantRequired(RusToKError):
    code, sqlstate, http_status = "TENANT_REQUIRED", "RK007", 400


class TenantMismatch(Forbidden):
    code, sqlstate, http_status = "TENANT_MISMATCH", "RK008", 403


class TenantInactive(Forbidden):
    code, sqlstate, http_status = "TENANT_INACTIVE", "RK009", 403


class ModuleDisabled(Forbidden):
    code, sqlstate, http_status = "MODULE_DISABLED", "RK010", 403


class ModuleUnknown(NotFound):
    code, sqlstate, http_status = "MODULE_UNKNOWN", "RK011", 404


class ModuleDependencyDisabled(Conflict):
    code, sqlstate, http_status = "MODULE_DEPENDENCY_DISABLED", "RK012", 409


class ModuleRequired(Conflict):
    code, sqlstate, http_status = "MODULE_REQUIRED", "RK013", 409


class InvalidState(Conflict):
    code, sqlstate, http_status = "INVALID_STATE", "RK014", 409


class RateLimited(RusToKError):
    code, sqlstate, http_status = "RATE_LIMITED", "RK015", 429


class InvalidCredentials(Unauthenticated):
    code, sqlstate, http_status = "INVALID_CREDENTIALS", "RK016", 401


class CommitOrderEarly(Conflict):
    code, sqlstate, http_status = "COMMIT_ORDER_EARLY", "RK017", 409


class BadRequest(RusToKError):
    code, sqlstate, http_status = "BAD_REQUEST", "RK100", 400


class PayloadTooLarge(BadRequest):
    code, sqlstate, http_status = "PAYLOAD_TOO_LARGE", "RK101", 413


class QueryTooDeep(BadRequest):
    code, sqlstate, http_status = "QUERY_TOO_DEEP", "RK102", 400


class QueryTooComplex(BadRequest):
    code, sqlstate, http_status = "QUERY_TOO_COMPLEX", "RK103", 400


class TooManyAliases(BadRequest):
    code, sqlstate, http_status = "TOO_MANY_ALIASES", "RK104", 400


class TooManyOperations(BadRequest):
    code, sqlstate, http_status = "TOO_MANY_OPERATIONS", "RK105", 400


class TooManyTokens(BadRequest):
    code, sqlstate, http_status = "TOO_MANY_TOKENS", "RK106", 400


class Timeout(RusToKError):
    code, sqlstate, http_status = "TIMEOUT", "RK107", 504


class PersistedQueryNotFound(BadRequest):
    code, sqlstate, http_status = "PERSISTED_QUERY_NOT_FOUND", "RK108", 400


class IntrospectionDisabled(BadRequest):
    code, sqlstate, http_status = "INTROSPECTION_DISABLED", "RK109", 400


class GraphQLValidationFailed(BadRequest):
    code, sqlstate, http_status = "GRAPHQL_VALIDATION_FAILED", "RK110", 400


class JsonTooDeep(ValidationFailed):
    code, sqlstate, http_status = "JSON_TOO_DEEP", "RK111", 422


class WebhookTargetForbidden(ValidationFailed):
    code, sqlstate, http_status = "WEBHOOK_TARGET_FORBIDDEN", "RK120", 422


class CategoryCycle(ValidationFailed):
    code, sqlstate, http_status = "CATEGORY_CYCLE", "RK200", 422


class NotPublished(InvalidState):
    code, sqlstate, http_status = "NOT_PUBLISHED", "RK201", 409


class InsufficientStock(Conflict):
    code, sqlstate, http_status = "INSUFFICIENT_STOCK", "RK220", 409


class DiscountInvalid(ValidationFailed):
    code, sqlstate, http_status = "DISCOUNT_INVALID", "RK221", 422


class PriceNotFound(ValidationFailed):
    code, sqlstate, http_status = "PRICE_NOT_FOUND", "RK222", 422


class CurrencyUnknown(ValidationFailed):
    code, sqlstate, http_status = "CURRENCY_UNKNOWN", "RK223", 422


class RegionCurrencyMismatch(ValidationFailed):
    code, sqlstate, http_status = "REGION_CURRENCY_MISMATCH", "RK224", 422


class Unavailable(RusToKError):
    code, sqlstate, http_status = "UNAVAILABLE", "RK503", 503


class Internal(RusToKError):
    """Anything unexpected. The message is generic; the request id lets an operator find the log line."""


def internal_from(cause: BaseException) -> Internal:
    """The INTERNAL answer to an unexpected exception, which stays its cause (and so its log's stack)."""
    error = Internal()
    error.__cause__ = cause
    return error


def _registered() -> dict[str, type[RusToKError]]:
    classes: list[type[RusToKError]] = [RusToKError]
    found: dict[str, type[RusToKError]] = {}
    while classes:
        cls = classes.pop()
        found.setdefault(cls.sqlstate, cls)
        classes.extend(cls.__subclasses__())
    found["RK500"] = Internal
    return found


BY_SQLSTATE: dict[str, type[RusToKError]] = _registered()
BY_CODE: dict[str, type[RusToKError]] = {cls.code: cls for cls in BY_SQLSTATE.values()}

# Standard SQLSTATEs that carry a meaning for clients (constraint checks are the database's own validation).
# Besides these, the whole class 22 (data exception: a value out of range, malformed, not representable —
# 22009 a time zone offset of +99:00, 22P02 bad text for a type, 22003 a number too large…) is bad input:
# VALIDATION_FAILED, whatever the code within the class (_DATA_EXCEPTION).
_STANDARD: dict[str, type[RusToKError]] = {
    "23505": Conflict,  # unique_violation
    "23503": ValidationFailed,  # foreign_key_violation: a reference to something that is not there
    "23514": ValidationFailed,  # check_violation
    "23502": ValidationFailed,  # not_null_violation
    "42501": Forbidden,  # insufficient_privilege, row-level security refusals included
    "40001": Conflict,  # serialization_failure: retry
    "40P01": Conflict,  # deadlock_detected: retry
    "57P01": Unavailable,  # admin_shutdown
    "57P02": Unavailable,  # crash_shutdown
    "57P03": Unavailable,  # cannot_connect_now
    "53300": Unavailable,  # too_many_connections
}


_DATA_EXCEPTION = "22"


def from_database_error(exc: psycopg.Error) -> RusToKError:
    """The client-facing error for a database error. Registered codes keep their message and details;
    standard constraint errors and data exceptions get a generic message (their text can name other tenants'
    values, or echo the input); anything else becomes Internal (its cause kept for the log)."""
    state = exc.sqlstate or ""
    if isinstance(exc, psycopg.OperationalError) and (not state or state.startswith("08")):
        return Unavailable("the database is not reachable right now")
    if isinstance(exc, psycopg.DataError) and not state:  # refused before sending: a NUL byte in a text value
        return ValidationFailed("a value contains a character that cannot be stored (NUL)")
    if state in BY_SQLSTATE and state != "RK500":
        diag = exc.diag
        return BY_SQLSTATE[state](diag.message_primary or None, _details(diag.message_detail))
    if state in _STANDARD or state.startswith(_DATA_EXCEPTION):
        cls = _STANDARD.get(state, ValidationFailed)
        details = {"constraint": exc.diag.constraint_name} if exc.diag.constraint_name else {}
        return cls(cls.code.replace("_", " ").lower(), details)
    return Internal()


def _details(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
