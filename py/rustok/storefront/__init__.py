"""The server-rendered storefront (docs/storefront.md): HTML pages per tenant, at /t/{slug}/… and, for a host
name listed in a tenant's `domains` setting, at the root. Reads come from the index tables; writes go through
the SQL functions and the auth service the API uses."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from rustok.api.services import Services
from rustok.auth.service import AuthService
from rustok.storefront import catalogue, checkout, content, shop
from rustok.storefront.account import Accounts
from rustok.storefront.routing import page
from rustok.storefront.visit import Site

STATIC = Path(__file__).parent / "static"


def routes(services: Services, auth: AuthService) -> list[BaseRoute]:
    site = Site(services, auth)
    accounts = Accounts(auth)
    post = ("POST",)
    pages: list[Route] = [
        page(site, "/", catalogue.home),
        page(site, "/products", catalogue.catalogue),
        page(site, "/products/{handle}", catalogue.product),
        page(site, "/cart", shop.view_cart),
        page(site, "/cart/lines", shop.add_line, post),
        page(site, "/cart/lines/{line}", shop.update_line, post),
        page(site, "/checkout", checkout.checkout_form),
        page(site, "/checkout", checkout.place_order, post),
        page(site, "/checkout/address", checkout.set_address, post),
        page(site, "/checkout/shipping", checkout.set_shipping, post),
        page(site, "/signin", accounts.signin_form),
        page(site, "/signin", accounts.signin, post),
        page(site, "/register", accounts.register_form),
        page(site, "/register", accounts.register, post),
        page(site, "/signout", accounts.signout, post),
        page(site, "/account", accounts.account),
        page(site, "/account/name", accounts.set_name, post),
        page(site, "/account/orders/{order}", accounts.order),
        page(site, "/blog", content.blog),
        page(site, "/blog/{slug}", content.post),
        page(site, "/blog/{slug}/comments", content.add_comment, post),
        page(site, "/pages/{slug}", content.page),
        page(site, "/feed.xml", content.feed, session=False),  # cacheable by anyone: no Set-Cookie
        page(site, "/sitemap.xml", content.sitemap, session=False),
    ]
    return [
        Mount("/storefront-static", app=StaticFiles(directory=STATIC), name="storefront-static"),
        Mount("/t/{tenant}", routes=pages),
        *pages,  # a tenant's own host name (tenant settings `domains`)
    ]
