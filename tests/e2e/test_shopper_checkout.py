"""Issue 7, scenario 1: a shopper searches, filters, adds to cart and checks out on the storefront (a German
address, Express shipping: the summary shows VAT and shipping, and the order costs what it showed), gets an
order number, and that order then appears in the admin, where its status is changed. A guest, and a customer
who registers on the storefront with their name and finds the order, with the same breakdown, in their account."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Demo, Screenshot
from tests.e2e.steps import new_page, shop, sign_in_to_admin, unique_word

SHIP_TO = {
    "First name": "Ada",
    "Last name": "Shopper",
    "Address": "Hauptstr. 1",
    "City": "Berlin",
    "Postal code": "10115",
}
FIGURES = ("subtotal", "shipping", "tax", "total")


def search_filter_and_add_to_cart(page: Page, demo: Demo, screenshot: Screenshot) -> str:
    """Home → search box → in-stock and category filters → a product → its cart line; returns the title."""
    page.goto(shop(demo, "/"))
    expect(page.locator("#featured [data-testid=product-card]").first).to_be_visible()
    screenshot(page, "home")

    search = page.get_by_test_id("search-box")
    search.fill("mug")
    search.press("Enter")
    expect(page.locator("h1")).to_contain_text("mug")
    found = int(page.locator("#result-count").get_attribute("data-count") or "0")
    assert found > 0

    filters = page.get_by_test_id("filter-form")
    filters.get_by_label("In stock only").check()  # the form submits itself on change
    expect(page).to_have_url(re.compile(r"in_stock=1"))
    filters.get_by_label("Category").select_option("kitchen")
    expect(page).to_have_url(re.compile(r"category=kitchen"))
    expect(filters.get_by_label("In stock only")).to_be_checked()
    cards = page.get_by_test_id("product-card")
    expect(cards.first).to_be_visible()
    assert 0 < cards.count() <= found
    for stock in cards.locator(".stock").all_inner_texts():
        assert stock == "In stock"
    screenshot(page, "catalogue-filtered")

    title = cards.first.locator("h3").inner_text()
    cards.first.locator("a").click()
    expect(page.locator("#product h1")).to_have_text(title)
    chosen = page.locator("#add-to-cart-form input[name=variant]:checked")
    variant = chosen.get_attribute("value")
    expect(page.locator(f"[data-variant-price='{variant}']")).to_contain_text("EUR")
    expect(page.locator(f"[data-variant-stock='{variant}']")).to_have_class(re.compile(r"\bin\b"))
    screenshot(page, "product")

    page.get_by_test_id("add-to-cart").click()
    expect(page.locator("#cart-lines")).to_contain_text(title)
    screenshot(page, "cart")
    return title


def figures(page: Page, prefix: str) -> dict[str, str]:
    """The money breakdown as shown: {"subtotal": "12.00 EUR", "shipping": …, "tax": …, "total": …}."""
    return {name: page.locator(f"#{prefix}-{name}").inner_text() for name in FIGURES}


def checkout_to_germany(page: Page, email: str | None, screenshot: Screenshot) -> dict[str, str]:
    """Cart → the address step (a German address) → Express shipping → the summary, with the email typed when
    given; returns the summary's figures, which must show German VAT and the shipping price."""
    page.get_by_test_id("checkout-link").click()
    address = page.get_by_test_id("address-form")
    for label, value in SHIP_TO.items():
        address.get_by_label(label).fill(value)
    address.get_by_label("Country").select_option("DE")
    screenshot(page, "checkout-address")
    address.get_by_test_id("continue").click()

    expect(page.get_by_test_id("ship-to-address")).to_contain_text("Hauptstr. 1")
    expect(page.get_by_test_id("place-order")).to_be_disabled()  # a shipping option first
    page.get_by_test_id("shipping-form").get_by_label(re.compile(r"Express")).check()
    page.get_by_test_id("choose-shipping").click()
    expect(page.locator("#summary-shipping")).not_to_have_text("0.00 EUR")
    expect(page.locator("#summary-tax")).not_to_have_text("0.00 EUR")  # the EU region's 19% VAT
    shown = figures(page, "summary")
    assert all(value.endswith(" EUR") for value in shown.values()), shown
    if email is not None:
        page.get_by_test_id("checkout-form").get_by_label("Email").fill(email)
    screenshot(page, "checkout")
    return shown


def test_a_guest_checks_out_and_the_admin_moves_the_order_on(
    page: Page, browser: Browser, base_url: str, demo: Demo, screenshot: Screenshot
) -> None:
    context, admin = new_page(browser, base_url)
    try:
        sign_in_to_admin(admin, demo)
        expect(admin.get_by_test_id("orders-today")).to_be_visible()
        screenshot(admin, "admin-dashboard")
        admin.get_by_test_id("nav-orders").click()
        expect(admin.get_by_test_id("orders-live")).to_have_text("live")  # the events subscription is open

        title = search_filter_and_add_to_cart(page, demo, screenshot)
        summary = checkout_to_germany(page, f"{unique_word('guest')}@e2e.rustok.test", screenshot)
        page.get_by_test_id("place-order").click()
        number = page.get_by_test_id("order-number")
        expect(number).to_have_text(re.compile(r"^\d+$"))
        expect(page.locator("#order-lines")).to_contain_text(title)
        assert figures(page, "order") == summary, "the order costs what the summary said"
        screenshot(page, "confirmation")
        display_id = number.inner_text()

        # the admin's open orders screen shows the new order as it is placed, without a reload
        link = admin.get_by_role("link", name=f"#{display_id}", exact=True)
        expect(link).to_be_visible()
        expect(admin.get_by_test_id("ok")).to_contain_text(f"New order #{display_id}")
        screenshot(admin, "admin-orders")
        order_id = (link.get_attribute("data-testid") or "").removeprefix("order-link-")
        admin.get_by_test_id(f"order-status-{order_id}").select_option("PAID")
        expect(admin.get_by_test_id("ok")).to_contain_text(f"#{display_id} is now paid")
        admin.get_by_test_id("orders-refresh").click()  # read back from the server, not the select's own state
        expect(admin.get_by_test_id(f"order-status-{order_id}")).to_have_value("PAID")
    finally:
        context.close()


def test_a_customer_registers_checks_out_and_finds_the_order_in_the_account(
    page: Page, demo: Demo, screenshot: Screenshot
) -> None:
    email = f"{unique_word('shopper')}@e2e.rustok.test"
    page.goto(shop(demo, "/register"))
    form = page.get_by_test_id("register-form")
    form.get_by_label("Your name").fill("Ada Shopper")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill("e2e-customer-password")
    form.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("account-link")).to_be_visible()

    search_filter_and_add_to_cart(page, demo, lambda p, name: screenshot(p, f"customer-{name}"))
    summary = checkout_to_germany(page, None, lambda p, name: screenshot(p, f"customer-{name}"))
    page.get_by_test_id("place-order").click()  # a signed-in customer's order carries their email
    display_id = page.get_by_test_id("order-number").inner_text()
    expect(page.get_by_text(f"A confirmation goes to {email}")).to_be_visible()
    assert figures(page, "order") == summary

    page.get_by_test_id("account-link").click()
    expect(page.locator("#account-email")).to_have_text(email)
    history = page.get_by_test_id("order-history")
    expect(history.locator("tbody tr")).to_have_count(1)
    expect(history).to_contain_text(display_id)
    expect(page.get_by_test_id("name-form").get_by_label("Your name")).to_have_value("Ada Shopper")
    screenshot(page, "account")
    history.get_by_role("link", name=display_id, exact=True).click()
    expect(page.get_by_test_id("order-number")).to_have_text(display_id)
    assert figures(page, "order") == summary, "the account's order page shows the same breakdown"
