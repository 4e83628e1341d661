"""The storefront's read pages through the ASGI app: tenant by prefix and by host name, home, catalogue (search,
filters, facets, sort, pages), product, blog, post, CMS page, feed, sitemap, SEO meta, escaping, 404s."""

from __future__ import annotations

import html as markup
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from rustok.db import Database
from tests.py.graphql_support import Api
from tests.py.storefront_support import HOST, HOSTILE, Shop, seed_shop


@pytest.fixture(scope="module")
def shop(db: Database) -> Shop:
    return seed_shop(db)


@pytest.fixture(scope="module")
def api(db: Database, shop: Shop) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def get(api: Api, path: str, status: int = 200, **kwargs: object) -> str:
    response = api.client.get(path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    return response.text


def titles(html: str) -> list[str]:
    found = re.findall(r'data-testid="product-card">\s*<a href="[^"]+"><h3>([^<]+)</h3>', html)
    return [markup.unescape(t) for t in found]


def test_home_by_prefix_shows_featured_products_and_latest_posts(api: Api, shop: Shop) -> None:
    html = get(api, f"{shop.base}/")
    assert titles(html) == ["Linen Shirt"], "only the product tagged featured"
    assert "Hello World" in html and "Secret draft" not in html
    assert "49.00 EUR" in html, "the lowest price in the default (first) currency"


def test_tenant_by_host_name(api: Api, shop: Shop) -> None:
    html = get(api, "/", headers={"host": HOST})
    assert titles(html) == ["Linen Shirt"]
    assert 'href="/products/linen-shirt"' in html, "links have no prefix on the tenant's own host"
    assert get(api, "/products", headers={"host": "nobody.example"}, status=404)
    assert get(api, "/t/no-such-shop/", status=404)


def test_catalogue_pages_through_every_product_with_keyset_cursors(api: Api, shop: Shop) -> None:
    seen: list[str] = []
    path = f"{shop.base}/products?sort=title"
    while True:
        html = get(api, path)
        seen += titles(html)
        found = re.search(r'id="next-page" rel="next" href="([^"]+)"', html)
        if not found:
            break
        path = found.group(1).replace("&amp;", "&")
    assert len(seen) == 33 and len(set(seen)) == 33, "30 socks, the shirt, the mug, the scarf, each once; no draft"
    assert seen == sorted(seen, key=str.lower)
    assert 'data-count="33"' in get(api, f"{shop.base}/products")
    in_stock = get(api, f"{shop.base}/products?in_stock=1")
    assert 'data-count="32"' in in_stock and "Sold-out Scarf" not in in_stock
    assert "Out of stock" in get(api, f"{shop.base}/products?tag=winter")


def test_catalogue_search_filter_and_sort(api: Api, shop: Shop) -> None:
    assert titles(get(api, f"{shop.base}/products?q=linen")) == ["Linen Shirt"]
    cheap_first = titles(get(api, f"{shop.base}/products?tag=socks&sort=price_asc"))
    assert cheap_first[:2] == ["Sock 01", "Sock 02"] and len(cheap_first) == 24
    dear_first = titles(get(api, f"{shop.base}/products?tag=socks&sort=price_desc"))
    assert dear_first[0] == "Sock 30"
    assert titles(get(api, f"{shop.base}/products?category=shirts")) == ["Linen Shirt"]
    in_range = titles(get(api, f"{shop.base}/products?min_price=1000&max_price=4999"))
    assert sorted(in_range) == sorted([f"{HOSTILE} Mug", "Linen Shirt", "Sold-out Scarf"])
    html = get(api, f"{shop.base}/products?q=sock")
    assert 'data-count="30"' in html
    facets = re.search(r'id="tag-facets">(.*?)</ul>', html, re.S)
    assert facets and "socks</a> (30)" in facets.group(1), "facets count the whole filtered set"
    assert get(api, f"{shop.base}/products?sort=cheapest", status=400)
    assert 'data-code="VALIDATION_FAILED"' in get(api, f"{shop.base}/products?min_price=abc", status=400)
    assert get(api, f"{shop.base}/products?after=not-a-cursor", status=400)


def test_currency_choice_shows_prices_of_that_currency(api: Api, shop: Shop) -> None:
    html = get(api, f"{shop.base}/products/linen-shirt?currency=USD")
    assert "55.00 USD" in html and "49.00 EUR" not in html
    html = get(api, f"{shop.base}/products?currency=USD")
    assert titles(html) == ["Linen Shirt"], "only products with a price in USD"
    api.client.get(f"{shop.base}/products?currency=EUR")  # the choice is kept in a cookie: back to EUR
    assert "49.00 EUR" in get(api, f"{shop.base}/products/linen-shirt")


def test_product_page_variants_stock_and_seo(api: Api, shop: Shop) -> None:
    html = get(api, f"{shop.base}/products/linen-shirt")
    small, medium = (v["id"] for v in shop.shirt["variants"])
    assert f'data-variant-price="{small}">49.00 EUR' in html and f'data-variant-price="{medium}">59.00 EUR' in html
    assert re.search(rf'data-variant-stock="{medium}">Out of stock', html)
    assert re.search(rf'value="{small}" checked', html), "the first variant in stock is chosen"
    assert "Size: S" in html and "Size: M" in html
    assert "<title>Linen shirts for summer · Acme</title>" in html
    assert '<meta name="description" content="Breathable linen.">' in html
    assert 'data-testid="add-to-cart"' in html
    assert get(api, f"{shop.base}/products/no-such-thing", status=404)
    assert get(api, f"{shop.base}/products/draft-hat", status=404), "drafts are not in the index"


def test_hostile_titles_and_bodies_are_escaped_or_sanitised(api: Api, shop: Shop) -> None:
    for path in (f"{shop.base}/products", f"{shop.base}/products/evil-mug", f"{shop.base}/blog/hello-world"):
        html = get(api, path)
        assert "<script>alert" not in html, path
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Mug" in get(api, f"{shop.base}/products/evil-mug")
    post = get(api, f"{shop.base}/blog/hello-world")
    assert "<strong>bold</strong>" in post, "markdown is rendered"
    assert "javascript:" not in post


def test_blog_post_page_and_feed(api: Api, shop: Shop) -> None:
    blog = get(api, f"{shop.base}/blog")
    assert "Hello World" in blog and "Secret draft" not in blog
    post = get(api, f"{shop.base}/blog/hello-world")
    assert "<title>Hello from Acme · Acme</title>" in post
    assert 'content="The first post of the Acme shop."' in post
    assert get(api, f"{shop.base}/blog/secret", status=404)
    page = get(api, f"{shop.base}/pages/about")
    assert "<p>We sell <em>things</em>.</p>" in page
    assert get(api, f"{shop.base}/pages/hello-world", status=404), "a post is not a page"

    response = api.client.get(f"{shop.base}/feed.xml")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.text)
    atom = "{http://www.w3.org/2005/Atom}"
    entries = feed.findall(f"{atom}entry")
    assert [e.findtext(f"{atom}title") for e in entries] == ["Hello World"]
    assert entries[0].findtext(f"{atom}id") == f"http://testserver{shop.base}/blog/hello-world"


def test_sitemap_lists_live_products_pages_and_posts(api: Api, shop: Shop) -> None:
    response = api.client.get(f"{shop.base}/sitemap.xml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    locs = [u.findtext(f"{ns}loc") for u in ET.fromstring(response.text).findall(f"{ns}url")]
    origin = f"http://testserver{shop.base}"
    assert f"{origin}/products/linen-shirt" in locs and f"{origin}/pages/about" in locs
    assert f"{origin}/blog/hello-world" in locs
    assert f"{origin}/blog/secret" not in locs and f"{origin}/products/draft-hat" not in locs
    assert len(locs) == 3 + 33 + 1 + 1


def test_static_stylesheet_is_served(api: Api) -> None:
    response = api.client.get("/storefront-static/storefront.css")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")


def test_the_prefix_alone_leads_to_the_home_page(api: Api, shop: Shop) -> None:
    response = api.client.get(shop.base, follow_redirects=False)
    assert response.status_code in (307, 308) and response.headers["location"].endswith(f"{shop.base}/")
