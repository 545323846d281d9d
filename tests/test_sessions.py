"""Sessions end when access ends (DOMAIN.md rule 11): deactivation, deletion, a password reset
or change, and "Sign out everywhere" end every session of the user, on every server."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.audit import Origin
from accounts.models import User
from tests.factories import PASSWORD

ORIGIN = Origin(ip_address="203.0.113.7", user_agent="Mozilla/5.0 (PartnerHub tests)")
HOME = reverse("home")


def signed_in_client(user: User) -> Client:
    """A browser of its own, signed in through the sign-in page as the user."""
    browser = Client()
    response = browser.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert signed_in_as(browser) == user.pk
    return browser


def signed_in_as(browser: Client) -> int | None:
    """Whom the browser's next request is signed in as, asked of the server."""
    user = browser.get(HOME).wsgi_request.user
    return user.pk if user.is_authenticated else None


# Deactivation


def test_a_session_suspended_by_deactivation_does_not_come_back_on_reactivation(csp):
    browser = signed_in_client(csp.member)

    services.deactivate_user(csp.global_admin, csp.member, origin=ORIGIN)
    services.reactivate_user(csp.global_admin, csp.member, origin=ORIGIN)

    assert signed_in_as(browser) is None
