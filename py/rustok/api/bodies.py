"""Request bodies, checked before anything touches the database: at most 64 KiB (PAYLOAD_TOO_LARGE, decided
from Content-Length when given, else while streaming), valid JSON (BAD_REQUEST) nested at most 32 levels
(JSON_TOO_DEEP), a JSON object of the expected shape (VALIDATION_FAILED, with details.field in camelCase)."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from rustok.api.json_depth import check_json_depth, loads
from rustok.api.numbers import parse_whole_number
from rustok.errors import BadRequest, PayloadTooLarge, ValidationFailed

MAX_BODY_BYTES = 64 * 1024

M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        size = parse_whole_number(declared, 19)
        if size is None:
            raise BadRequest("invalid Content-Length", {"reason": "content-length"})
        if size > limit:
            raise PayloadTooLarge(f"the body may be at most {limit} bytes", {"limit": limit})
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body may be at most {limit} bytes", {"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, model: type[M]) -> M:
    """The body as `model`; raises PayloadTooLarge, BadRequest or ValidationFailed."""
    return parse_json(await read_body(request), model)


def parse_json(raw: bytes, model: type[M]) -> M:
    try:
        data = loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON", {"reason": "json"}) from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", {"reason": "json"})
    check_json_depth(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None


def validation_failed(exc: ValidationError) -> ValidationFailed:
    """One VALIDATION_FAILED for pydantic's errors: the first field in details.field, all of them (field and
    type, never the input: it may be a password) in details.errors."""
    errors: list[dict[str, Any]] = [
        {"field": ".".join(str(part) for part in e["loc"]), "type": e["type"]} for e in exc.errors()
    ]
    first = exc.errors()[0]
    return ValidationFailed(f"{errors[0]['field']}: {first['msg']}", {"field": errors[0]["field"], "errors": errors})
