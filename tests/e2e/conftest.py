"""Browser tests: Debian's Chromium (/usr/bin/chromium) driven headless by Playwright for Python, against a
real `rustok serve` on a fresh clone of the test template with `rustok demo` loaded.

Playwright never downloads a browser here (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD, and the system Chromium by its
path; never run `playwright install`). Chromium's own background connections are switched off: this
machine's closed network refuses them. Screenshots go to .tmp/e2e-artifacts/ (gitignored; CI can keep them),
and a failing test leaves one of its page there too. The browser and the server live for this package only:
Playwright's sync API runs its own event loop, which is gone before tests/py starts (those call asyncio.run)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from rustok.config import REPO_ROOT
from rustok.db import Database
from rustok.demo import DemoOptions, load_demo
from tests.conftest import clone_database, drop_database
from tests.py.serve_support import ServeProcess

os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"  # belt and braces: nothing here may fetch a browser
# expect() waits 5 s by default, actions 10 s (the page fixture): GraphiQL's first render took over 5 s once on
# the shared 2-core machine, so assertions get the actions' patience
expect.set_options(timeout=10_000)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / ".tmp" / "e2e-artifacts"
DEMO_PASSWORD = "e2e-demo-password"
JWT_SECRET = "e2e-test-jwt-secret-0123456789abcdef0123"

Screenshot = Callable[[Page, str], Path]


@dataclass(frozen=True)
class Demo:
    """The demo tenant the server holds, and how to sign in to it."""

    slug: str
    admin_email: str
    customer_email: str
    password: str


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test takes seconds, and the package's server and browser more (tests/conftest.py runs
    slow units first)."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="package")
def _playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        message = (
            f"the browser tests need Debian's Chromium at {CHROMIUM}: run 'sudo apt-get install chromium' "
            "(scripts/setup --test does it as root)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    playwright = sync_playwright().start()
    yield playwright
    playwright.stop()


@pytest.fixture(scope="package")
def browser(_playwright: Playwright) -> Iterator[Browser]:
    browser = _playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def _e2e_db(template_db: Database) -> Iterator[Database]:
    db = clone_database(template_db, "e2e")
    yield db
    drop_database(template_db, db.dbname)


@pytest.fixture(scope="package")
def demo(_e2e_db: Database) -> Demo:
    """`rustok demo` loaded into the server's database (the same loader the command runs)."""
    report = load_demo(_e2e_db, DemoOptions(password=DEMO_PASSWORD))
    return Demo(report.slug, report.admin_email, report.customer_email, report.password)


@pytest.fixture(scope="package")
def base_url(_e2e_db: Database, demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `rustok serve` (RUSTOK_DEV=1: the query console and introspection) on a free port."""
    server = ServeProcess(
        _e2e_db, tmp_path_factory.mktemp("e2e-home"), {"RUSTOK_DEV": "1", "RUSTOK_JWT_SECRET": JWT_SECRET}
    )
    try:
        server.wait_ready(time.monotonic() + 60)
        yield server.base
    finally:
        server.stop()


@pytest.fixture
def page(browser: Browser, base_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies or storage from another test); relative URLs go to
    the server. When the test fails, its last view is saved as failed-<test>.png."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        save_screenshot(page, f"failed-{request.node.name}")
    context.close()


@pytest.fixture
def screenshot() -> Screenshot:
    """`screenshot(page, "name")` saves the whole page as .tmp/e2e-artifacts/name.png and returns the path."""
    return save_screenshot


def save_screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keeps each phase's report on the test item, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
