"""`rustok demo` on a test database: what it loads (through the API's SQL functions, so with events and an
exact index), that a second run replaces the demo tenant with the same content, and that it never replaces a
tenant it did not make."""

from __future__ import annotations

import io
from typing import Any
from unittest.mock import patch

import psycopg
import pytest
from psycopg.rows import dict_row

from rustok.auth.passwords import verify_password
from rustok.cli import main
from rustok.db import Database

PASSWORD = "demo-test-password"


def run_demo(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    with patch("sys.stdin", io.StringIO(f"{PASSWORD}\n")):
        code = main(["demo", "--no-migrate", "--password-stdin", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def figures(db: Database, slug: str) -> dict[str, Any]:
    """What the demo tenant holds, counted as the owner straight from the tables."""
    with psycopg.connect(db.admin_url, row_factory=dict_row) as conn:
        tenant = conn.execute("select id from tenants where slug = %s", (slug,)).fetchone()
        assert tenant is not None
        conn.execute("select rustok.set_context(%s)", (tenant["id"],))
        one = lambda query: conn.execute(query, (tenant["id"],)).fetchone()["n"]  # noqa: E731
        return {
            "tenant": tenant["id"],
            "tenants_with_slug": conn.execute("select count(*) as n from tenants where slug = %s", (slug,)).fetchone(),
            "users": conn.execute(
                "select role, count(*) as n from users where tenant_id = %s group by role order by role",
                (tenant["id"],),
            ).fetchall(),
            "pages_with_seo": conn.execute(
                "select slug from nodes where tenant_id = %s and kind = 'page' and status = 'published'"
                " and meta_title is not null and meta_description is not null order by slug",
                (tenant["id"],),
            ).fetchall(),
            "posts": one("select count(*) as n from nodes where tenant_id = %s and kind = 'post'"),
            "posts_in_a_category": one(
                "select count(*) as n from nodes where tenant_id = %s and kind = 'post' and category_id is not null"
            ),
            "categories": one("select count(*) as n from categories where tenant_id = %s"),
            "tags": one("select count(*) as n from tags where tenant_id = %s"),
            "comments": one("select count(*) as n from nodes where tenant_id = %s and kind = 'comment'"),
            "pending_comments": one(
                "select count(*) as n from nodes where tenant_id = %s and kind = 'comment' and moderation = 'pending'"
            ),
            "replies": one("select count(*) as n from nodes where tenant_id = %s and kind = 'comment' and depth > 0"),
            "products": one("select count(*) as n from commerce_products where tenant_id = %s"),
            "multi_variant_products": one(
                "select count(*) as n from (select product_id from commerce_variants where tenant_id = %s"
                " group by product_id having count(*) > 1) x"
            ),
            "currencies": conn.execute(
                "select array_agg(distinct currency_code order by currency_code) as n from commerce_prices"
                " where tenant_id = %s",
                (tenant["id"],),
            ).fetchone()["n"],
            "variants_without_both_prices": one(
                "select count(*) as n from commerce_variants v where v.tenant_id = %s and (select count(distinct"
                " currency_code) from commerce_prices p where p.tenant_id = v.tenant_id and p.variant_id = v.id) < 2"
            ),
            "sold_out_variants": one(
                "select count(*) as n from commerce_inventory_levels where tenant_id = %s"
                " and stocked_quantity - reserved_quantity = 0"
            ),
            "low_stock_variants": one(
                "select count(*) as n from commerce_inventory_levels where tenant_id = %s"
                " and stocked_quantity - reserved_quantity between 1 and 3"
            ),
            "products_in_a_category": one(
                "select count(distinct product_id) as n from commerce_product_categories where tenant_id = %s"
            ),
            "orders_by_status": {
                r["status"]: r["n"]
                for r in conn.execute(
                    "select status, count(*) as n from commerce_orders where tenant_id = %s group by status",
                    (tenant["id"],),
                )
            },
            "guest_orders": one(
                "select count(*) as n from commerce_orders where tenant_id = %s and customer_id is null"
            ),
            "orders_today": one(
                "select count(*) as n from commerce_orders where tenant_id = %s and created_at >= current_date"
            ),
            "index_products": one("select count(*) as n from index_products where tenant_id = %s"),
            "index_content": one("select count(*) as n from index_content where tenant_id = %s"),
            "index_problems": conn.execute("select * from rustok.index_verify(%s)", (tenant["id"],)).fetchall(),
            "events": {
                r["type"]: r["n"]
                for r in conn.execute(
                    "select type, count(*) as n from event_outbox where tenant_id = %s group by type",
                    (tenant["id"],),
                )
            },
            "admin_hash": conn.execute(
                "select password_hash as n from users where tenant_id = %s and role = 'admin'", (tenant["id"],)
            ).fetchone()["n"],
        }


def test_demo_loads_a_shop_and_a_blog_and_a_second_run_replaces_it(
    env: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_demo(capsys)
    assert code == 0, err
    assert "demo: started, " in err and "demo: done, " in err  # progress went to stderr
    assert "http://127.0.0.1:8000/t/demo/" in out and "/admin" in out
    assert f"admin@demo.rustok.test  password {PASSWORD}" in out
    assert f"customer@demo.rustok.test  password {PASSWORD}" in out
    first = figures(env, "demo")

    assert [(r["role"], r["n"]) for r in first["users"]] == [("admin", 1), ("customer", 1)]
    assert verify_password(first["admin_hash"], PASSWORD)
    assert [r["slug"] for r in first["pages_with_seo"]] == ["about", "shipping"]
    assert first["posts"] == 30 and first["posts_in_a_category"] == 30
    assert first["categories"] == 3 and first["tags"] > 5
    assert first["comments"] > 20 and first["pending_comments"] > 0 and first["replies"] > 0
    assert first["products"] == 60 and first["multi_variant_products"] > 30
    assert first["currencies"] == ["EUR", "USD"] and first["variants_without_both_prices"] == 0
    assert first["sold_out_variants"] > 0 and first["low_stock_variants"] > 0
    assert first["products_in_a_category"] == 60
    assert set(first["orders_by_status"]) == {"pending", "paid", "fulfilled", "completed", "canceled", "refunded"}
    assert sum(first["orders_by_status"].values()) == 8 == first["orders_today"]
    assert first["guest_orders"] > 0
    assert first["index_problems"] == []
    assert first["index_products"] == 57  # every 20th product is a draft
    assert first["index_content"] == 32  # 2 pages and 30 posts
    events = first["events"]
    assert events["TenantCreated"] == 1 and events["UserRegistered"] == 2
    assert events["ProductCreated"] == 60 and events["OrderPlaced"] == 8
    assert events["NodePublished"] == 32 and events["CommentAdded"] == first["comments"]
    assert events["CommentModerated"] > 0 and events["OrderPaid"] > 0 and events["OrderCanceled"] == 1
    assert events["IndexUpdated"] > 0

    code, out, err = run_demo(capsys)
    assert code == 0, err
    assert "replaced the earlier demo tenant" in out
    second = figures(env, "demo")
    assert second["tenant"] != first["tenant"] and second["tenants_with_slug"] == {"n": 1}
    changing = {"tenant", "admin_hash", "index_problems"}
    assert {k: v for k, v in second.items() if k not in changing} == {
        k: v for k, v in first.items() if k not in changing
    }
    assert second["index_problems"] == []


def test_demo_sizes_and_slug_are_options(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_demo(capsys, "--tenant", "tiny", "--products", "12", "--posts", "4")
    assert code == 0, err
    assert "http://127.0.0.1:8000/t/tiny/" in out
    tiny = figures(env, "tiny")
    assert tiny["products"] == 12 and tiny["posts"] == 4 and tiny["index_problems"] == []


def test_demo_never_replaces_a_tenant_it_did_not_make(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tenant", "create", "--slug", "acme", "--name", "Acme"]) == 0
    capsys.readouterr()
    code, out, err = run_demo(capsys, "--tenant", "acme")
    assert code == 1 and out == "" and "[CONFLICT]" in err
    assert len(err.strip().splitlines()) == 1
    with psycopg.connect(env.admin_url) as conn:
        assert conn.execute("select name from tenants where slug = 'acme'").fetchone() == ("Acme",)


@pytest.mark.parametrize(
    "argv",
    [
        ["--password", "short"],
        ["--password", PASSWORD, "--products", "3"],
        ["--password", PASSWORD, "--posts", "-1"],
        ["--password", PASSWORD, "--products", "2001"],
    ],
)
def test_demo_refuses_a_bad_password_or_size(
    env: Database, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main(["demo", "--no-migrate", "--tenant", "refused", *argv])
    _, err = capsys.readouterr()
    assert code == 1 and "[VALIDATION_FAILED]" in err
    with psycopg.connect(env.admin_url) as conn:
        assert conn.execute("select count(*) from tenants where slug = 'refused'").fetchone() == (0,)
