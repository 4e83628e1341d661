"""Loads the demo tenant through the same SQL functions the API calls, as the application role with a user's
context set (so permissions, events and the index triggers all take part), in a few transactions:
the tenant (as operator), content, comments, the catalogue, orders."""

from __future__ import annotations

import hashlib
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from rustok import errors
from rustok.auth.passwords import hash_password
from rustok.db import Database, connect, tenant_transaction
from rustok.demo import samples
from rustok.ids import parse_id
from rustok.progress import Report, silent

DEMO_MARK = "demo"
MIN_PRODUCTS = 10  # the orders need a few products with plenty of stock
MAX_ITEMS = 2000  # tenants.settings key: only a tenant made by `rustok demo` is replaced by it


@dataclass(frozen=True)
class DemoOptions:
    password: str
    slug: str = "demo"
    products: int = 60
    posts: int = 30
    seed: int = 7


@dataclass
class DemoReport:
    slug: str
    tenant_id: UUID
    admin_id: UUID
    admin_email: str
    customer_email: str
    password: str
    replaced: bool
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def load_demo(db: Database, options: DemoOptions, progress: Report = silent) -> DemoReport:
    """Creates the demo tenant, replacing an earlier demo tenant of that slug (never any other tenant:
    CONFLICT). Raises ValidationFailed for a password outside the policy."""
    started = time.monotonic()
    for name, value, least in (("products", options.products, MIN_PRODUCTS), ("posts", options.posts, 0)):
        if not least <= value <= MAX_ITEMS:
            raise errors.ValidationFailed(f"--{name}: {least} to {MAX_ITEMS}", {"field": name})
    password_hash = hash_password(options.password)
    report = _create_tenant(db, options, password_hash)
    rng = random.Random(options.seed)
    comments = samples.comments(options.posts, rng)
    with connect(db.app_url) as conn:
        loader = _Loader(conn, report, rng, progress, _planned_steps(options, len(comments)))
        loader.register_customer(password_hash)
        loader.content(options.posts, comments)
        loader.catalogue(options.products)
        loader.orders()
    report.seconds = time.monotonic() - started
    return report


def _planned_steps(options: DemoOptions, comments: int) -> int:
    return (
        len(samples.BLOG_CATEGORIES)
        + len(samples.PAGES)
        + options.posts
        + comments
        + len(samples.PRODUCT_CATEGORIES)
        + options.products
        + len(samples.ORDERS)
    )


def _create_tenant(db: Database, options: DemoOptions, password_hash: str) -> DemoReport:
    """As operator: drops the earlier demo tenant (its rows go with it: every tenant key cascades), creates
    the tenant with its admin (TenantCreated, ModuleEnabled, UserRegistered) and marks it as a demo."""
    admin_email = f"admin@{options.slug}.rustok.test"
    with connect(db.admin_url) as conn:
        earlier = conn.execute("select id, settings from public.tenants where slug = %s", (options.slug,)).fetchone()
        if earlier is not None:
            if not (earlier["settings"] or {}).get(DEMO_MARK):
                raise errors.Conflict(
                    f"tenant {options.slug!r} exists and was not made by `rustok demo`: choose another --tenant",
                    {"field": "tenant"},
                )
            # in the tenant's context: the cascade's index upkeep records the tenant's ids under its policy
            conn.execute("select rustok.set_context(%s)", (earlier["id"],))
            conn.execute("delete from public.tenants where id = %s", (earlier["id"],))
        row = conn.execute(
            "select rustok.create_tenant(%s, %s, %s, %s) as t",
            (options.slug, "RusToK demo store", admin_email, password_hash),
        ).fetchone()
        tenant = row["t"] if row else {}
        # there is no update_tenant function yet: the mark and the search language are operator settings
        conn.execute(
            "update public.tenants set settings = settings || %s where id = %s",
            (Jsonb({DEMO_MARK: True, "search_language": "english"}), parse_id(tenant["id"])),
        )
    return DemoReport(
        slug=options.slug,
        tenant_id=parse_id(tenant["id"]),
        admin_id=parse_id(tenant["adminUserId"]),
        admin_email=admin_email,
        customer_email=f"customer@{options.slug}.rustok.test",
        password=options.password,
        replaced=earlier is not None,
    )


class _Loader:
    def __init__(
        self, conn: psycopg.Connection[Any], report: DemoReport, rng: random.Random, progress: Report, total: int
    ) -> None:
        self.conn, self.report, self.rng, self.progress = conn, report, rng, progress
        self.done, self.total = 0, total
        self.admin = report.admin_id
        self.customer: UUID | None = None
        self.variants: list[tuple[UUID, int]] = []  # (variant, stock) of published products
        self.regions: list[tuple[UUID, UUID]] = []  # (region, standard shipping option)

    # -- plumbing --------------------------------------------------------------------------------------

    def call(self, fn: LiteralString, *params: Any) -> Any:
        """`select rustok.fn(params)`: one function of the API, its result (jsonb) as Python."""
        row = self.conn.execute(f"select {fn} as r", params).fetchone()
        return row["r"] if row else None

    def act_as(self, who: str) -> None:
        """Switches the transaction's context (transaction-local, like a request) to the admin, the customer
        or a guest."""
        known = {"admin": (self.admin, "admin"), "customer": (self.customer, "customer")}
        user, role = known.get(who, (None, None))
        self.conn.execute("select rustok.set_context(%s, %s, %s)", (self.report.tenant_id, user, role))

    def step(self, stage: str) -> None:
        self.done += 1
        self.progress(self.done, self.total, stage)

    def _count(self, name: str, n: int = 1) -> None:
        self.report.counts[name] = self.report.counts.get(name, 0) + n

    # -- stages ----------------------------------------------------------------------------------------

    def register_customer(self, password_hash: str) -> None:
        """The customer signs up as the API does (UserRegistered); the refresh token it is given is a
        throwaway digest that expires at once."""
        with tenant_transaction(self.conn, self.report.tenant_id):
            user = self.call(
                "rustok.register_user(%s, %s, %s, %s)",
                self.report.customer_email,
                password_hash,
                hashlib.sha256(os.urandom(32)).digest(),
                timedelta(seconds=1),
            )
            self.customer = parse_id(user["user"]["id"])

    def content(self, post_count: int, comments: list[samples.CommentPlan]) -> None:
        """Blog categories, CMS pages with SEO fields, posts dated over the past months; then comment threads
        (customers' comments wait for moderation; the admin approves most and replies)."""
        now = datetime.now(UTC)
        posts: list[UUID] = []
        with tenant_transaction(self.conn, self.report.tenant_id, self.admin, "admin"):
            categories = {}
            for category in samples.BLOG_CATEGORIES:
                categories[category["slug"]] = self.call("rustok.create_category(%s)", Jsonb(category))["id"]
                self._count("categories")
                self.step("content")
            for page in samples.PAGES:
                self.call("rustok.create_node(%s)", Jsonb({"kind": "page", "status": "published", **page}))
                self._count("pages")
                self.step("content")
            for post in samples.posts(post_count, self.rng):
                request = {k: v for k, v in post.items() if not k.startswith("_")}
                request["categoryId"] = categories[post["_category"]]
                request["publishedAt"] = (now - timedelta(days=post["_days_ago"], hours=2)).isoformat()
                posts.append(parse_id(self.call("rustok.create_node(%s)", Jsonb(request))["id"]))
                self._count("posts")
                self.step("content")
        with tenant_transaction(self.conn, self.report.tenant_id):
            # the sample's customers write their comments in one transaction, so in one minute: the blog's
            # per-user rate (commentsPerMinute) is lifted while they do, as an operator would for an import,
            # and the comments are dated an hour back, so they do not count against the customers' next ones
            self._comment_rate({"commentsPerMinute": len(comments) + 1})
            made: list[UUID] = []
            for plan in comments:
                self.act_as(plan.author)
                parent = made[plan.reply_to] if plan.reply_to is not None else None
                comment = self.call("rustok.add_comment(%s, %s, %s)", posts[plan.post], parent, plan.body)
                made.append(parse_id(comment["id"]))
                self._count("comments")
                if plan.approve:
                    self.act_as("admin")
                    self.call("rustok.moderate_comment(%s, %s)", made[-1], "approved")
                elif plan.author == "customer":
                    self._count("pending_comments")
                self.step("comments")
            self._comment_rate(None)
            self.conn.execute(
                "update public.nodes set created_at = created_at - interval '1 hour'"
                " where tenant_id = %s and id = any(%s)",
                (self.report.tenant_id, made),
            )

    def _comment_rate(self, setting: dict[str, int] | None) -> None:
        """Sets the demo tenant's blog setting commentsPerMinute, or (None) returns it to the default."""
        self.conn.execute(
            "update public.tenant_modules set settings = case when %s::jsonb is null"
            " then settings - 'commentsPerMinute' else settings || %s::jsonb end"
            " where tenant_id = %s and module_slug = 'blog'",
            (Jsonb(setting) if setting else None, Jsonb(setting) if setting else None, self.report.tenant_id),
        )

    def catalogue(self, product_count: int) -> None:
        """Product categories, regions with tax and shipping, a discount code, then the products (options,
        variants, EUR and USD prices, stock, categories, tags) — each one create_product call."""
        with tenant_transaction(self.conn, self.report.tenant_id, self.admin, "admin"):
            categories = {}
            for category in samples.PRODUCT_CATEGORIES:
                categories[category["handle"]] = self.call("rustok.create_product_category(%s)", Jsonb(category))["id"]
                self.step("catalogue")
            for region in samples.REGIONS:
                made = self.call(
                    "rustok.create_region(%s)", Jsonb({k: v for k, v in region.items() if not k.startswith("_")})
                )
                options = [
                    self.call(
                        "rustok.create_shipping_option(%s)",
                        Jsonb({"regionId": made["id"], "name": name, "amount": amount}),
                    )
                    for name, amount in region["_shipping"]
                ]
                self.regions.append((parse_id(made["id"]), parse_id(options[0]["id"])))
            self.call("rustok.create_discount(%s)", Jsonb(samples.DISCOUNT))
            for product in samples.products(product_count, self.rng):
                request = {k: v for k, v in product.items() if not k.startswith("_")}
                request["categoryIds"] = [categories[product["_category"]]]
                made = self.call("rustok.create_product(%s)", Jsonb(request))
                self._count("products")
                self._count("variants", len(made["variants"]))
                if product["status"] == "published":
                    stock = {v["sku"]: v["inventoryQuantity"] for v in product["variants"]}
                    self.variants += [(parse_id(v["id"]), stock[v["sku"]]) for v in made["variants"]]
                self.step("catalogue")

    def orders(self) -> None:
        """Carts turned into orders (the customer's, and guests' every third one), some with the discount,
        then moved along the workflow by the admin; and one cart left open."""
        in_stock = [variant for variant, stock in self.variants if stock >= 10]
        with tenant_transaction(self.conn, self.report.tenant_id):
            for i, (region_index, status, discounted) in enumerate(samples.ORDERS):
                shopper = "guest" if i % 3 == 2 else "customer"
                self.act_as(shopper)
                region, shipping = self.regions[region_index]
                picks = self.rng.sample(in_stock, self.rng.randint(1, 3))
                cart = self.call(
                    "rustok.create_cart(%s)",
                    Jsonb(
                        {
                            "regionId": str(region),
                            "shippingOptionId": str(shipping),
                            "lines": [{"variantId": str(v), "quantity": self.rng.randint(1, 2)} for v in picks],
                        }
                    ),
                )
                cart_id = parse_id(cart["id"])
                if discounted:
                    self.call("rustok.apply_discount(%s, %s)", cart_id, samples.DISCOUNT["code"])
                email = f"guest{i}@{self.report.slug}.rustok.test" if shopper == "guest" else None
                address = Jsonb(samples.ADDRESSES[region_index])
                order = self.call("rustok.place_order(%s, %s, %s)", cart_id, email, address)
                self.act_as("admin")
                for next_status in samples.STATUS_PATHS[status]:
                    self.call("rustok.set_order_status(%s, %s)", parse_id(order["id"]), next_status)
                self._count("orders")
                self.step("orders")
            self.act_as("customer")
            region, shipping = self.regions[0]
            self.call(
                "rustok.create_cart(%s)",
                Jsonb({"regionId": str(region), "lines": [{"variantId": str(in_stock[0]), "quantity": 1}]}),
            )
            self._count("open_carts")
