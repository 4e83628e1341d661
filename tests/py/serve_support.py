"""A real `rustok serve` in a subprocess on a free port, against a test database (DATABASE_URL): for tests
of several API processes and for the browser tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx

from rustok.db import Database
from tests.py.realtime_support import free_port


class ServeProcess:
    """`rustok serve --no-migrate` on 127.0.0.1 and a free port; `env` adds settings (RUSTOK_JWT_SECRET,
    RUSTOK_DEV, …) to a clean environment (no RUSTOK_* or DATABASE_URL of the caller's); with `log` its stderr
    goes to that file (a pipe nobody reads would stall a server that logs much). Without its background work
    (--no-background) unless `background`: most tests drive `rustok worker` themselves."""

    def __init__(
        self,
        db: Database,
        home: Path,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        *,
        background: bool = False,
        workers: int = 1,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("RUSTOK_") and k != "DATABASE_URL"}
        clean |= {"RUSTOK_HOME": str(home), "DATABASE_URL": db.admin_url, "RUSTOK_APP_PASSWORD": db.app_password}
        argv = [sys.executable, "-m", "rustok.cli", "serve", "--no-migrate", "--port", str(self.port)]
        argv += ["--workers", str(workers), *([] if background else ["--no-background"])]
        self.log = log.open("w") if log is not None else None
        self.popen = subprocess.Popen(
            [*argv, "--log-level", "warning", "--no-access-log"],
            env=clean | (env or {}),
            stdout=subprocess.DEVNULL,
            stderr=self.log or subprocess.PIPE,
            text=True,
        )

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            assert self.popen.poll() is None, self.popen.stderr.read() if self.popen.stderr else "exited"
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"rustok serve on port {self.port} did not become ready")

    def stop(self) -> None:
        self.popen.send_signal(signal.SIGINT)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        if self.popen.stderr:
            self.popen.stderr.close()
        if self.log:
            self.log.close()


@contextlib.contextmanager
def serve_processes(
    db: Database, home: Path, count: int, env: dict[str, str] | None = None
) -> Iterator[list[ServeProcess]]:
    """`count` ServeProcesses on one database, all ready (within 60 s), stopped afterwards."""
    started = [ServeProcess(db, home, env) for _ in range(count)]
    try:
        deadline = time.monotonic() + 60
        for process in started:
            process.wait_ready(deadline)
        yield started
    finally:
        for process in started:
            process.stop()
