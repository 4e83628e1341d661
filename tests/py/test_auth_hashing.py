"""Password hashing is capped: no more hashes at once than there are slots, a bounded queue behind them
(RATE_LIMITED beyond it), each client address at most a share of it, and a cancelled request keeps its slot
until its thread is done."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from rustok.auth import hashing, passwords
from rustok.errors import RateLimited


class SlowWork:
    """Stands in for argon2: records how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def __call__(self, *args: str) -> str:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        return "$argon2id$fake"


def test_at_most_as_many_hashes_as_slots_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    work = SlowWork()
    monkeypatch.setattr(passwords, "hash_password", work)

    async def flood() -> None:
        pool = hashing.PasswordHashing(concurrency=2, max_waiting=100)
        await asyncio.gather(*(pool.hash("a long password") for _ in range(8)))

    asyncio.run(flood())
    assert work.peak == 2


def test_a_full_queue_answers_rate_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hash_password", SlowWork())

    async def flood() -> list[object]:
        pool = hashing.PasswordHashing(concurrency=1, max_waiting=2)
        return await asyncio.gather(*(pool.hash("a long password") for _ in range(6)), return_exceptions=True)

    results = asyncio.run(flood())
    refused = [r for r in results if isinstance(r, RateLimited)]
    assert len(refused) == 3  # one running, two waiting
    assert all(r.details["reason"] == "busy" for r in refused)


def test_one_client_holds_at_most_its_share_of_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """First come, first served let one address's flood fill the queue and refuse everyone else (busy)."""
    monkeypatch.setattr(passwords, "hash_password", SlowWork())

    async def flood_and_one_other() -> tuple[list[object], list[object]]:
        pool = hashing.PasswordHashing(concurrency=1, max_waiting=8, per_client=2)
        flood = [asyncio.ensure_future(pool.hash("a long password", "203.0.113.9")) for _ in range(10)]
        await asyncio.sleep(0)
        others = await asyncio.gather(
            *(pool.hash("a long password", f"198.51.100.{n}") for n in range(3)), return_exceptions=True
        )
        return await asyncio.gather(*flood, return_exceptions=True), list(others)

    flood, others = asyncio.run(flood_and_one_other())
    assert sum(isinstance(r, RateLimited) for r in flood) == 8, "two of the flood's ten, its share"
    assert others == ["$argon2id$fake"] * 3, "the other addresses were not refused"


def test_a_cancelled_request_keeps_its_slot_until_the_thread_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    work = SlowWork()
    monkeypatch.setattr(passwords, "hash_password", work)

    async def cancel_then_hash() -> None:
        pool = hashing.PasswordHashing(concurrency=1)
        first = asyncio.ensure_future(pool.hash("a long password"))
        await asyncio.sleep(0.01)
        first.cancel()
        await pool.hash("a long password")

    asyncio.run(cancel_then_hash())
    assert work.peak == 1


def test_unknown_accounts_cost_a_real_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    """verify(None, …) runs argon2 against a dummy hash made at start-up (deterministic; test_auth.py
    compares the times over HTTP)."""
    checked: list[str] = []
    real_verify = passwords.verify_password

    def recording_verify(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", recording_verify)

    async def check() -> tuple[bool, bool]:
        pool = hashing.PasswordHashing()
        await pool.start()
        real = await pool.hash("correct horse battery")
        return await pool.verify(None, "correct horse battery"), await pool.verify(real, "correct horse battery")

    assert asyncio.run(check()) == (False, True)
    dummy, real = checked
    assert dummy.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and dummy != real
