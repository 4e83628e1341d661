"""Logs of `serve`, `worker` and `indexer`: readable text on a terminal, one JSON object per line anywhere
else (`--log-format auto`, the default), each switchable with --log-format or RUSTOK_LOG_FORMAT. The real
commands, piped and on a pseudo-terminal."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from rustok.db import Database
from tests.py.cli_support import Terminal, command, environment, piped
from tests.py.realtime_support import free_port

TEXT_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) +[\w.]+: ")


@pytest.fixture
def env(db: Database, tmp_path: Path) -> dict[str, str]:
    return environment(db, tmp_path)


def json_records(stderr: str) -> list[dict[str, Any]]:
    """Every stderr line as a JSON object (a line that is not one fails)."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def text_records(shown: str) -> list[str]:
    return [line for line in shown.splitlines() if TEXT_RECORD.match(line)]


def test_worker_logs_json_into_a_pipe_and_text_on_a_terminal(env: dict[str, str]) -> None:
    done = piped(env, "worker", "--once")
    assert done.returncode == 0, done.stderr
    records = json_records(done.stderr)
    assert any(r["logger"] == "rustok.worker" and r["message"].startswith("running handlers") for r in records)
    assert all(r["level"] in ("info", "warning", "error") and "ts" in r for r in records)

    code, shown = Terminal(env, "worker", "--once").finish()
    assert code == 0, shown
    assert any(" INFO    rustok.worker: running handlers" in line for line in text_records(shown)), shown
    assert '{"ts"' not in shown


def test_the_format_is_switchable_both_ways(env: dict[str, str]) -> None:
    done = piped(env | {"RUSTOK_LOG_FORMAT": "text"}, "worker", "--once")
    assert done.returncode == 0 and text_records(done.stderr) and '{"ts"' not in done.stderr, done.stderr
    done = piped(env, "indexer", "--once", "--log-format", "text")
    assert done.returncode == 0 and any("rustok.indexer: draining" in r for r in text_records(done.stderr))

    code, shown = Terminal(env, "indexer", "--once", "--log-format", "json").finish()
    assert code == 0, shown
    records = [json.loads(line) for line in shown.splitlines() if line.startswith("{")]
    assert any(r["logger"] == "rustok.indexer" and r["message"].startswith("draining") for r in records), shown

    done = piped(env | {"RUSTOK_LOG_FORMAT": "yaml"}, "worker", "--once")
    assert done.returncode == 2 and "RUSTOK_LOG_FORMAT" in done.stderr and done.stdout == ""


def wait_ready(port: int, server: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"rustok serve on port {port} did not answer: {server}")


@pytest.mark.slow
def test_serve_logs_text_on_a_terminal_and_json_into_a_file(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    terminal = Terminal(env, "serve", "--no-migrate", "--port", str(port))
    try:
        terminal.expect("Application startup complete")
        wait_ready(port, terminal.text())
        httpx.get(f"http://127.0.0.1:{port}/health/live", headers={"x-request-id": "seen-on-tty"})
        terminal.expect("[seen-on-tty]")  # the access log, with its request id
    finally:
        terminal.interrupt()
        _, shown = terminal.finish(timeout=30)
    assert any("uvicorn.error: Application startup complete" in line for line in text_records(shown)), shown
    assert '{"ts"' not in shown

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [*command(), "serve", "--no-migrate", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        wait_ready(port, log)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines if not line.startswith("rustok: ")]  # its plain lines
    assert any(r["logger"] == "uvicorn.error" and "startup complete" in r["message"] for r in records), lines
