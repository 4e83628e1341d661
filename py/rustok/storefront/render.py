"""Templates and responses: Jinja2 with autoescape on for every template (HTML and XML), so anything printed is
escaped unless a view marks it safe — and the only thing a view marks safe is a body sanitised by
`rustok.markdown.render`. Error pages show the error code in words and the request id, never a trace."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.responses import HTMLResponse, Response

from rustok import markdown
from rustok.errors import Conflict, InvalidId, RusToKError, ValidationFailed
from rustok.money import format_money

TEMPLATES = Path(__file__).parent / "templates"


@pass_context
def money(context: Context, amount: int | None, currency: str | None) -> str:
    """Minor units as "49.00 EUR" by the one rule (rustok/money.py); the shop's currencies give the digits."""
    return format_money(amount, currency, context.get("minor_units", {}))


_RENDERED: OrderedDict[tuple[bytes, str], str] = OrderedDict()  # sha256 of a body, its format -> HTML
_RENDERED_MAX = 512


def body_html(body: str | None, format: str | None = "markdown") -> Markup:
    """A stored body rendered and sanitised: the one value templates print unescaped. Rendering is CPU work
    done inline, so the last 512 distinct bodies are kept rendered (a popular post renders once per process,
    not once per reader)."""
    text, kind = body or "", format or "markdown"
    key = (hashlib.sha256(text.encode()).digest(), kind)
    found = _RENDERED.get(key)
    if found is None:
        found = _RENDERED[key] = markdown.render(text, kind)
        if len(_RENDERED) > _RENDERED_MAX:
            _RENDERED.popitem(last=False)
    else:
        _RENDERED.move_to_end(key)
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
