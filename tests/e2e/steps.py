"""Steps the browser scenarios share: where the demo shop lives, signing in to the storefront and to the admin
through their forms, and names no other test uses."""

from __future__ import annotations

import random
import string

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import Demo


def shop(demo: Demo, path: str = "/") -> str:
    """The demo shop's address for `path` (the `/t/<slug>` prefix; the server has no tenant host names)."""
    return f"/t/{demo.slug}{path}"


def unique_word(prefix: str) -> str:
    """A made-up word (letters only, so full-text search keeps it one token) no other test or demo row holds."""
    return prefix + "".join(random.choices(string.ascii_lowercase, k=10))


def new_page(browser: Browser, base_url: str) -> tuple[BrowserContext, Page]:
    """A second person's page: a fresh context (no cookies, no storage) like the `page` fixture's."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    return context, context.new_page()


def sign_in_to_shop(page: Page, demo: Demo, email: str, password: str) -> None:
    """The storefront's sign-in form; ends on the page it leads to, with the account link showing."""
    page.goto(shop(demo, "/signin"))
    form = page.get_by_test_id("signin-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("account-link")).to_be_visible()


def sign_in_to_admin(page: Page, demo: Demo) -> None:
    """The admin's sign-in screen at /admin as the demo's admin; ends on the dashboard."""
    page.goto("/admin")
    page.get_by_test_id("signin-tenant").fill(demo.slug)
    page.get_by_test_id("signin-email").fill(demo.admin_email)
    page.get_by_test_id("signin-password").fill(demo.password)
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("screen-dashboard")).to_be_visible()
