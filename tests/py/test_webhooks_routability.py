"""The SSRF guard decides by "is this address globally routable" (issue 13, point 11): one table of addresses,
judged the same by Python after DNS (rustok.webhooks.guard) and by SQL for literals in a URL (what psql users
hit: rustok.create_webhook → rustok._check_webhook_url). The addresses the attack slipped through — 198.18.0.0/15,
192.0.0.0/24, 240.0.0.0/4, 6to4 and IPv4-compatible IPv6 — are refused, and so is every other entry of the
IANA special-purpose registries that is not globally reachable."""

from __future__ import annotations

import asyncio
import ipaddress

import psycopg
import pytest

from rustok import errors
from rustok.db import Database
from rustok.webhooks.guard import FORBIDDEN_NETWORKS, address_refusal, resolve_target

ROUTABILITY: dict[str, str | None] = {
    # what the attack found accepted
    "198.18.0.1": "benchmarking",
    "198.19.255.254": "benchmarking",
    "192.0.0.8": "ietf-protocol",
    "192.0.0.170": "ietf-protocol",
    "240.0.0.1": "reserved",
    "254.255.255.254": "reserved",
    "2002:7f00:1::": "loopback",  # 6to4 carrying 127.0.0.1
    "2002:a9fe:a9fe::1": "link-local",  # 6to4 carrying 169.254.169.254
    "::127.0.0.1": "loopback",  # IPv4-compatible
    "::10.0.0.1": "private",
    # the rest of the IPv4 registry
    "0.0.0.0": "unspecified",
    "0.1.2.3": "unspecified",
    "10.255.255.255": "private",
    "100.64.0.1": "cgnat",
    "127.0.0.1": "loopback",
    "169.254.169.254": "link-local",
    "172.16.0.1": "private",
    "192.0.2.10": "documentation",
    "192.88.99.1": "6to4-relay",
    "192.168.0.1": "private",
    "198.51.100.7": "documentation",
    "203.0.113.9": "documentation",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "255.255.255.255": "broadcast",
    # the IPv6 registry, and what lies outside the global unicast space
    "::": "unspecified",
    "::1": "loopback",
    "::2:0:0:1": "reserved",
    "64:ff9b:1::a00:1": "nat64-local",
    "64:ff9b:1::808:808": "nat64-local",  # local-use NAT64 is not routable, whatever it carries
    "100::1": "discard",
    "100:0:0:1::1": "dummy",
    "2001::1": "teredo",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "teredo",
    "2001:1::1": "ietf-protocol",
    "2001:2::1": "benchmarking",
    "2001:db8::1": "documentation",
    "3fff::1": "documentation",
    "4000::1": "reserved",
    "5f00::1": "srv6",
    "8000::1": "reserved",
    "fc00::1": "unique-local",
    "fd12:3456::1": "unique-local",
    "fe80::1": "link-local",
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    # IPv6 carrying IPv4: judged by the IPv4 address
    "::ffff:127.0.0.1": "loopback",
    "::ffff:198.18.0.1": "benchmarking",
    "64:ff9b::7f00:1": "loopback",
    "64:ff9b::c000:201": "documentation",
    "2002:c000:0201::": "documentation",
    "2002:0:1::": "unspecified",
    # globally routable
    "8.8.8.8": None,
    "1.1.1.1": None,
    "93.184.216.34": None,
    "172.32.0.1": None,
    "100.128.0.1": None,
    "192.0.3.1": None,
    "198.20.0.1": None,
    "223.255.255.254": None,
    "2001:4860:4860::8888": None,
    "2a00:1450:4001::200e": None,
    "::ffff:8.8.8.8": None,
    "64:ff9b::808:808": None,
    "2002:808:808::1": None,
    "::8.8.8.8": None,
}


def literal_url(address: str) -> str:
    return f"http://[{address}]/hook" if ":" in address else f"http://{address}/hook"


@pytest.mark.parametrize(("address", "reason"), ROUTABILITY.items())
def test_python_decides_by_routability(address: str, reason: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == reason
    if reason is None:
        target = asyncio.run(resolve_target(literal_url(address), allow_private=False))
        assert [ipaddress.ip_address(a) for a in target.addresses] == [ipaddress.ip_address(address)]
    else:
        with pytest.raises(errors.WebhookTargetForbidden) as refused:
            asyncio.run(resolve_target(literal_url(address), allow_private=False))
        assert refused.value.details["reason"] == reason


def test_sql_decides_the_same_for_every_address_of_the_table(db: Database) -> None:
    with psycopg.connect(db.app_url) as conn:
        verdicts = dict(
            conn.execute(
                "select a, rustok.webhook_address_refusal(a::inet) from unnest(%s::text[]) a", (list(ROUTABILITY),)
            ).fetchall()
        )
    assert verdicts == ROUTABILITY


def test_sql_refuses_literals_in_urls_as_psql_users_send_them(db: Database) -> None:
    refused: dict[str, str | None] = {}
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        for address in ROUTABILITY:
            try:
                conn.execute("select rustok._check_webhook_url(%s)", (literal_url(address),))
                refused[address] = None
            except psycopg.Error as exc:
                error = errors.from_database_error(exc)
                assert isinstance(error, errors.WebhookTargetForbidden), (address, error.code)
                refused[address] = error.details["reason"]
    assert refused == ROUTABILITY


def test_every_refused_network_is_in_the_table() -> None:
    """Each network of the list has an address of the table whose reason it gives."""
    for network, reason in FORBIDDEN_NETWORKS:
        assert any(ipaddress.ip_address(a) in network and r == reason for a, r in ROUTABILITY.items()), (
            f"no sample for {network} ({reason})"
        )
