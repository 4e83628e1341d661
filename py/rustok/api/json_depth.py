"""The one bound on how deep a JSON value may nest, wherever JSON enters (REST bodies, GraphQL `JSON` values):
parsers and encoders recurse (Python's json encoder fails near 1,000 levels, orjson at 255 when writing and
1,024 when reading), so a value nested deeper than any real metadata would fail somewhere later, as
INTERNAL. Refused at the door instead, with JSON_TOO_DEEP naming where.

Every walk here is linear in the value's size and holds memory for its depth only: one iterator per open
level, and a path ("a.b[3]") built only for the one spot reported. A path built for every child, or all
children pushed at once, let one 84 KB body (`{"<60 KB key>": [0]*12000}`) pin hundreds of megabytes."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from rustok.errors import JsonTooDeep

MAX_JSON_DEPTH = 32  # objects and arrays inside each other; a scalar alone is depth 0


@contextmanager
def collection_paused() -> Iterator[None]:
    """CPython's automatic garbage collection paused for a moment of allocation-heavy work. A collection
    during it finds the new objects alive and moves them to older generations, and moving enough of them
    triggers a full collection of everything the process holds: parsing a 256 KiB body of 90,000 small
    arrays held the event loop 400 ms instead of 26 ms. Paused, they stay young, and the one young collection
    afterwards is linear in them."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def loads(raw: bytes | str) -> Any:
    """A client's JSON text parsed (orjson, collection paused). Raises orjson.JSONDecodeError."""
    with collection_paused():
        return orjson.loads(raw)


Segment = str | int  # an object's key, or a list's index
Children = Callable[[Any], Iterable[tuple[Segment, Any]] | None]


def first_path(root: Any, children: Children, stop: Callable[[Any, int], bool]) -> list[Segment] | None:
    """The segments from `root` to the first node (depth first, in order) for which `stop(node, depth)`
    holds, or None. `children(node)` gives a node's (segment, child) pairs, or None for a leaf. O(size) time,
    O(depth) memory; iterative, so the walk itself cannot overflow."""
    if stop(root, 0):
        return []
    top = children(root)
    if top is None:
        return None
    frames: list[Iterator[tuple[Segment, Any]]] = [iter(top)]
    segments: list[Segment] = []  # segments[i] leads to the node whose children frames[i + 1] yields
    while frames:
        step = next(frames[-1], None)
        if step is None:
            frames.pop()
            if segments:
                segments.pop()
            continue
        segment, child = step
        if stop(child, len(frames)):
            return [*segments, segment]
        inner = children(child)
        if inner is not None:
            frames.append(iter(inner))
            segments.append(segment)
    return None


def path_text(segments: list[Segment]) -> str:
    """[ "a", 3, "b" ] as ".a[3].b": a key after a dot, an index in brackets."""
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in segments)


def json_children(value: Any) -> Iterable[tuple[Segment, Any]] | None:
    if isinstance(value, dict):
        return ((str(key), child) for key, child in value.items())
    if isinstance(value, list | tuple):
        return enumerate(value)
    return None


def too_deep_at(value: Any, limit: int = MAX_JSON_DEPTH) -> str | None:
    """The path ("a.b[3]") of the first object or array nested deeper than `limit`, or None; it stops at the
    first spot too deep."""
    found = first_path(
        value, json_children, lambda node, depth: depth >= limit and isinstance(node, dict | list | tuple)
    )
    return None if found is None else path_text(found).removeprefix(".")


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
