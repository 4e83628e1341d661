"""`rustok demo` beside a running `rustok serve` (issue 14, point 4): it prints the server's real address, and
running it again while the server is up leaves no window: the storefront and GraphQL of the new demo tenant
answer at once (the server's tenant caches follow tenant events), and a token of the replaced tenant is
UNAUTHENTICATED (401), not NOT_FOUND or MODULE_DISABLED. A renamed slug and a new storefront host name count at
once too (TenantUpdated). Without a server, demo says so and prints the default port."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest

from rustok.db import Database
from tests.py.cli_support import environment, piped
from tests.py.serve_support import ServeProcess

pytestmark = pytest.mark.slow
FIRST, SECOND = "first demo password", "second demo password"
SEARCH = "{ searchProducts(first: 1) { totalCount } }"
AT_ONCE = 3.0  # seconds a change may take to reach the server (a relay read; on main: up to 30 s)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-server") / "home"


@pytest.fixture(scope="module")
def server(db: Database, home: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(db, home, log=home.parent / "serve.log")
    try:
        process.wait_ready(time.monotonic() + 60)
        yield process
    finally:
        process.stop()


def demo(db: Database, home: Path, password: str, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    done = piped(environment(db, home, **env), "demo", "--no-migrate", "--password-stdin", *extra, stdin=password)
    assert done.returncode == 0, done.stderr
    return done


def graphql(server: ServeProcess, query: str, **headers: str) -> dict[str, Any]:
    response = httpx.post(f"{server.base}/graphql", json={"query": query}, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def codes(answer: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


def sign_in(server: ServeProcess, slug: str, email: str, password: str) -> str:
    response = httpx.post(
        f"{server.base}/api/auth/login",
        json={"email": email, "password": password},
        headers={"x-tenant": slug},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["accessToken"])


def status_of(server: ServeProcess, path: str, **headers: str) -> int:
    return httpx.get(f"{server.base}{path}", headers=headers, timeout=10).status_code


def soon(predicate: Any) -> float:
    """Seconds until `predicate()` held (AssertionError after AT_ONCE)."""
    began = time.monotonic()
    while not predicate():
        assert time.monotonic() - began < AT_ONCE, "the server still answers from before the change"
        time.sleep(0.02)
    return time.monotonic() - began


def test_demo_prints_the_running_servers_address(db: Database, home: Path, server: ServeProcess) -> None:
    report = json.loads(demo(db, home, FIRST, "--json", RUSTOK_PORT="8000").stdout)
    assert report["serverRunning"] is True
    assert report["storefrontUrl"] == f"{server.base}/t/demo/" and report["adminUrl"] == f"{server.base}/admin"
    assert status_of(server, "/t/demo/") == 200


def test_demo_run_again_while_serving_answers_at_once(db: Database, home: Path, server: ServeProcess) -> None:
    admin = "admin@demo.rustok.test"
    old_token = sign_in(server, "demo", admin, FIRST)
    assert graphql(server, "{ me { id } }", authorization=f"Bearer {old_token}")["data"]["me"]
    assert status_of(server, "/t/demo/") == 200 and not codes(graphql(server, SEARCH, **{"x-tenant": "demo"}))

    shown = demo(db, home, SECOND).stdout
    assert f"storefront: {server.base}/t/demo/" in shown and f"admin:      {server.base}/admin" in shown
    assert "served by rustok serve (pid" in shown

    # at once: no request in between, no retry
    assert status_of(server, "/t/demo/") == 200
    assert status_of(server, "/t/demo/products") == 200
    search = graphql(server, SEARCH, **{"x-tenant": "demo"})
    assert not codes(search) and search["data"]["searchProducts"]["totalCount"] > 0
    stale = graphql(server, "{ me { id } }", authorization=f"Bearer {old_token}")
    assert codes(stale) == ["UNAUTHENTICATED"], stale
    me = httpx.get(f"{server.base}/api/auth/me", headers={"authorization": f"Bearer {old_token}"}, timeout=10)
    assert me.status_code == 401 and me.json()["error"]["code"] == "UNAUTHENTICATED"
    new_token = sign_in(server, "demo", admin, SECOND)
    assert graphql(server, "{ me { id } }", authorization=f"Bearer {new_token}")["data"]["me"]


def test_a_renamed_slug_and_a_new_host_name_count_at_once(db: Database, server: ServeProcess) -> None:
    assert status_of(server, "/t/demo/") == 200 and status_of(server, "/t/demo-renamed/") == 404  # both cached
    host = {"host": "shop.demo.test"}
    assert status_of(server, "/", **host) == 404
    with psycopg.connect(db.admin_url) as conn:
        conn.execute(
            "update tenants set slug = 'demo-renamed', settings = settings || '{\"domains\": [\"shop.demo.test\"]}'"
            " where slug = 'demo'"
        )
    soon(lambda: status_of(server, "/t/demo-renamed/") == 200)
    assert status_of(server, "/t/demo/") == 404
    assert status_of(server, "/", **host) == 200
    assert not codes(graphql(server, SEARCH, **{"x-tenant": "demo-renamed"}))


def test_demo_without_a_server_says_so(db: Database, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True)  # what a killed serve leaves: its file, no process (pids end at 2**22)
    (home / "run" / "serve-1.json").write_text(
        json.dumps({"pid": 2**22 + 1, "host": "127.0.0.1", "port": 1, "workers": 1, "background": True})
    )
    shown = demo(db, home, FIRST, "--tenant", "demo-alone", RUSTOK_PORT="8123").stdout
    assert "storefront: http://127.0.0.1:8123/t/demo-alone/" in shown
    assert "no rustok serve is running" in shown and "default port 8123" in shown
    report = json.loads(demo(db, home, FIRST, "--tenant", "demo-alone", "--json").stdout)
    assert report["serverRunning"] is False and report["storefrontUrl"] == "http://127.0.0.1:8000/t/demo-alone/"
