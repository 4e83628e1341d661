"""Logs: one JSON object per line or readable text, every record carrying the request id of the request it
was written in. The format `auto` (the default of `serve`, `worker` and `indexer`) is text when stderr is a
terminal — a person reads it — and JSON anywhere else (a file, a pipe, a container: a collector reads it).

The id lives in a context variable set by the HTTP wrapper (metrics.Instrumented) for the request's whole
handling, so a record from any logger (the GraphQL endpoint's "unexpected error", a database warning) gets
`request_id` without passing it around. `rustok serve` hands uvicorn `uvicorn_log_config(...)`, so uvicorn's
own messages come out in the same format; the access log is `rustok.access` (one line per request: method,
path, status, duration_ms, request_id)."""

from __future__ import annotations

import logging
import logging.config
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("rustok_request_id", default=None)
FORMATS = ("auto", "json", "text")

# what every LogRecord has: anything else on a record came from `extra=` and goes into the JSON object
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "rid",  # TextFormatter's
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or None) on every record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """{"ts", "level", "logger", "message", "request_id", …extra fields, "exc"} on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid is None:
            rid = REQUEST_ID.get()
        if rid is not None:
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time level logger [request id]: message` for a person (the messages already say what the structured
    fields of the JSON format carry)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None) or REQUEST_ID.get()
        record.rid = f" [{rid}]" if rid else ""
        return super().format(record)


def resolve_format(log_format: str) -> str:
    """`json` or `text`: `auto` becomes text on a terminal (stderr) and JSON anywhere else. Raises
    ValueError for a name not in FORMATS."""
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r}: one of {', '.join(FORMATS)}")
    if log_format == "auto":
        return "text" if sys.stderr.isatty() else "json"
    return log_format


def uvicorn_log_config(log_format: str = "auto", level: str = "info", access_log: bool = True) -> dict[str, Any]:
    """A logging.config dict for uvicorn (each worker process applies it, so `auto` is settled here, in the
    parent): uvicorn's and rustok's loggers on stderr in one format; rustok's access log on or off
    (uvicorn's own access log is not used)."""
    chosen = resolve_format(log_format)
    formatter = "rustok.observability.logging." + ("JsonFormatter" if chosen == "json" else "TextFormatter")
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "rustok.observability.logging.RequestIdFilter"}},
        "formatters": {"rustok": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "rustok",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "rustok": {"handlers": ["stderr"], "level": level, "propagate": False},
            "rustok.access": {"level": "INFO" if access_log else "WARNING"},
        },
    }


def configure(log_format: str = "auto", level: str = "info", access_log: bool = True) -> None:
    """The same set-up outside uvicorn (the worker, the indexer). Like logging.basicConfig it leaves a
    process alone whose root logger already has handlers: a host (pytest) that calls a command in-process
    keeps its own capture and propagation."""
    if logging.getLogger().handlers:
        return
    logging.config.dictConfig(uvicorn_log_config(log_format, level, access_log))
