"""The first-run path: `rustok serve` on an empty RUSTOK_HOME initialises the embedded server, migrates,
and answers /health/live and /health/ready; readiness follows the database and the migrations."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import psycopg
import pytest
from starlette.testclient import TestClient

from rustok.app import create_app
from rustok.db import Database
from rustok.embedded import Cluster
from rustok.modules import installed_registry


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fresh_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    yield home
    Cluster(home / "pgdata").stop(mode="immediate")


@pytest.mark.slow
def test_serve_on_an_empty_home_becomes_ready(fresh_home: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RUSTOK_APP_PASSWORD")}
    env["RUSTOK_HOME"] = str(fresh_home)
    server = subprocess.Popen(
        [sys.executable, "-m", "rustok.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code
                if status == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert status == 200, server.stdout.read() if server.poll() is not None and server.stdout else status
        assert httpx.get(f"http://127.0.0.1:{port}/health/live").json() == {"status": "ok"}
        assert (fresh_home / "pgdata" / "PG_VERSION").exists()
        assert (fresh_home / "secrets" / "app_password").stat().st_mode & 0o077 == 0
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
        if server.stdout:
            server.stdout.close()


def test_ready_reports_pending_migrations(db: Database) -> None:
    with TestClient(create_app(db, installed_registry())) as client:
        first = client.get("/health/ready")
        assert first.status_code == 200, first.text
        with psycopg.connect(db.admin_url, autocommit=True) as conn:
            conn.execute("delete from _yoyo_migration where migration_id = 'core_0001_platform'")
        response = client.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["pendingMigrations"] == ["core_0001_platform"]


def test_ready_is_unavailable_without_the_database(db: Database) -> None:
    unreachable = Database(admin_url=db.admin_url, app_url="postgresql://x:y@127.0.0.1:1/none", app_password="y")
    with TestClient(create_app(unreachable, installed_registry())) as client:
        assert client.get("/health/live").status_code == 200
        response = client.get("/health/ready")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"
