"""Real client tooling accepts the schema (issue 16, point 1): graphql-codegen (typescript and
typescript-operations) generates TypeScript from the committed schema.graphql and every GraphQL document of
the admin, with no error, and tsc --strict accepts what it wrote. The tools come from npm at pinned versions
(tests/codegen/package-lock.json) through scripts/fetch-codegen, which set-up runs; without them this test
fails saying why, as the suite stops without pgTAP: it never skips the check quietly."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rustok.config import REPO_ROOT

CODEGEN = REPO_ROOT / "tests" / "codegen"
ADMIN_JS = REPO_ROOT / "py" / "rustok" / "admin" / "static" / "js"
TAG = "/* GraphQL */ `"
OPERATION = re.compile(r"/\* GraphQL \*/ `(query|mutation|subscription|fragment) (\w+)")


def _admin_sources() -> dict[str, str]:
    return {str(path.relative_to(ADMIN_JS)): path.read_text() for path in sorted(ADMIN_JS.rglob("*.js"))}


def test_every_document_the_admin_sends_is_one_codegen_reads() -> None:
    """Each document passed to gql(), post() or a subscription is a `/* GraphQL */` template literal, or a
    constant that is one; interpolated only to append a fragment (codegen's loader drops interpolations), and
    named (codegen refuses anonymous operations side by side)."""
    for name, source in _admin_sources().items():
        for sent in re.finditer(r"\b(?:gql|post)\(\s*|\bquery: ", source):
            rest = source[sent.end() :]
            if rest.startswith(TAG):
                document = rest[len(TAG) : rest.index("`", len(TAG))]
            else:
                constant = re.match(r"(\w+)", rest)
                assert constant, f"{name}: a document that is no /* GraphQL */ template: {rest[:60]!r}"
                if constant.group(1) == "query":  # api.js: gql(query, …) passes on what its caller gave
                    continue
                held = re.search(rf"\bconst {constant.group(1)} = ", source)
                assert held, f"{name}: {constant.group(1)} is not a constant of this file"
                value = source[held.end() :]
                if value.startswith("{"):  # a table of documents (modules.js): each entry one
                    entries = value[: value.index("};")].splitlines()[1:]
                    assert entries and all(TAG in entry for entry in entries), f"{name}: {constant.group(1)}"
                else:
                    assert value.startswith(TAG), f"{name}: {constant.group(1)} is no /* GraphQL */ document"
                continue
            assert re.match(r"(query|mutation|subscription) \w+[ (]", document), f"{name}: unnamed: {document[:60]!r}"
            for interpolated in re.findall(r"\$\{([^}]*)\}", document):
                assert re.search(rf"const {interpolated} = /\* GraphQL \*/ `fragment ", source), (
                    f"{name}: ${{{interpolated}}} is no fragment: codegen would not see what it adds"
                )


@pytest.mark.slow
def test_codegen_generates_types_for_the_admin_that_tsc_accepts(tmp_path: Path) -> None:
    fetched = subprocess.run(
        [str(REPO_ROOT / "scripts" / "fetch-codegen")], capture_output=True, text=True, timeout=300, check=False
    )
    if fetched.returncode != 0:
        pytest.fail(f"graphql-codegen is not installed, so the check cannot run: {fetched.stderr.strip()}")
    npm = shutil.which("npm")
    assert npm is not None
    result = subprocess.run(
        [npm, "run", "--silent", "check"],  # tests/codegen/package.json: graphql-codegen, then tsc --strict
        cwd=CODEGEN,
        env=os.environ | {"RUSTOK_CODEGEN_OUT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"codegen or tsc failed:\n{result.stdout}\n{result.stderr}"
    generated = (tmp_path / "admin-operations.ts").read_text()
    suffix = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription", "fragment": "Fragment"}
    documents = {m for source in _admin_sources().values() for m in OPERATION.findall(source)}
    assert len(documents) > 50
    for kind, name in documents:
        assert f"export type {name}{suffix[kind]} = " in generated, f"no type for the admin's {kind} {name}"
    schema = (tmp_path / "schema.ts").read_text()
    assert "export type Query = {" in schema and "export type Product = {" in schema
