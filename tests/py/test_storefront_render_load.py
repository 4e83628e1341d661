"""One page renders a bounded amount of markdown, off the event loop (docs/security.md, section 2): 40 comments
of `"![" * 4980` by one customer made one view of the post take 10.9 s and held every other request as long,
because the storefront rendered every body of the thread on the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import psycopg

from rustok.db import Database
from rustok.storefront import render
from tests.py.graphql_support import Api
from tests.py.storefront_support import csrf_of, seed_shop

ATTACK_COMMENTS = 40


def test_forty_pathological_comments_hold_neither_the_loop_nor_the_page(db: Database) -> None:
    shop = seed_shop(db)
    with Api(db) as api:
        register = f"{shop.base}/register"
        data = {
            "csrf": csrf_of(api.client.get(register).text),
            "email": "eve@example.com",
            "password": "Eve pass 12345",
        }
        assert api.client.post(register, data=data, follow_redirects=False).status_code == 303
        with psycopg.connect(db.admin_url) as conn:
            conn.execute(  # the attack's 40 in a minute: more than the default rate allows
                "update tenant_modules set settings = settings || '{\"commentsPerMinute\": 100}' "
                "where module_slug = 'blog' and tenant_id = %s",
                (shop.tenant.id,),
            )
            eve, post = conn.execute(
                "select (select id from users where tenant_id = %s and email = 'eve@example.com'),"
                " (select id from nodes where tenant_id = %s and slug = 'hello-world')",
                (shop.tenant.id, shop.tenant.id),
            ).fetchone()
            conn.execute("select rustok.set_context(%s, %s, 'customer')", (shop.tenant.id, eve))
            for _ in range(ATTACK_COMMENTS):
                conn.execute("select rustok.add_comment(%s, null, %s)", (post, "![" * 4980 + uuid.uuid4().hex))
        render.RENDERED.clear()

        stop = threading.Event()

        async def longest_gap() -> float:
            """The longest the app's event loop went without running this task (as /health/live would)."""
            longest, last = 0.0, time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                longest, last = max(longest, now - last), now
            return longest

        assert api.client.portal is not None
        gap = api.client.portal.start_task_soon(longest_gap)
        started = time.perf_counter()
        page = api.client.get(f"{shop.base}/blog/hello-world")
        took = time.perf_counter() - started
        stop.set()
        assert page.status_code == 200
        assert page.text.count('<li id="comment-') >= ATTACK_COMMENTS
        assert took < 5.0, took  # was 10.9 s (every body rendered, on the loop)
        assert gap.result(timeout=10) < 0.25, gap.result()  # was as long as the page
