"""Storefront defects found in review (issue 7), each through the ASGI app: public answers carry no cookie and
no session, one tenant's host serves no other tenant, bad numbers and NUL bytes are bad input (400), signing
out always drops the cookie, two tabs refreshing the same expired session both stay signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rustok import markdown
from rustok.db import Database
from rustok.errors import Unavailable
from rustok.storefront import content, render
from tests.py.graphql_support import Api, codes, make_tenant
from tests.py.storefront_support import HOST, Shop, csrf_of, seed_shop


@pytest.fixture(scope="module")
def shop(db: Database) -> Shop:
    return seed_shop(db)


@pytest.fixture
def api(db: Database, shop: Shop) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def register(api: Api, shop: Shop, email: str) -> tuple[str, str]:
    """Registers a customer through the form; returns an expired access token and the live refresh token."""
    token = csrf_of(api.client.get(f"{shop.base}/register").text)
    form = {"csrf": token, "email": email, "password": "correct horse battery"}
    response = api.client.post(f"{shop.base}/register", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    access, refresh = str(api.client.cookies.get("rk_auth")).split("~")
    user = api.services.tokens.decode(access).user_id
    return api.services.tokens.issue(shop.tenant.id, user, "customer", 0), refresh


@pytest.mark.parametrize("path", ["/feed.xml", "/sitemap.xml"])
def test_public_answers_ignore_the_session_and_set_no_cookie(api: Api, shop: Shop, path: str) -> None:
    expired, refresh = register(api, shop, f"feed{path[1:5]}@example.com")
    cookie = f"rk_auth={expired}~{refresh}; rk_sid={'a' * 32}"
    response = api.client.get(f"{shop.base}{path}?currency=USD", headers={"cookie": cookie})
    assert response.status_code == 200
    assert "set-cookie" not in response.headers, "a publicly cached answer must carry nobody's cookie"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["vary"] == "Host", "its links come from the Host header"
    page = api.client.get(f"{shop.base}/account", headers={"cookie": cookie})
    assert 'id="account-email">' in page.text, "the refresh token was not spent by the feed"


def test_the_storefront_and_the_api_share_one_password_hashing_cap(api: Api, shop: Shop) -> None:
    assert api.platform.auth is not None
    api.platform.auth.hashing.max_waiting = 0  # the API's hashing is saturated: the storefront's is the same one
    token = csrf_of(api.client.get(f"{shop.base}/signin").text)
    form = {"csrf": token, "email": "anyone@example.com", "password": "correct horse battery"}
    response = api.client.post(f"{shop.base}/signin", data=form)
    assert response.status_code == 429, "the shared cap refused the sign-in before any password work"


def test_sign_out_drops_the_cookie_even_when_revoking_fails(
    api: Api, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(api, shop, "leaving@example.com")
    assert api.platform.auth is not None

    async def unreachable(*args: object) -> None:
        raise Unavailable("the database is not reachable right now")

    monkeypatch.setattr(api.platform.auth, "logout", unreachable)
    token = csrf_of(api.client.get(f"{shop.base}/account").text)
    response = api.client.post(f"{shop.base}/signout", data={"csrf": token}, follow_redirects=False)
    assert response.status_code == 303
    assert 'rk_auth=""' in response.headers["set-cookie"] and "rk_auth" not in api.client.cookies


def test_two_tabs_refreshing_one_expired_session_both_stay_signed_in(api: Api, shop: Shop) -> None:
    expired, refresh = register(api, shop, "two-tabs@example.com")
    cookie = {"cookie": f"rk_auth={expired}~{refresh}"}
    pairs = []
    for _ in range(2):  # the second tab still carries the refresh token the first one just spent
        page = api.client.get(f"{shop.base}/account", headers=cookie)
        assert page.status_code == 200 and 'id="account-email">two-tabs@example.com<' in page.text
        pairs.append(str(page.cookies.get("rk_auth")))
    for pair in pairs:  # each successor still works: the family was not revoked
        successor = pair.split("~")[1]
        again = api.client.get(f"{shop.base}/account", headers={"cookie": f"rk_auth={expired}~{successor}"})
        assert 'id="account-email">two-tabs@example.com<' in again.text


def test_a_refresh_that_fails_for_a_passing_reason_keeps_the_session(
    api: Api, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    expired, refresh = register(api, shop, "patient@example.com")
    assert api.platform.auth is not None

    async def unreachable(*args: object) -> None:
        raise Unavailable("the database is not reachable right now")

    monkeypatch.setattr(api.platform.auth, "refresh", unreachable)
    page = api.client.get(f"{shop.base}/account", headers={"cookie": f"rk_auth={expired}~{refresh}"})
    assert page.status_code == 503
    assert "rk_auth" not in page.headers.get("set-cookie", ""), "an outage does not sign the customer out"


def test_a_tenant_host_serves_no_other_tenants_shop(api: Api, shop: Shop, db: Database) -> None:
    other = make_tenant(db, "rival")
    on_own_host = {"host": HOST}
    assert api.client.get("/products", headers=on_own_host).status_code == 200
    for path in (f"/t/{other.slug}/", f"/t/{other.slug}/products", f"{shop.base}/products", "/t/nobody/"):
        assert api.client.get(path, headers=on_own_host).status_code == 404, path
    assert api.client.get(f"/t/{other.slug}/products").status_code == 200, "the shared host still serves /t/*"


@pytest.mark.parametrize("value", ["²", "١٢", "1" * 16, "-1", "1.5"])
def test_numbers_are_ascii_digits_of_bounded_length(api: Api, shop: Shop, value: str) -> None:
    response = api.client.get(f"{shop.base}/products", params={"min_price": value})
    assert response.status_code == 400 and 'data-code="VALIDATION_FAILED"' in response.text
    product = api.client.get(f"{shop.base}/products/linen-shirt").text
    form = {"csrf": csrf_of(product), "variant": str(shop.shirt["variants"][0]["id"]), "quantity": value}
    response = api.client.post(f"{shop.base}/cart/lines", data=form)
    assert response.status_code == 400 and 'data-code="VALIDATION_FAILED"' in response.text


def test_a_content_length_of_unicode_digits_is_bad_request(api: Api, shop: Shop) -> None:
    response = api.client.post("/api/auth/login", content=b"{}", headers={"content-length": b"\xb2"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "path", ["/blog/%00", "/pages/x%00", "/products/%00", "/products?q=%00", "/blog?tag=%00", "/blog?q=a%00b"]
)
def test_a_nul_byte_is_bad_input_not_a_crash(api: Api, shop: Shop, path: str) -> None:
    response = api.client.get(f"{shop.base}{path}")
    assert response.status_code == 400 and 'data-code="VALIDATION_FAILED"' in response.text


def test_a_nul_byte_over_graphql_is_validation_failed(api: Api, shop: Shop) -> None:
    query = "query($h: String!) { productByHandle(handle: $h) { id } }"
    for handle in ("a\u0000", "\u0000"):
        body = api.gql(query, {"h": handle}, tenant=shop.tenant)
        assert codes(body) == ["VALIDATION_FAILED"], body


def test_cookies_are_secure_when_a_trusted_proxy_says_https_or_when_forced(db: Database, shop: Shop) -> None:
    with Api(db) as api:  # auto: the scheme decides
        plain = api.client.get(f"{shop.base}/products")
        assert "rk_sid=" in plain.headers["set-cookie"] and "Secure" not in plain.headers["set-cookie"]
    with Api(db, secure_cookies="always") as api:
        forced = api.client.get(f"{shop.base}/products")
        assert "rk_sid=" in forced.headers["set-cookie"] and "Secure" in forced.headers["set-cookie"]
    with pytest.raises(ValueError):
        Api(db, secure_cookies="sometimes")


def test_the_sitemap_never_lists_more_urls_than_allowed(api: Api, shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    full = api.client.get(f"{shop.base}/sitemap.xml").text.count("<url>")
    assert full > 12, "the shop has more live URLs than the limit below"
    monkeypatch.setattr(content, "SITEMAP_MAX_URLS", 12)
    capped = api.client.get(f"{shop.base}/sitemap.xml").text
    assert capped.count("<url>") == 12 and "/pages/" in capped, "pages and posts before products"


def test_a_body_is_rendered_once_for_many_readers(api: Api, shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[str] = []
    real = markdown.render

    def counting(body: str, format: str = "markdown") -> str:
        rendered.append(body)
        return real(body, format)

    monkeypatch.setattr(markdown, "render", counting)
    render.RENDERED.clear()
    bodies = [api.client.get(f"{shop.base}/pages/about").text for _ in range(2)]
    assert bodies[0] == bodies[1] and 'id="body"' in bodies[0]
    assert len(rendered) == 1, "the second reader got the kept HTML"
