"""Sessions end after 60 minutes without activity and 12 hours after sign-in (settings from the
environment), for partner users and support staff alike, with a message on the sign-in page.

Time is driven by a clock fixture that patches django.utils.timezone.now, which the sessions,
the middleware and Django's session store all read: nothing sleeps.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from accounts.middleware import LAST_ACTIVITY, SIGNED_IN_AT
from accounts.models import User
from tests.factories import PASSWORD
from tests.second_factor import pass_second_factor
from tests.test_settings import manage, read_settings

LOGIN = reverse("login")
DIRECTORY = reverse("directory")
IDLE_MESSAGE = "You were signed out after 60 minutes without activity."
LIFETIME_MESSAGE = "You were signed out 12 hours after signing in. Sign in again."


class Clock:
    """The time as Django sees it, moved forward by the test."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock)
    return clock


def sign_in(client: Client, email: str) -> None:
    response = client.post(LOGIN, {"username": email, "password": PASSWORD})
    assert response.status_code == 302
    pass_second_factor(client, User.objects.get(email=email))


def sent_to_sign_in(response, next_url: str | None) -> bool:
    parts = urlsplit(response.url)
    expected = {"next": [next_url]} if next_url else {}
    return response.status_code == 302 and parts.path == LOGIN and parse_qs(parts.query) == expected


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def admin(client: Client, csp, clock) -> Client:
    """The Global admin, signed in through the sign-in page at the clock's time."""
    sign_in(client, csp.global_admin.email)
    return client


def test_the_defaults_are_an_hour_idle_and_twelve_hours_in_all():
    assert settings.PARTNERHUB_SESSION_IDLE_MINUTES == 60
    assert settings.PARTNERHUB_SESSION_MAX_HOURS == 12
    # The cookie and the stored session do not outlive the lifetime after their last write.
    assert settings.SESSION_COOKIE_AGE == 12 * 60 * 60


# Idle timeout


def test_a_session_used_within_the_hour_stays(admin, clock):
    for _ in range(5):
        clock.advance(minutes=59)
        assert admin.get(DIRECTORY).status_code == 200


def test_an_hour_without_activity_signs_the_session_out(admin, clock):
    clock.advance(minutes=60, seconds=1)

    response = admin.get(DIRECTORY)

    assert sent_to_sign_in(response, DIRECTORY)
    assert not signed_in(admin)


def test_the_sign_in_page_says_why_and_returns_to_the_page_after_sign_in(admin, clock, csp):
    clock.advance(minutes=61)

    response = admin.get(f"{DIRECTORY}?q=smith", follow=True)

    assertContains(response, IDLE_MESSAGE)
    sign_in_url = response.redirect_chain[-1][0]
    assert parse_qs(urlsplit(sign_in_url).query) == {"next": [f"{DIRECTORY}?q=smith"]}
    again = admin.post(
        sign_in_url,
        {"username": csp.global_admin.email, "password": PASSWORD},
    )
    assert again.url == f"{DIRECTORY}?q=smith"


def test_a_form_posted_after_the_timeout_is_not_carried_out(admin, clock, csp):
    clock.advance(minutes=61)

    response = admin.post(reverse("deactivate_user", args=[csp.member.public_id]))

    assert sent_to_sign_in(response, None)
    csp.member.refresh_from_db()
    assert csp.member.is_active


def test_the_last_activity_is_written_at_most_once_a_minute(admin, clock):
    written = admin.session[LAST_ACTIVITY]

    clock.advance(seconds=30)
    with CaptureQueriesContext(connection) as queries:
        admin.get(DIRECTORY)
    assert admin.session[LAST_ACTIVITY] == written
    assert not [q for q in queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]

    clock.advance(seconds=31)
    admin.get(DIRECTORY)
    assert admin.session[LAST_ACTIVITY] == pytest.approx(clock.now.timestamp())


def test_idle_time_counts_from_the_last_written_activity(admin, clock):
    # Requests 30 seconds apart write nothing, so the hour runs from the sign-in at most a
    # minute back: the timeout is exact to the minute.
    clock.advance(seconds=30)
    admin.get(DIRECTORY)
    clock.advance(minutes=59, seconds=45)

    assert admin.get(DIRECTORY).status_code == 302


# Absolute lifetime


def test_twelve_hours_after_sign_in_even_a_busy_session_ends(admin, clock):
    # Active every half hour, never idle: the stored session and the cookie live on, and the
    # middleware ends the session at twelve hours.
    for _ in range(24):
        clock.advance(minutes=30)
        assert admin.get(DIRECTORY).status_code == 200
    clock.advance(seconds=1)

    response = admin.get(DIRECTORY, follow=True)

    assertContains(response, LIFETIME_MESSAGE)
    assert not signed_in(admin)


def test_the_lifetime_counts_from_sign_in_not_from_a_password_change(admin, clock, csp):
    clock.advance(hours=11, minutes=59)
    session = admin.session
    session[LAST_ACTIVITY] = clock.now.timestamp()
    session.save()
    new = "Tangerine-lighthouse-42"
    admin.post(
        reverse("change_password"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    clock.advance(minutes=2)

    assert sent_to_sign_in(admin.get(DIRECTORY), DIRECTORY)


def test_signing_in_again_starts_the_clocks_again(admin, clock, csp):
    clock.advance(minutes=61)
    admin.get(DIRECTORY)

    sign_in(admin, csp.global_admin.email)

    assert admin.session[SIGNED_IN_AT] == pytest.approx(clock.now.timestamp())
    assert admin.get(DIRECTORY).status_code == 200


# Everyone: support staff in the admin too


def test_support_staff_in_the_admin_are_signed_out_after_an_hour_idle(client, clock, support):
    sign_in(client, support.email)
    assert client.get(reverse("admin:index")).status_code == 200
    clock.advance(minutes=61)

    response = client.get(reverse("admin:accounts_user_changelist"), follow=True)

    assert response.redirect_chain[0][0].startswith(LOGIN)
    assertContains(response, IDLE_MESSAGE)


def test_support_staff_in_the_admin_are_signed_out_after_twelve_hours(client, clock, support):
    sign_in(client, support.email)
    session = client.session
    session[SIGNED_IN_AT] = (clock.now - timedelta(hours=12, seconds=1)).timestamp()
    session.save()

    response = client.get(reverse("admin:index"))

    assert sent_to_sign_in(response, reverse("admin:index"))


def test_a_session_from_before_timing_starts_its_clocks_at_its_next_request(client, clock, csp):
    client.force_login(csp.member)
    session = client.session
    del session[SIGNED_IN_AT], session[LAST_ACTIVITY]
    session.save()

    assert client.get(reverse("profile")).status_code == 200
    assert client.session[SIGNED_IN_AT] == pytest.approx(clock.now.timestamp())
    clock.advance(minutes=61)
    assert client.get(reverse("profile")).status_code == 302


def test_an_anonymous_visitor_is_not_timed(client, db, clock):
    clock.advance(hours=13)

    response = client.get(LOGIN)

    assert response.status_code == 200
    assert not Session.objects.exists()


# Settings from the environment


def test_the_lifetimes_come_from_the_environment():
    values = read_settings(
        "PARTNERHUB_SESSION_IDLE_MINUTES",
        "PARTNERHUB_SESSION_MAX_HOURS",
        "SESSION_COOKIE_AGE",
        PARTNERHUB_SESSION_IDLE_MINUTES="15",
        PARTNERHUB_SESSION_MAX_HOURS="8",
    )

    assert values == {
        "PARTNERHUB_SESSION_IDLE_MINUTES": 15,
        "PARTNERHUB_SESSION_MAX_HOURS": 8,
        "SESSION_COOKIE_AGE": 8 * 60 * 60,
    }


@pytest.mark.parametrize("value", ["0", "-5", "an hour", "1.5"])
def test_a_lifetime_that_cannot_be_right_stops_start_up(value):
    result = manage("check", PARTNERHUB_SESSION_IDLE_MINUTES=value)

    assert result.returncode != 0
    assert "PARTNERHUB_SESSION_IDLE_MINUTES" in result.stderr


def test_other_settings_change_the_message(admin, clock, settings):
    settings.PARTNERHUB_SESSION_IDLE_MINUTES = 1
    clock.advance(seconds=61)

    response = admin.get(DIRECTORY, follow=True)

    assertContains(response, "You were signed out after 1 minute without activity.")
