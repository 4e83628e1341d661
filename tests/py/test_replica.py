"""Read replicas: a primary and a streaming replica from the embedded binaries, on loopback TCP. GraphQL
queries are answered by the replica and mutations by the primary; a client that sends back the LSN of its
write reads that write; reads keep answering (from the primary) while the replica is down."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2 as httpx
import psycopg
import pytest

from rustok.api.database import Gateway
from rustok.api.replica import Replica, format_lsn, parse_lsn
from rustok.config import REPO_ROOT
from rustok.db import Database
from rustok.embedded import BIN_DIR, Cluster
from rustok.migrate import migrate
from rustok.modules import installed_registry
from tests.py.realtime_support import Server, Tenant, free_port, make_tenant, serving

APP_PASSWORD = "replica-test-app-password"
REPLICATION = ("rustok_replicator", "replica-test-replication-password")

SET_ROLE = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id role } }"
ROLE = "query($id: ID!) { user(id: $id) { role } }"


class Pair:
    def __init__(self, base: Path) -> None:
        self.primary = Cluster(base / "primary", port=free_port(), tcp=True)
        self.replica = Cluster(base / "replica", port=free_port(), tcp=True)

    def read_url(self) -> str:
        return self.replica.tcp_url("rustok_app", APP_PASSWORD, "rustok")


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    # under the checkout's .tmp, not pytest's numbered /tmp directories: a concurrent pytest run prunes those
    (REPO_ROOT / ".tmp").mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="replication-", dir=REPO_ROOT / ".tmp"))
    pair = Pair(base)
    try:
        pair.primary.ensure_running()
        pair.primary.create_replication_role(*REPLICATION)
        db = Database(
            admin_url=pair.primary.superuser_url("rustok"),
            app_url=pair.primary.tcp_url("rustok_app", APP_PASSWORD, "rustok"),
            app_password=APP_PASSWORD,
            cluster=pair.primary,
        )
        migrate(db, installed_registry())
        pair.replica.make_standby_of(pair.primary, *REPLICATION)
        pair.replica.start()
        yield pair
    finally:
        pair.replica.stop(mode="immediate")
        pair.primary.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def primary_db(pair: Pair) -> Database:
    return Database(
        admin_url=pair.primary.superuser_url("rustok"),
        app_url=pair.primary.tcp_url("rustok_app", APP_PASSWORD, "rustok"),
        app_password=APP_PASSWORD,
        cluster=pair.primary,
    )


@pytest.fixture(scope="module")
def tenant(primary_db: Database) -> Tenant:
    return make_tenant(primary_db, "replica")


@pytest.fixture(scope="module")
def server(pair: Pair, primary_db: Database) -> Iterator[Server]:
    patch = pytest.MonkeyPatch()
    patch.setenv("RUSTOK_READ_DATABASE_URL", pair.read_url())
    patch.setenv("RUSTOK_REPLICA_RETRY_SECONDS", "0.5")
    patch.setenv("RUSTOK_REPLICA_WAIT_MS", "1000")  # generous: a busy test machine must not send reads elsewhere
    try:
        with serving(primary_db) as running:
            yield running
    finally:
        patch.undo()


def _gql(server: Server, tenant: Tenant, query: str, variables: dict[str, Any], **headers: str) -> httpx.Response:
    headers["authorization"] = f"Bearer {tenant.token(server.tokens, 'admin')}"
    response = httpx.post(
        f"{server.base}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=10
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.json()
    return response


def _role(server: Server, tenant: Tenant, **headers: str) -> str:
    data = _gql(server, tenant, ROLE, {"id": str(tenant.users["customer"])}, **headers).json()["data"]
    return str(data["user"]["role"])


def _set_role(server: Server, tenant: Tenant, role: str) -> str:
    """The mutation's X-RusToK-Write-LSN."""
    response = _gql(server, tenant, SET_ROLE, {"id": str(tenant.users["customer"]), "role": role})
    assert response.json()["data"]["setUserRole"]["role"] == role
    lsn = response.headers.get("x-rustok-write-lsn")
    assert lsn is not None and parse_lsn(lsn) > 0
    return lsn


def _replica(server: Server) -> Replica:
    gateway: Gateway = server.app.state.services.gateway
    assert gateway.replica is not None
    return gateway.replica


def _caught_up(pair: Pair, timeout: float = 10.0) -> None:
    """Waits until the replica has replayed everything the primary has written so far (fixtures write there
    by plain SQL, without the read-your-writes LSN a client would carry)."""
    with psycopg.connect(pair.primary.superuser_url()) as conn:
        row = conn.execute("select pg_current_wal_insert_lsn()::text").fetchone()
    assert row is not None
    target = parse_lsn(row[0])
    deadline = time.monotonic() + timeout
    with psycopg.connect(pair.replica.superuser_url(), autocommit=True) as conn:
        while True:
            replayed = conn.execute("select pg_last_wal_replay_lsn()::text").fetchone()
            if replayed is not None and parse_lsn(replayed[0]) >= target:
                return
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.01)


def _replay(pair: Pair, action: str) -> None:
    with psycopg.connect(pair.replica.superuser_url(), autocommit=True) as conn:
        conn.execute(f"select pg_wal_replay_{action}()")  # type: ignore[arg-type]


def test_lsn_text_round_trips() -> None:
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert format_lsn(parse_lsn("16/B374D848")) == "16/B374D848"
    assert parse_lsn("nonsense") == parse_lsn("1/zz") == parse_lsn(None) == 0


@pytest.mark.slow
def test_queries_read_the_replica_and_clients_read_their_writes(pair: Pair, server: Server, tenant: Tenant) -> None:
    with psycopg.connect(pair.read_url()) as conn:  # the read URL is a standby indeed
        assert conn.execute("select pg_is_in_recovery()").fetchone() == (True,)
    replica = _replica(server)
    gateway: Gateway = server.app.state.services.gateway
    _caught_up(pair)

    # a query is answered by the replica
    before = replica.reads
    assert _role(server, tenant) == "CUSTOMER"
    assert replica.reads == before + 1 and gateway.primary_reads == 0

    # with replay paused, the replica shows the old role: a read without the client's LSN goes there, a read
    # with it waits up to RUSTOK_REPLICA_WAIT_MS (1 s here) and is answered by the primary
    _replay(pair, "pause")
    try:
        lsn = _set_role(server, tenant, "MANAGER")  # the mutation went to the primary (the standby refuses writes)
        assert _role(server, tenant) == "CUSTOMER"  # stale: served by the paused replica
        started = time.monotonic()
        assert _role(server, tenant, **{"x-rustok-min-lsn": lsn}) == "MANAGER"
        waited = time.monotonic() - started
        assert replica.behind == 1 and gateway.primary_reads == 1
        assert waited >= 1.0
    finally:
        _replay(pair, "resume")

    # replaying: the client's own write is read from the replica right after the mutation
    reads, behind = replica.reads, replica.behind
    lsn = _set_role(server, tenant, "CUSTOMER")
    assert _role(server, tenant, **{"x-rustok-min-lsn": lsn}) == "CUSTOMER"
    assert replica.reads == reads + 1 and replica.behind == behind
    # the echoed response header works the same
    lsn = _set_role(server, tenant, "MANAGER")
    assert _role(server, tenant, **{"x-rustok-write-lsn": lsn}) == "MANAGER"
    assert replica.reads == reads + 2 and replica.behind == behind

    # a REST write (here: logout, which revokes the user's sessions) reports its LSN as well
    token = tenant.token(server.tokens, "manager")
    logout = httpx.post(f"{server.base}/api/auth/logout", headers={"authorization": f"Bearer {token}"})
    assert logout.status_code == 204 and parse_lsn(logout.headers.get("x-rustok-write-lsn")) >= parse_lsn(lsn)
    assert "x-rustok-write-lsn" not in httpx.get(f"{server.base}/health/ready").headers

    # a batch with a mutation and then a query reads its own write without any header
    batch = [
        {"query": SET_ROLE, "variables": {"id": str(tenant.users["customer"]), "role": "CUSTOMER"}},
        {"query": ROLE, "variables": {"id": str(tenant.users["customer"])}},
    ]
    token = tenant.token(server.tokens, "admin")
    answer = httpx.post(f"{server.base}/graphql", json=batch, headers={"authorization": f"Bearer {token}"}).json()
    assert answer[1]["data"]["user"]["role"] == "CUSTOMER"


@pytest.mark.slow
def test_reads_keep_answering_when_the_replica_stops(pair: Pair, server: Server, tenant: Tenant) -> None:
    replica = _replica(server)
    gateway: Gateway = server.app.state.services.gateway
    _caught_up(pair)
    role = _role(server, tenant)
    pair.replica.stop(mode="fast")
    try:
        primary_reads = gateway.primary_reads
        for _ in range(3):
            assert _role(server, tenant) == role  # answered by the primary
        assert gateway.primary_reads == primary_reads + 3 and not replica.healthy
        new_role = "CUSTOMER" if role == "MANAGER" else "MANAGER"
        lsn = _set_role(server, tenant, new_role)
        assert _role(server, tenant, **{"x-rustok-min-lsn": lsn}) == new_role
    finally:
        pair.replica.start()
    # once the retry interval has passed, reads go back to the replica
    deadline = time.monotonic() + 10
    reads = replica.reads
    while replica.reads == reads:
        assert time.monotonic() < deadline, "reads did not return to the replica"
        time.sleep(0.2)
        assert _role(server, tenant) in ("CUSTOMER", "MANAGER")


def test_the_compose_init_script_creates_a_replication_role(pair: Pair, tmp_path: Path) -> None:
    """deploy/postgres/primary-init.sh (run by the postgres:18 image on a fresh volume), here against the
    embedded primary: the role it creates can stream, and pg_hba.conf lets it in from the network."""
    (tmp_path / "pg_hba.conf").write_text("# the image's own lines\n")
    env = {
        **os.environ,
        "PATH": f"{BIN_DIR}:{os.environ['PATH']}",
        "PGHOST": str(pair.primary.socket_dir),
        "PGPORT": str(pair.primary.port),
        "PGDATA": str(tmp_path),
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": "postgres",
        "RUSTOK_REPLICATION_USER": "compose_replicator",
        "RUSTOK_REPLICATION_PASSWORD": "it's a secret",
    }
    script = REPO_ROOT / "deploy" / "postgres" / "primary-init.sh"
    done = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pg_hba.conf").read_text().splitlines()[-1].split() == [
        "host",
        "replication",
        "compose_replicator",
        "all",
        "scram-sha-256",
    ]
    url = f"postgresql://compose_replicator:{quote(env['RUSTOK_REPLICATION_PASSWORD'])}@127.0.0.1:{pair.primary.port}"
    # a replication connection; to rustok's database, since the embedded primary closes `postgres` to every role
    # but the superuser (compose's keeps PostgreSQL's default there)
    with psycopg.connect(url + "/rustok?replication=database") as conn:
        assert conn.execute("IDENTIFY_SYSTEM").fetchone() is not None
