"""One storefront request: its tenant (by the /t/{slug}/ prefix or by the host name), who is signed in (the
session cookie's access token, rotated through the refresh token when it has expired), its cart, currency and
CSRF token, and the cookies to send back.

Cookies (HttpOnly, SameSite=Lax, path = the shop's prefix; Secure over https — as a trusted proxy's
X-Forwarded-Proto reports it — or always with RUSTOK_SECURE_COOKIES=always):
`rk_sid` a random session id, `rk_auth` "<access token>~<refresh token>", `rk_cart` the cart id, `rk_cur` the
chosen currency. The CSRF token of every form is HMAC-SHA256(key derived from the JWT secret, session id)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any, LiteralString
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from rustok.api.bodies import read_body
from rustok.api.context import RequestContext
from rustok.api.errors import request_id
from rustok.api.services import Services
from rustok.api.tenancy import TenantCache
from rustok.auth.refresh import parse_refresh_token
from rustok.auth.service import AuthService
from rustok.config import stored_secret
from rustok.errors import Forbidden, NotFound, Unauthenticated

SID, AUTH, CART, CURRENCY = "rk_sid", "rk_auth", "rk_cart", "rk_cur"
MAX_FORM_BYTES = 32 * 1024
_YEAR = 365 * 86400


@dataclass
class Visit:
    request: Request
    services: Services
    ctx: RequestContext
    base: str  # the shop's URL prefix: "/t/<slug>" or "" (tenant by host name)
    shop: dict[str, Any]
    sid: str
    csrf: str
    currency: str | None
    cart_id: str | None
    refresh_token: str | None
    form: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str | None] = field(default_factory=dict)  # to set (None: delete) on the response

    @property
    def signed_in(self) -> bool:
        return self.ctx.signed_in

    async def call(self, call: LiteralString, params: tuple[Any, ...] = ()) -> Any:
        return await self.services.gateway.call(self.ctx, call, params)

    async def call_many(self, calls: tuple[LiteralString, ...], params: tuple[Any, ...] = ()) -> list[Any]:
        return await self.services.gateway.call_many(self.ctx, calls, params)

    def url(self, path: str) -> str:
        return self.base + path

    def context(self, **values: Any) -> dict[str, Any]:
        """What every template gets: the shop, links, session state, the CSRF token."""
        return {
            "shop": self.shop,
            "base": self.base,
            "csrf": self.csrf,
            "currency": self.currency,
            "signed_in": self.signed_in,
            "minor_units": {c["code"]: c["minorUnits"] for c in self.shop.get("currencies", [])},
            **values,
        }

    def apply_cookies(self, response: Response) -> None:
        secure = self.services.settings.secure_cookies == "always" or self.request.url.scheme == "https"
        path = (self.base or "") + "/"
        for name, value in self.cookies.items():
            if value is None:
                response.delete_cookie(name, path=path, secure=secure, httponly=True, samesite="lax")
            else:
                response.set_cookie(
                    name,
                    value,
                    max_age=self.services.settings.refresh_ttl if name == AUTH else _YEAR,
                    path=path,
                    secure=secure,
                    httponly=True,
                    samesite="lax",
                )


class Site:
    """Builds a Visit for each request; caches host → tenant and the shop's name and currencies briefly (until
    the next tenant event at most: api/tenancy.py, TenantCache)."""

    def __init__(self, services: Services, auth: AuthService) -> None:
        self.services = services
        self.auth = auth
        secret = services.settings.jwt_secret or stored_secret(services.settings, "jwt_secret")
        self._csrf_key = hmac.new(secret.encode(), b"rustok storefront csrf", hashlib.sha256).digest()
        self._hosts: TenantCache[str, uuid.UUID | None] = TenantCache(services.tenants.changes)
        self._shops: TenantCache[uuid.UUID, dict[str, Any]] = TenantCache(services.tenants.changes)

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._csrf_key, sid.encode(), hashlib.sha256).hexdigest()

    async def tenant(self, request: Request) -> tuple[uuid.UUID, str]:
        """The tenant and URL prefix of a request; raises NotFound for an unknown slug or host, and for /t/{slug}
        on a tenant's own host name (a merchant's domain serves that merchant's shop only, at /)."""
        host = (request.headers.get("host") or "").lower()[:255]
        by_host = await self._tenant_by_host(host)
        slug = request.path_params.get("tenant")
        if slug is not None:
            if by_host is not None:
                raise NotFound("no such page on this shop's host", {"host": host})
            return await self.services.tenants.tenant_by_slug(str(slug)), f"/t/{slug}"
        if by_host is None:
            raise NotFound("no shop at this address", {"host": host})
        return by_host, ""

    async def _tenant_by_host(self, host: str) -> uuid.UUID | None:
        """The tenant whose `domains` setting lists the host name (cached briefly), or None."""
        return await self._hosts.get(
            host,
            lambda: self.services.gateway.call(RequestContext(), "rustok.storefront_tenant_by_host(%s)", (host,)),
        )

    async def shop(self, tenant_id: uuid.UUID, rid: str) -> dict[str, Any]:
        async def load() -> dict[str, Any]:
            context = RequestContext(tenant_id, request_id=rid)
            shop = await self.services.gateway.call(context, "rustok.storefront_shop()")
            return shop or {}

        return await self._shops.get(tenant_id, load)

    async def open(self, request: Request, session: bool = True) -> Visit:
        """session False: a response for everyone (feed, sitemap): no session, no signed-in user, no cookie."""
        rid = request_id(request)
        tenant_id, base = await self.tenant(request)
        cookies: dict[str, str | None] = {}
        sid = request.cookies.get(SID) or ""
        if len(sid) != 32 or not sid.isalnum():
            sid = secrets.token_hex(16)
            if session:
                cookies[SID] = sid
        if session:
            ctx, refresh = await self._signed_in(request, tenant_id, rid, cookies)
        else:  # the same answer for everyone: no user, no token refresh, no cookie
            ctx, refresh = RequestContext(tenant_id, request_id=rid), None
        shop = await self.shop(tenant_id, rid)
        codes = [c["code"] for c in shop.get("currencies", [])]
        wanted = request.query_params.get("currency") or request.cookies.get(CURRENCY)
        currency = wanted if wanted in codes else (codes[0] if codes else None)
        if session and request.query_params.get("currency") and currency == wanted:
            cookies[CURRENCY] = currency
        return Visit(
            request=request,
            services=self.services,
            ctx=ctx,
            base=base,
            shop=shop,
            sid=sid,
            csrf=self.csrf_token(sid),
            currency=currency,
            cart_id=request.cookies.get(CART) or None,
            refresh_token=refresh,
            cookies=cookies,
        )

    async def _signed_in(
        self, request: Request, tenant_id: uuid.UUID, rid: str, cookies: dict[str, str | None]
    ) -> tuple[RequestContext, str | None]:
        """The session's user when its tokens belong to this tenant; an expired access token is replaced
        through the refresh token (the new pair goes into the cookie); a refused one signs the visitor out. Two
        requests refreshing the same session at once both succeed (rustok._refresh_grace); an error that is not
        a refusal (RATE_LIMITED, UNAVAILABLE) fails the request and leaves the cookie alone."""
        anonymous = RequestContext(tenant_id, request_id=rid)
        access, _, refresh = (request.cookies.get(AUTH) or "").partition("~")
        if not access or not refresh:
            return anonymous, None
        try:
            if parse_refresh_token(refresh)[0] != tenant_id:
                return anonymous, None  # another shop's session on a shared host: not ours to touch
            claims = self.services.tokens.decode(access)
        except Unauthenticated as exc:
            if exc.details.get("reason") != "expired":
                cookies[AUTH] = None
                return anonymous, None
            try:
                pair = await self.auth.refresh(refresh, None, rid)
            except Unauthenticated:  # refused for good; anything else (busy, unreachable) keeps the session
                cookies[AUTH] = None
                return anonymous, None
            cookies[AUTH] = session_cookie(pair)
            claims = self.services.tokens.decode(pair["accessToken"])
            refresh = pair["refreshToken"]
        if claims.tenant_id != tenant_id:
            return anonymous, None
        return RequestContext(tenant_id, claims.user_id, claims.role, rid), refresh


def session_cookie(signed_in: dict[str, Any]) -> str:
    """The rk_auth value of a sign-in or refresh answer (no character that needs quoting in a cookie)."""
    return f"{signed_in['accessToken']}~{signed_in['refreshToken']}"


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (at most 32 KiB), the first value of each field."""
    raw = await read_body(request, MAX_FORM_BYTES)
    form: dict[str, str] = {}
    for key, value in parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True):
        form.setdefault(key, value)
    return form


def check_csrf(visit: Visit) -> None:
    """The form's token must be this session's (an existing session: a new one has no form yet)."""
    sent = visit.form.get("csrf", "")
    if SID in visit.cookies or not hmac.compare_digest(sent.encode(), visit.csrf.encode()):
        raise Forbidden("the form's CSRF token is missing or not this session's", {"reason": "csrf"})
