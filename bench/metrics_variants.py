"""The two ways of recording RusToK's request metrics that bench/metrics_bench.py compares, as Metrics classes
(for the micro-benchmark) and as app factories for uvicorn (`--factory --app-dir bench metrics_variants:hand_app`):

- `library`: rustok.observability.metrics as it is (prometheus-client; with PROMETHEUS_MULTIPROC_DIR set
  before the library is imported, every value lives in a per-process mmap'd file: its multi-process mode);
- `hand`: the code it replaced (commit 9eb4277): the four request families kept in dicts, a bisect per
  histogram observation, the text written by hand. One process only.

Only the recording of the four request families differs; routes, request ids, the access log and the gauges
are the same code.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

from rustok.observability import metrics as metrics_module
from rustok.observability.metrics import LATENCY_BUCKETS, Labels, Metrics


class HandCounter:
    def __init__(self, name: str, help: str, labelnames: Labels) -> None:
        self.name = name
        self.help = help
        self.labelnames = labelnames
        self.values: dict[Labels, float] = {}

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def render(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.labelnames, labels)} {_number(value)}"


class HandHistogram:
    def __init__(self, name: str, help: str, labelnames: Labels) -> None:
        self.name = name
        self.help = help
        self.labelnames = labelnames
        self.buckets = LATENCY_BUCKETS
        # per series: the count in each bucket (not cumulative), the count above the last bucket, then the sum
        self.series: dict[Labels, list[float]] = {}

    def observe(self, labels: Labels, value: float) -> None:
        counts = self.series.get(labels)
        if counts is None:
            counts = self.series[labels] = [0.0] * (len(self.buckets) + 2)
        counts[bisect.bisect_left(self.buckets, value)] += 1
        counts[-1] += value

    def render(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, counts in sorted(self.series.items()):
            total = 0.0
            for bound, count in zip((*self.buckets, float("inf")), counts, strict=False):
                total += count
                le = _labels((*self.labelnames, "le"), (*labels, "+Inf" if bound == float("inf") else repr(bound)))
                yield f"{self.name}_bucket{le} {_number(total)}"
            yield f"{self.name}_sum{_labels(self.labelnames, labels)} {_number(counts[-1])}"
            yield f"{self.name}_count{_labels(self.labelnames, labels)} {_number(total)}"


class HandMetrics(Metrics):
    """The request families by hand; the gauges as the library writes them (they are read when scraped)."""

    def __init__(self) -> None:
        super().__init__()
        if self.shared is not None:
            raise RuntimeError("the hand-written metrics count per process: unset PROMETHEUS_MULTIPROC_DIR")
        assert self.registry is not None
        hand: list[Any] = []
        for attr in ("http_requests", "http_duration", "graphql_operations", "graphql_duration"):
            library = getattr(self, attr)
            self.registry.unregister(library.family)
            kind = HandHistogram if attr.endswith("duration") else HandCounter
            name = library.family._name + ("_total" if kind is HandCounter else "")
            hand.append(kind(name, library.family._documentation, tuple(library.family._labelnames)))
        self.http_requests, self.http_duration, self.graphql_operations, self.graphql_duration = hand

    async def render(self, services: Any) -> bytes:
        lines = [line for family in (self.http_requests, self.http_duration) for line in family.render()]
        lines += [line for family in (self.graphql_operations, self.graphql_duration) for line in family.render()]
        return ("\n".join(lines) + "\n").encode() + await super().render(services)


def _labels(names: Labels, values: Labels) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


VARIANTS: dict[str, type[Metrics]] = {"hand": HandMetrics, "library": Metrics}


def _app(variant: str, access_log: bool = False) -> Any:
    from rustok.app import app_from_environment
    from rustok.observability.logging import configure

    # as `rustok serve --log-level warning` with `--no-access-log` (or without, to stderr: the server's log file)
    configure("json", "warning", access_log=access_log)
    metrics_module.Metrics = VARIANTS[variant]  # type: ignore[misc]  # what the composition root makes
    return app_from_environment()


def hand_app() -> Any:
    return _app("hand")


def hand_log_app() -> Any:
    """The yardstick: the hand-written metrics with the access log on, as `rustok serve` runs by default."""
    return _app("hand", access_log=True)


def library_app() -> Any:
    return _app("library")
