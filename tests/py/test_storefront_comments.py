"""Comments on a post page: signed-in customers may comment (through rustok.add_comment); a comment that waits
for approval is shown to its author only; once approved, everyone sees it, with replies threaded under it;
comment bodies are sanitised markdown; the author's name is the one given at registration or on the account
page, on the post and in the moderation queue."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest

from rustok.db import Database
from rustok.ids import parse_id
from tests.py.graphql_support import Api
from tests.py.storefront_support import HOSTILE, Shop, csrf_of, seed_shop


@pytest.fixture(scope="module")
def shop(db: Database) -> Shop:
    return seed_shop(db)


@pytest.fixture(scope="module")
def reader(db: Database, shop: Shop) -> Iterator[Api]:
    with Api(db) as api:
        yield api


@pytest.fixture(scope="module")
def customer(db: Database, shop: Shop) -> Iterator[Api]:
    with Api(db) as api:
        register = f"{shop.base}/register"
        token = csrf_of(api.client.get(register).text)
        data = {"csrf": token, "email": "reader@example.com", "password": "correct horse battery"}
        data["displayName"] = "Rita"
        assert api.client.post(register, data=data, follow_redirects=False).status_code == 303
        yield api


def comment(api: Api, shop: Shop, body: str, parent: str | None = None) -> str:
    post = f"{shop.base}/blog/hello-world"
    token = csrf_of(api.client.get(post).text)
    data = {"csrf": token, "body": body, **({"parent": parent} if parent else {})}
    response = api.client.post(f"{post}/comments", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    found = re.search(r"#comment-([0-9A-Z]{26})$", response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def moderate(db: Database, shop: Shop, comment_id: str, status: str) -> None:
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s, %s, 'admin')", (shop.tenant.id, shop.tenant.users["admin"]))
        conn.execute("select rustok.moderate_comment(%s, %s)", (parse_id(comment_id), status))


def test_anonymous_readers_get_no_form_and_cannot_post(reader: Api, shop: Shop) -> None:
    post = f"{shop.base}/blog/hello-world"
    html = reader.client.get(post).text
    assert 'data-testid="comment-form"' not in html and "to comment" in html
    response = reader.client.post(
        f"{post}/comments",
        data={"csrf": csrf_of(reader.client.get(f"{shop.base}/signin").text), "body": "hi"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].startswith(f"{shop.base}/signin?next=")


def test_pending_comment_is_shown_to_its_author_only_until_approved(
    reader: Api, customer: Api, shop: Shop, db: Database
) -> None:
    post = f"{shop.base}/blog/hello-world"
    assert 'data-testid="comment-form"' in customer.client.get(post).text
    first = comment(customer, shop, f"Nice post! {HOSTILE}")
    mine = customer.client.get(post).text
    assert re.search(rf'id="comment-{first}"[^>]*data-moderation="pending"', mine)
    assert "awaiting moderation" in mine and "<script>alert" not in mine
    assert f"comment-{first}" not in reader.client.get(post).text, "others do not see a pending comment"

    moderate(db, shop, first, "approved")
    theirs = reader.client.get(post).text
    assert re.search(rf'id="comment-{first}" class="comment depth-0"', theirs)
    assert "Nice post!" in theirs and "<script>alert" not in theirs

    reply = comment(customer, shop, "A *reply*", parent=first)
    moderate(db, shop, reply, "approved")
    theirs = reader.client.get(post).text
    assert re.search(rf'id="comment-{reply}" class="comment depth-1"', theirs), "replies are threaded"
    assert theirs.index(f"comment-{first}") < theirs.index(f"comment-{reply}")
    assert "<em>reply</em>" in theirs

    spam = comment(customer, shop, "buy cheap things")
    moderate(db, shop, spam, "spam")
    assert f"comment-{spam}" not in reader.client.get(post).text


def test_empty_comment_is_refused(customer: Api, shop: Shop) -> None:
    post = f"{shop.base}/blog/hello-world"
    token = csrf_of(customer.client.get(post).text)
    response = customer.client.post(f"{post}/comments", data={"csrf": token, "body": "  "})
    assert response.status_code == 400 and 'data-code="VALIDATION_FAILED"' in response.text
    response = customer.client.post(f"{shop.base}/blog/no-such-post/comments", data={"csrf": token, "body": "x"})
    assert response.status_code == 404


def pending_authors(db: Database, shop: Shop) -> list[str | None]:
    """The author names of the admin's moderation queue."""
    with psycopg.connect(db.admin_url) as conn:
        conn.execute("select rustok.set_context(%s, %s, 'admin')", (shop.tenant.id, shop.tenant.users["admin"]))
        queue = conn.execute("select rustok.list_pending_comments(100)").fetchone()[0]
    return [edge["node"]["authorName"] for edge in queue["edges"]]


def test_comments_show_the_name_given_at_registration_and_changed_on_the_account(
    reader: Api, customer: Api, shop: Shop, db: Database
) -> None:
    post = f"{shop.base}/blog/hello-world"
    named = comment(customer, shop, "Signed with my name")
    assert "Rita" in pending_authors(db, shop), "the moderation queue names the author"
    moderate(db, shop, named, "approved")
    shown = re.search(rf'id="comment-{named}".*?<p class="muted">([^<]*) ·', reader.client.get(post).text, re.S)
    assert shown and shown.group(1) == "Rita"

    account = f"{shop.base}/account"
    assert 'value="Rita"' in customer.client.get(account).text
    token = csrf_of(customer.client.get(account).text)
    changed = customer.client.post(
        f"{account}/name", data={"csrf": token, "displayName": " Rita M. "}, follow_redirects=False
    )
    assert changed.status_code == 303 and changed.headers["location"] == account
    shown = re.search(rf'id="comment-{named}".*?<p class="muted">([^<]*) ·', reader.client.get(post).text, re.S)
    assert shown and shown.group(1) == "Rita M."
    too_long = customer.client.post(f"{account}/name", data={"csrf": token, "displayName": "x" * 256})
    assert too_long.status_code == 400 and 'data-code="VALIDATION_FAILED"' in too_long.text
