#!/usr/bin/env python3
"""How long one GraphQL request can keep the event loop busy: worst-case document families against a trivial
query, in one run, through the executor every way in shares (POST, batched POST, GET and the WebSocket all
call `GraphQLExecutor._checked` and then execute).

    .venv/bin/python bench/graphql_limits.py              # about a minute; introspection off, as in production
    .venv/bin/python bench/graphql_limits.py --dev        # introspection on (RUSTOK_DEV=1): suggestions too
    .venv/bin/python bench/graphql_limits.py --requests 50 --only doubling,overlap

Every request of a family is a new document (fresh operation and fragment names), so no cache helps. While
a request runs, a heartbeat task sleeps 0.5 ms at a time on the same loop and records how late it wakes: the
longest lateness is the time the loop was blocked during that request. Per family the table gives the
answer (the error code, or "ok"), the document's size, the blocked time (median, p99, max over the
requests), the CPU time a request costs (median; preparation runs in a thread, so this is work, not time
the loop waits) and the longest pause of the garbage collector meanwhile. The first row, a heartbeat with no
request, shows what the machine itself adds (scheduling on a busy machine): run it on a quiet one.

No database is needed: the documents use `__typename` and introspection only, or are refused before
anything runs."""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from graphql import get_introspection_query

from rustok.api.context import RequestContext
from rustok.config import Settings
from rustok.graphql.executor import GraphQLExecutor
from rustok.graphql.limits import Limits
from rustok.graphql.schema import build
from rustok.modules import installed_registry
from rustok.webhooks.part import part as webhooks_part

LIMITS = Limits()
Request = dict[str, Any]
HEARTBEAT = 0.0005

INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)


def _doubling(levels: int) -> Callable[[int], Request]:
    """The reported attack: fragment i spreads fragment i+1 twice (2**levels expansions)."""

    def make(n: int) -> Request:
        fragments = [f"fragment D{n}_{i} on Query {{ ...D{n}_{i + 1} ...D{n}_{i + 1} }}" for i in range(levels)]
        fragments.append(f"fragment D{n}_{levels} on Query {{ __typename }}")
        return {"query": f"query Q{n} {{ ...D{n}_0 }} " + " ".join(fragments)}

    return make


def _wide_fragments(n: int) -> Request:
    """Every fragment spread side by side in one selection set: pairs of fragments to compare."""
    count = LIMITS.max_fragments
    spreads = " ".join(f"...W{n}_{i}" for i in range(count))
    fragments = " ".join(f"fragment W{n}_{i} on Query {{ __typename }}" for i in range(count))
    return {"query": f"query Q{n} {{ {spreads} }} {fragments}"}


def _fragment_chain(n: int) -> Request:
    """Fragment i spreads fragment i+1 once: a long chain to follow without recursion."""
    count = LIMITS.max_fragments
    fragments = [f"fragment C{n}_{i} on Query {{ __typename ...C{n}_{i + 1} }}" for i in range(count - 1)]
    fragments.append(f"fragment C{n}_{count - 1} on Query {{ __typename }}")
    return {"query": f"query Q{n} {{ ...C{n}_0 }} " + " ".join(fragments)}


def _fragment_cycle(n: int) -> Request:
    """Fragments that spread each other (invalid; measured before validation, so the walk must not loop)."""
    fragments = f"fragment A{n} on Query {{ ...B{n} }} fragment B{n} on Query {{ ...A{n} }}"
    return {"query": f"query Q{n} {{ ...A{n} }} {fragments}"}


def _deep_inline(n: int) -> Request:
    """Inline fragments nested as deep as the parser allows (they add no depth of their own)."""
    depth = 190
    return {"query": f"query Q{n} " + "{ ... on Query " * depth + "{ __typename }" + " }" * depth}


def _deep_fields(n: int) -> Request:
    depth = 190
    return {"query": f"query Q{n} " + "{ f" * depth + " { __typename }" + " }" * depth}


def _aliases(n: int) -> Request:
    count = LIMITS.max_tokens // 3 - 10
    return {"query": f"query Q{n} {{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"}


def _overlap_leaves(n: int) -> Request:
    """The same field over and over: graphql-core compares every pair."""
    return {"query": f"query Q{n} {{ " + " ".join(["__typename"] * (LIMITS.max_tokens - 10)) + " }"}


def _overlap_conflicts(n: int) -> Request:
    """Same response name, different fields: every pair conflicts."""
    count = LIMITS.max_tokens // 4 - 10
    fields = " ".join(f"x: {'__typename' if i % 2 else 'y'}" for i in range(count))
    return {"query": f"query Q{n} {{ {fields} }}"}


def _overlap_subselections(n: int) -> Request:
    """Same field with a sub-selection over and over: each pair compares the sub-selections too."""
    count = LIMITS.max_tokens // 12
    fields = " ".join('__type(name: "Query") { name kind }' for _ in range(count))
    return {"query": f"query Q{n} {{ {fields} }}"}


def _directives(n: int) -> Request:
    count = LIMITS.max_tokens // 7 - 10
    return {"query": f"query Q{n} {{ __typename " + " ".join(["@include(if: true)"] * count) + " }"}


def _arguments(n: int) -> Request:
    count = LIMITS.max_tokens // 3 - 10
    return {"query": f"query Q{n} {{ __typename(" + " ".join(f"a{i}: 1" for i in range(count)) + ") }"}


def _variables(n: int) -> Request:
    count = LIMITS.max_tokens // 4 - 10
    return {"query": f"query Q{n}(" + " ".join(f"$v{i}: Int" for i in range(count)) + ") { __typename }"}


def _operations(n: int) -> Request:
    """As many operations as allowed, each reaching a shared chain of fragments."""
    count = LIMITS.max_operations
    chain = LIMITS.max_fragments
    operations = " ".join(f"query Q{n}_{i} {{ ...S{n}_0 }}" for i in range(count))
    fragments = [f"fragment S{n}_{i} on Query {{ __typename ...S{n}_{i + 1} }}" for i in range(chain - 1)]
    fragments.append(f"fragment S{n}_{chain - 1} on Query {{ __typename }}")
    return {"query": operations + " " + " ".join(fragments), "operationName": f"Q{n}_0"}


def _max_comment(n: int) -> Request:
    return {"query": "#" + "x" * (LIMITS.max_body_bytes - 100) + f"\nquery Q{n} {{ __typename }}"}


def _max_string(n: int) -> Request:
    return {"query": f'query Q{n} {{ __type(name: "{"x" * (LIMITS.max_body_bytes - 100)}") {{ name }} }}'}


def _max_block_string(n: int) -> Request:
    lines = "\\n".join(["  x"] * ((LIMITS.max_body_bytes - 100) // 5))
    return {"query": f'query Q{n} {{ __type(name: """{lines}""") {{ name }} }}'}


def _deep_value(n: int) -> Request:
    depth = 190
    return {"query": f"query Q{n} {{ __type(name: " + "[" * depth + '"x"' + "]" * depth + ") { name } }"}


def _unknown_names(n: int) -> Request:
    """Unknown fields near real names: each error may compute "Did you mean" suggestions."""
    count = LIMITS.max_tokens - 10
    return {"query": f"query Q{n} {{ " + " ".join(f"tenantz{i % 10}" for i in range(count)) + " }"}


def _introspection(n: int) -> Request:
    return {"query": INTROSPECTION.replace("query IntrospectionQuery", f"query I{n}", 1)}


def _introspection_nested(n: int) -> Request:
    inner = "name"
    for _ in range(8):
        inner = f"fields {{ type {{ {inner} }} }}"
    return {"query": f'query Q{n} {{ __type(name: "Query") {{ {inner} }} }}'}


FAMILIES: dict[str, Callable[[int], Request]] = {
    "trivial": lambda n: {"query": f"query T{n} {{ __typename }}"},
    "doubling-25": _doubling(25),
    "doubling-max": _doubling(LIMITS.max_fragments - 1),
    "wide-fragments": _wide_fragments,
    "fragment-chain": _fragment_chain,
    "fragment-cycle": _fragment_cycle,
    "deep-inline": _deep_inline,
    "deep-fields": _deep_fields,
    "aliases": _aliases,
    "overlap-leaves": _overlap_leaves,
    "overlap-conflicts": _overlap_conflicts,
    "overlap-subselections": _overlap_subselections,
    "directives": _directives,
    "arguments": _arguments,
    "variables": _variables,
    "operations": _operations,
    "max-comment": _max_comment,
    "max-string": _max_string,
    "max-block-string": _max_block_string,
    "deep-value": _deep_value,
    "unknown-names": _unknown_names,
    "introspection": _introspection,
    "introspection-nested": _introspection_nested,
}


@dataclass
class Row:
    family: str
    answer: str
    size: int
    blocked: list[float]  # per request: the longest the heartbeat waited past its time
    cpu: list[float]  # per request: the process's CPU time (both threads)
    gc_pause: float  # the longest garbage collection during the family


class _GcWatch:
    """The longest pause of CPython's cyclic garbage collector (it holds the interpreter lock throughout)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._started)

    def reset(self) -> float:
        longest, self.longest = self.longest, 0.0
        return longest


class _Heartbeat:
    """A task that sleeps HEARTBEAT at a time on the loop and keeps how late it woke at worst."""

    def __init__(self) -> None:
        self.lateness = 0.0
        self._done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._beat())
        await asyncio.sleep(HEARTBEAT * 2)  # beating before the request starts

    async def stop(self) -> float:
        self._done.set()
        if self._task is not None:
            await self._task
        return self.lateness

    async def _beat(self) -> None:
        while not self._done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(HEARTBEAT)
            self.lateness = max(self.lateness, time.perf_counter() - started - HEARTBEAT)


async def _measure(
    executor: GraphQLExecutor, family: str, make: Callable[[int], Request] | None, count: int, watch: _GcWatch
) -> Row:
    """`count` requests of a family one after the other (`make` None: as long as the trivial query, idle)."""
    ctx = RequestContext(request_id="bench")
    context = {"services": SimpleNamespace(gateway=None), "ctx": ctx}
    fresh = itertools.count()
    blocked: list[float] = []
    cpu: list[float] = []
    answer, size = "-", 0
    watch.reset()
    for _ in range(count):
        heartbeat = _Heartbeat()
        await heartbeat.start()
        started = time.process_time()
        if make is None:
            await asyncio.sleep(0.002)
        else:
            request = make(next(fresh))
            size = len(request["query"])
            response = await executor.run(request, ctx, context)
            errors = response.get("errors")
            answer = errors[0]["extensions"]["code"] if errors else "ok"
        cpu.append(time.process_time() - started)
        blocked.append(await heartbeat.stop())
    return Row(family, answer, size, blocked, cpu, watch.reset())


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    settings = Settings()
    schema = build([webhooks_part(), *(module.part for module in installed_registry().ordered())])
    executor = GraphQLExecutor(
        schema,
        LIMITS,
        introspection=args.dev,
        document_cache_bytes=settings.graphql_document_cache_bytes,
        persisted_cache_bytes=settings.graphql_persisted_cache_bytes,
    )
    watch = _GcWatch()
    chosen = [name for name in FAMILIES if not args.only or name in args.only.split(",") or name == "trivial"]
    await _measure(executor, "warm-up", FAMILIES["trivial"], 20, watch)
    print(f"introspection {'on' if args.dev else 'off'}; {args.requests} requests per family, each a new document")
    print(
        f"{'family':24} {'answer':26} {'bytes':>7}  {'blocked ms: median':>18} {'p99':>8} {'max':>8}"
        f"  {'CPU ms':>8}  {'GC max ms':>9}"
    )
    rows = [await _measure(executor, "idle (no request)", None, args.requests, watch)]
    for name in chosen:
        rows.append(await _measure(executor, name, FAMILIES[name], args.requests, watch))
    for row in rows:
        print(
            f"{row.family:24} {row.answer:26} {row.size:7d}  {_ms(statistics.median(row.blocked)):>18} "
            f"{_ms(_p99(row.blocked))} {_ms(max(row.blocked))}  {_ms(statistics.median(row.cpu))}"
            f"  {_ms(row.gc_pause):>9}",
            flush=True,
        )
    worst = max(rows[1:], key=lambda r: max(r.blocked))
    print(f"longest block of the event loop: {max(worst.blocked) * 1000:.2f} ms ({worst.family})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20, help="requests per family (default 20)")
    parser.add_argument("--dev", action="store_true", help="introspection on, as with RUSTOK_DEV=1")
    parser.add_argument("--only", default="", help="comma-separated families (the trivial query always runs)")
    asyncio.run(main(parser.parse_args()))
