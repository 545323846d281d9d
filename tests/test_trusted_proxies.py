"""Behind a load balancer the audit trail records the client's address from X-Forwarded-For,
counting PARTNERHUB_TRUSTED_PROXIES from the right; without one, the header is not believed."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from accounts.audit import Origin, client_address

LOAD_BALANCER = "10.0.0.5"


def request_from(remote_addr: str, forwarded_for: str | None = None):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **headers)


def test_without_proxies_the_connection_address_is_the_client():
    request = request_from("203.0.113.9", forwarded_for="198.51.100.1")

    assert client_address(request) == "203.0.113.9"


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        # The client wrote the left part itself: only the balancer's own entry is believed.
        (1, "198.51.100.66, 203.0.113.9", "203.0.113.9"),
        (2, "198.51.100.66, 203.0.113.9, 10.0.0.4", "203.0.113.9"),
        (1, "2001:db8::1", "2001:db8::1"),
        # Fewer entries than proxies, none at all, or not an address: the connection's address.
        (2, "203.0.113.9", LOAD_BALANCER),
        (1, "", LOAD_BALANCER),
        (1, "198.51.100.1, not-an-address", LOAD_BALANCER),
    ],
)
def test_behind_proxies_the_client_is_counted_from_the_right(proxies, forwarded_for, expected):
    with override_settings(PARTNERHUB_TRUSTED_PROXIES=proxies):
        assert client_address(request_from(LOAD_BALANCER, forwarded_for)) == expected


def test_no_header_behind_a_proxy_keeps_the_connection_address():
    with override_settings(PARTNERHUB_TRUSTED_PROXIES=1):
        assert client_address(request_from(LOAD_BALANCER)) == LOAD_BALANCER


def test_the_audit_origin_uses_the_client_address():
    request = request_from(LOAD_BALANCER, "203.0.113.9")
    request.META["HTTP_USER_AGENT"] = "Firefox"

    with override_settings(PARTNERHUB_TRUSTED_PROXIES=1):
        origin = Origin.from_request(request)

    assert origin == Origin(ip_address="203.0.113.9", user_agent="Firefox")


def test_an_audited_change_records_the_client_behind_the_load_balancer(client, csp):
    from accounts.models import AuditEvent

    client.force_login(csp.global_admin)
    with override_settings(PARTNERHUB_TRUSTED_PROXIES=1):
        client.post(
            f"/users/{csp.member.public_id}/deactivate/",
            REMOTE_ADDR=LOAD_BALANCER,
            headers={"X-Forwarded-For": "198.51.100.66, 203.0.113.9"},
        )

    event = AuditEvent.objects.filter(target=csp.member).latest("pk")
    assert event.ip_address == "203.0.113.9"
