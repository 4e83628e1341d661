"""`--json` wherever a command prints a list or a record: one JSON document on stdout with the keys
docs/cli.md lists (a renamed key fails here), progress and warnings kept on stderr. The real command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rustok.db import Database
from rustok.ids import parse_id
from tests.py.cli_support import environment, piped

TENANT_KEYS = {"id", "slug", "name", "isActive", "settings", "createdAt", "updatedAt"}
MODULE_KEYS = {"slug", "name", "description", "version", "dependencies", "enabled"}


@pytest.fixture
def env(db: Database, tmp_path: Path) -> dict[str, str]:
    return environment(db, tmp_path)


def as_json(env: dict[str, str], *argv: str, stdin: str = "") -> Any:
    done = piped(env, *argv, "--json", stdin=stdin)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_tenant_create_list_and_module_list(env: dict[str, str]) -> None:
    created = as_json(
        env,
        *("tenant", "create", "--slug", "jsonco", "--name", "Json Co", "--admin-email", "a@jsonco.test"),
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert set(created) == TENANT_KEYS | {"adminUserId"}
    assert created["slug"] == "jsonco" and created["isActive"] is True
    assert parse_id(created["id"]) and parse_id(created["adminUserId"])

    listed = as_json(env, "tenant", "list")
    assert set(listed) == {"tenants"}
    mine = [t for t in listed["tenants"] if t["slug"] == "jsonco"]
    assert len(mine) == 1 and set(mine[0]) == TENANT_KEYS and mine[0]["id"] == created["id"]

    modules = as_json(env, "module", "list", "--tenant", "jsonco")
    assert set(modules) == {"tenant", "modules"} and modules["tenant"] == "jsonco"
    assert modules["modules"] and all(set(m) == MODULE_KEYS for m in modules["modules"])
    assert {m["slug"] for m in modules["modules"]} >= {"content", "commerce"}


def test_migrate_and_its_status(env: dict[str, str]) -> None:
    report = as_json(env, "migrate")
    assert report == {"applied": [], "dropped": [], "partitions": [], "warnings": report["warnings"]}
    assert isinstance(report["warnings"], list)
    state = as_json(env, "migrate", "--status")
    assert set(state) == {"migrations", "pending"} and state["pending"] == 0
    assert all(set(m) == {"module", "id", "applied"} and m["applied"] for m in state["migrations"])
    assert any(m["module"] == "core" for m in state["migrations"])


def test_demo_sign_in_details(env: dict[str, str]) -> None:
    done = piped(env, "demo", "--no-migrate", "--tenant", "jsondemo", "--products", "10", "--posts", "2", "--json")
    assert done.returncode == 0, done.stderr
    details = json.loads(done.stdout)
    assert set(details) == {
        "tenant",
        "tenantId",
        "replaced",
        "seconds",
        "counts",
        "storefrontUrl",
        "adminUrl",
        "serverRunning",
        "signIn",
    }
    assert details["tenant"] == "jsondemo" and details["replaced"] is False
    assert details["serverRunning"] is False  # no server runs in this home
    assert details["counts"]["products"] == 10 and details["counts"]["posts"] == 2
    assert details["storefrontUrl"].endswith("/t/jsondemo/") and details["adminUrl"].endswith("/admin")
    admin, customer = details["signIn"]["admin"], details["signIn"]["customer"]
    assert set(admin) == set(customer) == {"email", "password"}
    assert admin["email"] == "admin@jsondemo.rustok.test" and admin["password"] == customer["password"]
    assert "demo: done" in done.stderr  # progress stays on stderr, out of the JSON
