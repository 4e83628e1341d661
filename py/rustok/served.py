"""Where the running `rustok serve` processes of a RUSTOK_HOME listen, for the commands that print addresses
(`rustok demo`): each serve writes `run/serve-<pid>.json` (beside the supervisor's files) as it starts and
removes it as it stops. A reader keeps the files whose process is alive and whose port accepts a connection,
so a file left by a killed serve, or by one that is still starting, is not taken for a running server."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from rustok.supervisor import run_dir

_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # listening everywhere: ask it locally


@dataclass(frozen=True)
class Served:
    pid: int
    host: str  # as given to --host
    port: int
    workers: int
    background: bool  # runs the worker and the indexer (rustok/background.py)

    @property
    def url(self) -> str:
        """The base URL that reaches it from this machine."""
        return base_url(self.host, self.port)


def base_url(host: str, port: int) -> str:
    local = _WILDCARDS.get(host, host)
    return f"http://[{local}]:{port}" if ":" in local else f"http://{local}:{port}"


def announce(home: Path, served: Served) -> Path | None:
    """Writes the file of this process; None when there is nothing to say (port 0: chosen by the system)."""
    if served.port == 0:
        return None
    folder = run_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"serve-{served.pid}.json"
    temporary = folder / f".serve-{served.pid}.json"
    temporary.write_text(json.dumps(asdict(served)))
    os.replace(temporary, path)
    return path


def withdraw(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def running(home: Path) -> list[Served]:
    """The serve processes of `home` that run and answer, oldest file first."""
    found = []
    for path in run_dir(home).glob("serve-*.json"):
        try:
            served, written = Served(**json.loads(path.read_text())), path.stat().st_mtime
        except (OSError, ValueError, TypeError):  # gone meanwhile, or not ours
            continue
        if _alive(served.pid) and _answers(served):
            found.append((written, served))
    return [served for _, served in sorted(found, key=lambda item: item[0])]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:  # another user's process: alive
        return True
    except OSError:
        return False
    return True


def _answers(served: Served) -> bool:
    host = _WILDCARDS.get(served.host, served.host)
    try:
        with socket.create_connection((host, served.port), timeout=0.5):
            return True
    except OSError:
        return False
