"""The SSRF guard: loopback, private, link-local, unspecified, multicast and CGNAT targets are refused —
by Python after resolving the host (registration and delivery) and by SQL for IP literals — unless the
operator allows private targets; Python's and SQL's network lists are the same."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress

import psycopg
import pytest

from rustok import errors
from rustok.db import Database
from rustok.webhooks.guard import FORBIDDEN_NETWORKS, address_refusal, check_registration, resolve_target
from tests.py.webhooks_support import ALLOW_PRIVATE, create_tenant

SAMPLES = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.254": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",
    "100.64.0.1": "cgnat",
    "100.127.255.255": "cgnat",
    "0.0.0.0": "unspecified",
    "224.0.0.251": "multicast",
    "255.255.255.255": "broadcast",
    "::": "unspecified",
    "::1": "loopback",
    "fd12:3456::1": "unique-local",
    "fc00::1": "unique-local",
    "fe80::1": "link-local",
    "ff02::1": "multicast",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:10.0.0.1": "private",
    "64:ff9b::a9fe:a9fe": "link-local",
    "8.8.8.8": None,
    "93.184.216.34": None,
    "172.32.0.1": None,
    "100.128.0.1": None,
    "2001:4860:4860::8888": None,
    "::ffff:8.8.8.8": None,
}


@pytest.mark.parametrize(("address", "reason"), SAMPLES.items())
def test_address_refusal(address: str, reason: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == reason


def test_python_and_sql_refuse_the_same_networks_for_the_same_reasons(db: Database) -> None:
    with psycopg.connect(db.app_url) as conn:
        in_sql = conn.execute("select network::text, reason from rustok.webhook_forbidden_networks()").fetchall()
        verdicts = {
            a: conn.execute("select rustok.webhook_address_refusal(%s::inet)", (a,)).fetchone()[0] for a in SAMPLES
        }
    assert sorted(in_sql) == sorted((str(n), r) for n, r in FORBIDDEN_NETWORKS)
    assert verdicts == SAMPLES


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://100.64.1.1/",
        "http://localhost:9000/",
        "http://2130706433/",  # 127.0.0.1 written as one number: resolvers accept it
        "http://0x7f.1/",
        "https://[::ffff:7f00:1]/",
    ],
)
def test_private_targets_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(errors.WebhookTargetForbidden) as refused:
        asyncio.run(resolve_target(url, allow_private=False))
    assert refused.value.details["field"] == "url" and refused.value.details["reason"]
    target = asyncio.run(resolve_target(url, allow_private=True))
    assert target.addresses


def test_a_public_address_is_pinned_for_the_connection() -> None:
    target = asyncio.run(resolve_target("https://93.184.216.34:8443/a?b=c", allow_private=False))
    assert target.addresses == ("93.184.216.34",)
    assert str(target.pinned_url()) == "https://93.184.216.34:8443/a?b=c"
    assert target.host_header == "93.184.216.34:8443"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.216.34/",
        "http://user:pw@93.184.216.34/",
        "http://93.184.216.34/#x",
        "http:///x",
        "nonsense",
        "http://exa mple.com/",
    ],
)
def test_malformed_urls_are_validation_errors(url: str) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        asyncio.run(resolve_target(url, allow_private=True))
    assert type(refused.value) is errors.ValidationFailed and refused.value.details == {"field": "url"}


def test_a_host_that_does_not_resolve_is_refused_at_registration() -> None:
    with pytest.raises(errors.ValidationFailed):
        asyncio.run(check_registration("http://no-such-host.invalid/hook", allow_private=False))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "http://[::1]/",
        "http://localhost/",
        "http://sub.localhost./",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_sql_refuses_private_ip_literals_unless_the_operator_allows_them(db: Database, url: str) -> None:
    tenant = create_tenant(db, "guard-" + hashlib.sha256(url.encode()).hexdigest()[:8])
    for options, allowed in (("", False), (ALLOW_PRIVATE, True)):
        with psycopg.connect(db.app_url, options=options) as conn:
            conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenant.id, tenant.admin_id))
            try:
                conn.execute("select rustok.create_webhook(%s)", (url,))
                outcome = "created"
            except psycopg.Error as exc:
                outcome = exc.sqlstate or ""
        assert outcome == ("created" if allowed else "RK120"), (url, options)


def test_sql_refuses_numeric_host_forms_and_accepts_public_addresses(db: Database) -> None:
    tenant = create_tenant(db, "guard-forms")
    with psycopg.connect(db.app_url, autocommit=True) as conn:
        for url, expected in (
            ("http://2130706433/", "RK002"),
            ("http://0x7f.1/", "RK002"),
            ("http://127.1/", "RK002"),
            ("http://93.184.216.34/", "ok"),
            ("https://[2001:4860:4860::8888]:8443/x", "ok"),
            ("https://hooks.example.com/x?y=1", "ok"),
        ):
            try:
                with conn.transaction():
                    conn.execute("select rustok.set_context(%s, %s, 'admin')", (tenant.id, tenant.admin_id))
                    conn.execute("select rustok.create_webhook(%s)", (url,))
                outcome = "ok"
            except psycopg.Error as exc:
                outcome = exc.sqlstate or ""
            assert outcome == expected, url
