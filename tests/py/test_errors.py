"""One registry of error codes: SQL raises them, Python maps each to one class and HTTP status, the docs
list them; clients never see SQL text."""

from __future__ import annotations

import psycopg
import pytest

from rustok import errors
from rustok.config import REPO_ROOT
from rustok.db import Database


@pytest.fixture(scope="module")
def sql_registry(db: Database) -> list[tuple[str, str, int]]:
    with psycopg.connect(db.admin_url) as conn:
        return conn.execute("select code, sqlstate, http_status from rustok.error_codes() order by code").fetchall()


def test_python_classes_match_the_sql_registry(sql_registry: list[tuple[str, str, int]]) -> None:
    python = sorted((cls.code, cls.sqlstate, cls.http_status) for cls in errors.BY_SQLSTATE.values())
    assert python == sql_registry


def test_docs_list_every_code(sql_registry: list[tuple[str, str, int]]) -> None:
    registry_doc = (REPO_ROOT / "docs" / "error_codes.md").read_text()
    missing = [
        code for code, sqlstate, _ in sql_registry if f"`{code}`" not in registry_doc or sqlstate not in registry_doc
    ]
    assert missing == []


def test_each_code_raised_in_sql_arrives_as_its_class_with_details(
    db: Database, sql_registry: list[tuple[str, str, int]]
) -> None:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        for code, _, status in sql_registry:
            with pytest.raises(psycopg.Error) as caught:
                conn.execute("select rustok.raise(%s, 'boom', jsonb_build_object('field', 'x'))", (code,))
            mapped = errors.from_database_error(caught.value)
            assert (mapped.code, mapped.http_status) == (code, status)
            if code != "INTERNAL":
                assert mapped.details == {"field": "x"}


def test_constraint_errors_map_without_echoing_values(db: Database) -> None:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("insert into tenants (slug, name) values ('taken', 'Secret Name')")
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("insert into tenants (slug, name) values ('taken', 'Other')")
    mapped = errors.from_database_error(caught.value)
    assert isinstance(mapped, errors.Conflict)
    assert "taken" not in mapped.message and "taken" not in str(mapped.details)


def test_unexpected_database_errors_become_internal_without_sql_text(db: Database) -> None:
    with psycopg.connect(db.admin_url, autocommit=True) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute("do $$ begin raise exception 'secret-slug %', (select count(*) from tenants); end $$")
    mapped = errors.from_database_error(caught.value)
    assert type(mapped) is errors.Internal
    assert mapped.to_dict() == {"code": "INTERNAL", "message": "INTERNAL", "details": {}}


def test_subclasses_share_a_family_for_handlers() -> None:
    assert issubclass(errors.TenantMismatch, errors.Forbidden)
    assert issubclass(errors.ModuleRequired, errors.Conflict)
    assert errors.BY_CODE["MODULE_DISABLED"] is errors.ModuleDisabled
