"""Observability: Prometheus metrics (`/metrics`), JSON logs carrying the request id, and `rustok status`.

    metrics.py   the counters and histograms (prometheus-client), the ASGI wrapper that times every HTTP
                 request (the GraphQL hot path included), per-operation GraphQL timing, and GET /metrics
    gauges.py    what /metrics reads rather than counts: each process's pool and relay, the database's queues
    multiprocess.py  one /metrics for `rustok serve --workers N`: the library's shared directory, cleaned up
    logging.py   the JSON (or text) log formatter, the request id on every record, uvicorn's log config
    status.py    the health at a glance for `rustok status`, read from the database as an operator

See docs/observability.md."""

from rustok.observability.metrics import Metrics, instrument, routes

__all__ = ["Metrics", "instrument", "routes"]
