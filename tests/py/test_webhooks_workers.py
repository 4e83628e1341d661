"""`rustok worker` as a command: --once drains and exits, a bad handler name is one clear line, and two worker
processes running at once deliver every event exactly once."""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rustok.cli import main
from rustok.db import Database
from tests.py.webhooks_support import Receiver, create_tenant, create_webhook, deliveries, publish, worker_environment


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    return worker_environment(db, monkeypatch, tmp_path)


def test_worker_once_drains_and_exits(
    db: Database, env: dict[str, str], receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create_tenant(db, "cli")
    webhook = create_webhook(db, tenant, receiver.plan("/cli"))
    publish(db, tenant, ("OrderPlaced", {"n": 1}))

    code = main(["worker", "--once", "--handlers", "webhooks"])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("webhooks: ") and "handled" in out
    assert [d["status"] for d in deliveries(db, tenant, webhook["id"])] == ["succeeded"]
    assert len(receiver.at("/cli")) == 1


def test_an_unknown_handler_is_one_clear_line(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["worker", "--once", "--handlers", "webhooks,nope"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err == "rustok: error: unknown handler(s): nope; available: webhooks, module-hooks, index-reindex\n"


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "rustok.cli", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )


def _wait_for_line(log: Path, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{log.name}: no {text!r} in {log.read_text(errors='replace')!r}")


@pytest.mark.slow
def test_two_worker_processes_deliver_each_event_once(
    db: Database, env: dict[str, str], receiver: Receiver, tmp_path: Path
) -> None:
    tenants = [create_tenant(db, f"pair-{n}") for n in range(3)]
    for tenant in tenants:
        create_webhook(db, tenant, receiver.plan(f"/pair/{tenant.slug}"))
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [_start_worker(env, log) for log in logs]
    try:
        for log in logs:
            _wait_for_line(log, "running handlers: webhooks")
        expected = 0
        for round_ in range(10):
            for tenant in tenants:
                publish(db, tenant, *[("OrderPlaced", {"round": round_, "n": n}) for n in range(2)])
                expected += 2
        got: list[Any] = []
        for tenant in tenants:
            got += receiver.wait_for(f"/pair/{tenant.slug}", expected // len(tenants), timeout=20)
        time.sleep(1.5)  # time for a duplicate to show up, if there were one
        got = [r for tenant in tenants for r in receiver.at(f"/pair/{tenant.slug}")]
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        codes = [worker.wait(timeout=30) for worker in workers]
    keys = collections.Counter(r.headers["idempotency-key"] for r in got)
    assert len(got) == expected == 60
    assert [key for key, count in keys.items() if count > 1] == []
    assert codes == [0, 0], [log.read_text() for log in logs]
    assert all("Traceback" not in log.read_text() for log in logs)
