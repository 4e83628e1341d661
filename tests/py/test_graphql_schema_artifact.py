"""The GraphQL schema as an artifact (issue 16, point 1): the committed schema.graphql is the schema the
server serves; `rustok graphql schema --check` names every breaking change against it and lets additions
pass; `--write` is the one way to change it. The commands run for real (tests/py/cli_support.py)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import build_client_schema, get_introspection_query

from rustok.db import Database
from rustok.graphql import artifact
from rustok.modules import installed_registry
from rustok.platform import schema_parts
from tests.py.cli_support import piped
from tests.py.graphql_support import Api

WRITE = "rustok graphql schema --write"


def listed(output: str, kind: str, coordinate: str) -> bool:
    """A line of the report names this kind of change (graphql-core's name) at this place in the schema."""
    return any(line.startswith(f"  {kind}: ") and coordinate in line for line in output.splitlines())


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """No database: the schema is built from the modules' SDL alone."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RUSTOK_") and k != "DATABASE_URL"}
    return clean | {"RUSTOK_HOME": str(tmp_path / "home")}


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A copy of the committed schema to change."""
    copy = tmp_path / "v1.graphql"
    shutil.copy2(artifact.SCHEMA_FILE, copy)
    return copy


def test_the_committed_schema_is_the_live_one() -> None:
    committed = artifact.read_committed()
    assert committed is not None, f"schema.graphql is missing: run `{WRITE}`"
    live = artifact.merged_sdl(schema_parts(installed_registry()))
    assert committed == live, (
        f"schema.graphql differs from the schema the code builds: run `{WRITE}` (and read its list)"
    )


@pytest.fixture(scope="module")
def dev_api(db: Database) -> Iterator[Api]:
    with Api(db, dev=True) as api:  # introspection on
        yield api


def test_the_artifact_is_the_schema_the_server_answers_with(dev_api: Api) -> None:
    """The artifact is built without a database or resolvers; the running app builds its own with both. Read
    back by introspection (every option a client tool may ask for) and printed the same way, they are one."""
    options = {"descriptions": True, "specified_by_url": True, "directive_is_repeatable": True}
    body = dev_api.gql(get_introspection_query(**options, input_value_deprecation=True))
    assert "errors" not in body, body["errors"]
    served = artifact.HEADER + artifact.print_sdl(build_client_schema(body["data"]))
    assert served == artifact.merged_sdl(schema_parts(installed_registry()))


def test_the_command_prints_the_merged_schema_in_one_order(env: dict[str, str]) -> None:
    first, second = piped(env, "graphql", "schema"), piped(env, "graphql", "schema")
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert first.stdout == second.stdout == artifact.read_committed()
    types = re.findall(r"^(?:type|input|enum|interface|scalar|union) (\w+)", first.stdout, re.MULTILINE)
    assert types == sorted(types) and len(types) > 50


def test_check_passes_on_the_committed_schema(env: dict[str, str]) -> None:
    result = piped(env, "graphql", "schema", "--check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("schema.graphql is up to date")


def test_check_names_a_removed_field_and_fails(env: dict[str, str], scratch: Path) -> None:
    """The committed schema has a field the code no longer has: what removing a field from the code does."""
    text = scratch.read_text()
    scratch.write_text(text.replace("type Query {\n", "type Query {\n  legacyProducts(first: Int): [Product!]!\n", 1))
    result = piped(env, "graphql", "schema", "--check", "--file", str(scratch))
    assert result.returncode == 1
    assert "breaking changes against" in result.stdout
    assert listed(result.stdout, "FIELD_REMOVED", "Query.legacyProducts")
    assert result.stderr.startswith("rustok: error: 1 breaking change(s)") and WRITE in result.stderr
    assert result.stderr.count("\n") == 1


def test_check_names_each_kind_of_break(env: dict[str, str], scratch: Path) -> None:
    """A field whose type changed and an enum value that went are breaking, each named and counted; an
    optional argument added is only dangerous, listed and not counted."""
    text = scratch.read_text()
    changed = text.replace("  modules: [Module!]!\n", "  modules: [String!]!\n", 1)
    changed = changed.replace("enum OrderStatus {\n", "enum OrderStatus {\n  LOST\n", 1)
    changed = changed.replace(
        "  users(after: String, first: Int = 20): UserConnection!\n", "  users(first: Int = 20): UserConnection!\n"
    )
    assert changed.count("\n") == text.count("\n") + 1, "the committed schema no longer has what this test changes"
    scratch.write_text(changed)
    result = piped(env, "graphql", "schema", "--check", "--file", str(scratch))
    assert result.returncode == 1
    assert listed(result.stdout, "FIELD_CHANGED_KIND", "Query.modules")
    assert listed(result.stdout, "VALUE_REMOVED_FROM_ENUM", "OrderStatus.LOST")
    assert "dangerous changes against" in result.stdout
    assert listed(result.stdout, "OPTIONAL_ARG_ADDED", "Query.users(after:)")
    assert result.stderr.startswith("rustok: error: 2 breaking change(s)")


def test_additions_are_reported_and_pass(env: dict[str, str], scratch: Path) -> None:
    """The committed schema lacks a type and a field the code has: the code only added, so --check passes,
    lists them, and says how to bring the file up to date."""
    text = scratch.read_text()
    without = re.sub(r"\ntype UserEdge \{\n.*?\n\}\n", "\n", text, flags=re.DOTALL)
    # the field and the description above it
    without = re.sub(r'\n  """(?:(?!""").)*"""\n  webhooks: \[Webhook!\]!\n', "\n", without, flags=re.DOTALL)
    without = without.replace("  edges: [UserEdge!]!\n", "")
    assert without.count("UserEdge") == 0 and "webhooks: [Webhook!]!" not in without
    scratch.write_text(without)
    result = piped(env, "graphql", "schema", "--check", "--file", str(scratch))
    assert result.returncode == 0, result.stderr
    assert listed(result.stdout, "TYPE_ADDED", "UserEdge")
    assert listed(result.stdout, "FIELD_ADDED", "Query.webhooks")
    assert listed(result.stdout, "FIELD_ADDED", "UserConnection.edges")
    assert "additions against" in result.stdout and "breaking" not in result.stdout
    assert result.stderr.startswith("rustok: warning:") and "is out of date (no breaking change)" in result.stderr


def test_write_updates_the_file_and_lists_the_break(env: dict[str, str], scratch: Path) -> None:
    scratch.write_text(scratch.read_text().replace("type Query {\n", "type Query {\n  legacy: String\n", 1))
    result = piped(env, "graphql", "schema", "--write", "--file", str(scratch))
    assert result.returncode == 0, result.stderr
    assert listed(result.stdout, "FIELD_REMOVED", "Query.legacy") and f"wrote {scratch}" in result.stdout
    assert "1 breaking change(s) written: note them in docs/graphql.md's changelog" in result.stderr
    assert scratch.read_text() == artifact.read_committed()
    again = piped(env, "graphql", "schema", "--write", "--file", str(scratch))
    assert again.returncode == 0 and again.stdout == f"{scratch} is up to date\n"


def test_a_deployment_without_a_module_breaks_v1_and_cannot_rewrite_it(env: dict[str, str]) -> None:
    """RUSTOK_MODULES without commerce serves a schema without commerce's fields: --check says so; and the
    committed file stays every module's."""
    partial = env | {"RUSTOK_MODULES": "content,blog"}
    result = piped(partial, "graphql", "schema", "--check")
    assert result.returncode == 1
    assert listed(result.stdout, "FIELD_REMOVED", "Query.products")
    refused = piped(partial, "graphql", "schema", "--write")
    assert refused.returncode == 2 and "unset RUSTOK_MODULES" in refused.stderr


def test_a_file_without_check_or_write_is_a_usage_error(env: dict[str, str], scratch: Path) -> None:
    result = piped(env, "graphql", "schema", "--file", str(scratch))
    assert result.returncode == 2 and result.stdout == "" and "--file names the schema" in result.stderr


def test_check_without_a_committed_schema_says_how_to_make_one(env: dict[str, str], tmp_path: Path) -> None:
    result = piped(env, "graphql", "schema", "--check", "--file", str(tmp_path / "none.graphql"))
    assert result.returncode == 1 and result.stdout == ""
    assert "no schema at" in result.stderr and WRITE in result.stderr


def test_a_committed_file_that_is_no_schema_is_one_line(env: dict[str, str], scratch: Path) -> None:
    scratch.write_text(scratch.read_text().replace("type Query {", "type Query {{", 1))
    result = piped(env, "graphql", "schema", "--check", "--file", str(scratch))
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"rustok: error: {scratch} is not a valid GraphQL schema (Syntax Error")
