"""How a storefront page is served: the Visit is opened (tenant, session), a POST's form is read and its CSRF
token checked before anything else, the handler runs, and any error becomes a friendly HTML page with its
code in words (400 bad input, 403, 404, 409) — never a trace; a session whose account was switched off or
deleted is dropped with it. Cookies the visit changed go on every answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from rustok.api.errors import log_internal, request_id
from rustok.errors import Internal, RusToKError, Unauthenticated
from rustok.storefront.render import error_page, error_status
from rustok.storefront.visit import AUTH, Site, Visit, check_csrf, read_form

Handler = Callable[[Visit], Awaitable[Response]]

# Pages carry session state (CSRF tokens, the signed-in user): never stored by shared caches. Scripts, styles and
# frames only from the shop itself; images in bodies may come from elsewhere (nh3 allows http/https only).
HEADERS = {
    "cache-control": "private, no-cache",
    "content-security-policy": "default-src 'self'; img-src 'self' https: http: data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def page(site: Site, path: str, handler: Handler, methods: tuple[str, ...] = ("GET",), session: bool = True) -> Route:
    async def endpoint(request: Request) -> Response:
        visit: Visit | None = None
        try:
            visit = await site.open(request, session)
            if request.method == "POST":
                visit.form = await read_form(request)
                check_csrf(visit)
            response = await handler(visit)
        except RusToKError as exc:
            if isinstance(exc, Internal):
                log_internal(exc, request_id(request), f"storefront {request.method} {request.url.path}")
            if visit is not None and isinstance(exc, Unauthenticated) and exc.details.get("reason") == "user":
                visit.cookies[AUTH] = None  # the account was switched off or deleted: the session is over
            context = visit.context() if visit is not None else {"base": "", "shop": {}}
            response = error_page(context, error_status(exc), exc.code, request_id(request))
        except Exception as exc:
            log_internal(exc, request_id(request), f"storefront {request.method} {request.url.path}")
            context = visit.context() if visit is not None else {"base": "", "shop": {}}
            response = error_page(context, 500, "INTERNAL", request_id(request))
        if visit is not None:
            visit.apply_cookies(response)
        if "set-cookie" in response.headers and "public" in response.headers.get("cache-control", ""):
            response.headers["cache-control"] = HEADERS["cache-control"]  # a shared cache must not keep a cookie
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return Route(path, endpoint, methods=list(methods), name=None)


def see_other(visit: Visit, path: str) -> RedirectResponse:
    """After a POST: 303 to a page of this shop."""
    return RedirectResponse(visit.url(path), status_code=303)
