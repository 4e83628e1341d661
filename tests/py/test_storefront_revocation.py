"""The storefront after revocation (issue 13, point 5): a signed-in customer whose account is switched off, or a
shop that is switched off, is refused at the next page although the session cookie's access token is still
valid; the switched-off account's session cookie is dropped, so the next page is the anonymous one."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from rustok.db import Database
from tests.py.graphql_support import Api
from tests.py.storefront_support import Shop, csrf_of, seed_shop


@pytest.fixture(scope="module")
def shop(db: Database) -> Shop:
    return seed_shop(db, "revoked-shop")


@pytest.fixture
def api(db: Database, shop: Shop) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def _signed_in(api: Api, shop: Shop, email: str) -> None:
    token = csrf_of(api.client.get(f"{shop.base}/register").text)
    form = {"csrf": token, "email": email, "password": "correct horse battery"}
    assert api.client.post(f"{shop.base}/register", data=form, follow_redirects=False).status_code == 303
    assert f'id="account-email">{email}<' in api.client.get(f"{shop.base}/account").text


def test_a_customer_switched_off_is_signed_out_at_the_next_page(api: Api, shop: Shop, db: Database) -> None:
    _signed_in(api, shop, "switched-off@example.com")
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("update users set status = 'disabled' where email = 'switched-off@example.com'")
    refused = api.client.get(f"{shop.base}/account", follow_redirects=False)
    assert refused.status_code == 401 and "UNAUTHENTICATED" in refused.text
    assert 'rk_auth=""' in refused.headers["set-cookie"] and "rk_auth" not in api.client.cookies
    again = api.client.get(f"{shop.base}/account", follow_redirects=False)
    assert again.status_code == 303 and "/signin" in again.headers["location"], "now anonymous"


def test_a_shop_switched_off_is_refused_at_the_next_page(api: Api, shop: Shop, db: Database) -> None:
    _signed_in(api, shop, "shopper@example.com")
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("update tenants set is_active = false where id = %s", (shop.tenant.id,))
    try:
        for path in ("/account", "/"):
            page = api.client.get(f"{shop.base}{path}", follow_redirects=False)
            assert page.status_code == 403 and "TENANT_INACTIVE" in page.text, path
    finally:
        with psycopg.connect(db.admin_url) as conn:
            conn.execute("update tenants set is_active = true where id = %s", (shop.tenant.id,))
    assert 'id="account-email">shopper@example.com<' in api.client.get(f"{shop.base}/account").text
