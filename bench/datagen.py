#!/usr/bin/env python3
"""Data generator for benchmarks: N tenants of skewed size (Zipf-like), each with a shop (products x variants x
currencies, categories, tags, stock) and content (posts and pages with bodies, categories, tags, authors).

    .venv/bin/python bench/datagen.py                       # 100 tenants, 200,000 products, 200,000 nodes
    .venv/bin/python bench/datagen.py --small               # 10 tenants, 5,000 products, 5,000 nodes
    .venv/bin/python bench/datagen.py --tenants 20 --products 50000 --nodes 0 --seed 7
    .venv/bin/python bench/datagen.py --help

From Python (other benchmarks):

    from bench.datagen import Plan, generate, add_products
    tenants = generate(conn, Plan(tenants=10, products=5_000, nodes=5_000))   # conn: owner/superuser, autocommit
    add_products(conn, tenants[0], 1_000, Plan())                              # more products for one tenant

Every row is written set-based (INSERT ... SELECT over generate_series, one statement per table per batch),
never row by row through Python; each batch (--batch products or nodes) is one transaction. The rows go into
the write tables only: the index rows come from the real upkeep (the index module's triggers recompute the
batch's ids once at its commit) - so `rustok.index_verify()` is empty afterwards. The generator runs as the
owner/superuser with the tenant set (rustok.set_context), which is what an operator's bulk import does; tenants
are made with rustok.create_tenant (every installed module enabled, an admin user).

Events: the bulk path bypasses the per-row API functions (rustok.create_product, rustok.create_node), so no
ProductCreated / NodeCreated events are written - a bulk import is not a stream of edits. What is written is
what the triggers write: one IndexUpdated per batch and kind (the flush's summary, with at most 100 ids), plus
TenantCreated/ModuleEnabled/UserRegistered from rustok.create_tenant.

The data, per tenant:
  - shop: 12 product categories, one stock location; products titled "<adjective> <material> <noun>" from
    word lists (some with accents: search folds them), a description of 12-30 words, 1-2 categories, about
    two tags from 15, status 92% published / 5% draft / 3% archived, created over the last two years;
    3 variants (S, M, L) each with an EUR and a USD price (log-uniform 2.99-899 EUR, L dearer than S) and
    stock (15% of products sold out, 20% of the other variants at zero);
  - content: 8 categories, 20 tags, authors (one per 1,000 nodes, at least 2); posts (85%) and pages with a
    headline title, an excerpt, a body of 60-200 words, 0-3 tags, 92% published (1% of those scheduled in the
    next month), the rest drafts.
Tenant i (1-based) gets a share proportional to 1 / i^skew of the products and of the nodes (skew 1.0 and 100
tenants: the largest holds 19%, the smallest 0.2%). Slugs are <prefix>-001, <prefix>-002, ...; the same seed
gives the same data.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

try:
    import _harness  # first: the project's virtualenv, its database
except ModuleNotFoundError:  # imported as bench.datagen (from the checkout's root)
    from bench import _harness
import psycopg

ADJECTIVES = [
    "Rustic",
    "Modern",
    "Classic",
    "Vintage",
    "Compact",
    "Deluxe",
    "Sturdy",
    "Elegant",
    "Handmade",
    "Minimal",
    "Cozy",
    "Bold",
    "Slim",
    "Royal",
    "Nordic",
    "Urban",
    "Organic",
    "Premium",
    "Everyday",
    "Travel",
    "Café",
    "Crème",
    "Soft",
    "Bright",
    "Quiet",
    "Smart",
    "Portable",
    "Heavy",
    "Light",
    "Tiny",
]
MATERIALS = [
    "Oak",
    "Walnut",
    "Bamboo",
    "Cotton",
    "Linen",
    "Wool",
    "Leather",
    "Steel",
    "Copper",
    "Brass",
    "Ceramic",
    "Glass",
    "Marble",
    "Stone",
    "Canvas",
    "Silk",
    "Cashmere",
    "Velvet",
    "Porcelain",
    "Titanium",
    "Cork",
    "Rattan",
    "Felt",
    "Denim",
    "Suede",
]
NOUNS = [
    "Table",
    "Chair",
    "Lamp",
    "Mug",
    "Bowl",
    "Vase",
    "Blanket",
    "Pillow",
    "Backpack",
    "Wallet",
    "Watch",
    "Jacket",
    "Scarf",
    "Sneakers",
    "Boots",
    "Kettle",
    "Teapot",
    "Skillet",
    "Knife",
    "Cutting Board",
    "Bookshelf",
    "Desk",
    "Stool",
    "Rug",
    "Curtain",
    "Mirror",
    "Clock",
    "Candle",
    "Planter",
    "Basket",
    "Tray",
    "Notebook",
    "Pen",
    "Headphones",
    "Speaker",
    "Umbrella",
    "Hat",
    "Gloves",
    "Sweater",
    "Apron",
]
WORDS = [
    "design",
    "quality",
    "durable",
    "comfortable",
    "crafted",
    "finish",
    "natural",
    "premium",
    "everyday",
    "gift",
    "home",
    "kitchen",
    "office",
    "garden",
    "travel",
    "weekend",
    "winter",
    "summer",
    "warm",
    "light",
    "strong",
    "simple",
    "timeless",
    "sustainable",
    "recycled",
    "handmade",
    "local",
    "workshop",
    "artisan",
    "detail",
    "colour",
    "texture",
    "pattern",
    "shape",
    "size",
    "fits",
    "perfect",
    "easy",
    "clean",
    "care",
    "wash",
    "dry",
    "store",
    "stack",
    "fold",
    "carry",
    "pocket",
    "strap",
    "handle",
    "lid",
    "edge",
    "corner",
    "surface",
    "grain",
    "smooth",
    "matte",
    "glossy",
    "brushed",
    "polished",
    "soft",
    "firm",
    "flexible",
    "water",
    "resistant",
    "proof",
    "breathable",
    "insulated",
    "lined",
    "stitched",
    "woven",
    "knitted",
    "carved",
    "turned",
    "fired",
    "glazed",
    "forged",
    "hammered",
    "dyed",
    "printed",
    "the",
    "and",
    "with",
    "for",
    "a",
    "of",
    "to",
    "in",
    "on",
    "your",
]
HEADLINE = [
    "guide",
    "tips",
    "ideas",
    "review",
    "story",
    "behind",
    "making",
    "season",
    "trends",
    "care",
    "choosing",
    "best",
    "new",
    "collection",
    "workshop",
    "visit",
    "interview",
    "recipe",
    "morning",
    "evening",
    "small",
    "spaces",
    "living",
    "room",
    "kitchen",
    "garden",
    "notes",
    "journal",
    "update",
    "launch",
    "café",
    "naïve",
    "résumé",
    "how",
    "why",
    "what",
    "we",
    "learned",
    "from",
    "our",
    "makers",
    "customers",
    "wood",
    "clay",
]
PRODUCT_CATEGORIES = [
    "Furniture",
    "Lighting",
    "Kitchen",
    "Tableware",
    "Textiles",
    "Bags",
    "Accessories",
    "Clothing",
    "Footwear",
    "Audio",
    "Stationery",
    "Garden",
]
PRODUCT_TAGS = [
    "new",
    "sale",
    "bestseller",
    "eco",
    "gift",
    "limited",
    "handmade",
    "vegan",
    "organic",
    "imported",
    "local",
    "clearance",
    "premium",
    "bundle",
    "outdoor",
]
CONTENT_CATEGORIES = ["News", "Guides", "Stories", "Reviews", "Recipes", "Events", "Makers", "Help"]
CONTENT_TAGS = [
    "Design",
    "Wood",
    "Ceramics",
    "Textiles",
    "Care",
    "Kitchen",
    "Garden",
    "Travel",
    "Interview",
    "Launch",
    "Behind the scenes",
    "Sustainability",
    "Tips",
    "Gift ideas",
    "Small spaces",
    "Winter",
    "Summer",
    "Workshop",
    "Café culture",
    "Community",
]
SIZES = ["S", "M", "L"]
CURRENCIES = ["EUR", "USD"]  # USD = EUR x 1.08


@dataclass(frozen=True)
class Plan:
    """What to generate. Sizes are totals over all tenants."""

    tenants: int = 100
    products: int = 200_000
    nodes: int = 200_000
    skew: float = 1.0  # Zipf exponent: tenant i gets a share proportional to 1 / i^skew
    seed: int = 42
    batch: int = 5_000  # products or nodes per transaction
    prefix: str = "gen"  # tenant slugs <prefix>-001, ...


@dataclass
class GeneratedTenant:
    id: Any
    slug: str
    admin_id: Any
    products: int
    nodes: int
    index: int  # 1-based rank (1: the largest)
    extra: dict[str, Any] = field(default_factory=dict)


def shares(total: int, tenants: int, skew: float) -> list[int]:
    """total split over tenants in proportion to 1 / i^skew (largest first), summing exactly to total."""
    weights = [1 / (i**skew) for i in range(1, tenants + 1)]
    exact = [total * w / sum(weights) for w in weights]
    sizes = [math.floor(x) for x in exact]
    by_remainder = sorted(range(tenants), key=lambda i: exact[i] - sizes[i], reverse=True)
    for i in by_remainder[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


class Progress:
    """A progress bar on stderr (at most ~4 redraws a second), one line per label."""

    def __init__(self, label: str, total: int, enabled: bool = True) -> None:
        self.label, self.total, self.done, self.enabled = label, total, 0, enabled
        self.started = time.monotonic()
        self.last = 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self.last >= 0.25 or self.done >= self.total):
            self.last = now
            width = 30
            filled = width if self.total == 0 else min(width, width * self.done // self.total)
            rate = self.done / max(now - self.started, 1e-9)
            sys.stderr.write(
                f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done:,}/{self.total:,} {rate:,.0f}/s "
            )
            if self.done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


# -- SQL (set-based; every statement works on one batch; %(…)s parameters only) ------------------------------

_PICK = "(%(w)s::text[])[1 + floor(random() * cardinality(%(w)s::text[]))::int]"


def _pick(param: str) -> str:
    return _PICK.replace("%(w)s", f"%({param})s")


_TENANT_SETUP = [
    """insert into commerce_categories (tenant_id, name, handle, position)
       select %(tenant)s, c, lower(c), o::int from unnest(%(product_categories)s::text[]) with ordinality u (c, o)""",
    """insert into commerce_stock_locations (tenant_id, name, handle) values (%(tenant)s, 'Warehouse', 'warehouse')""",
    """insert into categories (tenant_id, name, slug, position)
       select %(tenant)s, c, lower(c), o::int from unnest(%(content_categories)s::text[]) with ordinality u (c, o)""",
    """insert into tags (tenant_id, name, slug)
       select %(tenant)s, t, regexp_replace(lower(public.unaccent(t)), '[^a-z0-9]+', '-', 'g')
       from unnest(%(content_tags)s::text[]) t""",
    """insert into users (tenant_id, email, password_hash, role, display_name)
       select %(tenant)s, 'author' || i || '@' || %(slug)s || '.test', 'not-a-real-hash', 'manager',
              initcap("""
    + _pick("headline")
    + """) || ' ' || initcap("""
    + _pick("words")
    + """) || ' ' || i
       from generate_series(1, %(authors)s::int) i""",
]

_PRODUCT_BATCH = [
    "select setseed(%(rng)s)",
    """create temp table _gen_products on commit drop as
       select rustok.gen_id() as id, n,
              """
    + _pick("adjectives")
    + " || ' ' || "
    + _pick("materials")
    + " || ' ' || "
    + _pick("nouns")
    + """ as title,
              case when random() < 0.4 then initcap("""
    + _pick("words")
    + ") || ' ' || "
    + _pick("words")
    + """ end as subtitle,
              (select string_agg("""
    + _pick("words")
    + """, ' ') from generate_series(1, 12 + (n * 7) %% 19 + 0 * n)) as description,
              case when r < 0.92 then 'published' when r < 0.97 then 'draft' else 'archived' end as status,
              now() - random() * interval '730 days' as created_at,
              exp(ln(299) + random() * ln(300)) as base_price,
              random() < 0.15 as sold_out
       from (select n, random() as r from generate_series(%(lo)s::int, %(hi)s::int) n) s""",
    """insert into commerce_products (tenant_id, id, title, subtitle, handle, description, status, metadata, created_at,
                                      updated_at)
       select %(tenant)s, p.id, p.title, p.subtitle,
              btrim(regexp_replace(lower(public.unaccent(p.title)), '[^a-z0-9]+', '-', 'g'), '-') || '-' || p.n,
              p.description, p.status,
              jsonb_build_object('metaTitle', p.title || ' | Shop'), p.created_at, p.created_at
       from _gen_products p""",
    """create temp table _gen_variants on commit drop as
       select rustok.gen_id() as id, p.id as product_id, p.n, s.size, s.k::int as k,
              round(p.base_price * (1 + 0.15 * (s.k - 1)))::bigint as eur,
              case when p.sold_out or random() < 0.2 then 0 else 1 + floor(random() * 300)::int end as stock
       from _gen_products p cross join unnest(%(sizes)s::text[]) with ordinality s (size, k)""",
    """insert into commerce_variants (tenant_id, id, product_id, title, sku, position, created_at)
       select %(tenant)s, v.id, v.product_id, v.size, 'SKU-' || v.n || '-' || v.size, v.k, now()
       from _gen_variants v""",
    """insert into commerce_prices (tenant_id, variant_id, currency_code, amount)
       select %(tenant)s, v.id, c.code, case c.code when 'EUR' then v.eur else round(v.eur * 1.08)::bigint end
       from _gen_variants v cross join unnest(%(currencies)s::text[]) c (code)""",
    """insert into commerce_inventory_levels (tenant_id, variant_id, location_id, stocked_quantity)
       select %(tenant)s, v.id, l.id, v.stock from _gen_variants v
       join commerce_stock_locations l on l.tenant_id = %(tenant)s and l.handle = 'warehouse'""",
    """insert into commerce_product_categories (tenant_id, product_id, category_id)
       select distinct %(tenant)s, p.id, c.id
       from _gen_products p
       cross join lateral (select 1 + (abs(hashtext(p.id::text)) %% 12) as a,
                                  case when random() < 0.3 then 1 + (abs(hashtext(p.title)) %% 12) end as b) pick
       join commerce_categories c on c.tenant_id = %(tenant)s and c.position in (pick.a, pick.b)""",
    """insert into commerce_product_tags (tenant_id, product_id, value)
       select %(tenant)s, p.id, t from _gen_products p cross join unnest(%(product_tags)s::text[]) t
       where random() < 0.15""",
]

_NODE_BATCH = [
    "select setseed(%(rng)s)",
    """create temp table _gen_nodes on commit drop as
       select rustok.gen_id() as id, n, case when random() < 0.85 then 'post' else 'page' end as kind,
              initcap("""
    + _pick("headline")
    + ") || ' ' || "
    + _pick("headline")
    + " || ' ' || "
    + _pick("headline")
    + " || ' ' || "
    + _pick("words")
    + """ as title,
              (select string_agg("""
    + _pick("words")
    + """, ' ') from generate_series(1, 8 + n %% 10 + 0 * n)) as excerpt,
              (select string_agg("""
    + _pick("words")
    + """, ' ') from generate_series(1, 60 + (n * 13) %% 141 + 0 * n))
                  as body,
              case when random() < 0.92 then 'published' else 'draft' end as status,
              random() as r, 1 + floor(random() * %(authors)s::int)::int as author_n,
              case when random() < 0.8 then 1 + floor(random() * 8)::int end as category_n,
              now() - random() * interval '730 days' as created_at
       from generate_series(%(lo)s::int, %(hi)s::int) n""",
    """insert into nodes (tenant_id, id, kind, title, slug, excerpt, category_id, author_id, status, created_at,
                          updated_at, published_at)
       select %(tenant)s, g.id, g.kind, g.title,
              btrim(regexp_replace(lower(public.unaccent(g.title)), '[^a-z0-9]+', '-', 'g'), '-') || '-' || g.n,
              g.excerpt, c.id, a.id, g.status, g.created_at, g.created_at,
              case when g.status = 'published' then
                  case when g.r < 0.01 then now() + g.r * interval '30 days' else g.created_at end end
       from _gen_nodes g
       left join categories c on c.tenant_id = %(tenant)s and c.position = g.category_n
       left join lateral (select u.id from users u where u.tenant_id = %(tenant)s
                          and u.email = 'author' || g.author_n || '@' || %(slug)s || '.test') a on true""",
    """insert into bodies (tenant_id, node_id, body) select %(tenant)s, g.id, g.body from _gen_nodes g""",
    """insert into node_tags (tenant_id, node_id, tag_id)
       select %(tenant)s, g.id, t.id from _gen_nodes g join tags t on t.tenant_id = %(tenant)s
       where random() < 0.08""",
]


def _params(tenant: GeneratedTenant, plan: Plan, **extra: Any) -> dict[str, Any]:
    return {
        "tenant": tenant.id,
        "slug": tenant.slug,
        "adjectives": ADJECTIVES,
        "materials": MATERIALS,
        "nouns": NOUNS,
        "words": WORDS,
        "headline": HEADLINE,
        "product_categories": PRODUCT_CATEGORIES,
        "product_tags": PRODUCT_TAGS,
        "content_categories": CONTENT_CATEGORIES,
        "content_tags": CONTENT_TAGS,
        "sizes": SIZES,
        "currencies": CURRENCIES,
        "authors": max(2, tenant.nodes // 1000),
        **extra,
    }


def _rng(plan: Plan, tenant: GeneratedTenant, kind: int, lo: int) -> float:
    """A setseed() argument in [-1, 1] that depends on the seed, the tenant, the kind of batch and its start."""
    return ((plan.seed * 1_000_003 + tenant.index * 7919 + kind * 104_729 + lo) % 2_000_001) / 1_000_000 - 1


def _batches(
    conn: psycopg.Connection[Any],
    statements: list[str],
    params: Callable[[int, int], dict[str, Any]],
    start: int,
    count: int,
    batch: int,
    progress: Progress,
) -> None:
    n = start
    while n < start + count:
        hi = min(n + batch, start + count) - 1
        with conn.transaction():
            conn.execute("select rustok.set_context(%s)", (params(n, hi)["tenant"],))
            for statement in statements:
                conn.execute(statement, params(n, hi))  # type: ignore[arg-type]  # fixed text, not user input
        progress.add(hi - n + 1)
        n = hi + 1


def create_tenant(
    conn: psycopg.Connection[Any], slug: str, index: int, products: int, nodes: int, plan: Plan
) -> GeneratedTenant:
    """A tenant (rustok.create_tenant: modules enabled, an admin) with its categories, tags, stock location and
    authors."""
    with conn.transaction():
        made = conn.execute(
            "select rustok.create_tenant(%s, %s, %s, 'not-a-real-hash')",
            (slug, f"Generated {slug}", f"admin@{slug}.test"),
        ).fetchone()
        assert made is not None
        tenant = GeneratedTenant(
            id=_uuid(conn, made[0]["id"]),
            slug=slug,
            admin_id=_uuid(conn, made[0]["adminUserId"]),
            products=products,
            nodes=nodes,
            index=index,
        )
        conn.execute("select rustok.set_context(%s)", (tenant.id,))
        for statement in _TENANT_SETUP:
            conn.execute(statement, _params(tenant, plan))  # type: ignore[arg-type]
    return tenant


def _uuid(conn: psycopg.Connection[Any], ulid: str) -> Any:
    row = conn.execute("select rustok.parse_id(%s)", (ulid,)).fetchone()
    assert row is not None
    return row[0]


def add_products(
    conn: psycopg.Connection[Any],
    tenant: GeneratedTenant,
    count: int,
    plan: Plan,
    progress: bool = True,
    start: int | None = None,
) -> None:
    """count more products for the tenant, in batches of plan.batch (one transaction each). Numbers (handles,
    SKUs) continue after the tenant's existing products unless start is given."""
    if start is None:
        row = conn.execute("select count(*) from commerce_products where tenant_id = %s", (tenant.id,)).fetchone()
        start = int(row[0]) + 1 if row else 1
    bar = Progress(f"  {tenant.slug} products", count, progress)
    _batches(
        conn,
        _PRODUCT_BATCH,
        lambda lo, hi: _params(tenant, plan, lo=lo, hi=hi, rng=_rng(plan, tenant, 1, lo)),
        start,
        count,
        plan.batch,
        bar,
    )


def add_nodes(
    conn: psycopg.Connection[Any],
    tenant: GeneratedTenant,
    count: int,
    plan: Plan,
    progress: bool = True,
    start: int = 1,
) -> None:
    """count posts and pages for the tenant, in batches of plan.batch."""
    bar = Progress(f"  {tenant.slug} nodes", count, progress)
    _batches(
        conn,
        _NODE_BATCH,
        lambda lo, hi: _params(tenant, plan, lo=lo, hi=hi, rng=_rng(plan, tenant, 2, lo)),
        start,
        count,
        plan.batch,
        bar,
    )


def generate(conn: psycopg.Connection[Any], plan: Plan, progress: bool = True) -> list[GeneratedTenant]:
    """Makes plan.tenants tenants (<prefix>-001 the largest) and fills them; conn is an owner/superuser connection
    in autocommit mode. Returns the tenants, largest first."""
    product_sizes = shares(plan.products, plan.tenants, plan.skew)
    node_sizes = shares(plan.nodes, plan.tenants, plan.skew)
    made: list[GeneratedTenant] = []
    started = time.monotonic()
    for i in range(plan.tenants):
        slug = f"{plan.prefix}-{i + 1:03d}"
        if progress:
            print(
                f"[datagen] tenant {i + 1}/{plan.tenants} {slug}: {product_sizes[i]:,} products, "
                f"{node_sizes[i]:,} nodes",
                file=sys.stderr,
                flush=True,
            )
        tenant = create_tenant(conn, slug, i + 1, product_sizes[i], node_sizes[i], plan)
        if tenant.products:
            add_products(conn, tenant, tenant.products, plan, progress, start=1)
        if tenant.nodes:
            add_nodes(conn, tenant, tenant.nodes, plan, progress)
        made.append(tenant)
    if progress:
        print(
            f"[datagen] {plan.tenants} tenants, {plan.products:,} products, {plan.nodes:,} nodes in "
            f"{time.monotonic() - started:,.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return made


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tenants", type=int, default=100, help="tenants (default 100)")
    p.add_argument("--products", type=int, default=200_000, help="products over all tenants (default 200000)")
    p.add_argument("--nodes", type=int, default=200_000, help="posts and pages over all tenants (default 200000)")
    p.add_argument("--skew", type=float, default=1.0, help="Zipf exponent of tenant sizes (default 1.0; 0: equal)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--batch", type=int, default=5_000, help="products or nodes per transaction (default 5000)")
    p.add_argument("--prefix", default="gen", help="tenant slug prefix (default gen: gen-001, gen-002, ...)")
    p.add_argument("--small", action="store_true", help="quick run: 10 tenants, 5000 products, 5000 nodes")
    _harness.database_options(p, "bench-index", "5496", fresh=False)
    p.add_argument("--no-verify", action="store_true", help="skip rustok.index_verify() at the end")
    args = p.parse_args(argv)
    if args.small:
        args.tenants, args.products, args.nodes = 10, 5_000, 5_000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(args.tenants, args.products, args.nodes, args.skew, args.seed, args.batch, args.prefix)
    with _harness.running_database(args) as db, psycopg.connect(db.admin_url, autocommit=True) as conn:
        generate(conn, plan)
        conn.execute("vacuum analyze")
        if not args.no_verify:
            started = time.monotonic()
            problems = conn.execute("select count(*) from rustok.index_verify()").fetchone()
            print(
                f"[datagen] index_verify: {problems[0] if problems else '?'} problem(s) "
                f"({time.monotonic() - started:.1f} s)",
                file=sys.stderr,
            )
            return 1 if problems and problems[0] else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
