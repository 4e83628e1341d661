#!/usr/bin/env python3
"""Content benchmark: a tenant with 100,000 nodes and a post with 10,000 threaded comments; the comment-tree
fetch latency (p50/p99) and node-creation throughput through rustok.create_node.

    .venv/bin/python bench/content_bench.py              # first run loads the data (a few minutes), then measures
    .venv/bin/python bench/content_bench.py --help

What it does, in order (each step is announced on stderr):

1. Starts (or reuses) the embedded PostgreSQL under --home (default .tmp/bench-content, socket name 5498) and
   migrates it with the content and blog modules (RUSTOK_MODULES=content,blog unless set).
2. Loads, as the superuser, with set-based SQL in batches (progress lines on stderr): tenant `content-bench`
   (rustok.create_tenant), 100 managers, 40 categories, 200 tags; --nodes pages and posts (80% posts, 90%
   published) with a ~60-word body each (the search-vector trigger runs for every body) and two tags each;
   one published post with --comments comments in six generations (2,500 on the post, then replies to the
   generation before, down to depth 5; 5% pending). Every row goes through the tables' triggers: thread
   columns, reply counters, search vectors. A later run reuses the data when the counts match (--fresh
   starts from nothing).
3. Measures, as the application role with the request context set the way the API sets it (one statement,
   `with _context as materialized (select rustok.set_context(…)) select rustok.f(…) from _context`):
   - the whole comment tree, `rustok.comment_tree(post)` (one query, thread order), anonymously (approved
     comments, a hidden comment hiding its replies) and as the admin (everything): --fetches calls each,
     round trip including the transfer of the JSON text;
   - the first page of `rustok.list_comments(post, 100)` and a page from the middle of the thread (after a
     cursor), anonymously;
   - `rustok.list_nodes(20)` anonymously, unfiltered and by tag, over the 100,000 nodes;
   - node creation: --creates calls of `rustok.create_node` (a post with two tags and a ~60-word body, every
     other one published) as managers, one transaction each, from 1 session and from --sessions sessions.
4. Prints a table (p50, p99, mean per call; creations per second) and writes it as JSON under --home.
5. Stops the embedded database when this run started it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import _harness  # first: the project's virtualenv, its database
import psycopg

from rustok.db import Database

TENANT = "content-bench"
AUTHORS = 100
CATEGORIES = 40
TAGS = 200
NODE_BATCH = 10_000
# comments per generation, as shares of --comments: 2,500 on the post, then replies to the generation before
GENERATIONS = (0.25, 0.30, 0.22, 0.13, 0.07, 0.03)
WORDS = (  # noqa: SIM905 (a word list reads better as one string)
    "alpha baker cedar delta ember fable garden harbor island jasmine kettle lantern meadow nectar orchard pepper "
    "quartz river saffron timber umber velvet willow xenon yarrow zephyr amber breeze canyon dune echo fjord glacier "
    "horizon iris juniper kelp lagoon maple nova oasis prairie quill ridge summit tundra upland valley wharf yonder "
    "zenith anchor beacon compass drift estuary ferry gale hull inlet jetty keel lighthouse mast north oar pier quay "
    "reef sail tide undertow vessel wake"
).split()
CONTEXT = "with _context as materialized (select rustok.set_context(%s, %s, %s)) select {call} from _context"


def say(message: str) -> None:
    print(f"[content-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Progress:
    """Progress lines on stderr: done/total, percent, elapsed, rate (at most one line a second)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = self.last = time.monotonic()

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= 1 or self.done >= self.total:
            self.last = now
            elapsed = now - self.started
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            say(
                f"{self.label}: [{'#' * filled}{'.' * (width - filled)}] {self.done:,}/{self.total:,} "
                f"({100 * self.done / max(self.total, 1):.0f}%) {elapsed:.1f} s, "
                f"{self.done / max(elapsed, 1e-9):,.0f}/s"
            )


@dataclass
class Dataset:
    tenant_id: Any
    admin_id: Any
    authors: list[Any]
    post_id: Any
    mid_cursor: str
    nodes: int
    comments: int
    visible_comments: int = 0
    tree_bytes_anonymous: int = 0
    tree_bytes_admin: int = 0
    load_seconds: float | None = None


@dataclass
class Row:
    name: str
    calls: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    per_second: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# -- database ------------------------------------------------------------------------------------------------


# -- loading ---------------------------------------------------------------------------------------------------


def load(db: Database, args: argparse.Namespace) -> Dataset:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        row = conn.execute("select id from tenants where slug = %s", (TENANT,)).fetchone()
        if row is not None:
            data = _existing(conn, row[0], args)
            if data is not None:
                say(f"data: reusing tenant {TENANT!r} ({data.nodes:,} nodes, {data.comments:,} comments)")
                return data
            say(f"data: tenant {TENANT!r} does not have the requested sizes; deleting it and loading again")
            conn.execute("delete from tenants where id = %s", (row[0],))
    started = time.monotonic()
    with psycopg.connect(db.admin_url) as conn:
        data = _load(conn, args)
    data.load_seconds = time.monotonic() - started
    say(f"data: loaded in {data.load_seconds:.0f} s")
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        say("data: analyze")
        conn.execute("analyze nodes, bodies, node_tags, tags, categories, users")
    return data


def _existing(conn: psycopg.Connection[Any], tenant: Any, args: argparse.Namespace) -> Dataset | None:
    nodes, comments = conn.execute(
        "select count(*) filter (where kind <> 'comment'), count(*) filter (where kind = 'comment') "
        "from nodes where tenant_id = %s",
        (tenant,),
    ).fetchone()  # type: ignore[misc]
    post = conn.execute(
        "select id from nodes where tenant_id = %s and kind = 'post' and slug = 'the-thread'", (tenant,)
    ).fetchone()
    # the thread post is one of the nodes; earlier creation measurements added more, which is fine
    if post is None or comments != args.comments or nodes < args.nodes + 1:
        return None
    return _describe(conn, tenant, post[0], nodes, comments)


def _describe(conn: psycopg.Connection[Any], tenant: Any, post: Any, nodes: int, comments: int) -> Dataset:
    admin = conn.execute("select id from users where tenant_id = %s and role = 'admin'", (tenant,)).fetchone()[0]  # type: ignore[index]
    authors = [r[0] for r in conn.execute("select id from users where tenant_id = %s and role = 'manager'", (tenant,))]
    mid = conn.execute(
        "select rustok.ulid(id) from nodes where tenant_id = %s and root_id = %s order by path offset %s limit 1",
        (tenant, post, comments // 2),
    ).fetchone()[0]  # type: ignore[index]
    return Dataset(tenant, admin, authors, post, mid, nodes, comments)


def _load(conn: psycopg.Connection[Any], args: argparse.Namespace) -> Dataset:
    say(f"data: tenant {TENANT!r}, {AUTHORS} managers, {CATEGORIES} categories, {TAGS} tags")
    tenant = conn.execute(
        "select rustok.parse_id(rustok.create_tenant(%s, 'Content bench', 'admin@content-bench.test', 'x-hash') "
        "->> 'id')",
        (TENANT,),
    ).fetchone()[0]  # type: ignore[index]
    conn.execute("select rustok.set_context(%s)", (tenant,))
    conn.execute(
        "insert into users (tenant_id, email, password_hash, role, display_name) "
        "select %s, 'author' || g || '@content-bench.test', 'x-hash', 'manager', 'Author ' || g "
        "from generate_series(1, %s::int) g",
        (tenant, AUTHORS),
    )
    conn.execute(
        "insert into categories (tenant_id, name, slug) select %s, 'Category ' || g, 'category-' || g "
        "from generate_series(1, %s::int) g",
        (tenant, CATEGORIES),
    )
    conn.execute(
        "insert into tags (tenant_id, name, slug) select %s, w, w from unnest(%s::text[]) w "
        "union all select %s, 'tag ' || g, 'tag-' || g from generate_series(1, %s::int) g",
        (tenant, WORDS, tenant, TAGS - len(WORDS)),
    )
    conn.commit()
    ids = _ids(conn, tenant)

    progress = Progress("nodes", args.nodes)
    for low in range(1, args.nodes + 1, NODE_BATCH):
        high = min(low + NODE_BATCH - 1, args.nodes)
        conn.execute("create temp table batch on commit drop as select * from nodes limit 0")
        conn.execute(
            """with made as (
                   insert into nodes (tenant_id, kind, title, slug, excerpt, status, published_at, author_id,
                                      category_id, meta_title, meta_description)
                   select %(t)s, k.kind,
                          'Node ' || g || ': ' || v.w[1 + g %% v.n] || ' ' || v.w[1 + (g / v.n) %% v.n],
                          k.kind || '-' || g,
                          'The ' || v.w[1 + (g * 7) %% v.n] || ' excerpt of node ' || g,
                          case when g %% 10 = 0 then 'draft' else 'published' end,
                          case when g %% 10 = 0 then null else now() - make_interval(secs => %(n)s - g) end,
                          (%(authors)s::uuid[])[1 + g %% %(na)s], (%(categories)s::uuid[])[1 + g %% %(nc)s],
                          'Node ' || g, 'About node ' || g
                   from (select %(w)s::text[] as w, cardinality(%(w)s::text[]) as n) v,
                        generate_series(%(low)s::int, %(high)s::int) g,
                        lateral (select case when g %% 5 = 0 then 'page' else 'post' end as kind) k
                   returning *)
               insert into batch select * from made""",
            {
                "t": tenant,
                "w": WORDS,
                "n": args.nodes,
                "authors": ids["authors"],
                "na": len(ids["authors"]),
                "categories": ids["categories"],
                "nc": len(ids["categories"]),
                "low": low,
                "high": high,
            },
        )
        conn.execute(
            """insert into bodies (tenant_id, node_id, body)
               select b.tenant_id, b.id,
                      (select string_agg(v.w[1 + abs(hashtext(b.id::text || i)) %% v.n], ' ')
                       from generate_series(1, 60) i)
               from batch b, (select %(w)s::text[] as w, cardinality(%(w)s::text[]) as n) v""",
            {"w": WORDS},
        )
        conn.execute(
            """insert into node_tags (tenant_id, node_id, tag_id)
               select b.tenant_id, b.id, (%(tags)s::uuid[])[1 + (abs(hashtext(b.id::text)) + s) %% %(nt)s]
               from batch b, generate_series(0, 1) s""",
            {"tags": ids["tags"], "nt": len(ids["tags"])},
        )
        conn.commit()
        progress.add(high - low + 1)

    post = conn.execute(
        "insert into nodes (tenant_id, kind, title, slug, status, published_at, author_id) "
        "values (%s, 'post', 'The thread', 'the-thread', 'published', now() - interval '1 day', %s) returning id",
        (tenant, ids["authors"][0]),
    ).fetchone()[0]  # type: ignore[index]
    conn.execute("insert into bodies (tenant_id, node_id, body) values (%s, %s, 'Discuss.')", (tenant, post))
    conn.commit()

    progress = Progress("comments", args.comments)
    parents = [post]
    sizes = [round(args.comments * share) for share in GENERATIONS]
    sizes[-1] = args.comments - sum(sizes[:-1])
    for size in sizes:
        conn.execute("create temp table batch on commit drop as select * from nodes limit 0")
        # ordered by parent so each parent's replies are placed in one go; every row passes the thread trigger
        conn.execute(
            """with made as (
                   insert into nodes (tenant_id, kind, parent_id, author_id, status, published_at, moderation)
                   select %(t)s, 'comment', p.parent, (%(authors)s::uuid[])[1 + (g * 31) %% %(na)s], 'published',
                          now(), case when g %% 20 = 7 then 'pending' else 'approved' end
                   from generate_series(1, %(n)s::int) g,
                        lateral (select (%(parents)s::uuid[])[1 + floor(random() * %(np)s)::int + 0 * g] as parent) p
                   order by p.parent
                   returning *)
               insert into batch select * from made""",
            {
                "t": tenant,
                "authors": ids["authors"],
                "na": len(ids["authors"]),
                "n": size,
                "parents": parents,
                "np": len(parents),
            },
        )
        conn.execute(
            """insert into bodies (tenant_id, node_id, body)
               select b.tenant_id, b.id,
                      (select string_agg(v.w[1 + abs(hashtext(b.id::text || i)) %% v.n], ' ')
                       from generate_series(1, 20) i)
               from batch b, (select %(w)s::text[] as w, cardinality(%(w)s::text[]) as n) v""",
            {"w": WORDS},
        )
        parents = [r[0] for r in conn.execute("select id from batch")]
        conn.commit()
        progress.add(size)
    return _describe(conn, tenant, post, args.nodes + 1, args.comments)


def _ids(conn: psycopg.Connection[Any], tenant: Any) -> dict[str, list[Any]]:
    def column(query: str) -> list[Any]:
        return [r[0] for r in conn.execute(query, (tenant,))]

    return {
        "authors": column("select id from users where tenant_id = %s and role = 'manager' order by id"),
        "categories": column("select id from categories where tenant_id = %s order by id"),
        "tags": column("select id from tags where tenant_id = %s order by id"),
    }


# -- measuring -------------------------------------------------------------------------------------------------


def timed_calls(
    conn: psycopg.Connection[Any], query: bytes, params: tuple[Any, ...], count: int
) -> tuple[list[float], Any]:
    """Runs one statement `count` times (autocommit: one transaction each); seconds per call, last result."""
    times: list[float] = []
    result = None
    for _ in range(count):
        started = time.perf_counter()
        result = conn.execute(query, params).fetchone()[0]  # type: ignore[index]
        times.append(time.perf_counter() - started)
    return times, result


def summarize(name: str, times: list[float], note: str = "", **extra: Any) -> Row:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return Row(
        name,
        len(times),
        1000 * statistics.median(ordered),
        1000 * p99,
        1000 * statistics.fmean(ordered),
        note=note,
        extra=extra,
    )


def query(call: str) -> bytes:
    return CONTEXT.format(call=call).encode()


def measure_reads(db: Database, data: Dataset, args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    anonymous = (data.tenant_id, None, None)
    admin = (data.tenant_id, data.admin_id, "admin")
    with psycopg.connect(db.app_url, autocommit=True) as conn:
        tree = query("rustok.comment_tree(%s)::text")
        for who, context in (("anonymous", anonymous), ("admin", admin)):
            timed_calls(conn, tree, (*context, data.post_id), 3)  # warm-up
            times, text = timed_calls(conn, tree, (*context, data.post_id), args.fetches)
            count = len(json.loads(text))
            size = len(text.encode())
            if who == "anonymous":
                data.visible_comments, data.tree_bytes_anonymous = count, size
            else:
                data.tree_bytes_admin = size
            say(f"comment tree ({who}): {count:,} comments, {size / 1e6:.1f} MB of JSON per fetch")
            rows.append(summarize(f"comment tree, whole ({who})", times, f"{count:,} comments, {size / 1e6:.1f} MB"))
        page = query("rustok.list_comments(%s, 100, %s)::text")
        for label, cursor in (("first page", None), ("page after the middle", data.mid_cursor)):
            timed_calls(conn, page, (*anonymous, data.post_id, cursor), 3)
            times, _ = timed_calls(conn, page, (*anonymous, data.post_id, cursor), args.fetches)
            rows.append(summarize(f"comments, {label} (100, anonymous)", times))
        nodes = query("rustok.list_nodes(20, null, %s)::text")
        for label, filter_ in (("newest", None), ("by tag", json.dumps({"tag": WORDS[3]}))):
            timed_calls(conn, nodes, (*anonymous, filter_), 3)
            times, _ = timed_calls(conn, nodes, (*anonymous, filter_), args.fetches)
            rows.append(summarize(f"nodes list, {label} (20 of {data.nodes:,}, anonymous)", times))
    return rows


def measure_creates(db: Database, data: Dataset, args: argparse.Namespace, sessions: int) -> Row:
    create = query("rustok.create_node(%s::jsonb) ->> 'id'")
    per_session = max(1, args.creates // sessions)
    barrier = threading.Barrier(sessions + 1)
    times: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            author = data.authors[index % len(data.authors)]
            with psycopg.connect(db.app_url, autocommit=True) as conn:
                conn.execute(create, (data.tenant_id, author, "manager", _request(index, 0)))  # warm-up
                barrier.wait()
                mine: list[float] = []
                for i in range(per_session):
                    started = time.perf_counter()
                    conn.execute(create, (data.tenant_id, author, "manager", _request(index, i + 1))).fetchone()
                    mine.append(time.perf_counter() - started)
                with lock:
                    times.extend(mine)
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(sessions)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    row = summarize(f"create_node, {sessions} session{'s' if sessions > 1 else ''}", times)
    row.per_second = len(times) / elapsed
    return row


def _request(session: int, i: int) -> str:
    words = [WORDS[(session * 131 + i * 17 + k * 7) % len(WORDS)] for k in range(60)]
    return json.dumps(
        {
            "kind": "post",
            "title": f"Bench post {session}-{i} {words[0]} {words[1]}",
            "excerpt": " ".join(words[:12]),
            "body": " ".join(words),
            "tags": ["bench", words[2]],
            "status": "published" if i % 2 else "draft",
        }
    )


# -- report ----------------------------------------------------------------------------------------------------


def report(rows: list[Row], data: Dataset, info: dict[str, Any]) -> str:
    lines = [
        "",
        f"content-bench: tenant {TENANT!r}: {data.nodes:,} nodes; a post with {data.comments:,} comments "
        f"({data.visible_comments:,} visible anonymously); PostgreSQL {info['postgresql']}; {info['cpus']} CPUs; "
        f"load average {info['load_before']} before, {info['load_after']} after",
        "",
        f"| {'measurement':<58} | {'calls':>6} | {'p50 ms':>8} | {'p99 ms':>8} | {'mean ms':>8} | {'per s':>8} |",
        f"| {'-' * 58} | {'-' * 6}:| {'-' * 8}:| {'-' * 8}:| {'-' * 8}:| {'-' * 8}:|",
    ]
    for r in rows:
        per_second = f"{r.per_second:,.0f}" if r.per_second else ""
        lines.append(
            f"| {r.name:<58} | {r.calls:>6} | {r.p50_ms:>8.2f} | {r.p99_ms:>8.2f} | {r.mean_ms:>8.2f} "
            f"| {per_second:>8} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--nodes", type=int, default=100_000, help="pages and posts to load (default 100000)")
    p.add_argument("--comments", type=int, default=10_000, help="comments on the thread post (default 10000)")
    p.add_argument("--fetches", type=int, default=100, help="calls per read measurement (default 100)")
    p.add_argument("--creates", type=int, default=2_000, help="create_node calls per configuration (default 2000)")
    p.add_argument("--sessions", type=int, default=4, help="concurrent sessions for the second creation run")
    _harness.database_options(p, "bench-content", "5498")
    p.add_argument("--json", help="also write the results to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = Path(args.home).resolve()
    os.environ.setdefault("RUSTOK_MODULES", "content,blog")
    return _harness.run_with_database(args, lambda db: run(db, args, home), say)


def run(db: Database, args: argparse.Namespace, home: Path) -> int:
    data = load(db, args)
    info: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        info["postgresql"] = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
    say(f"measuring reads: {args.fetches} calls each")
    rows = measure_reads(db, data, args)
    for sessions in sorted({1, args.sessions}):
        say(f"measuring create_node: {args.creates} calls from {sessions} session(s)")
        rows.append(measure_creates(db, data, args, sessions))
    info["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(report(rows, data, info))
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "info": info,
        "data": asdict(data),
        "rows": [asdict(r) for r in rows],
        "args": vars(args),
    }
    _harness.write_results(home, "content_bench", result, args.json, say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
