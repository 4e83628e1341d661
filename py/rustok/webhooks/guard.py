"""The SSRF guard: a webhook may only reach addresses that are globally routable.

A URL must be http(s) with a host and no credentials. Its host is resolved, and every address it resolves to
must be one the public internet routes — decided by the IANA special-purpose address registries (an entry
whose "Globally Reachable" is not true is refused: loopback, private, shared (CGNAT), link-local, IETF
protocol assignments, documentation, benchmarking, reserved, broadcast, discard-only, Teredo, local NAT64…),
with multicast and, for IPv6, anything outside the global unicast space 2000::/3. An IPv6 address that
carries an IPv4 address is judged by the IPv4 address it carries: IPv4-mapped (::ffff:a.b.c.d),
IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::/48). A refused target
answers WEBHOOK_TARGET_FORBIDDEN with details.reason — unless the operator allows private targets
(RUSTOK_WEBHOOKS_ALLOW_PRIVATE=1, for tests' local receivers). This runs at registration (before
rustok.create_webhook / update_webhook, which check IP literals themselves by the same rule) and again at
every delivery, because DNS answers change. A delivery then connects to the address that was checked, not to
a fresh lookup (no rebinding between check and connect), and redirects are never followed.

FORBIDDEN_NETWORKS and the unwrapping are SQL's rustok.webhook_forbidden_networks() and
rustok.webhook_address_refusal(): tests/py/test_webhooks_routability.py runs one table of addresses
through both."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass

import httpx2

from rustok.errors import ValidationFailed, WebhookTargetForbidden

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# (network, reason), from the IANA IPv4 and IPv6 special-purpose address registries (entries not globally
# reachable; anycast exceptions inside a refused block stay refused: no webhook receiver lives there), plus
# multicast and the IPv6 space outside 2000::/3. The most specific network gives the reason.
FORBIDDEN_NETWORKS: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.ip_network(network), reason)
    for network, reason in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "cgnat"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "ietf-protocol"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4-relay"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("255.255.255.255/32", "broadcast"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/3", "reserved"),
        ("64:ff9b:1::/48", "nat64-local"),
        ("100::/64", "discard"),
        ("100:0:0:1::/64", "dummy"),
        ("2001::/23", "ietf-protocol"),
        ("2001::/32", "teredo"),
        ("2001:2::/48", "benchmarking"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("4000::/2", "reserved"),
        ("5f00::/16", "srv6"),
        ("8000::/1", "reserved"),
        ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
_BY_SPECIFICITY = sorted(FORBIDDEN_NETWORKS, key=lambda entry: -entry[0].prefixlen)
_LAST_32_BITS = (ipaddress.IPv6Network("::ffff:0:0/96"), ipaddress.IPv6Network("64:ff9b::/96"))
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$")


class HostUnresolvable(Exception):
    """The host name has no address now (at delivery: retried; at registration: refused)."""


@dataclass(frozen=True)
class Target:
    """A checked webhook URL and the addresses its host resolved to (every one allowed)."""

    url: httpx2.URL
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")

    @property
    def host_is_address(self) -> bool:
        return _as_address(self.url.host) is not None

    def pinned_url(self) -> httpx2.URL:
        """The URL with its host replaced by the first checked address (the Host header and TLS server name
        keep the original name)."""
        return self.url.copy_with(host=self.addresses[0], fragment=None)


def address_refusal(address: IPAddress) -> str | None:
    """Why a webhook may not target this address ('loopback', 'documentation', …), or None when it may: the
    reason of the most specific refused network holding it — for an IPv6 address carrying an IPv4 one, the
    IPv4 address's."""
    carried = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if carried is not None:
        return address_refusal(carried)
    for network, reason in _BY_SPECIFICITY:
        if address.version == network.version and address in network:
            return reason
    return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: IPv4-mapped, NAT64 (64:ff9b::/96), IPv4-compatible (::/96,
    save :: and ::1) in the last 32 bits; 6to4 (2002::/16) in bits 16-47. None for any other address."""
    value = int(address)
    if any(address in prefix for prefix in _LAST_32_BITS) or (value >> 32 == 0 and value > 1):
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return address.sixtofour


def parse_url(url: str) -> httpx2.URL:
    """The URL when it has the shape of a webhook target; raises ValidationFailed (details.field = 'url')."""
    try:
        parsed = httpx2.URL(url.strip())
    except (httpx2.InvalidURL, TypeError, AttributeError):
        raise ValidationFailed("url: not a URL", {"field": "url"}) from None
    host = parsed.raw_host.decode("ascii").lower()
    if parsed.scheme not in ("http", "https") or len(url) > 2048:
        raise ValidationFailed("url: an http or https URL, at most 2048 characters", {"field": "url"})
    if not host or parsed.userinfo or parsed.fragment:
        raise ValidationFailed("url: a host, no credentials, no fragment", {"field": "url"})
    if _as_address(parsed.host) is None and not _HOSTNAME.match(host):
        raise ValidationFailed("url: not a host name", {"field": "url"})
    return parsed


async def resolve_target(url: str, allow_private: bool) -> Target:
    """Parses the URL, resolves its host and checks every address. Raises ValidationFailed,
    WebhookTargetForbidden (details.reason), HostUnresolvable."""
    parsed = parse_url(url)
    literal = _as_address(parsed.host)
    if literal is not None:
        addresses: tuple[str, ...] = (str(literal),)
    else:
        addresses = await _lookup(parsed.raw_host.decode("ascii"), parsed.port or _default_port(parsed))
    if not allow_private:
        for address in addresses:
            reason = address_refusal(ipaddress.ip_address(address))
            if reason is not None:
                raise WebhookTargetForbidden("webhooks may not target this address", {"field": "url", "reason": reason})
    return Target(parsed.copy_with(fragment=None), addresses)


async def check_registration(url: str, allow_private: bool) -> None:
    """What the API runs before rustok.create_webhook / update_webhook with a URL: the guard, with a host
    that does not resolve refused too. Raises ValidationFailed, WebhookTargetForbidden."""
    try:
        await resolve_target(url, allow_private)
    except HostUnresolvable:
        raise ValidationFailed("url: the host name does not resolve", {"field": "url"}) from None


async def _lookup(host: str, port: int) -> tuple[str, ...]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostUnresolvable(f"{host}: {exc}") from None
    addresses = tuple(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))
    if not addresses:
        raise HostUnresolvable(f"{host}: no address")
    return addresses


def _as_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _default_port(url: httpx2.URL) -> int:
    return 443 if url.scheme == "https" else 80
