"""What a benchmark script needs before it measures: the project's virtualenv, and its own embedded PostgreSQL
(or DATABASE_URL), migrated. Import it first (`import _harness`, the scripts' folder is on sys.path): started by
another Python without the project installed, it re-runs the script with .venv/bin/python."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"

try:
    from rustok.config import Settings
    from rustok.db import Database, locate
    from rustok.migrate import migrate
    from rustok.modules import installed_registry
except ImportError:  # run with the project's virtualenv when started by another Python
    if VENV_PYTHON.exists() and Path(sys.executable).resolve() != VENV_PYTHON.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), sys.argv[0], *sys.argv[1:]])
    raise


def use_database(home: Path, pg_port: str, database_url: str | None) -> None:
    """The embedded server under `home` (socket name `pg_port`), or the server at `database_url`."""
    os.environ["RUSTOK_HOME"] = str(home)
    os.environ["RUSTOK_PG_PORT"] = str(pg_port)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("RUSTOK_APP_DATABASE_URL", None)


def open_database() -> tuple[Database, bool]:
    """The database use_database chose, migrated; True when this call started the embedded server (the
    script stops it at the end: `db.cluster.stop()`)."""
    settings = Settings()
    started = False
    if not settings.database_url:
        from rustok.embedded import Cluster

        cluster = Cluster(settings.pg_data_dir, port=settings.pg_port)
        started = not (cluster.is_initialised() and cluster.is_running())
    db = locate(settings)
    migrate(db, installed_registry(settings.installed_modules))
    return db, started
