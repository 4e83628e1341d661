"""Issue 7, scenario 2: an admin creates a product in /admin (an option, a variant with a price and stock), and
the storefront's search box finds it; its product page shows the price and the stock state."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Demo, Screenshot
from tests.e2e.steps import shop, sign_in_to_admin, unique_word


def test_a_product_made_in_the_admin_is_found_by_the_storefront_search(
    page: Page, demo: Demo, screenshot: Screenshot
) -> None:
    word = unique_word("Lamp")
    title = f"{word} desk lamp"

    sign_in_to_admin(page, demo)
    page.get_by_test_id("nav-products").click()
    page.get_by_test_id("product-new").click()
    page.get_by_test_id("product-title").fill(title)
    page.get_by_test_id("product-status").select_option("PUBLISHED")
    page.get_by_test_id("add-option").click()
    page.get_by_test_id("option-title-0").fill("Colour")
    page.get_by_test_id("option-values-0").fill("Brass")
    page.get_by_test_id("option-values-0").blur()  # the variant rows take the option's title on change
    page.get_by_test_id("variant-option-0-0").fill("Brass")
    page.get_by_test_id("variant-sku-0").fill(f"E2E-{word.upper()}")
    page.get_by_test_id("variant-price-0").fill("24.50")
    page.get_by_test_id("variant-currency-0").fill("EUR")
    page.get_by_test_id("variant-stock-0").fill("3")
    screenshot(page, "admin-product-new")
    page.get_by_test_id("product-save").click()

    expect(page.locator("h1")).to_contain_text(title)  # the editor of the product just made
    expect(page.get_by_text("24.50")).to_be_visible()
    expect(page.get_by_text("3 available")).to_be_visible()
    screenshot(page, "admin-product-editor")

    page.goto(shop(demo, "/products"))
    search = page.get_by_test_id("search-box")
    search.fill(word)
    search.press("Enter")
    card = page.get_by_test_id("product-card").filter(has_text=title)
    expect(card).to_be_visible()
    expect(card.locator(".price")).to_have_text("24.50 EUR")
    screenshot(page, "catalogue-search")

    card.locator("a").click()
    expect(page.locator("#product h1")).to_have_text(title)
    variant = page.locator("#add-to-cart-form label.variant").filter(has_text="Colour: Brass")
    expect(variant.locator(".price")).to_have_text("24.50 EUR")
    expect(variant.locator(".stock")).to_have_text("Only 3 left")
    expect(page.get_by_test_id("add-to-cart")).to_be_enabled()
    screenshot(page, "product-new-from-admin")
