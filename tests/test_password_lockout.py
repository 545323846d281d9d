"""A password asked again of a signed-in person ("Confirm your password", the change-password
form, also the forced change of a temporary password) counts failures toward the same
django-axes lockout as sign-in, by the same key (the email), and locks the same way: five
failures, wherever they were made, lock the email for the cool-off; a locked-out email is
refused there whatever the password, and the session that hit the lockout is signed out.

Each test runs with failures counted in axes' table (one app server, a laptop) and in the
shared cache (REDIS_URL set, several app servers).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.lockout import lockout_message
from accounts.models import AuditAction, AuditEvent, User
from accounts.reauth import SESSION_KEY
from tests.factories import PASSWORD
from tests.second_factor import pass_second_factor
from tests.test_lockout import LIMIT, LOCKED, WRONG, sign_in

CONFIRM = reverse("confirm_password")
CHANGE_PASSWORD = reverse("change_password")
NEW_PASSWORD = "Tangerine-lighthouse-42"


@pytest.fixture(autouse=True, params=["database", "cache"])
def failures_kept_in(request, settings) -> str:
    if request.param == "cache":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": "password-lockout",
            }
        }
        settings.AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
    cache.clear()
    yield request.param
    cache.clear()


@pytest.fixture
def browser(csp) -> Client:
    """The member, signed in through the sign-in page."""
    client = Client()
    assert sign_in(client, csp.member.email).status_code == 302
    pass_second_factor(client, csp.member)
    return client


def confirm(client: Client, password: str) -> HttpResponse:
    return client.post(f"{CONFIRM}?next=/profile/", {"password": password})


def change(client: Client, old_password: str) -> HttpResponse:
    return client.post(
        CHANGE_PASSWORD,
        {
            "old_password": old_password,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )


def signed_in(client: Client) -> bool:
    return client.get(reverse("home")).wsgi_request.user.is_authenticated


def password_entry_forgotten(client: Client) -> None:
    session = client.session
    session.pop(SESSION_KEY, None)
    session.save()


ASKED_AGAIN = {"confirm your password": confirm, "change password": change}


@pytest.mark.parametrize("page", ASKED_AGAIN)
def test_five_wrong_passwords_lock_the_email_as_at_sign_in(browser, csp, page):
    ask = ASKED_AGAIN[page]
    for _ in range(LIMIT - 1):
        response = ask(browser, WRONG)
        assert response.status_code == 200
        assert response.context["form"].errors

    response = ask(browser, WRONG)

    assert response.status_code == LOCKED
    assert lockout_message() in response.content.decode()
    # The email is locked for sign-in too, the right password included.
    assert sign_in(Client(), csp.member.email).status_code == LOCKED


@pytest.mark.parametrize("page", ASKED_AGAIN)
def test_the_lockout_signs_this_session_out_and_keeps_the_email(browser, csp, page):
    ask = ASKED_AGAIN[page]
    for _ in range(LIMIT - 1):
        ask(browser, WRONG)

    response = ask(browser, WRONG)

    page_text = response.content.decode()
    assert f'value="{csp.member.email}"' in page_text
    assert 'name="sign_in"' in page_text
    assert not signed_in(browser)


@pytest.mark.parametrize("page", ASKED_AGAIN)
def test_failures_there_and_at_sign_in_add_up(browser, csp, page):
    for _ in range(LIMIT - 2):
        assert sign_in(Client(), csp.member.email, WRONG).status_code == 200
    assert ASKED_AGAIN[page](browser, WRONG).status_code == 200

    assert ASKED_AGAIN[page](browser, WRONG).status_code == LOCKED


@pytest.mark.parametrize("page", ASKED_AGAIN)
def test_failures_are_counted_against_the_email_in_any_case(csp, page):
    # Signed in as typed USER@..., the failures still count for the one identity, user@...
    client = Client()
    assert sign_in(client, csp.member.email.upper()).status_code == 302
    pass_second_factor(client, csp.member)
    for _ in range(LIMIT - 1):
        ASKED_AGAIN[page](client, WRONG)

    assert sign_in(Client(), csp.member.email.lower(), WRONG).status_code == LOCKED


def test_a_locked_out_email_cannot_confirm_even_with_the_right_password(browser, csp):
    password_entry_forgotten(browser)
    for _ in range(LIMIT):
        sign_in(Client(), csp.member.email, WRONG)  # someone else, at the sign-in page

    response = confirm(browser, PASSWORD)

    assert response.status_code == LOCKED
    assert lockout_message() in response.content.decode()
    assert SESSION_KEY not in browser.session
    assert not signed_in(browser)


def test_a_locked_out_email_cannot_change_its_password(browser, csp):
    for _ in range(LIMIT):
        sign_in(Client(), csp.member.email, WRONG)

    response = change(browser, PASSWORD)

    assert response.status_code == LOCKED
    user = User.objects.get(pk=csp.member.pk)
    assert user.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED).exists()


def test_the_forced_change_of_a_temporary_password_counts_too(csp):
    User.objects.filter(pk=csp.member.pk).update(must_change_password=True)
    client = Client()
    sign_in(client, csp.member.email)
    pass_second_factor(client, csp.member)
    for _ in range(LIMIT - 1):
        assert change(client, WRONG).status_code == 200

    assert change(client, WRONG).status_code == LOCKED
    assert User.objects.get(pk=csp.member.pk).check_password(PASSWORD)


@pytest.mark.parametrize("page", ASKED_AGAIN)
def test_the_right_password_before_the_limit_clears_the_count(browser, csp, page):
    for _ in range(LIMIT - 1):
        confirm(browser, WRONG)

    assert ASKED_AGAIN[page](browser, PASSWORD).status_code == 302

    for _ in range(LIMIT - 1):
        assert sign_in(Client(), csp.member.email, WRONG).status_code == 200


# In axes' table only: there the failures' age can be moved back; the cache forgets by itself.
@pytest.mark.parametrize("failures_kept_in", ["database"], indirect=True)
def test_after_the_cool_off_the_password_confirms_again(browser, csp):
    for _ in range(LIMIT):
        sign_in(Client(), csp.member.email, WRONG)
    later = Client()

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )

    assert sign_in(later, csp.member.email).status_code == 302
    assert confirm(later, PASSWORD).status_code == 302


def test_another_users_failures_do_not_lock_this_one(browser, csp):
    other = Client()
    sign_in(other, csp.billing_admin.email)
    for _ in range(LIMIT):
        confirm(other, WRONG)

    assert confirm(browser, PASSWORD).status_code == 302
    assert signed_in(browser)
