"""The rustok command against an external database (DATABASE_URL): the URLs it prints, tenants, modules,
and errors that are one line with a code and a non-zero exit, never a traceback."""

from __future__ import annotations

import psycopg
import pytest

from rustok.cli import main
from rustok.db import Database


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_db_url_is_a_role_under_row_level_security(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "db", "url")
    assert code == 0
    with psycopg.connect(out.strip()) as conn:
        role = conn.execute("select rolsuper, rolbypassrls from pg_roles where rolname = current_user").fetchone()
        assert role == (False, False)
        tables = [
            r[0]
            for r in conn.execute(
                "select c.oid::regclass::text from pg_class c "
                "where c.oid in (select rustok._tenant_tables()) "
                "and has_table_privilege(c.oid, 'select')"
            )
        ]
        assert "users" in tables and "tenants" in tables and "event_outbox" in tables
        run(capsys, "tenant", "create", "--slug", "visible", "--name", "Visible")
        for table in tables:
            count = conn.execute(psycopg.sql.SQL("select count(*) from {}").format(psycopg.sql.SQL(table))).fetchone()
            assert count == (0,), f"{table} shows rows without a tenant"
    code, out, _ = run(capsys, "db", "url", "--superuser")
    assert code == 0 and out.strip() == env.admin_url


def test_tenant_create_list_and_modules(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "tenant",
        "create",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--admin-email",
        "Boss@Acme.test",
        "--admin-password",
        "correct horse",
    )
    assert code == 0, err
    assert "created tenant acme" in out and "boss@acme.test" in out and "role admin" in out
    with psycopg.connect(env.admin_url) as conn:
        row = conn.execute(
            "select u.role, e.type from users u join tenants t on t.id = u.tenant_id "
            "join event_outbox e on e.tenant_id = t.id and e.type = 'TenantCreated' "
            "where t.slug = 'acme'"
        ).fetchone()
        assert row == ("admin", "TenantCreated")
        password_hash = conn.execute("select password_hash from users where email = 'boss@acme.test'").fetchone()
        assert password_hash is not None and password_hash[0].startswith("$argon2id$")
    code, out, _ = run(capsys, "tenant", "list")
    assert code == 0 and "acme" in out
    code, out, _ = run(capsys, "module", "list", "--tenant", "acme")
    assert code == 0


@pytest.mark.parametrize(
    ("argv", "code_in_message"),
    [
        (("tenant", "create", "--slug", "Bad Slug", "--name", "x"), "[VALIDATION_FAILED]"),
        (("module", "enable", "--tenant", "nobody", "blog"), "[NOT_FOUND]"),
        (("db", "start"), "DATABASE_URL is set"),
    ],
)
def test_errors_are_one_line_with_a_code(
    env: Database, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], code_in_message: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("rustok: error: ") and code_in_message in err
    assert "Traceback" not in err


def test_a_taken_slug_is_a_conflict(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "tenant", "create", "--slug", "twice", "--name", "One")[0] == 0
    code, _, err = run(capsys, "tenant", "create", "--slug", "twice", "--name", "Two")
    assert code == 1 and "[CONFLICT]" in err


def test_an_unreachable_database_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/nothing")
    monkeypatch.setenv("RUSTOK_HOME", str(tmp_path))
    code, _, err = run(capsys, "migrate")
    assert code == 1 and "cannot connect to PostgreSQL" in err and "secret" not in err
