"""compose.yaml cannot run here (no Docker engine): these tests check that it parses and is self-consistent,
and that docs/deploy.md documents every setting."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from rustok.config import REPO_ROOT

COMPOSE = REPO_ROOT / "compose.yaml"
DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"
NGINX = REPO_ROOT / "deploy" / "nginx" / "nginx.conf"
SECRETS = {"POSTGRES_PASSWORD", "RUSTOK_APP_PASSWORD", "RUSTOK_JWT_SECRET", "RUSTOK_REPLICATION_PASSWORD"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else list(command)


def _api_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if _command(s)[:2] == ["rustok", "serve"]}


def test_the_production_shape_is_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"primary", "replica", "migrate", "worker", "indexer", "lb"} <= set(services)
    assert len(_api_services(compose)) >= 2
    for name in ("primary", "replica"):
        assert services[name]["image"] == "postgres:18"
    assert _command(services["migrate"]) == ["rustok", "migrate"]
    assert _command(services["worker"])[:2] == ["rustok", "worker"]
    assert _command(services["indexer"])[:2] == ["rustok", "indexer"]
    for name, service in services.items():
        expected = "no" if name == "migrate" else "unless-stopped"
        assert service.get("restart") == expected, name


def test_references_resolve(compose: dict[str, Any]) -> None:
    services = compose["services"]
    volumes = set(compose.get("volumes") or {})
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, (name, dependency)
        for mount in service.get("volumes") or []:
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (REPO_ROOT / source).is_file(), (name, source)
            else:
                assert source in volumes, (name, source)
        build = service.get("build")
        if build:
            assert (REPO_ROOT / build["context"] / build["dockerfile"]).is_file()


def test_api_processes_use_the_app_role_on_the_primary_and_read_from_the_replica(compose: dict[str, Any]) -> None:
    for name, service in _api_services(compose).items():
        env = service["environment"]
        assert "--no-migrate" in _command(service), name
        assert re.match(r"postgresql://rustok_app:[^@]+@primary:5432/", env["RUSTOK_APP_DATABASE_URL"]), name
        assert re.match(r"postgresql://rustok_app:[^@]+@replica:5432/", env["RUSTOK_READ_DATABASE_URL"]), name
        assert env["DATABASE_URL"] == env["RUSTOK_APP_DATABASE_URL"], "no owner credentials in API processes"
        assert "/health/ready" in " ".join(service["healthcheck"]["test"]), name
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    migrate = compose["services"]["migrate"]["environment"]
    assert re.match(r"postgresql://rustok:[^@]+@primary:5432/rustok$", migrate["DATABASE_URL"])


def test_the_load_balancer_sends_to_every_api_process(compose: dict[str, Any]) -> None:
    upstreams = set(re.findall(r"^\s*server\s+([\w-]+):(\d+)", NGINX.read_text(), re.MULTILINE))
    assert upstreams == {(name, "8000") for name in _api_services(compose)}
    assert set(compose["services"]["lb"]["depends_on"]) == set(_api_services(compose))


def test_secrets_are_required_from_the_environment() -> None:
    text = COMPOSE.read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required == SECRETS
    assert not re.search(r"PASSWORD:[ \t]*['\"]?\w", re.sub(r"\$\{[^}]*\}", "", text)), "a literal password"


def test_every_setting_is_documented() -> None:
    doc = DEPLOY_DOC.read_text()
    in_code = {
        name
        for path in (REPO_ROOT / "py" / "rustok").rglob("*.py")
        for name in re.findall(r"RUSTOK_[A-Z_]+[A-Z]", path.read_text())
    }
    in_compose = set(re.findall(r"\b(RUSTOK_[A-Z_]+[A-Z]|POSTGRES_PASSWORD)\b", COMPOSE.read_text()))
    missing = sorted(name for name in in_code | in_compose | {"DATABASE_URL"} if f"`{name}`" not in doc)
    assert not missing, f"docs/deploy.md does not document {missing}"
