"""The demo's sample content, made deterministically from a seed: the same run gives the same shop and blog.
Only shapes of the SQL functions' requests live here (CreateNodeRequest, create_product input, …); the loader
sends them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from rustok.types import JsonObject

PAGES: list[JsonObject] = [
    {
        "slug": "about",
        "title": "About us",
        "excerpt": "A small shop for well-made everyday things.",
        "metaTitle": "About the RusToK demo store",
        "metaDescription": "Who runs the demo store, what we sell and why we care about how things are made.",
        "body": (
            "# About us\n\nWe are a small team that sells **well-made everyday things**: clothes that last, "
            "mugs that keep their glaze, books worth rereading.\n\n"
            "## What we believe\n\n- Fewer, better things\n- Honest prices in your currency\n"
            "- Shipping that does not cost the earth\n\nQuestions? Write to us any time."
        ),
    },
    {
        "slug": "shipping",
        "title": "Shipping and returns",
        "excerpt": "Where we ship, how long it takes and how to send something back.",
        "metaTitle": "Shipping and returns — RusToK demo store",
        "metaDescription": "Delivery times and prices for Europe and the United States, and our 30-day returns.",
        "body": (
            "# Shipping and returns\n\n| Region | Standard | Express |\n| --- | --- | --- |\n"
            "| Europe | 3 to 5 days, €4.90 | 1 to 2 days, €12.90 |\n"
            "| United States | 4 to 7 days, $6.90 | 2 days, $19.90 |\n\n"
            "Orders over €75 ship free in Europe.\n\n## Returns\n\nSend anything back within **30 days**; "
            "we refund the full price once it arrives."
        ),
    },
]

BLOG_CATEGORIES: list[JsonObject] = [
    {"name": "News", "slug": "news", "description": "What is new in the shop."},
    {"name": "Guides", "slug": "guides", "description": "How to choose, use and care for things."},
    {"name": "Stories", "slug": "stories", "description": "The people who make what we sell."},
]

_POST_TOPICS = [
    ("How to care for linen", "guides", ["care", "linen"]),
    ("Five mugs we use every day", "guides", ["kitchen", "favourites"]),
    ("Meet the weavers of our scarves", "stories", ["makers", "wool"]),
    ("Autumn collection is here", "news", ["collections", "autumn"]),
    ("Why we print on recycled paper", "stories", ["sustainability", "paper"]),
    ("Choosing the right backpack", "guides", ["travel", "bags"]),
    ("Our new warehouse in Leipzig", "news", ["shipping"]),
    ("A short history of the enamel mug", "stories", ["kitchen", "history"]),
    ("Packing light for a weekend", "guides", ["travel"]),
    ("Books our team is reading", "news", ["books", "favourites"]),
    ("Washing wool without fear", "guides", ["care", "wool"]),
    ("The potter behind our bowls", "stories", ["makers", "kitchen"]),
    ("Free shipping over 75 euros", "news", ["shipping"]),
    ("Notebooks for every kind of list", "guides", ["paper", "favourites"]),
    ("Repair, don't replace", "stories", ["sustainability", "care"]),
    ("Gift guide for the holidays", "guides", ["gifts", "favourites"]),
    ("Behind the scenes of a photo shoot", "stories", ["makers"]),
    ("New colours for our classic tee", "news", ["collections", "cotton"]),
    ("How we choose our suppliers", "stories", ["sustainability", "makers"]),
    ("Storing knitwear in summer", "guides", ["care", "wool"]),
    ("Our first shop in the United States", "news", ["shipping"]),
    ("Coffee rituals from our team", "stories", ["kitchen"]),
    ("Three ways to fold a scarf", "guides", ["wool", "how-to"]),
    ("What a fair price means to us", "stories", ["sustainability"]),
    ("Spring cleaning for your wardrobe", "guides", ["care", "how-to"]),
    ("Limited run: hand-bound journals", "news", ["paper", "collections"]),
    ("Cotton, organic and otherwise", "guides", ["cotton", "sustainability"]),
    ("A day at the print studio", "stories", ["makers", "paper"]),
    ("Travel mugs tested on the road", "guides", ["travel", "kitchen"]),
    ("Thank you for ten thousand orders", "news", ["favourites"]),
]

_SENTENCES = [
    "Good things are rarely complicated.",
    "We tried a dozen options before choosing this one.",
    "Most of the work happens long before anything reaches the shelf.",
    "A little care every week saves a lot of repair later.",
    "Ask us anything in the comments below.",
    "The details are what make something last.",
    "We would rather sell fewer things that people keep for years.",
    "It started, as these things do, with a question from a customer.",
]

_COMMENTS = [
    "Thanks, this was really helpful!",
    "I tried this last week and it worked well.",
    "Could you write more about this?",
    "Where can I find the product you mention?",
    "Lovely photos and a great story.",
    "I disagree a little, but it is a good read.",
    "Bookmarked for later.",
]

_REPLIES = ["Glad it helped!", "Good question — we will add a note.", "Thanks for reading!", "Agreed."]


@dataclass(frozen=True)
class CommentPlan:
    """A comment on post `post` (index into the posts), by `author` ('customer' or 'admin'), replying to the
    comment at `reply_to` of the same post's plan (or the post itself); `approve` says whether the admin
    approves it afterwards (customers' comments wait for moderation until then)."""

    post: int
    author: str
    body: str
    reply_to: int | None = None
    approve: bool = False


def posts(count: int, rng: random.Random) -> Iterator[JsonObject]:
    """CreateNodeRequests for `count` published posts with markdown bodies, dated over the past months
    (newest last), each in a blog category with tags."""
    for i in range(count):
        title, category, tags = _POST_TOPICS[i % len(_POST_TOPICS)]
        if i >= len(_POST_TOPICS):
            title = f"{title} (part {i // len(_POST_TOPICS) + 1})"
        body = "\n\n".join(
            [
                " ".join(rng.sample(_SENTENCES, 3)),  # the title is the page's heading: the body starts below it
                "## What we learned",
                "\n".join(f"- {s}" for s in rng.sample(_SENTENCES, 3)),
                f"> {rng.choice(_SENTENCES)}",
                " ".join(rng.sample(_SENTENCES, 2)),
            ]
        )
        yield {
            "kind": "post",
            "title": title,
            "excerpt": rng.choice(_SENTENCES),
            "body": body,
            "status": "published",
            "tags": tags,
            "metaTitle": f"{title} — RusToK demo blog",
            "metaDescription": f"{title}: notes from the demo store's blog.",
            "_category": category,
            "_days_ago": (count - i) * 3,
        }


def comments(post_count: int, rng: random.Random) -> list[CommentPlan]:
    """Threads on the newest posts: customers' comments (most approved, some left pending), the shop's
    replies, and a customer's reply to a reply."""
    plans: list[CommentPlan] = []
    for post in range(max(0, post_count - 8), post_count):
        first = len(plans)
        for n in range(rng.randint(1, 3)):
            plans.append(CommentPlan(post, "customer", rng.choice(_COMMENTS), approve=n % 3 != 2))
        plans.append(CommentPlan(post, "admin", rng.choice(_REPLIES), reply_to=first))
        if post % 2 == 0:
            plans.append(CommentPlan(post, "customer", "Thank you for answering!", reply_to=len(plans) - 1))
    return plans


PRODUCT_CATEGORIES: list[JsonObject] = [
    {"name": "Clothing", "handle": "clothing"},
    {"name": "Kitchen", "handle": "kitchen"},
    {"name": "Books and paper", "handle": "paper"},
    {"name": "Bags", "handle": "bags"},
]

_COLOURS = ["Black", "Natural", "Navy", "Rust", "Sage"]
_KINDS: list[tuple[str, str, list[str], list[JsonObject], tuple[int, int]]] = [
    # (noun, category handle, tags, options, EUR price range in cents)
    ("T-shirt", "clothing", ["cotton"], [{"title": "Size", "values": ["S", "M", "L"]}], (1900, 3500)),
    ("Scarf", "clothing", ["wool"], [{"title": "Colour", "values": []}], (2900, 6900)),
    ("Linen shirt", "clothing", ["linen"], [{"title": "Size", "values": ["S", "M", "L", "XL"]}], (4900, 8900)),
    ("Mug", "kitchen", ["ceramic"], [{"title": "Colour", "values": []}], (1200, 2400)),
    ("Bowl", "kitchen", ["ceramic"], [], (1500, 3200)),
    ("Notebook", "paper", ["paper"], [{"title": "Paper", "values": ["Lined", "Dotted", "Blank"]}], (900, 1900)),
    ("Novel", "paper", ["books"], [{"title": "Format", "values": ["Paperback", "Hardcover"]}], (1100, 2900)),
    ("Backpack", "bags", ["travel"], [{"title": "Colour", "values": []}], (6900, 14900)),
    ("Tote bag", "bags", ["cotton"], [], (1500, 2900)),
]
_ADJECTIVES = ["Classic", "Everyday", "Harbour", "Alpine", "Studio", "Meadow", "Nordic"]


def products(count: int, rng: random.Random) -> Iterator[JsonObject]:
    """create_product inputs for `count` products (all but every 20th published): options with variants,
    prices in EUR and USD, stock at the default location — mostly plenty, some low (1 to 3), some none —
    categories (`_category`, a handle, replaced by its id by the loader) and tags."""
    for i in range(count):
        noun, category, tags, option_specs, (low, high) = _KINDS[i % len(_KINDS)]
        adjective = _ADJECTIVES[(i // len(_KINDS)) % len(_ADJECTIVES)]
        round_ = i // (len(_KINDS) * len(_ADJECTIVES))
        title = f"{adjective} {noun.lower()}" + (f" {round_ + 1}" if round_ else "")
        title = title[0].upper() + title[1:]
        options = [{"title": o["title"], "values": o["values"] or rng.sample(_COLOURS, 3)} for o in option_specs]
        euro = rng.randrange(low, high, 100) - 10
        stock_kind = "none" if i % 11 == 5 else "low" if i % 7 == 3 else "plenty"
        variants = []
        for n, combo in enumerate(_combinations(options)):
            label = "-".join(value[:3].upper() for _, value in combo) or "STD"
            extra = 300 * n if i % 3 == 0 else 0  # some products' variants differ in price
            stock = {"none": 0, "low": rng.randint(1, 3), "plenty": rng.randint(12, 60)}[stock_kind]
            variants.append(
                {
                    "sku": f"DEMO-{i + 1:03d}-{label}",
                    "options": [{"option": title_, "value": value} for title_, value in combo],
                    "prices": [
                        {"currencyCode": "EUR", "amount": euro + extra},
                        {"currencyCode": "USD", "amount": (euro + extra) * 108 // 100 // 10 * 10 + 9},
                    ],
                    "inventoryQuantity": stock,
                }
            )
        yield {
            "title": title,
            "subtitle": f"{noun} from the {adjective.lower()} line",
            "handle": f"{title.lower().replace(' ', '-')}",
            "description": f"A {noun.lower()} made to last. {rng.choice(_SENTENCES)}",
            "status": "draft" if i % 20 == 19 else "published",
            "options": options,
            "variants": variants,
            "tags": [*tags, adjective.lower()],
            "metadata": {
                "metaTitle": f"{title} — RusToK demo store",
                "metaDescription": f"{title}: a {noun.lower()} from the demo store, shipped in Europe and the US.",
            },
            "_category": category,
        }


def _combinations(options: list[JsonObject]) -> list[list[tuple[str, str]]]:
    combos: list[list[tuple[str, str]]] = [[]]
    for option in options:
        combos = [[*c, (option["title"], value)] for c in combos for value in option["values"]]
    return combos


REGIONS: list[JsonObject] = [
    {
        "name": "Europe",
        "currencyCode": "EUR",
        "countries": ["DE", "FR", "NL", "AT", "IT", "ES"],
        "taxRate": {"name": "VAT", "code": "VAT", "rate": 1900},
        "_shipping": [("Standard", 490), ("Express", 1290)],
    },
    {
        "name": "United States",
        "currencyCode": "USD",
        "countries": ["US"],
        "taxRate": {"name": "Sales tax", "code": "SALES", "rate": 700},
        "_shipping": [("Standard", 690), ("Express", 1990)],
    },
]

DISCOUNT: JsonObject = {"code": "WELCOME10", "kind": "percentage", "value": 10}

# Orders to place: (region index, status to move to, apply the discount); statuses follow the workflow.
ORDERS: list[tuple[int, str, bool]] = [
    (0, "pending", False),
    (0, "paid", True),
    (1, "paid", False),
    (0, "fulfilled", False),
    (1, "completed", False),
    (0, "completed", True),
    (0, "canceled", False),
    (1, "refunded", False),
]

STATUS_PATHS: dict[str, list[str]] = {
    "pending": [],
    "paid": ["paid"],
    "fulfilled": ["paid", "fulfilled"],
    "completed": ["paid", "fulfilled", "completed"],
    "canceled": ["canceled"],
    "refunded": ["paid", "fulfilled", "refunded"],
}

ADDRESSES: list[JsonObject] = [
    {
        "firstName": "Ada",
        "lastName": "Demo",
        "address1": "Hauptstraße 1",
        "city": "Leipzig",
        "postalCode": "04109",
        "countryCode": "DE",
    },
    {
        "firstName": "Ada",
        "lastName": "Demo",
        "address1": "1 Main Street",
        "city": "Portland",
        "province": "OR",
        "postalCode": "97201",
        "countryCode": "US",
    },
]
