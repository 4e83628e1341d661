"""`rustok serve` as operators run it: its log is JSON lines (uvicorn's own messages too), one access line per
request with the request id, and /metrics answers from the running process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from rustok.db import Database
from tests.py.test_metrics import parse, value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_logs_json_lines_with_the_request_id(db: Database, tmp_path: Any) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTOK_")}
    env |= {
        "DATABASE_URL": db.admin_url,
        "RUSTOK_APP_PASSWORD": db.app_password,
        "RUSTOK_HOME": str(tmp_path),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "rustok.cli", "serve", "--no-migrate", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        response = httpx.post(
            f"{base}/graphql", json={"query": "query Who { me { id } }"}, headers={"x-request-id": "serve-json-1"}
        )
        assert response.headers["x-request-id"] == "serve-json-1"
        metrics = httpx.get(f"{base}/metrics", headers={"x-request-id": "serve-json-2"})
        assert metrics.status_code == 200
        samples, _ = parse(metrics.text)
        assert value(samples, "rustok_graphql_operations_total", operation="Who", type="query", outcome="ok") == 1
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, err = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
    lines = [line for line in err.splitlines() if line.strip()]
    # one plain line before logging is set up ("rustok: serving on …"), JSON objects from there on
    assert lines[0].startswith("rustok: serving on")
    records = [orjson.loads(line) for line in lines[1:]]
    assert any(r["logger"].startswith("uvicorn") for r in records), "uvicorn's messages are JSON too"
    access = {r["request_id"]: r for r in records if r["logger"] == "rustok.access"}
    assert access["serve-json-1"]["method"] == "POST" and access["serve-json-1"]["path"] == "/graphql"
    assert access["serve-json-1"]["status"] == 200
    assert access["serve-json-2"]["path"] == "/metrics"
    assert not any(r["logger"] == "uvicorn.access" for r in records), "one access log, not two"
