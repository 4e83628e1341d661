"""The pages the API serves to a browser, driven in Chromium against a server with the demo tenant: Swagger UI
lists the auth routes; the GraphQL console (GraphiQL where the set-up installed it) queries the demo shop;
the demo's admin signs in."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from rustok.graphql.http import GRAPHIQL_DIR
from tests.e2e.conftest import Demo, Screenshot

AUTH_ROUTES = ["/api/auth/register", "/api/auth/login", "/api/auth/refresh", "/api/auth/logout", "/api/auth/me"]
PRODUCTS_QUERY = '{ searchProducts(query: "mug", first: 3) { totalCount edges { node { title } } } }'


def test_swagger_lists_the_auth_routes(page: Page, screenshot: Screenshot) -> None:
    page.goto("/swagger")
    paths = page.locator(".opblock-summary-path")
    expect(paths.filter(has_text="/api/auth/login")).to_be_visible()
    shown = set(paths.all_inner_texts())
    assert set(AUTH_ROUTES) <= {p.replace("\u200b", "") for p in shown}
    screenshot(page, "swagger")


def test_the_graphql_console_queries_the_demo_shop(page: Page, demo: Demo, screenshot: Screenshot) -> None:
    if (GRAPHIQL_DIR / "graphiql.min.js").exists():
        # GraphiQL starts with the query it last kept in localStorage; its default headers name the demo tenant
        page.add_init_script(f"localStorage.setItem('graphiql:query', {json.dumps(PRODUCTS_QUERY)})")
        page.goto("/graphql")
        page.locator(".graphiql-execute-button").click()
        result = page.locator(".graphiql-response")
    else:  # the plain console (no npm at set-up)
        page.goto("/graphql")
        page.fill("#tenant", demo.slug)
        page.fill("#q", PRODUCTS_QUERY)
        page.click("#run")
        result = page.locator("#out")
    # the demo's 7 mugs but the draft (every 20th product); other tests add products, never a mug
    expect(result).to_contain_text('"totalCount": 6,')
    screenshot(page, "graphql-console")


def test_the_demo_admin_signs_in(page: Page, demo: Demo) -> None:
    login = page.request.post(
        "/api/auth/login", data={"tenant": demo.slug, "email": demo.admin_email, "password": demo.password}
    )
    assert login.ok, login.text()
    token = login.json()["accessToken"]
    me = page.request.post(
        "/graphql", data={"query": "{ me { email role } }"}, headers={"authorization": f"Bearer {token}"}
    )
    assert me.json() == {"data": {"me": {"email": demo.admin_email, "role": "ADMIN"}}}
