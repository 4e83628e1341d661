"""What every benchmark script does before it measures, in one place. Import it first (`import _harness`: the
scripts' folder is on sys.path):

- started by another Python without the project installed, it re-runs the script with .venv/bin/python;
- `database_options` adds --home, --pg-port, --database-url (and --fresh) to a parser; `running_database`
  (or `use_database` then `open_database`) points RUSTOK_HOME / RUSTOK_PG_PORT / DATABASE_URL at them, starts
  the embedded server if need be (with --fresh, from an empty data directory), migrates it (`migrated` says
  how many migrations ran) and stops the server at the end when it started it; `run_with_database` also
  turns SIGTERM into Ctrl-C; `write_results` keeps a run's JSON;
- `free_port`, `serve_command` (`rustok serve` as a benchmark runs it) and `wait_ready` (a server process
  until its probe answers, or why it did not)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from argparse import ArgumentParser, Namespace
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"

try:
    import psycopg  # noqa: F401  (every script needs it)

    from rustok.config import Settings
    from rustok.db import Database, locate_started
    from rustok.embedded import Cluster
    from rustok.migrate import migrate
    from rustok.modules import ModuleRegistry, installed_registry
except ImportError:  # run with the project's virtualenv when started by another Python
    if VENV_PYTHON.exists() and Path(sys.executable).resolve() != VENV_PYTHON.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), sys.argv[0], *sys.argv[1:]])
    raise


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def database_options(
    parser: ArgumentParser, home: str, pg_port: str, fresh: bool = True, from_environment: bool = False
) -> None:
    """--home (default .tmp/<home>), --pg-port, --database-url and, with `fresh`, --fresh; `from_environment`:
    RUSTOK_HOME and RUSTOK_PG_PORT, when set, are the defaults."""
    env = os.environ if from_environment else {}
    parser.add_argument(
        "--home",
        default=env.get("RUSTOK_HOME") or str(REPO / ".tmp" / home),
        help=f"RUSTOK_HOME of the benchmark (embedded database, results); default .tmp/{home}",
    )
    parser.add_argument(
        "--pg-port",
        default=env.get("RUSTOK_PG_PORT") or pg_port,
        help=f"port (socket name) of the embedded PostgreSQL (default {pg_port})",
    )
    parser.add_argument("--database-url", default=None, help="an external PostgreSQL (owner/superuser URL) instead")
    if fresh:
        parser.add_argument("--fresh", action="store_true", help="delete the benchmark's embedded database first")


def use_database(home: str | Path, pg_port: str | int, database_url: str | None) -> Path:
    """The embedded server under `home` (socket name `pg_port`), or the server at `database_url`; the home."""
    where = Path(home).resolve()
    os.environ["RUSTOK_HOME"] = str(where)
    os.environ["RUSTOK_PG_PORT"] = str(pg_port)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("RUSTOK_APP_DATABASE_URL", None)
    return where


def embedded_cluster() -> Cluster | None:
    """The embedded server use_database chose, or None when DATABASE_URL names another server."""
    settings = Settings()
    return None if settings.database_url else Cluster(settings.pg_data_dir, port=settings.pg_port)


def open_database(say: Callable[[str], None] = _stderr, fresh: bool = False) -> tuple[Database, bool]:
    """The database use_database chose, started if need be (with `fresh`, the embedded one from an empty data
    directory) and migrated; True when this call started the embedded server (the script stops it at the end:
    `db.cluster.stop()`)."""
    settings = Settings()
    cluster = embedded_cluster()
    if cluster is not None and fresh and cluster.data_dir.exists():
        cluster.stop()
        shutil.rmtree(cluster.data_dir)
        say(f"database: removed {cluster.data_dir} (--fresh)")
    started = cluster is not None and not (cluster.is_initialised() and cluster.is_running())
    db, _ = locate_started(settings)  # a benchmark starts the embedded server it needs
    migrated(db, say, installed_registry(settings.installed_modules))
    return db, started


@contextlib.contextmanager
def running_database(args: Namespace, say: Callable[[str], None] = _stderr) -> Iterator[Database]:
    """The database of database_options' arguments, started and migrated (use_database, open_database with
    --fresh); the embedded server is stopped at the end when this run started it."""
    use_database(args.home, args.pg_port, args.database_url)
    say("database: starting and migrating")
    db, started = open_database(say, fresh=bool(getattr(args, "fresh", False)))
    try:
        yield db
    finally:
        if started and db.cluster is not None:
            db.cluster.stop()
            say("database: stopped (this run started it)")


def run_with_database(args: Namespace, run: Callable[[Database], int], say: Callable[[str], None] = _stderr) -> int:
    """`run(db)` on running_database(args); SIGTERM stops it as Ctrl-C does (and what this run started stops
    too): 130, "interrupted"."""
    signal.signal(signal.SIGTERM, interrupt)
    try:
        with running_database(args, say) as db:
            return run(db)
    except KeyboardInterrupt:
        say("interrupted")
        return 130


def interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def migrated(db: Database, say: Callable[[str], None] = _stderr, registry: ModuleRegistry | None = None) -> Database:
    """db migrated with the SQL of this checkout (every installed module unless `registry`), and said so."""
    report = migrate(db, registry or installed_registry())
    where = f"embedded, {db.cluster.data_dir}" if db.cluster else "DATABASE_URL"
    say(f"database: {where}; {len(report.applied)} migration(s) applied")
    return db


def write_results(home: Path, name: str, result: dict[str, Any], also: str | None, say: Callable[[str], None]) -> Path:
    """The run's results as JSON under home (<name>-<time>.json) and, when asked (--json), at `also` too."""
    out = Path(home) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    for path in filter(None, (out, Path(also) if also else None)):
        path.write_text(json.dumps(result, indent=2, default=str))
    say(f"results: {out}")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command(port: int, *options: str) -> list[str]:
    """`rustok serve` of this virtualenv on 127.0.0.1:port, not migrating, quiet; `options` added."""
    rustok = shutil.which("rustok", path=str(Path(sys.executable).parent)) or "rustok"
    return [rustok, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate", "--no-access-log",
            "--log-level", "warning", *options]  # fmt: skip


def answers(url: str) -> Callable[[], None]:
    """A probe for wait_ready: GET url answers 200 (an error status or no answer raises OSError)."""

    def probe() -> None:
        with urllib.request.urlopen(url, timeout=2):
            pass

    return probe


def wait_ready(
    process: subprocess.Popen[Any], probe: Callable[[], object], timeout: float = 90, name: str = "the server"
) -> None:
    """Until `probe()` returns without raising (OSError, ValueError: not yet); raises RuntimeError when the
    process exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode})")
        try:
            probe()
            return
        except (OSError, ValueError) as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.2)
    raise RuntimeError(f"{name} not ready after {timeout:.0f} s ({last})")
