"""The GraphQL caches (prepared documents by query text, persisted queries by hash), bounded by an estimate
of the bytes they pin rather than by a number of entries: one entry may be a 20-byte query or a 256 KiB one
with thousands of tokens, so a count bound lets a client pin hundreds of megabytes.

The estimates were measured with tracemalloc on graphql-core 3.3 (tests/py/test_graphql_caches.py checks
them again): a prepared document keeps about 400 bytes per token for the token list and the AST (parsed
with locations) and up to as much again for what is computed from it (the plan of a planned query, the
measures), plus its text twice (the text itself, and the tokens' copies of names, strings and comments)."""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Generic, TypeVar

BYTES_PER_TOKEN = 800
ENTRY_OVERHEAD = 200  # the entry's key, tuple and slot in the ordered dict

V = TypeVar("V")


def document_bytes(query: str, tokens: int) -> int:
    """What a prepared document pins: its text, the tokens' copies of it, and the tokens and AST nodes."""
    return 2 * sys.getsizeof(query) + BYTES_PER_TOKEN * tokens + ENTRY_OVERHEAD


def text_bytes(key: str, text: str) -> int:
    """What a persisted query pins: its hash and its text."""
    return sys.getsizeof(key) + sys.getsizeof(text) + ENTRY_OVERHEAD


class ByteBoundedLRU(Generic[V]):
    """Least recently used entries, evicted while their estimated bytes add up to more than `max_bytes`; an
    entry larger than the whole bound is never stored."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> V | None:
        """The value, now the most recently used."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def peek(self, key: str) -> V | None:
        """The value, leaving the order alone."""
        entry = self._entries.get(key)
        return entry[0] if entry is not None else None

    def put(self, key: str, value: V, size: int) -> None:
        if size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._entries[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.bytes -= evicted
