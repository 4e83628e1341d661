"""Sign-in, registration, sign-out and the account page (order history, the customer's name), through the auth
service the REST endpoints use (rustok.begin_login/complete_login, register_user, revoke_refresh_token),
rustok.list_orders and rustok.set_display_name."""

from __future__ import annotations

import logging

from pydantic import ValidationError
from starlette.responses import Response

from rustok.auth.schemas import LoginRequest, RegisterRequest
from rustok.auth.service import AuthService
from rustok.errors import NotFound, RusToKError
from rustok.ids import parse_id
from rustok.storefront.render import error_status, html
from rustok.storefront.routing import see_other
from rustok.storefront.visit import AUTH, Visit, session_cookie

log = logging.getLogger("rustok.storefront")


def _next(visit: Visit) -> str:
    """Where to go after signing in: a path of this shop only (never another site)."""
    wanted = visit.form.get("next") or visit.request.query_params.get("next") or "/account"
    return wanted if wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted else "/account"


def sign_in_first(visit: Visit, path: str) -> Response:
    return see_other(visit, f"/signin?next={path}")


class Accounts:
    def __init__(self, auth: AuthService) -> None:
        self.auth = auth

    async def signin_form(self, visit: Visit) -> Response:
        return html("signin.html", visit.context(next=_next(visit), form={}, meta_title="Sign in"))

    async def register_form(self, visit: Visit) -> Response:
        return html("register.html", visit.context(next=_next(visit), form={}, meta_title="Create an account"))

    async def signin(self, visit: Visit) -> Response:
        return await self._enter(visit, "signin.html")

    async def register(self, visit: Visit) -> Response:
        return await self._enter(visit, "register.html")

    async def _enter(self, visit: Visit, template: str) -> Response:
        fields = {
            "tenant": visit.shop.get("slug"),
            "email": visit.form.get("email", "").strip(),
            "password": visit.form.get("password", ""),
        }
        if template == "register.html":  # the name others see with the customer's comments
            fields["displayName"] = visit.form.get("displayName", "").strip() or None
        rid = visit.ctx.request_id
        try:
            if template == "register.html":
                result = await self.auth.register(RegisterRequest.model_validate(fields), None, rid)
            else:
                result = await self.auth.login(LoginRequest.model_validate(fields), None, rid)
        except (ValidationError, RusToKError) as exc:  # the form again, with the email typed and the error
            code = exc.code if isinstance(exc, RusToKError) else "VALIDATION_FAILED"
            status = error_status(exc) if isinstance(exc, RusToKError) else 400
            title = "Create an account" if template == "register.html" else "Sign in"
            typed = {"email": fields["email"], "displayName": fields.get("displayName")}
            context = visit.context(next=_next(visit), form=typed, error=code, meta_title=title)
            return html(template, context, status=status)
        visit.cookies[AUTH] = session_cookie(result)
        return see_other(visit, _next(visit))

    async def signout(self, visit: Visit) -> Response:
        """The cookie goes whatever happens; a revocation that fails is logged (the token lapses on its own)."""
        visit.cookies[AUTH] = None
        if visit.refresh_token:
            try:
                await self.auth.logout(visit.refresh_token, None, None, visit.ctx.request_id)
            except RusToKError as exc:
                log.warning("sign-out could not revoke the session: %s [request %s]", exc.code, visit.ctx.request_id)
        return see_other(visit, "/")

    async def account(self, visit: Visit) -> Response:
        if not visit.signed_in:
            return sign_in_first(visit, "/account")
        after = visit.request.query_params.get("after") or None
        me, orders = await visit.call_many(("rustok.me()", "rustok.list_orders(20, %s)"), (after,))
        return html("account.html", visit.context(me=me, orders=orders, meta_title="Your account"))

    async def set_name(self, visit: Visit) -> Response:
        """The signed-in customer changes the name shown with their comments (empty removes it)."""
        if not visit.signed_in:
            return sign_in_first(visit, "/account")
        await visit.call("rustok.set_display_name(%s)", (visit.form.get("displayName", ""),))
        return see_other(visit, "/account")

    async def order(self, visit: Visit) -> Response:
        order_id = str(visit.request.path_params["order"])
        if not visit.signed_in:
            return sign_in_first(visit, f"/account/orders/{order_id}")
        found = await visit.call("rustok.order_by_id(%s)", (parse_id(order_id),))
        if found is None:
            raise NotFound("no such order", {"order": order_id})
        return html("order.html", visit.context(order=found, placed=False, meta_title=f"Order {found['displayId']}"))
