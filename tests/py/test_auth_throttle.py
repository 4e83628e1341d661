"""Login throttling lives in the database: delays grow after five free attempts, unknown emails are throttled
exactly like known ones, another API process sees the same state, parallel guesses are counted, and a
success resets the count."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from rustok.app import create_app
from rustok.config import Settings
from rustok.db import Database
from rustok.modules import installed_registry

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def apps(db: Database) -> Iterator[tuple[TestClient, TestClient]]:
    """Two API instances (two pools, as two processes would have) on one database."""
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("select rustok.create_tenant('acme', 'Acme')")
    settings = Settings(jwt_secret="s" * 40)
    with (
        TestClient(create_app(db, installed_registry(), settings)) as first,
        TestClient(create_app(db, installed_registry(), settings)) as second,
    ):
        yield first, second


def login(client: TestClient, email: str, password: str) -> Any:
    return client.post("/api/auth/login", json={"tenant": "acme", "email": email, "password": password})


def answer(response: Any) -> tuple[int, str, Any]:
    error = response.json().get("error", {}) if response.status_code != 200 else {}
    return response.status_code, error.get("code", ""), error.get("details", {}).get("retryAfter")


def let_time_pass(db: Database, email: str) -> None:
    """As if the current delay had run out."""
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("update auth_login_attempts set blocked_until = now() - interval '1ms' where email = %s", (email,))


def current_delay(db: Database, email: str) -> int:
    """The wait the last charged attempt set, in seconds."""
    query = "select extract(epoch from blocked_until - last_failed_at)::int from auth_login_attempts where email = %s"
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        row = conn.execute(query, (email,)).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("email", ["victim@example.com", "nobody@example.com"])
def test_delays_grow_across_processes_and_alike_for_unknown_emails(
    apps: tuple[TestClient, TestClient], db: Database, email: str
) -> None:
    first, second = apps
    if email == "victim@example.com":
        registered = first.post("/api/auth/register", json={"tenant": "acme", "email": email, "password": PASSWORD})
        assert registered.status_code == 201
    for attempt in range(6):  # five free attempts, and the sixth still gets an answer
        client = first if attempt % 2 else second
        assert answer(login(client, email, "wrong password")) == (401, "INVALID_CREDENTIALS", None)
    throttled = login(second, email, PASSWORD)
    assert answer(throttled) == (429, "RATE_LIMITED", 1)
    assert throttled.headers["retry-after"] == "1"
    assert answer(login(first, email, PASSWORD)) == (429, "RATE_LIMITED", 1)  # the other process agrees

    delays = []
    for _ in range(3):
        let_time_pass(db, email)
        assert answer(login(first, email, "wrong password"))[:2] == (401, "INVALID_CREDENTIALS")
        delays.append(current_delay(db, email))
        status, code, retry_after = answer(login(second, email, "wrong password"))
        assert (status, code) == (429, "RATE_LIMITED") and 1 <= retry_after <= delays[-1]
    assert delays == [2, 4, 8]

    let_time_pass(db, email)
    if email == "victim@example.com":
        assert login(first, email, PASSWORD).status_code == 200  # success resets the count
        assert all(login(second, email, "wrong password").status_code == 401 for _ in range(5))
    else:
        assert answer(login(first, email, PASSWORD))[:2] == (401, "INVALID_CREDENTIALS")


def test_parallel_attempts_are_counted_under_the_row_lock(db: Database) -> None:
    """Ten sessions race begin_login for one account: five free attempts and the sixth pass, the rest wait."""
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        tenant = conn.execute("select id from tenants where slug = 'acme'").fetchone()
    assert tenant is not None
    statuses: list[str] = []
    barrier = threading.Barrier(10)

    def attempt() -> None:
        with psycopg.connect(db.app_url, autocommit=True) as conn:
            barrier.wait()
            with conn.transaction():
                conn.execute("select rustok.set_context(%s)", (tenant[0],))
                row = conn.execute("select rustok.begin_login('racer@example.com')").fetchone()
            assert row is not None
            statuses.append(row[0]["status"])

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == ["ok"] * 6 + ["throttled"] * 4
