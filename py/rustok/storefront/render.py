"""Templates and responses: Jinja2 with autoescape on for every template (HTML and XML), so anything printed is
escaped unless a view marks it safe — and the only thing a view marks safe is a body sanitised by
`rustok.markdown.render`. Error pages show the error code in words and the request id, never a trace."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse, Response

from rustok import markdown
from rustok.errors import Conflict, InvalidId, RusToKError, ValidationFailed
from rustok.money import format_money

TEMPLATES = Path(__file__).parent / "templates"


@pass_context
def money(context: Context, amount: int | None, currency: str | None) -> str:
    """Minor units as "49.00 EUR" by the one rule (rustok/money.py); the shop's currencies give the digits."""
    return format_money(amount, currency, context.get("minor_units", {}))


RENDER_CACHE_BYTES = 32 * 1024 * 1024  # rendered HTML kept, counted in characters
RENDER_SECONDS = 0.2  # rendering one page may spend besides its own body (then one body more at most)
_RENDERER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rustok-render")

Body = tuple[str | None, str | None]  # a stored body and its format (markdown or html)
Key = tuple[bytes, str]  # sha256 of a body, its format


class RenderedCache:
    """HTML by body hash, least recently used dropped while it holds more than `limit` characters (so many
    long bodies cannot grow the process, as a count bound let them)."""

    def __init__(self, limit: int = RENDER_CACHE_BYTES) -> None:
        self.limit = limit
        self.size = 0
        self._html: OrderedDict[Key, str] = OrderedDict()

    def get(self, key: Key) -> str | None:
        found = self._html.get(key)
        if found is not None:
            self._html.move_to_end(key)
        return found

    def put(self, key: Key, html: str) -> None:
        if key in self._html:
            return
        self._html[key] = html
        self.size += len(html)
        while self.size > self.limit and len(self._html) > 1:
            _, dropped = self._html.popitem(last=False)
            self.size -= len(dropped)

    def clear(self) -> None:
        self._html.clear()
        self.size = 0


RENDERED = RenderedCache()


def _key(body: str | None, format: str | None) -> Key:
    return hashlib.sha256((body or "").encode()).digest(), format or "markdown"


async def prepare_bodies(bodies: list[Body], seconds: float = RENDER_SECONDS) -> dict[Key, str]:
    """The HTML of each body, by body hash, for one page: from the cache, or rendered in the renderer's one
    thread, never on the event loop (markdown-it costs up to ~50 µs per character: 40 long comments held
    every request 10 s). The first body (the page's own, written by staff) is always rendered; the others
    only while `seconds` of rendering last (a page costs at most that plus one body), the rest shown as plain
    text this time and rendered by later views, once the cache holds the first ones. A body repeated
    anywhere renders once."""
    wanted = {_key(body, format): (body or "", format or "markdown") for body, format in bodies}
    ready = {key: html for key in wanted if (html := RENDERED.get(key)) is not None}
    missing = [(index, key, wanted[key]) for index, key in enumerate(wanted) if key not in ready]
    if missing:
        rendered = await asyncio.get_running_loop().run_in_executor(_RENDERER, _render_within, missing, seconds)
        for key, html in rendered.items():
            RENDERED.put(key, html)
        ready.update(rendered)
    return {key: ready.get(key) or plain_text(text) for key, (text, _) in wanted.items()}


def _render_within(missing: list[tuple[int, Key, tuple[str, str]]], seconds: float) -> dict[Key, str]:
    """In the renderer's thread: the page's own body (index 0), then the others until `seconds` have passed."""
    deadline = time.monotonic() + seconds
    rendered: dict[Key, str] = {}
    for index, key, (text, kind) in missing:
        if index > 0 and time.monotonic() > deadline:
            break
        rendered[key] = markdown.render(text, kind)
    return rendered


def plain_text(text: str) -> str:
    """A body shown as it was written, escaped (no markup), its line breaks kept."""
    return f'<p class="plain">{escape(text)}</p>'


@pass_context
def body_html(context: Context, body: str | None, format: str | None = "markdown") -> Markup:
    """A stored body rendered and sanitised: the one value templates print unescaped. The view prepared it
    (`prepare_bodies`, off the event loop) into the context's `rendered`; a body it did not prepare is a
    mistake in the view, refused rather than rendered on the loop."""
    key = _key(body, format)
    found = context.get("rendered", {}).get(key)
    if found is None:
        raise LookupError("a body printed by a template must be prepared by its view (prepare_bodies)")
    return Markup(found)


def words(code: str) -> str:
    """INSUFFICIENT_STOCK -> "Insufficient stock"."""
    return code.replace("_", " ").capitalize()


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "xml"), default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["money"] = money
    env.filters["body"] = body_html
    env.filters["words"] = words
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(context)


def html(template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return HTMLResponse(render(template, context), status_code=status)


def xml(template: str, context: dict[str, Any], media_type: str) -> Response:
    return Response(render(template, context), media_type=media_type)


def error_status(error: RusToKError) -> int:
    """Bad input is 400 (the API's 422 too), conflicts 409, the rest keep the API's status."""
    if isinstance(error, ValidationFailed | InvalidId):
        return 400
    if isinstance(error, Conflict):
        return 409
    return error.http_status


def error_page(context: dict[str, Any], status: int, code: str, request_id: str) -> HTMLResponse:
    return html("error.html", {**context, "status": status, "code": code, "request_id": request_id}, status)
