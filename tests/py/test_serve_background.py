"""`rustok serve` runs the background work itself (issue 14, point 6): with nothing but a real `rustok serve`
running, a webhook is delivered and the index queue is drained, also after the worker's connections were cut;
with --no-background `rustok status` says that events and queued index changes wait for nobody; with
--workers 2 the worker and the indexer run once, in the serve process itself. compose keeps them apart."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
import yaml

from rustok.config import REPO_ROOT
from rustok.db import Database
from rustok.modules import installed_registry
from rustok.platform import handler_names
from tests.py.cli_support import environment, piped
from tests.py.serve_support import ServeProcess
from tests.py.webhooks_support import Receiver, Tenant, create_tenant, create_webhook, publish

pytestmark = pytest.mark.slow
HANDLERS = handler_names(installed_registry(None))


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    return create_tenant(db, "inproc")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


def serve(db: Database, home: Path, **options: Any) -> ServeProcess:
    server = ServeProcess(db, home, {"RUSTOK_WEBHOOKS_ALLOW_PRIVATE": "1"}, log=home.parent / "serve.log", **options)
    server.wait_ready(time.monotonic() + 60)
    return server


def sessions(db: Database, pattern: str) -> list[str]:
    """application_name of this database's sessions LIKE `pattern`."""
    with psycopg.connect(db.admin_url) as conn:
        rows = conn.execute(
            "select application_name from pg_stat_activity where datname = current_database()"
            " and application_name like %s order by 1",
            (pattern,),
        ).fetchall()
    return [r[0] for r in rows]


def queue_index_change(db: Database, tenant: Tenant) -> None:
    with psycopg.connect(db.admin_url) as conn:
        conn.execute(
            "insert into index_queue (tenant_id, kind, id) values (%s, 'product', rustok.gen_id())", (tenant.id,)
        )


def queued(db: Database) -> int:
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("select count(*) from index_queue").fetchone()
    return int(row[0]) if row else -1


def until(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def status(db: Database, home: Path) -> tuple[int, dict[str, Any]]:
    done = piped(environment(db, home), "status", "--json")
    return done.returncode, {c["name"]: c for c in json.loads(done.stdout)["checks"]}


def test_serve_alone_delivers_webhooks_and_drains_the_index_queue(
    db: Database, tenant: Tenant, receiver: Receiver, tmp_path: Path
) -> None:
    create_webhook(db, tenant, receiver.plan("/hook"), ["InprocPing"])
    server = serve(db, tmp_path / "home", background=True)
    try:
        publish(db, tenant, ("InprocPing", {"n": 1}))
        assert len(receiver.wait_for("/hook", 1, timeout=20)) == 1, "no rustok worker runs: serve delivered it"
        queue_index_change(db, tenant)
        assert until(lambda: queued(db) == 0, 20), "serve drains the index queue"
        code, checks = status(db, tmp_path / "home")
        assert code == 0 and checks["consumers"]["ok"], checks["consumers"]
        assert {c["name"]: c["state"] for c in checks["consumers"]["details"]["consumers"]} == dict.fromkeys(
            HANDLERS, "running"
        )
        assert checks["index queue"]["details"]["drained"] is True

        # its connections cut (a failover, an operator's pg_terminate_backend): the API stays up, the worker
        # comes back by itself and delivers what came meanwhile
        with psycopg.connect(db.admin_url, autocommit=True) as conn:
            cut = conn.execute(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity"
                " where datname = current_database() and application_name like 'rustok-worker:%%'"
            ).fetchone()
        assert cut and cut[0] >= len(HANDLERS), "the worker's sessions are named after it"
        publish(db, tenant, ("InprocPing", {"n": 2}))
        assert httpx.get(f"{server.base}/health/ready", timeout=5).status_code == 200
        assert len(receiver.wait_for("/hook", 2, timeout=30)) == 2
    finally:
        server.stop()


def test_status_warns_while_serve_runs_without_its_background_work(
    db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    server = serve(db, tmp_path / "home", background=False)
    try:
        code, checks = status(db, tmp_path / "home")
        assert code == 0, "nothing waits yet: idle consumers are fine"
        publish(db, tenant, ("InprocPing", {"n": 3}))
        queue_index_change(db, tenant)
        code, checks = status(db, tmp_path / "home")
        assert code == 1
        consumers = checks["consumers"]
        assert not consumers["ok"] and "NOT RUNNING" in consumers["summary"]
        assert "--no-background" in consumers["summary"] and "rustok worker" in consumers["summary"]
        assert {c["name"]: (c["state"], c["waiting"]) for c in consumers["details"]["consumers"]} == dict.fromkeys(
            HANDLERS, ("not running", 1)
        )
        index = checks["index queue"]
        assert not index["ok"] and "NOBODY DRAINS IT" in index["summary"] and index["details"]["depth"] == 1
        text = piped(environment(db, tmp_path / "home"), "status")
        assert text.returncode == 1 and "consumers     CHECK" in text.stdout, text.stdout
    finally:
        server.stop()
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("delete from index_queue")


def test_with_two_workers_the_background_work_runs_once_in_the_serve_process(db: Database, tmp_path: Path) -> None:
    server = serve(db, tmp_path / "home", background=True, workers=2)
    try:
        # both uvicorn workers are up (each has its relay's LISTEN connection) before counting
        assert until(lambda: len(sessions(db, "rustok-relay")) == 2, 30), sessions(db, "rustok-%")
        serve_pid = server.popen.pid
        assert until(lambda: len(sessions(db, "rustok-worker:%")) >= len(HANDLERS) + 1, 30)
        time.sleep(1.0)  # a second copy, if there were one, would have connected by now
        names = set(sessions(db, "rustok-worker:%")) | set(sessions(db, "rustok-indexer:%"))
        assert names == {f"rustok-worker:{serve_pid}", f"rustok-indexer:{serve_pid}"}, names
        code, checks = status(db, tmp_path / "home")
        assert code == 0 and all(c["state"] == "running" for c in checks["consumers"]["details"]["consumers"])
    finally:
        server.stop()


def test_compose_runs_the_worker_and_the_indexer_as_services_of_their_own() -> None:
    compose = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    services = compose["services"]
    apis = {name: s for name, s in services.items() if s.get("command", [])[:2] == ["rustok", "serve"]}
    assert apis and all("--no-background" in s["command"] for s in apis.values())
    assert services["worker"]["command"][:2] == ["rustok", "worker"]
    assert services["indexer"]["command"][:2] == ["rustok", "indexer"]
