"""Settings read from the environment, in one place.

| variable                 | meaning                                                                        |
| ------------------------ | ------------------------------------------------------------------------------ |
| `RUSTOK_HOME`            | where the embedded server's data and the generated secrets live                 |
| `DATABASE_URL`           | an external PostgreSQL 16+ (owner/superuser URL, used to migrate); unset = embedded |
| `RUSTOK_APP_PASSWORD`    | password of the application role; unset = generated once under `RUSTOK_HOME`   |
| `RUSTOK_APP_DATABASE_URL`| the application role's URL, when it cannot be derived from `DATABASE_URL`      |
| `RUSTOK_MODULES`         | comma-separated installed modules; unset = every module the registry knows     |
| `RUSTOK_PG_PORT`         | port of the embedded server's socket (and TCP listener when enabled)           |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

REPO_ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = Path(os.environ.get("RUSTOK_SQL_DIR", REPO_ROOT / "sql"))


def _modules_from_env() -> tuple[str, ...] | None:
    raw = os.environ.get("RUSTOK_MODULES", "").strip()
    return tuple(m.strip() for m in raw.split(",") if m.strip()) or None


@dataclass(frozen=True)
class Settings:
    home: Path = field(
        default_factory=lambda: Path(os.environ.get("RUSTOK_HOME") or platformdirs.user_data_dir("rustok"))
    )
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL") or None)
    app_database_url: str | None = field(default_factory=lambda: os.environ.get("RUSTOK_APP_DATABASE_URL") or None)
    app_password: str | None = field(default_factory=lambda: os.environ.get("RUSTOK_APP_PASSWORD") or None)
    installed_modules: tuple[str, ...] | None = field(default_factory=_modules_from_env)
    pg_port: int = field(default_factory=lambda: int(os.environ.get("RUSTOK_PG_PORT", "5432")))

    @property
    def pg_data_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"
