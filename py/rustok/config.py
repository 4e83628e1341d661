"""Settings read from the environment, in one place.

| variable                 | meaning                                                                        |
| ------------------------ | ------------------------------------------------------------------------------ |
| `RUSTOK_HOME`            | where the embedded server's data and the generated secrets live (made absolute) |
| `DATABASE_URL`           | an external PostgreSQL 16+ (owner/superuser URL, used to migrate); unset = embedded |
| `RUSTOK_APP_PASSWORD`    | password of the application role; unset = generated once under `RUSTOK_HOME`   |
| `RUSTOK_ANALYTICS_PASSWORD` | password of the read-only analysts' role; unset = generated under `RUSTOK_HOME` |
| `RUSTOK_APP_DATABASE_URL`| the application role's URL, when it cannot be derived from `DATABASE_URL`      |
| `RUSTOK_MODULES`         | comma-separated installed modules; unset = every module the registry knows     |
| `RUSTOK_PG_PORT`         | port of the embedded server's socket (and TCP listener when enabled)           |
| `RUSTOK_JWT_SECRET`      | HMAC key for access tokens; unset = generated once under `RUSTOK_HOME`          |
| `RUSTOK_ACCESS_TTL`      | access token lifetime in seconds (default 900)                                 |
| `RUSTOK_REFRESH_TTL`     | refresh token lifetime in seconds (default 30 days)                            |
| `RUSTOK_DEV`             | 1 = GraphiQL and introspection on (off by default)                             |
| `RUSTOK_CORS_ORIGINS`    | comma-separated origins allowed by CORS (none by default)                      |
| `RUSTOK_WEBHOOKS_ALLOW_PRIVATE` | 1 = webhooks may target loopback/private addresses (tests, never prod)  |
| `RUSTOK_READ_DATABASE_URL` | the application role's URL on a streaming replica: read-only queries go there |
| `RUSTOK_REPLICA_WAIT_MS` | how long a read waits for the replica to replay the client's write (default 200) |
| `RUSTOK_REPLICA_RETRY_SECONDS` | how long an unreachable replica is left alone before reads try it again (5) |
| `RUSTOK_GRAPHQL_DOCUMENT_CACHE_BYTES` | estimated bytes of prepared GraphQL documents kept per process (8 MiB)  |
| `RUSTOK_GRAPHQL_PERSISTED_CACHE_BYTES` | bytes of persisted-query texts kept per process (4 MiB)       |
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from rustok.private_paths import create_secret, private_dir, read_secret

REPO_ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = Path(os.environ.get("RUSTOK_SQL_DIR", REPO_ROOT / "sql"))


def _modules_from_env() -> tuple[str, ...] | None:
    raw = os.environ.get("RUSTOK_MODULES", "").strip()
    return tuple(m.strip() for m in raw.split(",") if m.strip()) or None


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _list(name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in os.environ.get(name, "").split(",") if v.strip())


def _home() -> Path:
    """RUSTOK_HOME as an absolute path: the embedded server's programs run in another working directory (and,
    as root, as another user), where a relative path would name another place or none it may enter."""
    return Path(os.environ.get("RUSTOK_HOME") or platformdirs.user_data_dir("rustok")).expanduser().resolve()


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=_home)
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL") or None)
    app_database_url: str | None = field(default_factory=lambda: os.environ.get("RUSTOK_APP_DATABASE_URL") or None)
    app_password: str | None = field(default_factory=lambda: os.environ.get("RUSTOK_APP_PASSWORD") or None)
    analytics_password: str | None = field(default_factory=lambda: os.environ.get("RUSTOK_ANALYTICS_PASSWORD") or None)
    installed_modules: tuple[str, ...] | None = field(default_factory=_modules_from_env)
    pg_port: int = field(default_factory=lambda: int(os.environ.get("RUSTOK_PG_PORT", "5432")))
    jwt_secret: str | None = field(default_factory=lambda: os.environ.get("RUSTOK_JWT_SECRET") or None)
    access_ttl: int = field(default_factory=lambda: int(os.environ.get("RUSTOK_ACCESS_TTL", "900")))
    refresh_ttl: int = field(default_factory=lambda: int(os.environ.get("RUSTOK_REFRESH_TTL", str(30 * 86400))))
    dev: bool = field(default_factory=lambda: _flag("RUSTOK_DEV"))
    # "auto": storefront cookies are Secure when the request came over https (X-Forwarded-Proto from a trusted
    # proxy included); "always": whatever the scheme says (behind TLS that the proxy chain does not report)
    secure_cookies: str = field(
        default_factory=lambda: os.environ.get("RUSTOK_SECURE_COOKIES", "auto").strip().lower() or "auto"
    )
    cors_origins: tuple[str, ...] = field(default_factory=lambda: _list("RUSTOK_CORS_ORIGINS"))
    webhooks_allow_private: bool = field(default_factory=lambda: _flag("RUSTOK_WEBHOOKS_ALLOW_PRIVATE"))
    read_database_url: str | None = field(default_factory=lambda: os.environ.get("RUSTOK_READ_DATABASE_URL") or None)
    replica_wait_ms: int = field(default_factory=lambda: int(os.environ.get("RUSTOK_REPLICA_WAIT_MS", "200")))
    replica_retry_seconds: float = field(
        default_factory=lambda: float(os.environ.get("RUSTOK_REPLICA_RETRY_SECONDS", "5"))
    )
    graphql_document_cache_bytes: int = field(
        default_factory=lambda: int(os.environ.get("RUSTOK_GRAPHQL_DOCUMENT_CACHE_BYTES", str(8 * 2**20)))
    )
    graphql_persisted_cache_bytes: int = field(
        default_factory=lambda: int(os.environ.get("RUSTOK_GRAPHQL_PERSISTED_CACHE_BYTES", str(4 * 2**20)))
    )

    def __post_init__(self) -> None:
        if self.secure_cookies not in ("auto", "always"):
            raise ValueError(f"RUSTOK_SECURE_COOKIES is auto or always, not {self.secure_cookies!r}")

    @property
    def pg_data_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"


def stored_secret(settings: Settings, name: str) -> str:
    """A random secret generated once and kept under RUSTOK_HOME/secrets (mode 0600). RUSTOK_HOME and secrets
    must be the running user's own folders and the secret its own file (private_paths.py: else UnsafePath)."""
    private_dir(settings.home, mode=None)
    private_dir(settings.secrets_dir)
    path = settings.secrets_dir / name
    if (stored := read_secret(path)) is not None:
        return stored
    value = secrets.token_urlsafe(32)
    create_secret(path, value)
    return value
