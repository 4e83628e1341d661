"""The auth flow over HTTP: register → login → me → refresh → reuse of an old refresh token revokes its family
→ logout; cross-tenant tokens; disabled users; rehash on login; unknown email and wrong password alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from rustok.app import create_app
from rustok.auth.schemas import AuthResponse, MeResponse
from rustok.config import Settings
from rustok.db import Database
from rustok.modules import installed_registry

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def client(db: Database) -> Iterator[TestClient]:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("select rustok.create_tenant('acme', 'Acme')")
        conn.execute("select rustok.create_tenant('globex', 'Globex')")
    with TestClient(create_app(db, installed_registry(), Settings(jwt_secret="s" * 40))) as client:
        yield client


def sql(db: Database, query: str, *params: Any) -> Any:
    """One value, as the superuser (sees every tenant)."""
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def register(client: TestClient, email: str, tenant: str = "acme") -> dict[str, Any]:
    response = client.post("/api/auth/register", json={"tenant": tenant, "email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return dict(response.json())


def login(client: TestClient, email: str, password: str = PASSWORD, tenant: str = "acme") -> Any:
    return client.post("/api/auth/login", json={"tenant": tenant, "email": email, "password": password})


def bearer(body: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {body['accessToken']}"}


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def events(db: Database, event_type: str) -> list[dict[str, Any]]:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        rows = conn.execute("select data from event_outbox where type = %s order by position", (event_type,))
        return [r[0] for r in rows.fetchall()]


def test_register_login_me_refresh_reuse_logout(client: TestClient, db: Database) -> None:
    registered = register(client, "Ada@Example.com")
    AuthResponse.model_validate(registered)
    assert registered["user"]["email"] == "ada@example.com"
    assert registered["user"]["role"] == "customer"
    assert registered["expiresIn"] == 900
    assert {"user_id": registered["user"]["id"], "email": "ada@example.com"} in events(db, "UserRegistered")

    signed_in = login(client, "ada@example.com")
    assert signed_in.status_code == 200, signed_in.text
    body = signed_in.json()
    AuthResponse.model_validate(body)
    assert {"user_id": body["user"]["id"]} in events(db, "UserLoggedIn")

    me = client.get("/api/auth/me", headers=bearer(body))
    assert me.status_code == 200
    assert MeResponse.model_validate(me.json()).user.email == "ada@example.com"

    first = body["refreshToken"]
    assert first.split(".")[0] == sql(db, "select rustok.ulid(id) from tenants where slug = 'acme'")
    rotated = client.post("/api/auth/refresh", json={"refreshToken": first})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refreshToken"]
    assert second != first
    assert client.get("/api/auth/me", headers=bearer(rotated.json())).status_code == 200

    within_grace = client.post("/api/auth/refresh", json={"refreshToken": first})  # a second tab, same moment
    assert within_grace.status_code == 200, within_grace.text
    assert client.get("/api/auth/me", headers=bearer(within_grace.json())).status_code == 200
    grace_ended = "update auth_refresh_tokens set used_at = now() - rustok._refresh_grace() - interval '1 second'"
    sql(
        db, grace_ended + " where used_at is not null and user_id = rustok.parse_id(%s) returning 1", body["user"]["id"]
    )
    reused = client.post("/api/auth/refresh", json={"refreshToken": first})
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "UNAUTHENTICATED"
    assert reused.json()["error"]["details"]["reason"] == "reused"
    after_reuse = client.post("/api/auth/refresh", json={"refreshToken": second})
    assert (after_reuse.status_code, after_reuse.json()["error"]["details"]["reason"]) == (401, "reused")
    assert {"user_id": body["user"]["id"], "reason": "reused"} in events(db, "UserSessionsRevoked")

    again = login(client, "ada@example.com").json()
    logout = client.post("/api/auth/logout", json={"refreshToken": again["refreshToken"]})
    assert logout.status_code == 204
    refused = client.post("/api/auth/refresh", json={"refreshToken": again["refreshToken"]})
    assert (refused.status_code, refused.json()["error"]["details"]["reason"]) == (401, "reused")
    assert {"user_id": body["user"]["id"], "everywhere": False} in events(db, "UserLoggedOut")


def test_only_hashes_of_refresh_tokens_are_stored(client: TestClient, db: Database) -> None:
    body = register(client, "hashes@example.com")
    query = "select token_hash from auth_refresh_tokens where user_id = rustok.parse_id(%s)"
    stored = sql(db, query, body["user"]["id"])
    assert len(stored) == 32
    assert body["refreshToken"].encode() not in bytes(stored)


def test_logout_with_a_bearer_and_no_body_revokes_every_session(client: TestClient, db: Database) -> None:
    register(client, "everywhere@example.com")
    phone, laptop = login(client, "everywhere@example.com").json(), login(client, "everywhere@example.com").json()
    assert client.post("/api/auth/logout", headers=bearer(laptop)).status_code == 204
    for session in (phone, laptop):
        refused = client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
        assert refused.status_code == 401
    assert {"user_id": phone["user"]["id"], "everywhere": True} in events(db, "UserLoggedOut")
    anonymous = client.post("/api/auth/logout")
    assert (anonymous.status_code, error_code(anonymous)) == (401, "UNAUTHENTICATED")


def test_me_needs_a_valid_bearer(client: TestClient) -> None:
    assert error_code(client.get("/api/auth/me")) == "UNAUTHENTICATED"
    forged = client.get("/api/auth/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert (forged.status_code, error_code(forged)) == (401, "UNAUTHENTICATED")


def test_a_token_of_one_tenant_is_refused_for_another(client: TestClient) -> None:
    acme = register(client, "cross@example.com")
    mismatch = client.get("/api/auth/me", headers={**bearer(acme), "X-Tenant": "globex"})
    assert (mismatch.status_code, error_code(mismatch)) == (403, "TENANT_MISMATCH")
    assert client.get("/api/auth/me", headers={**bearer(acme), "X-Tenant": "acme"}).status_code == 200

    refresh = client.post(
        "/api/auth/refresh", json={"refreshToken": acme["refreshToken"]}, headers={"X-Tenant": "globex"}
    )
    assert (refresh.status_code, error_code(refresh)) == (403, "TENANT_MISMATCH")

    # the same secret presented as another tenant's token is unknown there (RLS), and stays valid at home
    globex_prefix = register(client, "other@example.com", tenant="globex")["refreshToken"].split(".")[0]
    moved = f"{globex_prefix}.{acme['refreshToken'].split('.')[1]}"
    moved_refresh = client.post("/api/auth/refresh", json={"refreshToken": moved})
    assert (moved_refresh.status_code, moved_refresh.json()["error"]["details"]["reason"]) == (401, "invalid")
    assert client.post("/api/auth/refresh", json={"refreshToken": acme["refreshToken"]}).status_code == 200

    # the same email is a different account in another tenant
    elsewhere = login(client, "cross@example.com", tenant="globex")
    assert (elsewhere.status_code, error_code(elsewhere)) == (401, "INVALID_CREDENTIALS")


def test_a_disabled_user_cannot_log_in_or_refresh(client: TestClient, db: Database) -> None:
    body = register(client, "disabled@example.com")
    sql(db, "update users set status = 'disabled' where email = 'disabled@example.com' returning 1")
    refused = login(client, "disabled@example.com")
    assert (refused.status_code, error_code(refused)) == (401, "INVALID_CREDENTIALS")
    refresh = client.post("/api/auth/refresh", json={"refreshToken": body["refreshToken"]})
    assert (refresh.status_code, refresh.json()["error"]["details"]["reason"]) == (401, "disabled")
    live = "select count(*) from auth_refresh_tokens r join users u on u.id = r.user_id and u.tenant_id = r.tenant_id "
    assert sql(db, live + "where r.revoked_at is null and u.email = 'disabled@example.com'") == 0


def test_login_rehashes_a_hash_made_with_weaker_parameters(client: TestClient, db: Database) -> None:
    register(client, "legacy@example.com")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    sql(db, "update users set password_hash = %s where email = 'legacy@example.com' returning 1", weak)
    assert login(client, "legacy@example.com").status_code == 200
    rehashed = sql(db, "select password_hash from users where email = 'legacy@example.com'")
    assert rehashed != weak
    assert rehashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert login(client, "legacy@example.com").status_code == 200
    assert sql(db, "select password_hash from users where email = 'legacy@example.com'") == rehashed


def test_unknown_email_and_wrong_password_answer_alike(client: TestClient) -> None:
    register(client, "known@example.com")
    wrong, unknown = [], []
    for i in range(5):
        started = time.perf_counter()
        response = login(client, "known@example.com", password=f"wrong password {i}")
        wrong.append(time.perf_counter() - started)
        assert (response.status_code, error_code(response)) == (401, "INVALID_CREDENTIALS")
        started = time.perf_counter()
        response = login(client, f"nobody{i}@example.com", password=f"wrong password {i}")
        unknown.append(time.perf_counter() - started)
        assert (response.status_code, error_code(response)) == (401, "INVALID_CREDENTIALS")
    # both pay for one argon2 verification (about 30 ms here); without the dummy hash an unknown email
    # would answer in a few milliseconds
    assert statistics.median(unknown) > 0.5 * statistics.median(wrong)
    assert login(client, "known@example.com").status_code == 200


def test_register_with_a_display_name(client: TestClient) -> None:
    response = client.post(
        "/api/auth/register",
        json={"tenant": "acme", "email": "named@example.com", "password": PASSWORD, "displayName": " Ada L. "},
    )
    assert response.status_code == 201, response.text
    assert response.json()["user"]["displayName"] == "Ada L."
    too_long = {"tenant": "acme", "email": "long@example.com", "password": PASSWORD, "displayName": "x" * 256}
    refused = client.post("/api/auth/register", json=too_long)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "VALIDATION_FAILED")
