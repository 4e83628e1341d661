"""The admin app at /admin: its page and every module and stylesheet are served with the right content type
and the security headers, every import is relative (so it resolves to a served file), and nothing names
another origin: the browser fetches nothing from a CDN or anywhere else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rustok.admin import STATIC_DIR
from rustok.db import Database
from tests.py.graphql_support import Api

IMPORT = re.compile(r"""(?:\bimport\b[^'"`;]*?|\bimport\(\s*)['"`]([^'"`]+)['"`]""")
FILES = sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def test_admin_redirects_to_its_page(api: Api) -> None:
    response = api.client.get("/admin", follow_redirects=False)
    assert response.status_code == 308 and response.headers["location"] == "/admin/"
    page = api.client.get("/admin/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="js/app.js"></script>' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", FILES)
def test_every_file_is_served_with_its_type_and_names_no_other_origin(api: Api, name: str) -> None:
    response = api.client.get(f"/admin/{name}")
    assert response.status_code == 200
    expected = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",), ".html": ("text/html",)}
    assert response.headers["content-type"].startswith(expected[Path(name).suffix])
    assert "content-security-policy" in response.headers
    assert "://" not in response.text, "an absolute URL: the admin must load everything from its own origin"
    assert "//cdn" not in response.text and "url(//" not in response.text


def test_every_import_is_relative_and_resolves_to_a_served_module(api: Api) -> None:
    found = 0
    for name in FILES:
        if not name.endswith(".js"):
            continue
        for specifier in IMPORT.findall((STATIC_DIR / name).read_text()):
            assert specifier.startswith(("./", "../")), f"{name} imports {specifier}"
            found += 1
            if "${" in specifier:  # the router's dynamic import of a screen: every screen is served
                continue
            target = (Path("/admin") / Path(name).parent / specifier).resolve().as_posix()
            assert api.client.get(target).status_code == 200, f"{name} imports {specifier}, which is not served"
    assert found > 20


def test_every_route_names_a_screen_that_exists() -> None:
    app = (STATIC_DIR / "js" / "app.js").read_text()
    screens = set(re.findall(r"\[/\^.*?/, '([a-z]+)'", app))
    assert screens and all(
        (STATIC_DIR / "js" / "screens" / f"{s}.js").is_file() for s in screens | {"signin", "notfound"}
    )
