"""Migrations: frozen files applied once, functions and triggers re-applied every time, stale ones dropped,
a second migrate changes nothing, and the migrated schema equals the committed dump (sql/schema.sql without
function bodies or partition children, sql/schema_functions.txt one line per function)."""

from __future__ import annotations

import difflib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rustok.config import REPO_ROOT, SQL_DIR
from rustok.db import Database
from rustok.migrate import MigrationError, expected_migration_ids, migrate, status
from rustok.modules import installed_registry
from rustok.schema_dump import FUNCTIONS_FILE, REGENERATE, SCHEMA_FILE, SchemaDump, dump
from tests.conftest import RUN, clone_database, drop_database
from tests.py.cli_support import environment, piped


@pytest.fixture(scope="module")
def fresh_db(template_db: Database) -> Iterator[Database]:
    """A database migrated from nothing (not cloned), to check what `rustok migrate` builds."""
    db = template_db.with_dbname(f"{RUN}_fresh_migrate")
    drop_database(template_db, db.dbname)
    migrate(db, installed_registry())
    yield db
    drop_database(template_db, db.dbname)


@pytest.fixture(scope="module")
def fresh_dump(fresh_db: Database) -> SchemaDump:
    return dump(fresh_db.admin_url)


MIGRATED_DUMP = REPO_ROOT / ".tmp" / "migrated-schema"  # where a drifting run leaves the fresh files


@pytest.mark.parametrize("name", [SCHEMA_FILE, FUNCTIONS_FILE])
def test_migrated_schema_matches_committed_dump(fresh_dump: SchemaDump, name: str) -> None:
    text = fresh_dump.schema if name == SCHEMA_FILE else fresh_dump.functions
    committed = (SQL_DIR / name).read_text()
    drift = list(
        difflib.unified_diff(committed.splitlines(), text.splitlines(), f"sql/{name}", "migrated", lineterm="")
    )
    if drift:
        MIGRATED_DUMP.mkdir(parents=True, exist_ok=True)
        fresh_dump.write(MIGRATED_DUMP)
    assert not drift, (
        f"the migrated schema drifted from sql/{name}. This run left both files of a freshly migrated database "
        f"in {MIGRATED_DUMP.relative_to(REPO_ROOT)}: review the diff and copy them into sql/ (or run `{REGENERATE}` "
        "against a freshly migrated database):\n" + "\n".join(drift[:60])
    )


def test_the_dump_shows_no_function_body_and_no_partition_child(fresh_db: Database, fresh_dump: SchemaDump) -> None:
    schema = fresh_dump.schema
    with psycopg.connect(fresh_db.admin_url) as conn:
        children = [r[0] for r in conn.execute("select relname from pg_class where relispartition")]
        parents = [r[0] for r in conn.execute("select oid::regclass::text from pg_class where relkind = 'p'")]
    assert len(children) > 50 and len(parents) >= 8
    assert not re.search(r"CREATE (OR REPLACE )?(FUNCTION|PROCEDURE|AGGREGATE)|\$\$", schema)
    assert not re.search(r"ATTACH PARTITION|PARTITION OF", schema)
    outside_partition_lines = re.sub(r"(?m)^-- partitions of .*$", "", schema)
    assert [c for c in children if re.search(rf"\b{c}\b", outside_partition_lines)] == []
    for parent in parents:
        qualified = parent if "." in parent else f"public.{parent}"
        assert schema.count(f"\n-- partitions of {qualified}: ") == 1, qualified
    assert "CREATE POLICY tenant_isolation ON public.users" in schema  # policies and grants stay
    assert "GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.users TO rustok_app;" in schema
    assert "REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_lock(bigint) FROM PUBLIC;" in schema


def test_the_function_list_has_one_line_per_function(fresh_db: Database, fresh_dump: SchemaDump) -> None:
    lines = fresh_dump.functions.splitlines()
    listed = [line for line in lines if not line.startswith("#")]
    assert listed == sorted(listed)
    with psycopg.connect(fresh_db.admin_url) as conn:
        names = [r[0] for r in conn.execute("select proname from pg_proc where pronamespace = 'rustok'::regnamespace")]
        definers = conn.execute(
            "select count(*) from pg_proc where pronamespace = 'rustok'::regnamespace and prosecdef"
        ).fetchone()
    assert len(listed) == len(names) > 250
    assert sorted(line.split("(", 1)[0] for line in listed) == sorted(f"rustok.{n}" for n in names)
    assert definers == (sum(" definer " in line for line in listed),)
    set_context = next(line for line in listed if line.startswith("rustok.set_context("))
    assert set_context.startswith("rustok.set_context(tenant_id uuid, user_id uuid DEFAULT NULL::uuid")
    assert " returns void | plpgsql volatile definer parallel-unsafe | " in set_context
    assert "| set: search_path=pg_catalog, public, pg_temp | execute: rustok_analytics, rustok_app | " in set_context
    after_migrate = next(line for line in listed if line.startswith("rustok._after_migrate("))
    assert after_migrate.endswith(
        "| execute: none | Everything that must hold after any migrate: partitions, tenant security, grants."
    )


def test_partition_lines_name_every_partition(template_db: Database) -> None:
    db = clone_database(template_db, "partition_lines")
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute(
            """create table public.zz_none (a int) partition by list (a);
               create table public.zz_list (a int, b int) partition by list (a);
               create table public.zz_list_1 partition of public.zz_list for values in (1) partition by range (b);
               create table public.zz_list_1a partition of public.zz_list_1 for values from (0) to (10);
               create table public.zz_list_d partition of public.zz_list default;
               create table public.zz_hash (a int) partition by hash (a);
               create table public.zz_hash_p0 partition of public.zz_hash for values with (modulus 2, remainder 0);
               create table public.zz_hash_odd partition of public.zz_hash for values with (modulus 2, remainder 1);
               create table public.zz_dated (at date) partition by range (at);
               create table public.zz_dated_y2031m01 partition of public.zz_dated
                 for values from ('2031-01-01') to ('2031-02-01');"""
        )
    lines = [line for line in dump(db.admin_url).schema.splitlines() if line.startswith("-- partitions of public.zz")]
    assert lines == [
        "-- partitions of public.zz_dated: zz_dated_yYYYYmMM: one a month, by rustok.maintain_partitions()",
        "-- partitions of public.zz_hash: zz_hash_odd (WITH (modulus 2, remainder 1)); "
        "zz_hash_p0 (WITH (modulus 2, remainder 0))",
        "-- partitions of public.zz_list: zz_list_1 (IN (1), itself partitioned); zz_list_d (DEFAULT)",
        "-- partitions of public.zz_none: none",
    ]
    drop_database(template_db, db.dbname)


def test_db_schema_prints_either_file_or_writes_both(
    fresh_db: Database, fresh_dump: SchemaDump, tmp_path: Path
) -> None:
    expected = fresh_dump
    env = environment(fresh_db, tmp_path / "home", RUSTOK_SQL_DIR=str(tmp_path))
    printed = piped(env, "db", "schema")
    assert printed.returncode == 0 and printed.stdout == expected.schema, printed.stderr
    listed = piped(env, "db", "schema", "--functions")
    assert listed.returncode == 0 and listed.stdout == expected.functions, listed.stderr
    written = piped(env, "db", "schema", "--write")
    assert written.returncode == 0, written.stderr
    assert written.stdout.splitlines() == [f"wrote {tmp_path / SCHEMA_FILE}", f"wrote {tmp_path / FUNCTIONS_FILE}"]
    assert (tmp_path / SCHEMA_FILE).read_text() == expected.schema
    assert (tmp_path / FUNCTIONS_FILE).read_text() == expected.functions


def test_migrating_twice_changes_nothing(fresh_db: Database, fresh_dump: SchemaDump) -> None:
    report = migrate(fresh_db, installed_registry())
    assert report.applied == [] and report.dropped == [] and report.partitions == []
    assert dump(fresh_db.admin_url) == fresh_dump


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
