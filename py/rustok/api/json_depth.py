"""The one bound on how deep a JSON value may nest, wherever JSON enters (REST bodies, GraphQL `JSON` values):
parsers and encoders recurse (Python's json encoder fails near 1,000 levels, orjson at 255 when writing and
1,024 when reading), so a value nested deeper than any real metadata would fail somewhere later, as
INTERNAL. Refused at the door instead, with JSON_TOO_DEEP naming where."""

from __future__ import annotations

from typing import Any

from rustok.errors import JsonTooDeep

MAX_JSON_DEPTH = 32  # objects and arrays inside each other; a scalar alone is depth 0


def too_deep_at(value: Any, limit: int = MAX_JSON_DEPTH) -> str | None:
    """The path ("a.b[3]") of the first object or array nested deeper than `limit`, or None. Iterative, so
    the walk itself cannot overflow; it stops at the first spot too deep."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict):
            children = ((f"{path}.{key}" if path else str(key), child) for key, child in item.items())
        elif isinstance(item, list | tuple):
            children = ((f"{path}[{index}]", child) for index, child in enumerate(item))
        else:
            continue
        if depth >= limit:
            return path
        stack.extend((child, depth + 1, child_path) for child_path, child in children)
    return None


def check_json_depth(value: Any, field: str | None = None, limit: int = MAX_JSON_DEPTH) -> Any:
    """The value when it nests at most `limit` deep; raises JsonTooDeep with details.field (the value's
    field, and the path inside it) and details.limit."""
    where = too_deep_at(value, limit)
    if where is None:
        return value
    inside = join_path(field or "", where)
    details: dict[str, Any] = {"field": inside, "limit": limit} if inside else {"limit": limit}
    raise JsonTooDeep(f"JSON nested deeper than {limit} levels", details)


def join_path(outer: str, inner: str) -> str:
    """ "metadata" and "a[3]" make "metadata.a[3]"; "tags" and "[0]" make "tags[0]"; either may be empty."""
    if not outer or not inner:
        return outer or inner
    return outer + inner if inner.startswith("[") else f"{outer}.{inner}"
