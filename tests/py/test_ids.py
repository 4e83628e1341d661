"""Ids made in Python and in SQL are the same kind: same text form, and time-ordered across both."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from rustok.db import Database
from rustok.errors import InvalidId
from rustok.ids import new_id, parse_id, to_ulid


def test_python_and_sql_ids_interleave_in_time_order(db: Database) -> None:
    made: list[uuid.UUID] = []
    with psycopg.connect(db.admin_url) as conn:
        for _ in range(3):
            made.append(new_id())
            time.sleep(0.002)
            made.append(conn.execute("select rustok.gen_id()").fetchone()[0])  # type: ignore[index]
            time.sleep(0.002)
    assert sorted(made) == made


def test_text_forms_agree_with_sql(db: Database) -> None:
    value = new_id()
    with psycopg.connect(db.admin_url) as conn:
        sql_text, sql_parsed = conn.execute(
            "select rustok.ulid(%s), rustok.parse_id(%s)", (value, to_ulid(value))
        ).fetchone()  # type: ignore[misc]
    assert sql_text == to_ulid(value)
    assert sql_parsed == value == parse_id(to_ulid(value)) == parse_id(str(value))


@pytest.mark.parametrize("text", ["", "nope", "01ARZ3NDEKTSV4RRFFQ69G5FA", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "0" * 33])
def test_anything_else_is_invalid_id(text: str) -> None:
    with pytest.raises(InvalidId) as caught:
        parse_id(text)
    assert caught.value.code == "INVALID_ID"
