"""Passwords never need the command line: `rustok tenant create` asks twice on a terminal (without echo) or
reads one line from stdin with --password-stdin; the old argument still works and warns. The real command,
piped or on a pseudo-terminal."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rustok.auth.passwords import verify_password
from rustok.db import Database
from tests.py.cli_support import Terminal, environment, piped

PASSWORD = "correct horse battery"


@pytest.fixture
def env(db: Database, tmp_path: Path) -> dict[str, str]:
    return environment(db, tmp_path)


def admin_hash(db: Database, slug: str) -> str | None:
    """The password hash of the tenant's admin; None when there is no such tenant."""
    with psycopg.connect(db.admin_url) as conn:
        tenant = conn.execute("select id from tenants where slug = %s", (slug,)).fetchone()
        if tenant is None:
            return None
        conn.execute("select rustok.set_context(%s)", (tenant[0],))
        row = conn.execute("select password_hash from users where role = 'admin'").fetchone()
        assert row is not None
        return str(row[0])


def create(slug: str, *extra: str) -> list[str]:
    return ["tenant", "create", "--slug", slug, "--name", slug.title(), "--admin-email", f"boss@{slug}.test", *extra]


def test_password_from_stdin(db: Database, env: dict[str, str]) -> None:
    done = piped(env, *create("piped", "--password-stdin"), stdin=f"{PASSWORD}\nignored second line\n")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and PASSWORD not in done.stdout
    hashed = admin_hash(db, "piped")
    assert hashed is not None and verify_password(hashed, PASSWORD)


def typed(env: dict[str, str], slug: str, first: str, second: str) -> tuple[int, str]:
    """`tenant create` on a terminal, answering its two prompts; its exit status and what it showed."""
    terminal = Terminal(env, *create(slug))
    terminal.expect(f"password for boss@{slug}.test: ")
    terminal.send(first)
    terminal.expect("the same again: ")
    terminal.send(second)
    return terminal.finish()


def test_password_asked_twice_on_a_terminal_without_echo(db: Database, env: dict[str, str]) -> None:
    code, shown = typed(env, "typed", PASSWORD, PASSWORD)
    assert code == 0, shown
    assert "created tenant typed" in shown and PASSWORD not in shown
    hashed = admin_hash(db, "typed")
    assert hashed is not None and verify_password(hashed, PASSWORD)


def test_two_different_passwords_create_nothing(db: Database, env: dict[str, str]) -> None:
    code, shown = typed(env, "mistyped", PASSWORD, PASSWORD + "!")
    assert code == 2 and "the two passwords differ" in shown
    assert admin_hash(db, "mistyped") is None


def test_no_terminal_and_no_password_stdin_is_a_usage_error(db: Database, env: dict[str, str]) -> None:
    done = piped(env, *create("nowhere"), stdin=f"{PASSWORD}\n")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("rustok: error: ") and "--password-stdin" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert admin_hash(db, "nowhere") is None


@pytest.mark.parametrize(
    "argv",
    [
        ("tenant", "create", "--slug", "x1", "--name", "X", "--password-stdin"),  # a password without an admin
        tuple(create("x2", "--admin-password", PASSWORD, "--password-stdin")),  # two passwords
        tuple(create("x3", "--password-stdin")),  # an empty first line
    ],
)
def test_password_misuse_is_one_line_and_creates_nothing(
    db: Database, env: dict[str, str], argv: tuple[str, ...]
) -> None:
    done = piped(env, *argv, stdin="\n")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("rustok: error: ") and len(done.stderr.splitlines()) == 1
    with psycopg.connect(db.admin_url) as conn:
        assert conn.execute("select count(*) from tenants where slug like 'x_'").fetchone() == (0,)


def test_the_old_argument_still_works_and_warns(db: Database, env: dict[str, str]) -> None:
    done = piped(env, *create("argv", "--admin-password", PASSWORD))
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("rustok: warning: --admin-password") and "--password-stdin" in done.stderr
    hashed = admin_hash(db, "argv")
    assert hashed is not None and verify_password(hashed, PASSWORD)


def test_demo_reads_its_password_from_stdin(db: Database, env: dict[str, str]) -> None:
    done = piped(
        env,
        "demo",
        "--no-migrate",
        "--tenant",
        "pw-demo",
        "--products",
        "10",
        "--posts",
        "1",
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr and f"password {PASSWORD}" in done.stdout
    hashed = admin_hash(db, "pw-demo")
    assert hashed is not None and verify_password(hashed, PASSWORD)


def test_a_password_outside_the_policy_is_refused_by_the_database(db: Database, env: dict[str, str]) -> None:
    done = piped(env, *create("short-pw", "--password-stdin"), stdin="123\n")
    assert done.returncode == 1 and "[VALIDATION_FAILED]" in done.stderr and len(done.stderr.splitlines()) == 1
    assert admin_hash(db, "short-pw") is None
