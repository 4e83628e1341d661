"""The real `rustok` command and the embedded PostgreSQL it manages: a busy port is refused before anything
starts; only serve, migrate, demo and `db start` start the server, and say so; every other command (`db url`
first) only looks; a relative RUSTOK_HOME works; as root, the server's system user gets traverse-only access
to the home's parents instead of wider modes for everyone."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rustok.config import Settings, stored_secret
from rustok.embedded import SYSTEM_USER, Cluster, ServerState
from rustok.posix_acl import GROUP_OBJ, MASK, OTHER, USER, read_acl
from rustok.private_paths import UnsafePath
from tests.py.realtime_support import free_port

RUSTOK = str(Path(sys.executable).parent / "rustok")


class Home:
    """A RUSTOK_HOME of its own (embedded server on a port of its own), and `rustok` run in it."""

    def __init__(self, path: Path, cwd: Path) -> None:
        self.path, self.cwd, self.port = path, cwd, free_port()
        self.cluster = Cluster((cwd / path).resolve() / "pgdata", port=self.port)  # where `rustok`, run in cwd, puts it

    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("RUSTOK_") and k != "DATABASE_URL"}
        return clean | {"RUSTOK_HOME": str(self.path), "RUSTOK_PG_PORT": str(self.port)}

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RUSTOK, *argv], cwd=self.cwd, env=self.env(), capture_output=True, text=True, timeout=120, check=False
        )


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    here = Home(tmp_path / "home", tmp_path)
    yield here
    here.cluster.stop(mode="immediate")


@pytest.mark.parametrize(("host", "workers"), [("127.0.0.1", "1"), ("localhost", "2"), ("0.0.0.0", "1")])
def test_a_busy_port_is_one_line_before_anything_starts(home: Home, host: str, workers: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = home.run("serve", "--host", host, "--port", str(port), "--workers", workers)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"rustok: error: port {port} is in use on {host}")
    assert "--port" in result.stderr
    assert not home.path.exists(), "the embedded server was set up before the port was checked"


def test_only_the_commands_that_bring_it_up_start_the_server(home: Home) -> None:
    # never started: `db url` prints where it will be, says it is not running, exit 3; nothing is created
    url = home.run("db", "url")
    assert url.returncode == 3 and url.stdout.startswith("postgresql://rustok_app:")
    assert "is not running (it was never started here)" in url.stderr and "rustok db start" in url.stderr
    for argv in (("tenant", "list"), ("migrate", "--status"), ("status",), ("db", "schema")):
        looked = home.run(*argv)
        assert looked.returncode == 1 and "is not running" in looked.stderr and "rustok db start" in looked.stderr
    assert not home.cluster.data_dir.exists()

    # migrate may start it, and says so in one line of its own
    migrated = home.run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert [line for line in migrated.stderr.splitlines() if "started the embedded PostgreSQL" in line] == [
        f"rustok: started the embedded PostgreSQL in {home.cluster.data_dir} (port {home.port}, a new data "
        "directory); it runs until `rustok db stop`"
    ]
    running = home.run("db", "url", "--superuser")
    assert running.returncode == 0 and running.stderr == "" and f"host={home.cluster.data_dir}" in running.stdout
    assert home.run("tenant", "list").returncode == 0

    # stopped: read-only commands leave it stopped
    assert home.run("db", "stop").returncode == 0
    stopped = home.run("db", "url")
    assert stopped.returncode == 3 and stopped.stderr.count("\n") == 1
    assert "is not running; start it with `rustok db start`" in stopped.stderr
    assert home.run("tenant", "list").returncode == 1
    assert home.cluster.state() is ServerState.STOPPED


def test_a_relative_home_is_made_absolute(tmp_path: Path) -> None:
    here = Home(Path("relative") / "home", tmp_path)
    try:
        started = here.run("db", "start")
        assert started.returncode == 0, started.stderr
        url = here.run("db", "url", "--superuser")
        assert url.returncode == 0 and f"host={tmp_path.resolve()}/relative/home/pgdata&" in url.stdout
    finally:
        here.cluster.stop(mode="immediate")


@pytest.mark.skipif(os.geteuid() != 0, reason="the server's system user exists only when rustok runs as root")
def test_as_root_the_server_user_gets_traverse_only_access(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    here = Home(private / "home", tmp_path)
    try:
        first = here.run("db", "start")
        assert first.returncode == 0, first.stderr
        said = [line for line in first.stderr.splitlines() if "running as root" in line]
        assert len(said) == 1 and SYSTEM_USER in said[0] and f"{private}" in said[0], first.stderr
        assert "traverse-only" in said[0] and "docs/deploy.md" in said[0]

        assert private.stat().st_mode & 0o007 == 0, "everyone else gained access to the private folder"
        server = pwd.getpwnam(SYSTEM_USER)
        acl = {(e.tag, e.qualifier): e.perm for e in read_acl(private)}
        assert acl[(USER, server.pw_uid)] == 0o1, "the server's user gets x (traverse) and nothing more"
        assert acl[(GROUP_OBJ, 0xFFFFFFFF)] == 0 and acl[(OTHER, 0xFFFFFFFF)] == 0
        assert acl[(MASK, 0xFFFFFFFF)] == 0o1
        assert [e.qualifier for e in read_acl(private) if e.tag == USER] == [server.pw_uid]
        assert here.cluster.data_dir.stat().st_uid == server.pw_uid

        assert here.run("db", "stop").returncode == 0
        again = here.run("db", "start")
        assert again.returncode == 0 and "running as root" not in again.stderr, "said again with nothing changed"
    finally:
        here.cluster.stop(mode="immediate")


def _nobody() -> pwd.struct_passwd:
    return pwd.getpwnam("nobody")


@pytest.mark.skipif(os.geteuid() != 0, reason="planting files owned by another user needs root")
def test_a_home_another_user_prepared_is_refused_naming_the_path(tmp_path: Path) -> None:
    """RUSTOK_HOME another user made first (e.g. under /tmp): root's rustok never chmods/chowns through a
    symlinked pgdata, never uses a home or a secret another user owns (docs/security.md, "Running as root")."""
    # pgdata a symlink to a folder of root's: refused, the folder keeps its mode and owner
    target = tmp_path / "roots-folder"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    linked = Home(tmp_path / "linked", tmp_path)
    linked.path.mkdir()
    (linked.path / "pgdata").symlink_to(target)
    refused = linked.run("db", "start")
    assert refused.returncode != 0 and f"{linked.path / 'pgdata'}" in refused.stderr, refused.stderr
    assert "symlink" in refused.stderr and "Traceback" not in refused.stderr
    assert (target.stat().st_mode & 0o777, target.stat().st_uid) == (0o755, 0), "changed through the symlink"
    assert not (target / "PG_VERSION").exists()

    # a home owned by nobody: refused before anything is written in it
    theirs = Home(tmp_path / "theirs", tmp_path)
    theirs.path.mkdir()
    os.chown(theirs.path, _nobody().pw_uid, _nobody().pw_gid)
    refused = theirs.run("db", "start")
    assert refused.returncode != 0 and f"{theirs.path}" in refused.stderr and "owned by uid" in refused.stderr
    assert not (theirs.path / "pgdata").exists()

    # a planted secret (owned by nobody), a secret others may read, a symlinked secret: refused, path named
    planted = Home(tmp_path / "planted", tmp_path)
    secrets_dir = planted.path / "secrets"
    secrets_dir.mkdir(parents=True, mode=0o700)
    jwt = secrets_dir / "jwt_secret"
    jwt.write_text("attackers-known-secret\n")
    jwt.chmod(0o600)
    os.chown(jwt, _nobody().pw_uid, _nobody().pw_gid)
    with pytest.raises(UnsafePath, match=str(jwt)):
        stored_secret(Settings(home=planted.path), "jwt_secret")
    app_password = secrets_dir / "app_password"
    app_password.write_text("readable\n")
    app_password.chmod(0o644)
    refused = planted.run("db", "url")
    assert refused.returncode != 0 and f"{app_password}" in refused.stderr, refused.stderr
    app_password.unlink()
    app_password.symlink_to(jwt)
    refused = planted.run("db", "url")
    assert refused.returncode != 0 and f"{app_password}" in refused.stderr, refused.stderr


def test_a_fresh_home_gets_private_secrets(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "fresh")
    first = stored_secret(settings, "jwt_secret")
    assert stored_secret(settings, "jwt_secret") == first, "generated once, then read back"
    path = settings.secrets_dir / "jwt_secret"
    assert path.stat().st_mode & 0o777 == 0o600 and settings.secrets_dir.stat().st_mode & 0o777 == 0o700
