"""The real `rustok` command (the console script next to this interpreter) in a subprocess, against a test
database: with its output piped, as a log or a script sees it, or on a pseudo-terminal, as a person does."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from rustok.db import Database


def command() -> list[str]:
    script = Path(sys.executable).with_name("rustok")
    return [str(script)] if script.exists() else [sys.executable, "-m", "rustok.cli"]


def environment(db: Database, home: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without its RUSTOK_* settings or DATABASE_URL, pointed at `db`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RUSTOK_") and k != "DATABASE_URL"}
    return clean | {
        "RUSTOK_HOME": str(home),
        "DATABASE_URL": db.admin_url,
        "RUSTOK_APP_PASSWORD": db.app_password,
        "COLUMNS": "200",
        **extra,
    }


def piped(env: dict[str, str], *argv: str, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`rustok argv…` with stdin, stdout and stderr all pipes (stdin holds `stdin`). The output is decoded
    as it was written: text mode would turn a carriage return into a newline and hide it."""
    done = subprocess.run([*command(), *argv], env=env, input=stdin.encode(), capture_output=True, timeout=timeout)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


class Terminal:
    """`rustok argv…` with stdin, stdout and stderr on one pseudo-terminal, in a session of its own (so it
    never reaches the terminal pytest may run in). Output arrives as a terminal shows it ("\\r\\n")."""

    def __init__(self, env: dict[str, str], *argv: str) -> None:
        self.master, slave = pty.openpty()
        self.popen = subprocess.Popen(
            [*command(), *argv], env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
        )
        os.close(slave)
        self.output = b""
        self.closed = False

    def text(self) -> str:
        return self.output.decode(errors="replace")

    def expect(self, wanted: str, timeout: float = 60) -> None:
        """Reads until `wanted` has appeared (AssertionError with what came, on a time-out or the end)."""
        deadline = time.monotonic() + timeout
        while wanted not in self.text():
            assert not self.closed and time.monotonic() < deadline, f"no {wanted!r} in {self.text()!r}"
            self._read(min(0.2, max(0.0, deadline - time.monotonic())))

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def interrupt(self) -> None:
        self.popen.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        """Reads to the end; the exit status and everything shown."""
        deadline = time.monotonic() + timeout
        try:
            while not self.closed:
                assert time.monotonic() < deadline, f"still running: {self.text()!r}"
                self._read(0.2)
            return self.popen.wait(timeout=max(1.0, deadline - time.monotonic())), self.text()
        finally:
            if self.popen.poll() is None:
                self.popen.kill()
                self.popen.wait()
            os.close(self.master)

    def _read(self, wait: float) -> None:
        if not select.select([self.master], [], [], wait)[0]:
            return
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the last holder of the terminal's other end has closed it
            chunk = b""
        self.output += chunk
        self.closed = not chunk
