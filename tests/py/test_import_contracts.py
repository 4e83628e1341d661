"""The import contracts ([tool.importlinter] in pyproject.toml, docs/architecture.md "Layers and parts"): kept
by the code, and broken by an import that climbs a layer or closes a cycle. Each check runs the real
`lint-imports` (scripts/test runs it too), the broken ones on a copy of the package with one import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rustok.config import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(package_root: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with the project's contracts over the `rustok` package found under `package_root`."""
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", str(REPO_ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def test_the_code_keeps_every_contract(tmp_path: Path) -> None:
    result = lint(REPO_ROOT / "py", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("file", "added", "contract"),
    [
        # the GraphQL layer naming a feature again (as graphql/http.py named webhooks)
        ("graphql/http.py", "from rustok.webhooks import graphql as _webhooks", "Layers point one way"),
        # the API reaching up for what the composition root hands it (as api/health.py imported migrate)
        ("api/health.py", "from rustok.migrate import expected_migration_ids as _ids", "Layers point one way"),
        # two files of one layer importing each other (as realtime/ws.py and realtime/_execution.py did)
        ("realtime/hub.py", "from rustok.realtime import sse as _sse", "No import cycle"),
        # a module reaching into a platform part instead of the contract
        ("modules/blog/__init__.py", "from rustok.auth import part as _auth", "Modules are written against"),
    ],
)
def test_an_import_that_breaks_a_contract_fails(tmp_path: Path, file: str, added: str, contract: str) -> None:
    copy = tmp_path / "py"
    skip = shutil.ignore_patterns("static", "__pycache__")
    shutil.copytree(REPO_ROOT / "py" / "rustok", copy / "rustok", ignore=skip)
    target = copy / "rustok" / file
    target.write_text(target.read_text() + f"\n{added}  # noqa\n")
    result = lint(copy, tmp_path)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
