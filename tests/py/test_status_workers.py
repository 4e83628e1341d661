"""`rustok status` tells whether waiting work has anyone to do it (issue 14, point 6): events waiting for an
installed handler that no session runs (nobody holds its advisory lock), or that a running handler has not
acknowledged for a long time, and a non-empty index queue that no indexer drains, each need a look (CHECK,
exit 1); a handler that runs, one with nothing waiting, and the position of a handler no longer installed do
not. Here sessions of the test play the workers by holding the same locks; test_serve_background.py runs the
real ones."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest

from rustok.cli import main
from rustok.db import Database
from rustok.events.consumer import LOCK_PREFIX
from rustok.modules import installed_registry
from rustok.modules.index.indexer import DRAINING
from rustok.observability import status as health
from rustok.platform import handler_names

HANDLERS = handler_names(installed_registry(None))


def lines(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, tuple[str, str]]]:
    code = main(["status"])
    found = {}
    for line in capsys.readouterr().out.splitlines():
        match = re.match(r"^(\S+(?: \S+)?)\s+(ok|CHECK)\s+(.*)$", line)
        assert match, line
        found[match[1]] = (match[2], match[3])
    return code, found


def holding(db: Database, *keys: str, shared: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    """A session that holds the advisory locks of `keys` (what a running worker or indexer holds)."""
    conn = psycopg.connect(db.app_url, autocommit=True)
    lock = "pg_advisory_lock_shared" if shared else "pg_advisory_lock"
    for key in keys:
        conn.execute(f"select {lock}(hashtextextended(%s, 0))", (key,))  # type: ignore[arg-type]
    return conn


@pytest.fixture
def events(env: Database) -> Iterator[int]:
    """Two committed events; every installed handler at the head except `webhooks` (at the start), and a
    position of a handler that is no longer installed. Afterwards every position is at the head again."""
    with psycopg.connect(env.admin_url) as conn:
        conn.execute("delete from tenants")  # no events of an earlier test
        conn.execute("select rustok.create_tenant('status-a', 'Status A')")
        conn.execute("select rustok.create_tenant('status-b', 'Status B')")
        conn.commit()  # the events get their commit number
        conn.execute("delete from event_consumers")
        conn.execute(
            "insert into event_consumers (name, last_commit_seq, last_position)"
            " select n, commit_seq, position from rustok.event_head(), unnest(%s::text[]) n",
            ([h for h in HANDLERS if h != "webhooks"],),
        )
        conn.execute("insert into event_consumers (name) values ('webhooks'), ('retired')")
        row = conn.execute("select count(*) from event_outbox").fetchone()
    assert row and row[0] >= 2
    yield int(row[0])
    with psycopg.connect(env.admin_url) as conn:
        conn.execute("delete from event_consumers")
        conn.execute(
            "insert into event_consumers (name, last_commit_seq, last_position)"
            " select n, commit_seq, position from rustok.event_head(), unnest(%s::text[]) n",
            (HANDLERS,),
        )


def test_events_waiting_for_a_handler_nobody_runs(
    env: Database, events: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code, found = lines(capsys)
    assert code == 1
    state, summary = found["consumers"]
    assert state == "CHECK"
    assert re.search(rf"\bwebhooks: {events} waiting, oldest \d+s ago, NOT RUNNING\b", summary), summary
    assert re.search(rf"\bretired: {events} waiting, oldest \d+s ago, NOT INSTALLED\b", summary), summary
    assert "module-hooks: caught up;" in summary
    assert summary.endswith("(start `rustok serve` (without --no-background) or `rustok worker`)")
    assert all(found[name][0] == "ok" for name in found if name != "consumers")


def test_a_running_handler_is_fine_until_it_stalls(
    env: Database, events: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with holding(env, *(LOCK_PREFIX + name for name in HANDLERS)):
        code, found = lines(capsys)
        assert code == 0, found["consumers"]
        assert re.search(rf"\bwebhooks: {events} waiting, oldest \d+s ago(;|$)", found["consumers"][1])
        assert "RUNNING" not in found["consumers"][1] and "NOT INSTALLED" in found["consumers"][1]

        monkeypatch.setattr(health, "STALLED_AFTER", 0.0)  # nothing acknowledged since the events came
        code, found = lines(capsys)
        assert code == 1 and found["consumers"][0] == "CHECK"
        assert re.search(rf"\bwebhooks: {events} waiting, oldest \d+s ago, STALLED\b", found["consumers"][1])
        assert "module-hooks: caught up;" in found["consumers"][1], "caught up is never stalled"
    code, found = lines(capsys)
    assert code == 1 and "webhooks: " in found["consumers"][1] and "NOT RUNNING" in found["consumers"][1]


def test_a_handler_with_nothing_waiting_need_not_run(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(env.admin_url) as conn:
        conn.execute("select rustok.create_tenant('status-c', 'Status C')")
        conn.commit()
        conn.execute("delete from event_consumers")
        conn.execute(
            "insert into event_consumers (name, last_commit_seq, last_position)"
            " select n, commit_seq, position from rustok.event_head(), unnest(%s::text[]) n",
            (HANDLERS,),
        )
    code, found = lines(capsys)
    assert code == 0 and found["consumers"] == ("ok", "; ".join(f"{h}: caught up" for h in sorted(HANDLERS)))


def test_an_index_queue_nobody_drains(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(env.admin_url) as conn:
        tenant = conn.execute("select rustok.create_tenant('status-q', 'Status Q') ->> 'id'").fetchone()
        assert tenant is not None
        conn.execute(
            "insert into index_queue (tenant_id, kind, id) values (rustok.parse_id(%s), 'product', rustok.gen_id())",
            (tenant[0],),
        )
        conn.execute("delete from event_consumers")
    try:
        with holding(env, *(LOCK_PREFIX + name for name in HANDLERS)):
            code, found = lines(capsys)
            assert code == 1 and found["consumers"][0] == "ok"
            assert re.fullmatch(
                r"1 waiting, oldest \d+s ago, NOBODY DRAINS IT \(start `rustok serve` \(without --no-background\)"
                r" or `rustok indexer`\)",
                found["index queue"][1],
            ), found["index queue"]
            assert found["index queue"][0] == "CHECK"
            with holding(env, DRAINING, shared=True), holding(env, DRAINING, shared=True):  # two indexer threads
                code, found = lines(capsys)
                assert code == 0 and found["index queue"] == ("ok", found["index queue"][1])
                assert re.fullmatch(r"1 waiting, oldest \d+s ago", found["index queue"][1])
    finally:
        with psycopg.connect(env.admin_url) as conn:
            conn.execute("delete from index_queue")
