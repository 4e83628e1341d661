"""Issue 7, scenario 3: a customer signs in on the storefront and comments on a blog post; the comment waits for
moderation (its author sees it marked so, other readers do not see it); the admin approves it in the moderation
screen; then every reader sees it on the post."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Demo, Screenshot
from tests.e2e.steps import new_page, sign_in_to_admin, sign_in_to_shop, unique_word


def test_a_comment_appears_on_the_post_once_the_admin_approves_it(
    page: Page, browser: Browser, base_url: str, demo: Demo, screenshot: Screenshot
) -> None:
    text = f"Does the {unique_word('widget')} come in green?"

    sign_in_to_shop(page, demo, demo.customer_email, demo.password)
    page.get_by_role("link", name="Blog").click()
    page.locator("#posts h2 a").first.click()
    post_url = page.url
    expect(page.locator("main h1")).to_have_count(1)  # the post's title once, not again atop its body
    form = page.get_by_test_id("comment-form")
    form.get_by_label("Your comment").fill(text)
    form.get_by_role("button", name="Post comment").click()
    mine = page.locator(".comment").filter(has_text=text)
    expect(mine).to_have_attribute("data-moderation", "pending")
    expect(mine).to_contain_text("awaiting moderation")
    screenshot(page, "post-comment-pending")

    context, reader = new_page(browser, base_url)
    admin_context, admin = new_page(browser, base_url)
    try:
        reader.goto(post_url)
        expect(reader.locator("#comments h2")).to_be_visible()
        expect(reader.locator(".comment").filter(has_text=text)).to_have_count(0)

        sign_in_to_admin(admin, demo)
        admin.get_by_test_id("nav-comments").click()
        row = admin.locator("tr").filter(has_text=text)
        expect(row).to_be_visible()
        screenshot(admin, "admin-moderation")
        row.get_by_role("button", name="Approve").click()
        expect(admin.get_by_test_id("ok")).to_contain_text("approved")
        expect(admin.locator("tr").filter(has_text=text)).to_have_count(0)

        reader.reload()
        approved = reader.locator(".comment").filter(has_text=text)
        expect(approved).to_have_attribute("data-moderation", "approved")
        expect(approved).not_to_contain_text("awaiting moderation")
        screenshot(reader, "post-with-comments")
    finally:
        admin_context.close()
        context.close()
