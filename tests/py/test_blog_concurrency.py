"""Content under real concurrent sessions: many sessions reply to the same comment at once while others flip
the moderation of its replies, and afterwards reply_count equals the real number of approved replies and
every reply has its own position; sessions creating posts of one title at once get one slug each."""

from __future__ import annotations

import random
import threading
from typing import Any

import psycopg
import pytest

from rustok.db import Database
from tests.py.graphql_support import Tenant, make_tenant

REPLIERS = 8
REPLIES_EACH = 25
MODERATORS = 4
FLIPS_EACH = 25


@pytest.fixture(scope="module")
def thread(db: Database) -> tuple[Tenant, Any, Any]:
    """A tenant, a live post of its manager and one comment on it (the parent every session replies to)."""
    tenant = make_tenant(db, "busy")
    with psycopg.connect(db.app_url) as conn:
        conn.execute("select rustok.set_context(%s, %s, 'manager')", (tenant.id, tenant.users["manager"]))
        post = conn.execute(
            'select rustok.parse_id(rustok.create_node(\'{"kind": "post", "title": "Busy", '
            '"status": "published"}\') ->> \'id\')'
        ).fetchone()[0]
        parent = conn.execute(
            "select rustok.parse_id(rustok.add_comment(%s, null, 'the parent') ->> 'id')", (post,)
        ).fetchone()[0]
    return tenant, post, parent


def _session(
    db: Database, tenant: Tenant, role: str, work: Any, start: threading.Barrier, errors: list[Exception]
) -> None:
    try:
        with psycopg.connect(db.app_url) as conn:
            start.wait()
            work(
                conn,
                lambda: conn.execute("select rustok.set_context(%s, %s, %s)", (tenant.id, tenant.users[role], role)),
            )
    except Exception as exc:  # reported by the test
        errors.append(exc)


def test_concurrent_replies_and_moderation_keep_reply_count_exact(
    db: Database, thread: tuple[Tenant, Any, Any]
) -> None:
    tenant, post, parent = thread
    start = threading.Barrier(REPLIERS + MODERATORS)
    errors: list[Exception] = []

    def reply(conn: psycopg.Connection[Any], context: Any) -> None:
        for i in range(REPLIES_EACH):
            with conn.transaction():
                context()
                conn.execute("select rustok.add_comment(%s, %s, %s)", (post, parent, f"reply {i}"))

    def flip(conn: psycopg.Connection[Any], context: Any) -> None:
        rng = random.Random()
        for _ in range(FLIPS_EACH):
            with conn.transaction():
                context()
                replies = conn.execute(
                    "select id from nodes where tenant_id = %s and parent_id = %s", (tenant.id, parent)
                ).fetchall()
                if replies:
                    target = rng.choice(replies)[0]
                    status = rng.choice(["approved", "pending", "spam"])
                    conn.execute("select rustok.moderate_comment(%s, %s)", (target, status))

    sessions = [
        threading.Thread(target=_session, args=(db, tenant, "manager", reply, start, errors)) for _ in range(REPLIERS)
    ] + [threading.Thread(target=_session, args=(db, tenant, "admin", flip, start, errors)) for _ in range(MODERATORS)]
    for session in sessions:
        session.start()
    for session in sessions:
        session.join(timeout=120)
    assert errors == [], errors

    with psycopg.connect(db.admin_url) as conn:
        count, approved, positions = conn.execute(
            "select count(*), count(*) filter (where moderation = 'approved'), array_agg(position order by position) "
            "from nodes where tenant_id = %s and parent_id = %s",
            (tenant.id, parent),
        ).fetchone()
        reply_count = conn.execute(
            "select reply_count from nodes where tenant_id = %s and id = %s", (tenant.id, parent)
        ).fetchone()[0]
        post_count = conn.execute(
            "select reply_count from nodes where tenant_id = %s and id = %s", (tenant.id, post)
        ).fetchone()[0]
    assert count == REPLIERS * REPLIES_EACH
    assert reply_count == approved, "reply_count equals the real number of approved replies"
    assert positions == list(range(count)), "every reply took its own position"
    assert post_count == 1


def test_concurrent_posts_with_one_title_get_distinct_slugs(db: Database, thread: tuple[Tenant, Any, Any]) -> None:
    tenant, _, _ = thread
    sessions = 6
    start = threading.Barrier(sessions)
    errors: list[Exception] = []
    slugs: list[str] = []

    def create(conn: psycopg.Connection[Any], context: Any) -> None:
        with conn.transaction():
            context()
            row = conn.execute(
                'select rustok.create_node(\'{"kind": "post", "title": "Same title"}\') ->> \'slug\''
            ).fetchone()
            slugs.append(row[0])

    threads = [
        threading.Thread(target=_session, args=(db, tenant, "manager", create, start, errors)) for _ in range(sessions)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [], errors
    assert sorted(slugs) == sorted(["same-title"] + [f"same-title-{n}" for n in range(2, sessions + 1)])
