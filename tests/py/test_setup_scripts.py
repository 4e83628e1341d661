"""scripts/setup, scripts/fetch-graphiql, scripts/fetch-codegen and scripts/serve when something they need cannot
be had: each failure is one line saying what failed and what to do, GraphiQL (dev mode only) never stops the
platform, and graphql-codegen (one test's tool) never stops set-up.

The scripts run for real from a throwaway copy of them (nothing here touches this checkout's .venv or its
GraphiQL), against registries that answer nothing (127.0.0.1:9), so the tests stay offline."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from rustok.config import REPO_ROOT

UNREACHABLE = "http://127.0.0.1:9/"
VENV_BIN = Path(sys.executable).parent


def _copy_scripts(into: Path) -> Path:
    (into / "scripts").mkdir(parents=True)
    for name in ("setup", "fetch-graphiql", "fetch-codegen", "serve"):
        shutil.copy2(REPO_ROOT / "scripts" / name, into / "scripts" / name)
    (into / "tests" / "codegen").mkdir(parents=True)
    for name in ("package.json", "package-lock.json", ".npmrc"):
        shutil.copy2(REPO_ROOT / "tests" / "codegen" / name, into / "tests" / "codegen" / name)
    return into


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No pip or npm configuration of the machine's, no RusToK settings of the caller's; npm and pip both
    pointed at a registry that answers nothing, npm with an empty cache of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "npm_config_", "NPM_CONFIG_", "RUSTOK_")) and k != "DATABASE_URL"
    }
    env |= {
        "npm_config_registry": UNREACHABLE,
        "npm_config_cache": str(tmp_path / "npm-cache"),
        "npm_config_update_notifier": "false",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": UNREACHABLE + "simple",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "RUSTOK_HOME": str(tmp_path / "home"),
    }
    return env | extra


@pytest.fixture
def installed_copy(tmp_path: Path) -> Path:
    """A copy of the scripts whose .venv is this checkout's (linked, never written to) and counts as
    installed, so set-up goes straight to GraphiQL, which this copy does not have yet."""
    copy = _copy_scripts(tmp_path / "copy")
    shutil.copy2(REPO_ROOT / "pyproject.toml", copy / "pyproject.toml")
    (copy / ".venv" / "bin").mkdir(parents=True)
    for name in ("python", "rustok"):
        (copy / ".venv" / "bin" / name).symlink_to(VENV_BIN / name)
    (copy / ".venv" / ".installed").touch()
    return copy


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def _needs_npm() -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the unreachable-registry case needs it")


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_serve_starts_when_graphiql_cannot_be_fetched(installed_copy: Path, tmp_path: Path, busy_port: int) -> None:
    """npm is there, its registry is not: set-up warns in one line and `rustok serve` runs (here it stops at
    once, on a port that is taken, which shows it ran and that nothing was started before)."""
    _needs_npm()
    result = _run(["scripts/serve", "--port", str(busy_port)], installed_copy, _clean_env(tmp_path))
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 2, result.stderr
    warning, refusal = lines
    assert warning.startswith("scripts/fetch-graphiql: GraphiQL not installed: npm could not fetch it")
    assert "127.0.0.1:9" in warning and "runs without it" in warning and "to retry: scripts/fetch-graphiql" in warning
    assert f"port {busy_port} is in use" in refusal
    assert not (installed_copy / "py").exists(), "a failed fetch must leave nothing half-installed"
    assert not (tmp_path / "home").exists()


def test_fetch_graphiql_fails_in_one_line_and_changes_nothing(installed_copy: Path, tmp_path: Path) -> None:
    _needs_npm()
    result = _run(["scripts/fetch-graphiql"], installed_copy, _clean_env(tmp_path))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "npm could not fetch it" in result.stderr
    assert not (installed_copy / "py").exists()


def test_test_setup_goes_on_without_codegen_and_says_why(installed_copy: Path, tmp_path: Path) -> None:
    """`scripts/setup --test` with npm's registry unreachable: one line for codegen (its reason, what it holds up,
    how to retry), one for GraphiQL, and set-up finishes (here with the Python packages, pgTAP and Chromium
    already there)."""
    _needs_npm()
    if not (Path("/usr/share/postgresql/15/extension/pgtap.control").exists() and Path("/usr/bin/chromium").exists()):
        pytest.skip("pgTAP and Chromium are not installed here: set-up would try apt first")
    (installed_copy / ".venv" / ".installed[test]").touch()
    result = _run(["scripts/setup", "--test"], installed_copy, _clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    codegen, graphiql = result.stderr.splitlines()
    assert codegen.startswith("scripts/fetch-codegen: graphql-codegen not installed: npm could not install it")
    assert "127.0.0.1:9" in codegen and "test_graphql_codegen.py fails until it is" in codegen
    assert "to retry: scripts/fetch-codegen" in codegen
    assert not (installed_copy / "tests" / "codegen" / "node_modules").exists(), "nothing half-installed is left"
    assert graphiql.startswith("scripts/fetch-graphiql: GraphiQL not installed")


def test_a_venv_that_cannot_be_made_says_what_to_do(tmp_path: Path) -> None:
    copy = _copy_scripts(tmp_path / "copy")
    (copy / ".venv").write_text("not a directory\n")  # venv cannot make its directory here
    result = _run(["scripts/setup"], copy, _clean_env(tmp_path, PYTHON=sys.executable))
    assert result.returncode == 1
    assert result.stderr.startswith("scripts/setup: could not create .venv") and result.stderr.count("\n") == 1
    assert "python3-venv" in result.stderr and "scripts/setup again" in result.stderr
    assert (copy / ".venv").read_text() == "not a directory\n", "set-up removed a .venv it had not made"

    result = _run(["scripts/setup"], copy, _clean_env(tmp_path, PYTHON=str(tmp_path / "no-python")))
    assert result.returncode == 1 and "not found: install Python 3.11 or newer" in result.stderr


@pytest.mark.slow
def test_a_package_index_that_does_not_answer_says_what_to_do(tmp_path: Path) -> None:
    """A real new .venv (pip comes bundled with Python), then a package that is not installed anywhere and
    an index that does not answer: pip's reason, then one line of set-up's own."""
    copy = _copy_scripts(tmp_path / "copy")
    (copy / "pyproject.toml").write_text(
        '[project]\nname = "setup-probe"\nversion = "0"\ndependencies = ["rustok-setup-probe-not-installed"]\n'
    )
    result = _run(["scripts/setup"], copy, _clean_env(tmp_path, PYTHON=sys.executable), timeout=300)
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("scripts/setup: pip could not install") and "PIP_INDEX_URL" in last, result.stderr
    assert (copy / ".venv" / "bin" / "python").exists(), "the venv itself was made"
    assert not (copy / ".venv" / ".installed").exists(), "a failed install must be tried again next time"


def test_apt_that_cannot_install_the_test_tools_says_what_to_do(installed_copy: Path, tmp_path: Path) -> None:
    """As root with pgTAP and Chromium hidden (a private mount namespace) and apt pointed at a proxy that
    answers nothing, with its own state under tmp_path (the machine's apt state is not touched)."""
    pgtap, chromium = Path("/usr/share/postgresql/15/extension"), Path("/usr/bin/chromium")
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("apt-get")):
        pytest.skip("needs root, unshare and apt-get")
    if not (pgtap.is_dir() and chromium.exists()):
        pytest.skip("the tools are not installed here, so there is nothing to hide")
    apt = tmp_path / "apt"
    for sub in ("lists/partial", "cache/archives/partial"):
        (apt / sub).mkdir(parents=True)
    (apt / "status").touch()
    (apt / "apt.conf").write_text(
        f'Acquire::http::Proxy "{UNREACHABLE}";\nAcquire::https::Proxy "{UNREACHABLE}";\nAcquire::Retries "0";\n'
        f'Dir::State::Lists "{apt}/lists";\nDir::State::status "{apt}/status";\nDir::Cache "{apt}/cache";\n'
    )
    (installed_copy / ".venv" / ".installed[test]").touch()
    (tmp_path / "empty").mkdir()
    (tmp_path / "not-chromium").touch()
    hide = (
        f"mount --bind {tmp_path / 'empty'} {pgtap} && mount --bind {tmp_path / 'not-chromium'} {chromium} "
        "&& exec scripts/setup --test"
    )
    env = _clean_env(tmp_path, APT_CONFIG=str(apt / "apt.conf"))
    result = _run(["unshare", "--mount", "--propagation", "private", "sh", "-c", hide], installed_copy, env)
    assert result.returncode == 1, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("scripts/setup: apt-get could not install postgresql-15-pgtap chromium"), result.stderr
    assert "Unable to locate package" in last and "scripts/setup --test again" in last


def test_the_licence_is_a_file_the_package_metadata_names() -> None:
    text = (REPO_ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 RusToK contributors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert importlib.metadata.metadata("rustok").get_all("License-File") == ["LICENSE"]  # as installed
