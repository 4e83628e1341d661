"""Content bodies to safe HTML: the one renderer the storefront and the admin's preview share.

Markdown is rendered by markdown-it (CommonMark, raw HTML allowed so authors can embed markup) and the
result, like any body stored as `html`, is sanitised by nh3 (an allow-list: no scripts, no event handlers,
no `javascript:` links). Links get `rel="noopener noreferrer nofollow"`.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "s",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},  # language-xyz from fenced code blocks
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
_URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").enable("strikethrough")


def sanitize(html: str) -> str:
    """Allow-listed HTML: what survives can be printed into a page as it is."""
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def render(body: str, format: str = "markdown") -> str:
    """A stored body (`format` is the column `node_bodies.format`: markdown or html) as safe HTML."""
    html = _markdown().render(body) if format == "markdown" else body
    return sanitize(html)
