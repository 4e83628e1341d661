"""Password hashing off the event loop, with a cap: at most one argon2 computation per CPU at a time (each
takes 19 MiB and about 30 ms here) and a bounded queue behind them, so a login flood costs a fixed amount of
CPU and memory and is answered RATE_LIMITED instead of growing a backlog. The queue is shared by every tenant
and first come, first served, so each client address (api/clients.py) holds at most a share of it: a flood from
one address is refused at once and the others' sign-ins go on (the budgets in the database refuse floods before
they reach this queue at all; docs/auth.md)."""

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
    def __init__(
        self, concurrency: int | None = None, max_waiting: int | None = None, per_client: int | None = None
    ) -> None:
        self.concurrency = max(1, concurrency or cpu_count())
        self.max_waiting = max_waiting if max_waiting is not None else 32 * self.concurrency
        # hashes one client address may have waiting or running at once (a person signs in once at a time)
        self.per_client = max(1, per_client or max(2, self.concurrency))
        self._slots: asyncio.Semaphore | None = None
        self._queued = 0
        self._by_client: dict[str, int] = {}
        self._dummy_hash: str | None = None

    async def start(self) -> None:
        """Binds the semaphore to the running loop and prepares the dummy hash (app start-up)."""
        self._slots = asyncio.Semaphore(self.concurrency)
        self._dummy_hash = await self._run(None, passwords.hash_password, _DUMMY_PASSWORD)

    def saturated(self, client: str | None = None) -> bool:
        """Whether a new hash for `client` (a budget key, api/clients.py; None: unknown, no share) would be
        refused right now: the queue is full, or the client holds its share. Checked before a sign-in touches
        the database, so a refused flood costs nothing else."""
        return self._queued >= self.max_waiting or (
            client is not None and self._by_client.get(client, 0) >= self.per_client
        )

    async def hash(self, password: str, client: str | None = None) -> str:
        """An argon2id hash; raises ValidationFailed for a password outside the policy, RateLimited when busy."""
        passwords.check_policy(password)
        return await self._run(client, passwords.hash_password, password)

    async def verify(self, password_hash: str | None, password: str, client: str | None = None) -> bool:
        """Whether the password matches. Without a hash (unknown email) it checks a dummy one and answers
        False, so both cases cost the same time."""
        if password_hash is None:
            await self._run(client, passwords.verify_password, await self._dummy(), password)
            return False
        return await self._run(client, passwords.verify_password, password_hash, password)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._run(None, passwords.hash_password, _DUMMY_PASSWORD)
        return self._dummy_hash

    async def _run(self, client: str | None, work: Callable[..., T], *args: str) -> T:
        if self.saturated(client):
            raise busy()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        slots = self._slots
        self._queued += 1
        self._take_share(client)
        try:
            await slots.acquire()
        except BaseException:
            self._give_share(client)
            raise
        finally:
            self._queued -= 1
        # The slot (and the client's share) is released when the thread finishes, not when the request goes
        # away: a cancelled request must not let more hashes run at once than there are CPUs.
        task = asyncio.ensure_future(asyncio.to_thread(work, *args))

        def finished(_: object) -> None:
            slots.release()
            self._give_share(client)

        task.add_done_callback(finished)
        return await asyncio.shield(task)

    def _take_share(self, client: str | None) -> None:
        if client is not None:
            self._by_client[client] = self._by_client.get(client, 0) + 1

    def _give_share(self, client: str | None) -> None:
        if client is None:
            return
        left = self._by_client.get(client, 0) - 1
        if left > 0:
            self._by_client[client] = left
        else:
            self._by_client.pop(client, None)
