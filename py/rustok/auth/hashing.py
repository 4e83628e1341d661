"""Password hashing off the event loop, with a cap: at most one argon2 computation per CPU at a time (each
takes 19 MiB and about 30 ms here) and a bounded queue behind them, so a login flood costs a fixed amount of
CPU and memory and is answered RATE_LIMITED instead of growing a backlog."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import TypeVar

from rustok.auth import passwords
from rustok.errors import RateLimited

T = TypeVar("T")

_DUMMY_PASSWORD = "not-a-password-only-the-time-to-check-it"


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def busy() -> RateLimited:
    return RateLimited("too many sign-ins in progress; retry shortly", {"reason": "busy", "retryAfter": 1})


class PasswordHashing:
    def __init__(self, concurrency: int | None = None, max_waiting: int | None = None) -> None:
        self.concurrency = max(1, concurrency or cpu_count())
        self.max_waiting = max_waiting if max_waiting is not None else 32 * self.concurrency
        self._slots: asyncio.Semaphore | None = None
        self._queued = 0
        self._dummy_hash: str | None = None

    async def start(self) -> None:
        """Binds the semaphore to the running loop and prepares the dummy hash (app start-up)."""
        self._slots = asyncio.Semaphore(self.concurrency)
        self._dummy_hash = await self._run(passwords.hash_password, _DUMMY_PASSWORD)

    @property
    def saturated(self) -> bool:
        """Whether a new hash would be refused right now (checked before a login touches the database)."""
        return self._queued >= self.max_waiting

    async def hash(self, password: str) -> str:
        """An argon2id hash; raises ValidationFailed for a password outside the policy, RateLimited when busy."""
        passwords.check_policy(password)
        return await self._run(passwords.hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether the password matches. Without a hash (unknown email) it checks a dummy one and answers
        False, so both cases cost the same time."""
        if password_hash is None:
            await self._run(passwords.verify_password, await self._dummy(), password)
            return False
        return await self._run(passwords.verify_password, password_hash, password)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._run(passwords.hash_password, _DUMMY_PASSWORD)
        return self._dummy_hash

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        if self.saturated:
            raise busy()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        slots = self._slots
        self._queued += 1
        try:
            await slots.acquire()
        finally:
            self._queued -= 1
        # The slot is released when the thread finishes, not when the request goes away: a cancelled request
        # must not let more hashes run at once than there are CPUs.
        task = asyncio.ensure_future(asyncio.to_thread(work, *args))
        task.add_done_callback(lambda _: slots.release())
        return await asyncio.shield(task)
