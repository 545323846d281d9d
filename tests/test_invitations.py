"""Invitations: the one-time emailed link with which a new user sets their own password.

Sending (accounts.invitations), adding a user with an invitation (accounts.services.create_user),
accepting it (/invitation/<uidb64>/<token>/), and resending it from the user's page.
"""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import services
from accounts.invitations import (
    INVITATION_DAYS,
    InvitationTokenGenerator,
    invitation_link,
    invitation_status,
    invitation_token_generator,
    send_invitations,
)
from accounts.models import AuditAction, AuditEvent, AuditOutcome, User
from jobs.models import OutgoingEmail
from roles import rules
from roles.catalogue import RoleKey
from tests.factories import UserFactory
from tests.jobs import sent_mail
from tests.second_factor import pass_second_factor

BASE_URL = "https://partnerhub.example"
NEW_PASSWORD = "Grace-chose-this-2026"
LINK = re.compile(r"https?://[^\s]+/invitation/[^\s]+/")


def invited(organization, **fields) -> User:
    """A user added with an invitation: no password yet (an unusable one)."""
    return UserFactory(organization=organization, **{"password": "!invited", **fields})


def link_path(message) -> str:
    """The path of the invitation link in an email."""
    return "/" + LINK.search(message.body).group(0).split("/", 3)[3]


def accept(client, path: str, password: str = NEW_PASSWORD, again: str | None = None):
    """Open the link, then choose the password on the page it leads to."""
    opened = client.get(path)
    assert opened.status_code == 302, opened.content[:300]
    return client.post(opened.url, {"new_password1": password, "new_password2": again or password})


def later(days: float):
    """Pretend the token generators' clock has moved on."""
    now = InvitationTokenGenerator()._now() + timedelta(days=days)
    return mock.patch.object(InvitationTokenGenerator, "_now", return_value=now)


# Sending


def test_send_invitations_emails_each_user_a_link(csp, settings):
    settings.DEFAULT_FROM_EMAIL = "PartnerHub <noreply@partnerhub.example>"
    ada, grace = invited(csp.organization), invited(csp.organization)

    sent = send_invitations([ada, grace], invited_by=csp.global_admin, base_url=BASE_URL + "/")

    assert sent == 2
    assert [message.to for message in sent_mail()] == [[ada.email], [grace.email]]
    message = sent_mail()[0]
    assert message.from_email == "PartnerHub <noreply@partnerhub.example>"
    assert "\n" not in message.subject
    assert csp.organization.name in message.subject
    assert csp.global_admin.get_full_name() in message.body
    assert f"{INVITATION_DAYS} days" in message.body
    assert LINK.search(message.body).group(0).startswith(f"{BASE_URL}/invitation/")


def test_send_invitations_uses_one_connection(csp):
    users = [invited(csp.organization) for _ in range(3)]

    with mock.patch("accounts.invitations.get_connection", wraps=mail.get_connection) as opened:
        assert send_invitations(users, invited_by=None, base_url=BASE_URL) == 3

    assert opened.call_count == 1
    assert "You have been added" in sent_mail()[0].body


def test_send_invitations_to_nobody_sends_nothing(db):
    assert send_invitations([], invited_by=None, base_url=BASE_URL) == 0
    assert sent_mail() == []


# The token


def test_the_link_names_the_user_and_a_token(csp):
    user = invited(csp.organization)

    link = invitation_link(user, base_url=BASE_URL)

    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    assert link.startswith(f"{BASE_URL}/invitation/{uidb64}/")
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert invitation_token_generator.check_token(user, token)


def test_the_token_expires_after_seven_days(csp):
    user = invited(csp.organization)
    token = invitation_token_generator.make_token(user)

    with later(INVITATION_DAYS - 0.01):
        assert invitation_token_generator.check_token(user, token)
    with later(INVITATION_DAYS + 0.01):
        assert not invitation_token_generator.check_token(user, token)


def test_the_token_dies_with_a_new_unusable_password(csp):
    user = invited(csp.organization)
    token = invitation_token_generator.make_token(user)

    user.set_unusable_password()

    assert not invitation_token_generator.check_token(user, token)


def test_an_invitation_token_is_no_reset_token_and_the_other_way_round(csp):
    user = invited(csp.organization)

    assert not default_token_generator.check_token(
        user, invitation_token_generator.make_token(user)
    )
    assert not invitation_token_generator.check_token(
        user, default_token_generator.make_token(user)
    )


@pytest.mark.parametrize("token", ["", "nonsense", "zz!z-abc", "-abc", "1-2-3", None])
def test_a_malformed_token_is_refused(csp, token):
    assert not invitation_token_generator.check_token(invited(csp.organization), token)


# Adding a user with an invitation (the service)


def add_invited(actor, organization, email="grace.hopper@contoso.example", **kwargs):
    return services.create_user(
        actor,
        organization=organization,
        first_name="Grace",
        last_name="Hopper",
        email=email,
        role_keys=[RoleKey.MPN_PARTNER_ADMIN],
        invite=True,
        base_url=BASE_URL,
        **kwargs,
    )


def test_an_invited_user_has_no_password_and_gets_the_email_from_a_worker(csp):
    new = add_invited(csp.global_admin, csp.organization)
    # Enqueued with the user, in the same transaction; not sent by the request.
    assert OutgoingEmail.objects.get(user=new.user).state == OutgoingEmail.State.WAITING
    assert mail.outbox == []

    assert new.temporary_password is None
    user = User.objects.get(pk=new.user.pk)
    assert not user.has_usable_password()
    assert not user.must_change_password
    created = AuditEvent.objects.about(user).get(action=AuditAction.USER_CREATED)
    assert created.after["sign_in"] == "invitation"
    assert [message.to for message in sent_mail()] == [[user.email]]
    assert link_path(sent_mail()[0]).startswith("/invitation/")


def test_a_rolled_back_creation_sends_no_email(csp, django_capture_on_commit_callbacks):
    def add_then_fail() -> None:
        with transaction.atomic():
            add_invited(csp.global_admin, csp.organization)
            raise RuntimeError("the caller's transaction fails after the user was created")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        add_then_fail()

    assert not User.objects.filter(email="grace.hopper@contoso.example").exists()
    assert sent_mail() == []


def test_a_temporary_password_is_still_the_default_of_the_service(csp):
    new = services.create_user(
        csp.global_admin,
        organization=csp.organization,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@contoso.example",
    )

    assert new.user.check_password(new.temporary_password)
    assert new.user.must_change_password
    created = AuditEvent.objects.about(new.user).get(action=AuditAction.USER_CREATED)
    assert "sign_in" not in created.after
    assert sent_mail() == []


def test_a_failing_mail_server_does_not_undo_the_user(csp, django_capture_on_commit_callbacks):
    with (
        mock.patch("accounts.invitations.get_connection", side_effect=OSError("SMTP down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        new = add_invited(csp.global_admin, csp.organization)

    # Logged, not raised: the admin resends from the user's page.
    assert User.objects.filter(pk=new.user.pk).exists()


# Accepting


@pytest.fixture
def grace(csp, client, django_capture_on_commit_callbacks):
    """Grace, invited by the Global admin; her invitation is in sent_mail()[0]."""
    with django_capture_on_commit_callbacks(execute=True):
        new = add_invited(csp.global_admin, csp.organization)
    return new.user


def test_the_link_moves_its_token_out_of_the_address(client, grace):
    path = link_path(sent_mail()[0])
    token = path.rstrip("/").rsplit("/", 1)[1]

    opened = client.get(path)

    assert opened.status_code == 302
    assert token not in opened.url
    assert opened.url.endswith("/set-password/")
    page = client.get(opened.url)
    assert page.status_code == 200
    assert token.encode() not in page.content
    assert grace.email in page.content.decode()
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]


def test_accepting_sets_the_password_and_sends_to_sign_in(client, grace):
    response = accept(client, link_path(sent_mail()[0]))

    assert response.status_code == 302
    assert response.url == reverse("login")
    grace.refresh_from_db()
    assert grace.check_password(NEW_PASSWORD)
    assert not grace.must_change_password
    event = AuditEvent.objects.about(grace).get(action=AuditAction.INVITATION_ACCEPTED)
    assert (event.actor, event.outcome) == (grace, AuditOutcome.DONE)
    assert NEW_PASSWORD not in str(event.after) + str(event.before)
    page = client.get(response.url).content.decode()
    assert "Your password is set" in page


def test_the_sign_in_form_after_accepting_has_the_email_filled_in(client, grace):
    response = accept(client, link_path(sent_mail()[0]))

    page = client.get(response.url).content.decode()
    assert re.search(rf'name="username" value="{re.escape(grace.email)}"', page)
    assert re.search(r'name="password"[^>]*autofocus', page)
    # Once: the next visit to the sign-in page is an empty form again.
    assert grace.email not in client.get(reverse("login")).content.decode()


def test_the_new_user_then_signs_in_without_changing_the_password(client, grace):
    accept(client, link_path(sent_mail()[0]))

    signed_in = client.post(
        reverse("login"), {"username": grace.email.upper(), "password": NEW_PASSWORD}
    )

    assert signed_in.status_code == 302
    pass_second_factor(client, grace)
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.parametrize(
    ("password", "again", "message"),
    [
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The two passwords do not match."),
        ("short", "short", "This password is too short."),
        ("abcdefghijkl", "abcdefghijkl", "This password would be easy to guess."),
        ("password123", "password123", "This password is too common."),
    ],
)
def test_a_bad_password_is_explained_and_nothing_is_set(client, grace, password, again, message):
    response = accept(client, link_path(sent_mail()[0]), password, again)

    assert response.status_code == 200
    assert message in response.content.decode()
    grace.refresh_from_db()
    assert not grace.has_usable_password()
    assert not AuditEvent.objects.filter(action=AuditAction.INVITATION_ACCEPTED).exists()


def test_the_password_may_not_resemble_the_email(client, grace):
    response = accept(client, link_path(sent_mail()[0]), grace.email, grace.email)

    assert "too similar" in response.content.decode()


def not_valid(response) -> bool:
    return response.status_code == 200 and b'data-testid="link-not-valid"' in response.content


def test_a_used_link_does_not_work_again(client, grace):
    path = link_path(sent_mail()[0])
    accept(client, path)

    assert not_valid(client.get(path))


def test_an_expired_link_does_not_work(client, grace):
    path = link_path(sent_mail()[0])
    with later(INVITATION_DAYS + 1):
        response = client.get(path)

    assert not_valid(response)
    assert "ask an admin of your organization to resend" in response.content.decode().lower()


def test_a_link_that_expires_while_the_form_is_open_does_not_set_the_password(client, grace):
    opened = client.get(link_path(sent_mail()[0]))

    with later(INVITATION_DAYS + 1):
        response = client.post(
            opened.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )

    assert not_valid(response)
    grace.refresh_from_db()
    assert not grace.has_usable_password()


def test_a_deactivated_users_link_does_not_work(client, csp, grace):
    path = link_path(sent_mail()[0])
    services.deactivate_user(csp.global_admin, grace)

    assert not_valid(client.get(path))


def test_deactivation_while_the_form_is_open_stops_it(client, csp, grace):
    opened = client.get(link_path(sent_mail()[0]))
    services.deactivate_user(csp.global_admin, grace)

    response = client.post(
        opened.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert not_valid(response)
    grace.refresh_from_db()
    assert not grace.has_usable_password()


def test_the_same_link_in_two_tabs_sets_one_password(client, grace):
    path = link_path(sent_mail()[0])
    first = client.get(path).url
    token = client.session["_invitation_token"]
    accept(client, path)
    # The second tab's session still holds the token.
    session = client.session
    session["_invitation_token"] = token
    session.save()

    response = client.post(first, {"new_password1": "Another-one-2026", "new_password2": "x"})

    assert not_valid(response)
    grace.refresh_from_db()
    assert grace.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    "uidb64", ["", "!!!", "MQ", "bm90LWEtbnVtYmVy", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ"]
)
def test_a_link_for_nobody_says_so(client, db, uidb64):
    path = f"/invitation/{uidb64}/abc-123/" if uidb64 else "/invitation/x/abc-123/"

    assert not_valid(client.get(path))
    assert not_valid(client.post(path, {"new_password1": "x", "new_password2": "x"}))


def test_the_set_password_page_without_a_link_first_says_the_link_does_not_work(client, grace):
    uidb64 = urlsafe_base64_encode(force_bytes(grace.pk))

    assert not_valid(client.get(f"/invitation/{uidb64}/set-password/"))


def test_a_link_for_a_user_with_a_password_does_not_work(client, csp):
    # Someone who already has a password is not invited, even with a well-signed token.
    user = csp.member
    token = invitation_token_generator.make_token(user)
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))

    assert not_valid(client.get(f"/invitation/{uidb64}/{token}/"))


def test_accepting_clears_failed_sign_ins(client, grace):
    for _ in range(5):
        client.post(reverse("login"), {"username": grace.email, "password": "guess"})

    accept(client, link_path(sent_mail()[0]))

    signed_in = client.post(reverse("login"), {"username": grace.email, "password": NEW_PASSWORD})
    assert signed_in.status_code == 302


# Resending


@pytest.fixture
def resend(client, django_capture_on_commit_callbacks):
    """resend(actor, target): the actor selects Resend invitation on the target's page."""

    def select(actor, target):
        client.force_login(actor)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("resend_invitation", args=[target.public_id]))

    return select


def test_resending_sends_a_new_link_and_kills_the_old_one(client, csp, grace, resend):
    old = link_path(sent_mail()[0])

    response = resend(csp.user_admin, grace)

    assert response.status_code == 302
    assert response.url == reverse("user_detail", args=[grace.public_id])
    assert len(sent_mail()) == 2
    assert sent_mail()[1].to == [grace.email]
    new = link_path(sent_mail()[1])
    assert new != old
    event = AuditEvent.objects.about(grace).get(action=AuditAction.INVITATION_SENT)
    assert event.actor == csp.user_admin
    page = client.get(response.url).content.decode()
    assert f"A new invitation is on its way to <bdi>{grace.email}</bdi>" in page
    client.logout()
    assert not_valid(client.get(old))
    assert accept(client, new).url == reverse("login")


def test_the_user_page_offers_resend_and_shows_the_invitation(client, csp, grace):
    client.force_login(csp.user_admin)
    url = reverse("user_detail", args=[grace.public_id])

    assert "Invitation waiting to be sent" in client.get(url).content.decode()
    sent_mail()  # a worker sends it
    page = client.get(url).content.decode()

    assert "Resend invitation" in page
    assert "Invitation sent" in page
    assert "expires" in page


def test_the_user_page_says_when_the_invitation_expired(client, csp, grace):
    sent_mail()  # sent by a worker, then left unused
    with mock.patch(
        "accounts.invitations.timezone.now",
        return_value=timezone.now() + timedelta(days=INVITATION_DAYS + 1),
    ):
        # Signed in days later: a session from before would have timed out by then.
        client.force_login(csp.global_admin)
        page = client.get(reverse("user_detail", args=[grace.public_id])).content.decode()

    assert "Invitation expired" in page
    assert "Resend invitation" in page


def test_a_user_with_a_password_has_no_invitation_to_resend(client, csp, resend):
    client.force_login(csp.global_admin)

    page = client.get(reverse("user_detail", args=[csp.member.public_id])).content.decode()

    assert "Resend invitation" not in page
    assert 'data-testid="invitation-status"' not in page
    response = resend(csp.global_admin, csp.member)
    assert response.status_code == 302
    assert "already set a password" in client.get(response.url).content.decode()
    assert sent_mail() == []
    refused = AuditEvent.objects.about(csp.member).get(action=AuditAction.INVITATION_SENT)
    assert refused.outcome == AuditOutcome.REFUSED


@pytest.mark.parametrize("who", ["account_admin", "mpn_admin", "member"])
def test_only_those_who_manage_the_user_resend(client, csp, grace, who, resend):
    actor = getattr(csp, who)
    client.force_login(actor)

    page = client.get(reverse("user_detail", args=[grace.public_id]))
    response = resend(actor, grace)

    assert "Resend invitation" not in page.content.decode()
    assert response.status_code == 403
    assert len(sent_mail()) == 1


def test_a_user_management_admin_does_not_resend_to_a_global_admin(client, csp, resend):
    invited_ga = invited(csp.organization, roles=[RoleKey.GLOBAL_ADMIN])

    assert resend(csp.user_admin, invited_ga).status_code == 403
    assert sent_mail() == []


def test_another_organizations_user_is_not_found(client, outsider, grace, resend):
    assert resend(outsider, grace).status_code == 404


def test_the_resend_is_sent_after_the_commit_only(csp, grace, django_capture_on_commit_callbacks):
    def resend_then_fail() -> None:
        with transaction.atomic():
            services.resend_invitation(csp.global_admin, grace, base_url=BASE_URL)
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        resend_then_fail()

    assert len(sent_mail()) == 1  # the first invitation only
    assert not AuditEvent.objects.filter(action=AuditAction.INVITATION_SENT).exists()


def test_invitation_status_dates_the_newest_invitation(csp, grace):
    first = invitation_status(grace)
    assert first.sent_at == grace.created_at
    assert first.expires_at == grace.created_at + timedelta(days=INVITATION_DAYS)

    services.resend_invitation(csp.global_admin, grace, base_url=BASE_URL)

    second = invitation_status(User.objects.get(pk=grace.pk))
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_SENT)
    assert second.sent_at == event.created_at
    assert not second.expired
    assert invitation_status(csp.member) is None


# The audit log


def test_a_user_management_admin_sees_invitation_events(csp):
    visible = rules.audit_actions_visible_to(csp.user_admin)

    assert {
        AuditAction.INVITATION_SENT,
        AuditAction.INVITATION_ACCEPTED,
        AuditAction.PASSWORD_RESET_BY_EMAIL,
    } <= visible


def test_the_audit_log_lists_and_filters_invitation_events(client, csp, grace):
    accept(client, link_path(sent_mail()[0]))
    client.force_login(csp.user_admin)

    page = client.get(reverse("audit_log"), {"action": AuditAction.INVITATION_ACCEPTED})

    assert page.status_code == 200
    text = page.content.decode()
    assert "Invitation accepted" in text
    assert grace.email in text


def test_the_first_sign_in_after_the_invitation_sets_up_the_second_factor(client, grace):
    accept(client, link_path(sent_mail()[0]))
    client.post(reverse("login"), {"username": grace.email, "password": NEW_PASSWORD})

    home = client.get(reverse("home"))

    assert home.url.startswith(reverse("second_factor"))
    assert client.get(home.url).url.startswith(reverse("enrol_authenticator_app"))
