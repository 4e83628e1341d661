"""Migrations: frozen files applied once, functions and triggers re-applied every time, stale ones dropped,
a second migrate changes nothing, and the migrated schema equals the committed dump."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rustok.config import SQL_DIR
from rustok.db import Database
from rustok.migrate import MigrationError, expected_migration_ids, migrate, status
from rustok.modules import installed_registry
from rustok.schema_dump import dump_schema
from tests.conftest import RUN, clone_database, drop_database


@pytest.fixture(scope="module")
def fresh_db(template_db: Database) -> Iterator[Database]:
    """A database migrated from nothing (not cloned), to check what `rustok migrate` builds."""
    db = template_db.with_dbname(f"{RUN}_fresh_migrate")
    drop_database(template_db, db.dbname)
    migrate(db, installed_registry())
    yield db
    drop_database(template_db, db.dbname)


def test_migrated_schema_matches_committed_dump(fresh_db: Database) -> None:
    committed = (SQL_DIR / "schema.sql").read_text()
    assert dump_schema(fresh_db.admin_url) == committed, (
        "the migrated schema drifted from sql/schema.sql: regenerate it with `rustok db schema > sql/schema.sql` "
        "and review the diff"
    )


def test_migrating_twice_changes_nothing(fresh_db: Database) -> None:
    before = dump_schema(fresh_db.admin_url)
    report = migrate(fresh_db, installed_registry())
    assert report.applied == [] and report.dropped == [] and report.partitions == []
    assert dump_schema(fresh_db.admin_url) == before


def test_status_lists_every_migration_as_applied(fresh_db: Database) -> None:
    rows = status(fresh_db, installed_registry())
    assert {r.migration_id for r in rows} == expected_migration_ids(installed_registry())
    assert all(r.applied for r in rows)


def test_a_function_no_longer_defined_is_dropped(template_db: Database) -> None:
    db = clone_database(template_db, "stale")
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        # what an old signature left behind looks like: same name, other arguments
        conn.execute(
            "create function rustok.gen_id(prefix text) returns uuid language sql as $$ select gen_random_uuid() $$"
        )
        conn.execute("create function rustok.tg_old() returns trigger language plpgsql as $$ begin return new; end $$")
        conn.execute(
            "create trigger old_trigger before update on public.users for each row execute function rustok.tg_old()"
        )
    report = migrate(db, installed_registry())
    assert "function rustok.gen_id(text)" in report.dropped
    assert "function rustok.tg_old()" in report.dropped
    assert "trigger old_trigger on users" in report.dropped
    with psycopg.connect(db.admin_url) as conn:
        overloads = conn.execute("select count(*) from pg_proc where proname = 'gen_id'").fetchone()
    assert overloads == (1,)
    drop_database(template_db, db.dbname)


def test_a_broken_sql_file_names_itself_and_changes_nothing(
    template_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = clone_database(template_db, "broken")
    sql_copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_copy)
    (sql_copy / "functions" / "core" / "99_broken.sql").write_text(
        "create or replace function rustok.broken() returns int language sql as $$ select 1 $$;\n"
        "create or replace function rustok.nonsense( returns;\n"
    )
    monkeypatch.setattr("rustok.migrate.SQL_DIR", sql_copy)
    with pytest.raises(MigrationError, match=r"99_broken\.sql"):
        migrate(db, installed_registry())
    with psycopg.connect(db.admin_url) as conn:
        assert conn.execute("select count(*) from pg_proc where proname = 'broken'").fetchone() == (0,)
    drop_database(template_db, db.dbname)


def test_a_function_whose_return_type_changed_is_replaced(
    template_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = clone_database(template_db, "return_type")
    sql_copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_copy)
    changed = sql_copy / "functions" / "core" / "99_changed.sql"
    changed.write_text("create or replace function rustok.answer() returns int language sql as $$ select 42 $$;\n")
    monkeypatch.setattr("rustok.migrate.SQL_DIR", sql_copy)
    migrate(db, installed_registry())
    changed.write_text("create or replace function rustok.answer() returns text language sql as $$ select 'x' $$;\n")
    report = migrate(db, installed_registry())
    assert report.dropped == ["function rustok.answer() (return type changed; re-created)"]
    with psycopg.connect(db.admin_url) as conn:
        assert conn.execute("select rustok.answer()").fetchone() == ("x",)
    drop_database(template_db, db.dbname)
