"""Who is at the other end of the request being served: its client address, for what is budgeted per client
(sign-in and registration, docs/auth.md "Budgets"; the password-hashing queue's share per client).

The address is the ASGI scope's `client`: the peer of the connection, or, behind a proxy that uvicorn trusts
(`FORWARDED_ALLOW_IPS`), the address the proxy reports in `X-Forwarded-For` (docs/deploy.md). What a trusted
proxy reports that is not an address ("unknown", empty, garbage) never means "no client": `scope_client` falls
back to the connection's own peer, which `Forwarded` keeps in the scope before uvicorn's proxy-header handling
replaces it (`rustok serve` runs that handling inside the app for this). `ClientAddress`
wraps the whole application and keeps it in a context variable for the request's duration (tasks it starts
inherit it), so the auth code reads it wherever the request came in: REST, GraphQL over POST, GET and the
WebSocket, the storefront's forms."""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

_client: ContextVar[str | None] = ContextVar("rustok_client", default=None)

PEER = "rustok.peer"  # the scope key of the connection's own peer, before a trusted proxy's X-Forwarded-For
IPV6_PREFIX = 64  # one subscriber's usual allocation: addresses within it cost an attacker nothing to rotate


def client_key(host: str | None) -> str | None:
    """The text a budget is kept under for this address: an IPv4 address (an IPv4-mapped IPv6 one counts as
    its IPv4 address), or the /64 network of an IPv6 one; None for what is not an address (a Unix socket's
    peer, a test client's name): such requests share the tenant's budget only."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # without an IPv6 zone index
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def scope_client(scope: Scope) -> str | None:
    """The one rule for every user of the client key (auth budgets, the hashing share, the preparation share):
    the client_key of the scope's client, else of the connection's own peer (a trusted proxy that reported
    something other than an address); None only when neither is an address."""
    for peer in (scope.get("client"), scope.get(PEER)):
        if peer and (key := client_key(peer[0])) is not None:
            return key
    return None


def current_client() -> str | None:
    """The budget key of the request being served (client_key of its address); None outside a request."""
    return _client.get()


class ClientAddress:
    """Sets current_client() for every HTTP request and WebSocket connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state = getattr(app, "state", None)  # the Starlette app's, as the wrappers around it keep it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = _client.set(scope_client(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            _client.reset(token)


class Forwarded:
    """uvicorn's proxy-header handling (X-Forwarded-For and -Proto from `trusted_hosts`), keeping the
    connection's own peer in the scope (PEER) for scope_client's fallback. `rustok serve` uses this in place of
    uvicorn's own (proxy_headers=False), which would replace the peer before the app sees it."""

    def __init__(self, app: ASGIApp, trusted_hosts: str) -> None:
        self.proxied = ProxyHeadersMiddleware(app, trusted_hosts)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope[PEER] = scope.get("client")
        await self.proxied(scope, receive, send)  # type: ignore[arg-type]
