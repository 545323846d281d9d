"""Sign-in lockout (django-axes): five failed sign-ins lock an email for a cool-off, whether or
not an account has that email, and the answer does not tell the two apart."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.lockout import lockout_message
from tests.factories import PASSWORD
from tests.second_factor import pass_second_factor
from tests.test_user_actions import reset_form

LIMIT = settings.AXES_FAILURE_LIMIT
LOCKED = settings.AXES_HTTP_RESPONSE_CODE
WRONG = "not-the-password"
UNKNOWN = "nobody@example.com"


def sign_in(client: Client, email: str, password: str = PASSWORD) -> HttpResponse:
    return client.post(reverse("login"), {"username": email, "password": password})


def fail(client: Client, email: str, times: int) -> HttpResponse:
    """Sign in with a wrong password `times` times; the last answer."""
    for _ in range(times):
        response = sign_in(client, email, WRONG)
    return response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def page_text(response: HttpResponse, email: str) -> str:
    """The page with what differs by nature between two answers taken out: the CSRF token
    (new each time) and the email typed."""
    page = response.content.decode()
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return page.replace(email, "EMAIL")


def test_the_setting_is_five_failures_for_fifteen_minutes():
    assert LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert "Try again in 15 minutes" in lockout_message()


def test_five_failures_lock_the_email(client, csp):
    email = csp.member.email

    for _ in range(LIMIT - 1):
        response = sign_in(client, email, WRONG)
        assert response.status_code == 200
        assert "The email or password is not right" in response.content.decode()
    response = sign_in(client, email, WRONG)

    assert response.status_code == LOCKED
    assert lockout_message() in response.content.decode()


def test_the_right_password_is_refused_too_once_locked(client, csp):
    fail(client, csp.member.email, LIMIT)

    response = sign_in(client, csp.member.email)

    assert response.status_code == LOCKED
    assert lockout_message() in response.content.decode()
    assert not signed_in(client)


def test_the_lockout_page_is_the_sign_in_page_with_the_email_kept(client, csp):
    response = fail(client, csp.member.email, LIMIT)

    page = response.content.decode()
    assert re.search(r'type="submit"\s+name="sign_in"\s+value="Sign in"', page)
    assert f'value="{csp.member.email}"' in page
    assert "ask an admin of your organization to reset your password" in page


def test_an_unknown_email_gets_the_same_answer_as_an_existing_one(client, csp):
    existing = csp.member.email
    fail(client, existing, LIMIT)
    fail(client, UNKNOWN, LIMIT)

    for password in (WRONG, PASSWORD):
        for_existing = sign_in(client, existing, password)
        for_unknown = sign_in(client, UNKNOWN, password)

        assert for_existing.status_code == for_unknown.status_code == LOCKED
        assert page_text(for_existing, existing) == page_text(for_unknown, UNKNOWN)


@pytest.mark.parametrize("locked", [False, True], ids=["before the limit", "locked out"])
def test_the_work_done_is_the_same_for_an_unknown_email(client, csp, locked):
    # Timing follows the work: one password hash each before the limit (Django hashes a dummy
    # password for an unknown email), none once locked (refused before any lookup).
    if locked:
        fail(client, csp.member.email, LIMIT)
        fail(client, UNKNOWN, LIMIT)
    hashes = {}
    for email in (csp.member.email, UNKNOWN):
        with mock.patch.object(
            MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode
        ) as encode:
            sign_in(client, email, WRONG)
        hashes[email] = encode.call_count

    assert hashes[csp.member.email] == hashes[UNKNOWN] == (0 if locked else 1)


def test_failures_count_for_the_email_in_any_case(client, csp):
    email = csp.member.email
    for variant in (email, email.upper(), email.title(), email, email.upper()):
        sign_in(client, variant, WRONG)

    assert sign_in(client, email).status_code == LOCKED


def test_a_success_before_the_limit_clears_the_count(client, csp):
    # A success is a completed sign-in: the password and the second factor (the password
    # alone clears nothing: test_second_factor_attacks.py).
    email = csp.member.email
    fail(client, email, LIMIT - 1)
    assert sign_in(client, email).status_code == 302
    pass_second_factor(client, csp.member)
    client.post(reverse("logout"))

    response = fail(client, email, LIMIT - 1)

    assert response.status_code == 200
    assert sign_in(client, email).status_code == 302


def test_sign_in_works_again_after_the_cool_off(client, csp):
    fail(client, csp.member.email, LIMIT)
    assert sign_in(client, csp.member.email).status_code == LOCKED

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    response = sign_in(client, csp.member.email)

    assert response.status_code == 302
    assert signed_in(client)


def test_attempts_while_locked_do_not_extend_the_lockout(client, csp):
    fail(client, csp.member.email, LIMIT)
    locked_at = AccessAttempt.objects.get().attempt_time

    fail(client, csp.member.email, 3)

    assert AccessAttempt.objects.get().attempt_time == locked_at


def test_the_lockout_is_per_email(client, csp):
    fail(client, csp.member.email, LIMIT)

    response = sign_in(client, csp.global_admin.email)

    assert response.status_code == 302
    assert signed_in(client)


def test_failures_are_kept_in_the_database(client, csp):
    # Every app server reads the same table, so a lockout holds whichever server answers.
    fail(client, csp.member.email, 2)

    attempt = AccessAttempt.objects.get()
    assert attempt.username == csp.member.email.lower()
    assert attempt.failures_since_start == 2


def test_a_password_reset_by_an_admin_lets_a_locked_out_user_in(client, csp):
    fail(client, csp.member.email, LIMIT)
    admin = Client()
    admin.force_login(csp.global_admin)

    shown = admin.post(
        reverse("reset_password", args=[csp.member.public_id]), reset_form(csp.member)
    )
    temporary = shown.context["password"]

    sign_in(client, csp.member.email, temporary)
    assert signed_in(client)
