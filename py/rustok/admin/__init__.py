"""The admin: a browser app at /admin that talks only to the public GraphQL API (POST /graphql, and the
graphql-transport-ws subscription at /graphql for the live event feed). Plain ES modules and one CSS file
under static/, served as they are: no build step, nothing fetched from elsewhere at run time (the Content
Security Policy below allows this origin only). See docs/admin.md."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static"

# Same origin only: scripts, styles, images and the API (HTTP and WebSocket); the markdown preview's HTML
# is sanitised by the server, and no inline script or style runs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def routes() -> list[BaseRoute]:
    async def to_the_page(request: Request) -> Response:
        return RedirectResponse("/admin/", status_code=308)

    return [
        Route("/admin", to_the_page, methods=["GET", "HEAD"]),
        Mount("/admin", app=_Hardened(StaticFiles(directory=STATIC_DIR, html=True)), name="admin"),
    ]


class _Hardened:
    """Adds the admin's security headers to every response of the static files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"no-cache"),
                ]
            await send(message)

        await self.app(scope, receive, send_hardened)
