"""Forgot password?: ask for a link by email, open it, choose a new password.

Django's password-reset views with PartnerHub's pages and emails: the same answer whether or not
the email has an account; only active users with a password get a link; completing the reset is
audited, clears the sign-in lockout and the duty to change a temporary password.
"""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import reverse

from accounts import services
from accounts.models import AuditAction, AuditEvent, AuditOutcome
from tests.factories import PASSWORD, UserFactory
from tests.jobs import sent_mail
from tests.second_factor import pass_second_factor

FORGOT = reverse("password_reset")
NEW_PASSWORD = "Chosen-after-a-reset-2026"
LINK = re.compile(r"https?://[^\s]+/accounts/reset/[^\s]+/")


def ask_for_link(client, email: str):
    return client.post(FORGOT, {"email": email})


def link_path(message) -> str:
    return "/" + LINK.search(message.body).group(0).split("/", 3)[3]


def reset(client, path: str, password: str = NEW_PASSWORD, again: str | None = None):
    opened = client.get(path)
    assert opened.status_code == 302, opened.content[:300]
    return client.post(opened.url, {"new_password1": password, "new_password2": again or password})


def without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def not_valid(response) -> bool:
    return response.status_code == 200 and b'data-testid="link-not-valid"' in response.content


def test_the_sign_in_page_links_to_forgot_password(client, db):
    page = client.get(reverse("login")).content.decode()

    assert f'href="{FORGOT}"' in page
    assert "Forgot password?" in page


def test_the_form_is_a_crispy_page_of_our_own(client, db):
    page = client.get(FORGOT).content.decode()

    assert "Forgot your password?" in page
    assert 'name="email"' in page
    assert "Send the link" in page


def test_a_users_email_gets_a_one_time_link(client, csp, settings):
    settings.DEFAULT_FROM_EMAIL = "PartnerHub <noreply@partnerhub.example>"

    response = ask_for_link(client, csp.member.email.upper())

    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    [message] = sent_mail()
    assert message.to == [csp.member.email]
    assert message.from_email == "PartnerHub <noreply@partnerhub.example>"
    assert message.subject == "Choose a new PartnerHub password"
    assert LINK.search(message.body)
    assert "3 days" in message.body


def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(client, csp):
    known = client.get(ask_for_link(client, csp.member.email).url)
    unknown = client.get(ask_for_link(client, "nobody@example.com").url)

    assert without_csrf(known) == without_csrf(unknown)
    assert len(sent_mail()) == 1


@pytest.mark.parametrize(
    "fields",
    [{"is_active": False}, {"password": "!invited"}],
    ids=["deactivated", "no password yet (invited)"],
)
def test_only_active_users_with_a_password_get_a_link(client, csp, fields):
    user = UserFactory(organization=csp.organization, **fields)

    response = ask_for_link(client, user.email)

    assert response.url == reverse("password_reset_done")
    assert sent_mail() == []


def test_no_link_to_an_email_someone_else_set_until_the_user_signs_in(client, csp):
    """A User management admin may edit an email; a reset link to the new address would let them
    take the account over, which only a Global admin's password reset may (rule 6)."""
    services.update_user_details(
        csp.user_admin,
        csp.member,
        first_name=csp.member.first_name,
        last_name=csp.member.last_name,
        email="taken.over@attacker.example",
    )

    response = ask_for_link(client, "taken.over@attacker.example")

    assert response.status_code == 302  # the same answer as for any email
    assert sent_mail() == []
    client.force_login(csp.member)  # the user signs in with their password: the email is theirs
    client.logout()
    ask_for_link(client, "taken.over@attacker.example")
    assert len(sent_mail()) == 1


def test_a_user_who_changed_their_own_email_gets_a_link(client, csp):
    services.update_user_details(
        csp.global_admin,
        csp.global_admin,
        first_name=csp.global_admin.first_name,
        last_name=csp.global_admin.last_name,
        email="new.address@contoso.example",
    )

    ask_for_link(client, "new.address@contoso.example")

    assert len(sent_mail()) == 1


def test_a_bad_email_is_explained_at_the_field(client, db):
    response = client.post(FORGOT, {"email": "not an email"})

    assert response.status_code == 200
    assert "Enter an email address, such as name@example.com." in response.content.decode()
    assert 'value="not an email"' in response.content.decode()


def test_completing_the_reset_sets_the_password_and_is_audited(client, csp):
    user = csp.member
    ask_for_link(client, user.email)
    path = link_path(sent_mail()[0])
    token = path.rstrip("/").rsplit("/", 1)[1]

    opened = client.get(path)
    assert token not in opened.url  # the token leaves the address before the form is shown
    response = client.post(
        opened.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.about(user).get(action=AuditAction.PASSWORD_RESET_BY_EMAIL)
    assert (event.actor, event.outcome, event.organization) == (
        user,
        AuditOutcome.DONE,
        csp.organization,
    )
    assert "Your password is changed" in client.get(response.url).content.decode()


def test_the_link_works_once(client, csp):
    ask_for_link(client, csp.member.email)
    path = link_path(sent_mail()[0])
    reset(client, path)

    again = client.get(path)

    assert not_valid(again)
    assert "Send me a new link" in again.content.decode()


def test_an_expired_link_does_not_work(client, csp, settings):
    ask_for_link(client, csp.member.email)
    later = PasswordResetTokenGenerator()._now().replace(year=2100)

    path = link_path(sent_mail()[0])
    with mock.patch.object(PasswordResetTokenGenerator, "_now", return_value=later):
        assert not_valid(client.get(path))


def test_a_user_deactivated_after_asking_cannot_use_the_link(client, csp):
    ask_for_link(client, csp.member.email)
    path = link_path(sent_mail()[0])
    services.deactivate_user(csp.global_admin, csp.member)

    assert not_valid(client.get(path))


def test_deactivation_while_the_form_is_open_stops_the_reset(client, csp):
    ask_for_link(client, csp.member.email)
    opened = client.get(link_path(sent_mail()[0]))
    services.deactivate_user(csp.global_admin, csp.member)

    response = client.post(
        opened.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert not_valid(response)
    csp.member.refresh_from_db()
    assert csp.member.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("password", "again", "message"),
    [
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The two passwords do not match."),
        ("short", "short", "This password is too short."),
    ],
)
def test_a_bad_password_is_explained_and_nothing_changes(client, csp, password, again, message):
    ask_for_link(client, csp.member.email)

    response = reset(client, link_path(sent_mail()[0]), password, again)

    assert response.status_code == 200
    assert message in response.content.decode()
    csp.member.refresh_from_db()
    assert csp.member.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_RESET_BY_EMAIL).exists()


@pytest.mark.parametrize("path", ["/accounts/reset/!!!/abc-123/", "/accounts/reset/MQ/x-y/"])
def test_a_link_for_nobody_says_so(client, db, path):
    assert not_valid(client.get(path))


def test_the_reset_clears_the_sign_in_lockout(client, csp):
    email = csp.member.email
    for _ in range(5):
        client.post(reverse("login"), {"username": email, "password": "guess"})
    locked = client.post(reverse("login"), {"username": email, "password": PASSWORD})
    assert locked.status_code == 429
    assert "Forgot password?" in locked.content.decode()

    ask_for_link(client, email)
    reset(client, link_path(sent_mail()[0]))

    signed_in = client.post(reverse("login"), {"username": email, "password": NEW_PASSWORD})
    assert signed_in.status_code == 302


def test_a_user_with_a_temporary_password_need_not_change_it_after_a_reset(client, csp):
    user = csp.member
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    ask_for_link(client, user.email)

    reset(client, link_path(sent_mail()[0]))

    user.refresh_from_db()
    assert not user.must_change_password
    client.post(reverse("login"), {"username": user.email, "password": NEW_PASSWORD})
    pass_second_factor(client, user)
    assert client.get(reverse("home")).status_code == 200


def test_the_reset_ends_the_users_other_sessions(client, csp):
    elsewhere = client_class_for(client)
    elsewhere.force_login(csp.member)
    assert elsewhere.get(reverse("home")).status_code == 200

    ask_for_link(client, csp.member.email)
    reset(client, link_path(sent_mail()[0]))

    assert elsewhere.get(reverse("home")).status_code == 302


def client_class_for(client):
    return type(client)()
