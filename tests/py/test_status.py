"""`rustok status`: one line per check, exit 0 when all is well and 1 when something needs a look; a
database that cannot be reached is one error line, never a traceback; --json gives the same as data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from rustok.cli import main
from rustok.db import Database

CHECKS = ["database", "migrations", "outbox", "consumers", "notify queue", "partitions", "index queue"]


def status(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    code = main(["status", *argv])
    out, err = capsys.readouterr()
    lines = {}
    for line in out.splitlines():
        match = re.match(r"^(\S+(?: \S+)?)\s+(ok|CHECK)\s+(.*)$", line)
        assert match, f"not a status line: {line!r}"
        lines[match[1]] = (match[2], match[3])
    return code, lines, err


def test_a_healthy_database(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = status(capsys)
    assert (code, err) == (0, "")
    assert list(lines) == CHECKS
    assert all(state == "ok" for state, _ in lines.values())
    assert re.match(r"PostgreSQL \d+", lines["database"][1])
    assert lines["migrations"][1].startswith("current (")
    assert lines["notify queue"][1] == "0.0% used"
    assert re.search(r"event_outbox: \d+ ahead \(keeps 3\) until \d{4}-\d\d-\d\d", lines["partitions"][1])
    with psycopg.connect(env.admin_url) as conn:
        has_index = conn.execute("select to_regclass('public.index_queue') is not null").fetchone()
    if has_index and has_index[0]:
        assert re.match(r"^\d+ waiting", lines["index queue"][1])  # exact: the operator sees every tenant


def test_json(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == CHECKS
    migrations = next(c for c in report["checks"] if c["name"] == "migrations")
    assert migrations["details"]["pending"] == [] and migrations["details"]["applied"] > 0


def test_what_needs_a_look_exits_1(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(env.admin_url, row_factory=dict_row) as conn:
        removed = conn.execute(
            "delete from _yoyo_migration where migration_id = (select max(migration_id) from _yoyo_migration)"
            " returning *"
        ).fetchone()
        assert removed is not None
        # no partition ahead for the outbox: the latest ones are gone (their rows would go to the default)
        ahead = conn.execute(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
            " where i.inhparent = 'event_outbox'::regclass and c.relname <> 'event_outbox_default'"
            "   and (regexp_match(pg_get_expr(c.relpartbound, c.oid), $$FROM \\('([^']+)'\\)$$))[1]::timestamptz"
            "       > now()"
        ).fetchall()
        for row in ahead:
            conn.execute(psycopg.sql.SQL("drop table {}").format(psycopg.sql.Identifier(row["relname"])))
    try:
        code, lines, _ = status(capsys)
        assert code == 1
        assert lines["migrations"][0] == "CHECK" and "1 pending" in lines["migrations"][1]
        assert lines["migrations"][1].endswith("(rustok migrate)")
        assert lines["partitions"][0] == "CHECK" and "event_outbox: 0 ahead" in lines["partitions"][1]
        assert lines["database"][0] == "ok"
    finally:
        with psycopg.connect(env.admin_url) as conn:
            conn.execute(
                psycopg.sql.SQL("insert into _yoyo_migration ({}) values ({})").format(
                    psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(k) for k in removed),
                    psycopg.sql.SQL(", ").join(psycopg.sql.Literal(v) for v in removed.values()),
                )
            )
            conn.execute("select rustok.maintain_partitions()")
    code, _, _ = status(capsys)
    assert code == 0


def test_an_unreachable_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=2")
    monkeypatch.setenv("RUSTOK_HOME", str(tmp_path))
    assert main(["status"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("rustok: error: cannot connect to PostgreSQL") and err.count("\n") == 1
    assert "Traceback" not in err


def test_an_embedded_server_that_is_down_is_reported_not_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("RUSTOK_HOME", str(tmp_path))
    monkeypatch.setenv("RUSTOK_APP_PASSWORD", "unused")
    assert main(["status"]) == 1
    assert capsys.readouterr().err.startswith("rustok: error: cannot connect to PostgreSQL")
    assert not (tmp_path / "pgdata").exists()
