"""The analysts' role: SELECT on the index tables under the same tenant RLS, nothing else."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest

from rustok.db import Database
from rustok.migrate import migrate
from rustok.modules import installed_registry
from tests.conftest import clone_database, drop_database


def test_analysts_read_the_index_tables_of_the_tenant_they_set_and_nothing_else(template_db: Database) -> None:
    db = replace(clone_database(template_db, "analytics"), analytics_password="analysts-test-password")
    migrate(db, installed_registry())  # sets the role's password, as `rustok migrate` does
    with psycopg.connect(db.admin_url, autocommit=True) as owner:
        tenant = owner.execute("select rustok.parse_id(rustok.create_tenant('stats', 'Stats') ->> 'id')").fetchone()
        assert tenant is not None
    with psycopg.connect(db.analytics_url(), autocommit=True) as analyst:
        role = analyst.execute("select rolsuper, rolbypassrls from pg_roles where rolname = current_user").fetchone()
        assert role == (False, False)
        assert analyst.execute("select count(*) from index_products").fetchone() == (0,)
        with analyst.transaction():
            analyst.execute("select rustok.set_context(%s)", (tenant[0],))
            assert analyst.execute("select count(*) from index_content").fetchone() == (0,)
        for statement in (
            "select count(*) from users",
            "select count(*) from commerce_products",
            "insert into index_products (tenant_id, product_id) values (gen_random_uuid(), gen_random_uuid())",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                analyst.execute(statement)
    drop_database(template_db, db.dbname)
