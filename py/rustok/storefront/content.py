"""Blog list, post with its threaded comments, CMS pages by slug, the Atom feed and sitemap.xml. Posts and pages
come from the index (rustok.search_content, rustok.storefront_node, rustok.storefront_sitemap); comments are
not indexed and come from the blog module a page at a time (rustok.list_comments, which applies moderation: a
reader sees approved comments and their own; rustok.add_comment decides whether a new one waits for approval).
Bodies are rendered off the event loop (render.prepare_bodies) before the template prints them."""

from __future__ import annotations

from datetime import UTC, datetime

from psycopg.types.json import Jsonb
from starlette.responses import Response

from rustok.errors import NotFound, ValidationFailed
from rustok.ids import parse_id
from rustok.storefront.account import sign_in_first
from rustok.storefront.catalogue import query_string
from rustok.storefront.render import Body, html, prepare_bodies, xml
from rustok.storefront.routing import see_other
from rustok.storefront.visit import Visit

POSTS_PER_PAGE = 10
COMMENTS_PER_PAGE = 50
FEED_SIZE = 20
SITEMAP_MAX_URLS = 50_000
SITEMAP_FIXED_URLS = 3  # /, /products, /blog


async def blog(visit: Visit) -> Response:
    params = {k: visit.request.query_params.get(k, "") for k in ("q", "tag", "category")}
    after = visit.request.query_params.get("after") or None
    wanted = {"kind": "post", "tag": params["tag"] or None, "category": params["category"] or None}
    query = params["q"].strip() or None
    result = await visit.call(
        "rustok.search_content(%s, %s, %s, %s, %s)",
        (
            query,
            Jsonb({k: v for k, v in wanted.items() if v}),
            "relevance" if query else "newest",
            POSTS_PER_PAGE,
            after,
        ),
    )
    return html(
        "blog.html",
        visit.context(
            result=result,
            params=params,
            paged=after is not None,
            meta_title="Blog",
            qs=lambda **changes: query_string(params, **changes),
        ),
    )


async def _node(visit: Visit, kind: str) -> dict[str, object]:
    slug = str(visit.request.path_params["slug"])[:255]
    node: dict[str, object] | None = await visit.call("rustok.storefront_node(%s, %s)", (kind, slug))
    if node is None:
        raise NotFound(f"no such {kind}", {"slug": slug})
    return node


def _body(node: dict[str, object]) -> Body:
    body, format = node.get("body"), node.get("bodyFormat")
    return (str(body) if body is not None else None, str(format) if format is not None else None)


async def post(visit: Visit) -> Response:
    """The post and one page of its thread (COMMENTS_PER_PAGE, in thread order, "more" after the last one's
    cursor): a page renders at most that many bodies, however long the thread."""
    node = await _node(visit, "post")
    after = visit.request.query_params.get("after") or None
    thread = await visit.call("rustok.list_comments(%s, %s, %s)", (parse_id(str(node["id"])), COMMENTS_PER_PAGE, after))
    comments = [edge["node"] for edge in thread["edges"]]
    bodies = [_body(node), *((c["body"], "markdown") for c in comments)]
    return html(
        "post.html",
        visit.context(
            node=node,
            comments=comments,
            more=thread["pageInfo"]["endCursor"] if thread["pageInfo"]["hasNextPage"] else None,
            rendered=await prepare_bodies(bodies),
            meta_title=node.get("metaTitle") or node["title"],
            meta_description=node.get("metaDescription") or node.get("excerpt") or "",
            canonical=visit.url(f"/blog/{node['slug']}"),
        ),
    )


async def add_comment(visit: Visit) -> Response:
    slug = str(visit.request.path_params["slug"])
    if not visit.signed_in:
        return sign_in_first(visit, f"/blog/{slug}")
    node = await _node(visit, "post")
    body = visit.form.get("body", "").strip()
    if not body:
        raise ValidationFailed("write something first", {"field": "body"})
    parent = visit.form.get("parent") or None
    comment = await visit.call(
        "rustok.add_comment(%s, %s, %s)",
        (parse_id(str(node["id"])), parse_id(parent) if parent else None, body),
    )
    return see_other(visit, f"/blog/{node['slug']}#comment-{comment['id']}")


async def page(visit: Visit) -> Response:
    node = await _node(visit, "page")
    return html(
        "page.html",
        visit.context(
            node=node,
            rendered=await prepare_bodies([_body(node)]),
            meta_title=node.get("metaTitle") or node["title"],
            meta_description=node.get("metaDescription") or node.get("excerpt") or "",
            canonical=visit.url(f"/pages/{node['slug']}"),
        ),
    )


def _public(response: Response) -> Response:
    """The same answer for every reader of this host (its links are built from the Host header)."""
    response.headers["cache-control"] = "public, max-age=300"
    response.headers["vary"] = "Host"
    return response


def _origin(visit: Visit) -> str:
    return str(visit.request.base_url).rstrip("/") + visit.base


async def feed(visit: Visit) -> Response:
    result = await visit.call("rustok.search_content(null, %s, 'newest', %s)", (Jsonb({"kind": "post"}), FEED_SIZE))
    posts = [edge["node"] for edge in result["edges"]]
    updated = max((p["publishedAt"] for p in posts), default=datetime.now(UTC).isoformat())
    context = visit.context(posts=posts, origin=_origin(visit), updated=updated)
    response = xml("feed.xml", context, "application/atom+xml; charset=utf-8")
    return _public(response)


async def sitemap(visit: Visit) -> Response:
    """At most SITEMAP_MAX_URLS <url>s in all (the protocol's limit per file): the three fixed pages, then
    pages, posts and products as long as room is left. A larger shop would need a sitemap index: not yet."""
    room = SITEMAP_MAX_URLS - SITEMAP_FIXED_URLS
    urls = await visit.call("rustok.storefront_sitemap(%s)", (room,))
    for kind in ("pages", "posts", "products"):
        urls[kind] = urls[kind][: max(room, 0)]
        room -= len(urls[kind])
    response = xml("sitemap.xml", visit.context(urls=urls, origin=_origin(visit)), "application/xml; charset=utf-8")
    return _public(response)
