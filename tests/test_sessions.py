"""Sessions end when access ends (DOMAIN.md rule 11): deactivation, deletion, a password reset
or change, and "Sign out everywhere" end every session of the user, on every server.

A session is ended by a new session generation, which changes the hash Django compares with
the one each session carries (accounts.services.end_sessions). Two browsers (Clients) signed in
through the sign-in page stand for two devices; the sessions live in the database that every
app server reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth import HASH_SESSION_KEY
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from accounts import services
from accounts.audit import Origin
from accounts.invitations import invitation_token_generator
from accounts.models import AuditAction, AuditEvent, AuditOutcome, User
from accounts.views.user import REPLACES, password_version
from tests.conftest import Cast
from tests.factories import PASSWORD, UserFactory
from tests.jobs import sent_mail

ORIGIN = Origin(ip_address="203.0.113.7", user_agent="Mozilla/5.0 (PartnerHub tests)")
HOME = reverse("home")
PROFILE = reverse("profile")
SIGN_OUT_EVERYWHERE = reverse("sign_out_everywhere")
NEW_PASSWORD = "Tangerine-lighthouse-42"


def signed_in_client(user: User, password: str = PASSWORD) -> Client:
    """A browser of its own, signed in through the sign-in page as the user."""
    browser = Client()
    response = browser.post(reverse("login"), {"username": user.email, "password": password})
    assert response.status_code == 302
    assert signed_in_as(browser) == user.pk
    return browser


def signed_in_as(browser: Client) -> int | None:
    """Whom the browser's next request is signed in as, asked of the server."""
    user = browser.get(HOME).wsgi_request.user
    return user.pk if user.is_authenticated else None


def admin_url(name: str, *args: object) -> str:
    return reverse(f"admin:{name}", args=args)


def support_browser(support: User) -> Client:
    browser = Client()
    browser.force_login(support)
    return browser


# Deactivation: the session does not come back


def test_a_session_suspended_by_deactivation_does_not_come_back_on_reactivation(csp):
    browser = signed_in_client(csp.member)

    services.deactivate_user(csp.global_admin, csp.member, origin=ORIGIN)
    services.reactivate_user(csp.global_admin, csp.member, origin=ORIGIN)

    assert signed_in_as(browser) is None
    # The session was flushed, not only refused: its data is gone.
    assert "_auth_user_id" not in browser.session


def test_deactivation_ends_every_session_of_the_user_and_no_one_elses(csp):
    phone, laptop = signed_in_client(csp.member), signed_in_client(csp.member)
    colleague = signed_in_client(csp.billing_admin)

    services.deactivate_user(csp.global_admin, csp.member, origin=ORIGIN)
    services.reactivate_user(csp.global_admin, csp.member, origin=ORIGIN)

    assert signed_in_as(phone) is None
    assert signed_in_as(laptop) is None
    assert signed_in_as(colleague) == csp.billing_admin.pk


def test_the_reactivated_user_signs_in_again(csp):
    signed_in_client(csp.member)
    services.deactivate_user(csp.global_admin, csp.member, origin=ORIGIN)
    services.reactivate_user(csp.global_admin, csp.member, origin=ORIGIN)

    assert signed_in_as(signed_in_client(csp.member)) == csp.member.pk


def test_a_refused_deactivation_ends_no_session(csp):
    browser = signed_in_client(csp.global_admin)

    with pytest.raises(services.RuleRefused):
        services.deactivate_user(csp.user_admin, csp.global_admin, origin=ORIGIN)

    assert signed_in_as(browser) == csp.global_admin.pk


def test_deactivating_from_a_users_page_ends_their_sessions(client, csp):
    browser = signed_in_client(csp.member)
    client.force_login(csp.global_admin)

    client.post(reverse("deactivate_user", args=[csp.member.public_id]))
    client.post(reverse("reactivate_user", args=[csp.member.public_id]))

    assert User.objects.get(pk=csp.member.pk).is_active
    assert signed_in_as(browser) is None


# Every path that ends access ends the sessions, in the app and in the support admin


def deactivate_in_the_admin_form(cast: Cast, support: User) -> None:
    member = cast.member
    data = {
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "roles": [a.role_id for a in member.role_assignments.all()],
    }  # is_active unticked
    support_browser(support).post(admin_url("accounts_user_change", member.pk), data)
    assert not User.objects.get(pk=member.pk).is_active


def deactivate_in_bulk_in_the_admin(cast: Cast, support: User) -> None:
    support_browser(support).post(
        admin_url("accounts_user_changelist"),
        {"action": "deactivate_selected", "_selected_action": [cast.member.pk], "index": 0},
    )
    assert not User.objects.get(pk=cast.member.pk).is_active


def delete_in_the_admin(cast: Cast, support: User) -> None:
    support_browser(support).post(
        admin_url("accounts_user_delete", cast.member.pk), {"post": "yes"}
    )
    assert not User.objects.filter(pk=cast.member.pk).exists()


def delete_in_bulk_in_the_admin(cast: Cast, support: User) -> None:
    support_browser(support).post(
        admin_url("accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [cast.member.pk], "post": "yes"},
    )
    assert not User.objects.filter(pk=cast.member.pk).exists()


def delete_from_the_users_page(cast: Cast, support: User) -> None:
    admin = Client()
    admin.force_login(cast.global_admin)
    admin.post(reverse("delete_user", args=[cast.member.public_id]))
    assert not User.objects.filter(pk=cast.member.pk).exists()


def reset_from_the_users_page(cast: Cast, support: User) -> None:
    admin = Client()
    admin.force_login(cast.global_admin)
    admin.post(
        reverse("reset_password", args=[cast.member.public_id]),
        {REPLACES: password_version(User.objects.get(pk=cast.member.pk))},
    )
    assert User.objects.get(pk=cast.member.pk).must_change_password


ENDINGS: dict[str, Callable[[Cast, User], None]] = {
    "deactivated in the admin's form": deactivate_in_the_admin_form,
    "deactivated by the admin's bulk action": deactivate_in_bulk_in_the_admin,
    "deleted in the admin": delete_in_the_admin,
    "deleted by the admin's bulk action": delete_in_bulk_in_the_admin,
    "deleted from the user's page": delete_from_the_users_page,
    "password reset from the user's page": reset_from_the_users_page,
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_every_way_of_ending_access_ends_the_users_sessions(csp, support, ending):
    browser = signed_in_client(csp.member)

    ENDINGS[ending](csp, support)
    if User.objects.filter(pk=csp.member.pk, is_active=False).exists():
        services.reactivate_user(csp.global_admin, csp.member, origin=ORIGIN)

    assert signed_in_as(browser) is None
    assert browser.get(PROFILE).status_code == 302


def test_a_deleted_users_session_does_not_pass_to_a_user_added_after(csp):
    browser = signed_in_client(csp.member)
    deleted_pk = csp.member.pk
    services.delete_user(csp.global_admin, csp.member, origin=ORIGIN)

    newcomer = UserFactory(organization=csp.organization)

    assert newcomer.pk != deleted_pk  # primary keys are never given out again
    assert signed_in_as(browser) is None


# Passwords: reset by an admin, changed by the user, set from an emailed link


def test_an_admins_password_reset_ends_the_users_sessions_for_good(csp):
    browser = signed_in_client(csp.member)

    services.reset_password(csp.global_admin, csp.member, origin=ORIGIN)

    assert signed_in_as(browser) is None
    assert "_auth_user_id" not in browser.session


def test_a_link_that_sets_the_password_ends_the_other_sessions(client, csp):
    browser = signed_in_client(csp.member)
    client.post(reverse("password_reset"), {"email": csp.member.email})
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", sent_mail()[0].body).group(1)
    form = client.get(link, follow=True)

    client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert User.objects.get(pk=csp.member.pk).check_password(NEW_PASSWORD)
    assert signed_in_as(browser) is None


def test_an_invitation_ends_any_session_begun_before(csp):
    # An invited user has no password; a session can only predate the invitation (a resend
    # after a reset, say). The session generation is renewed all the same.
    invited = UserFactory(organization=csp.organization)
    invited.set_unusable_password()
    invited.save()
    generation = invited.session_generation

    services.set_password_from_link(
        invited,
        invitation_token_generator.make_token(invited),
        NEW_PASSWORD,
        token_generator=invitation_token_generator,
        audit_action=AuditAction.INVITATION_ACCEPTED,
        origin=ORIGIN,
    )

    assert User.objects.get(pk=invited.pk).session_generation not in {"", generation}


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(client, csp):
    elsewhere = signed_in_client(csp.member)
    client.force_login(csp.member)

    client.post(
        reverse("change_password"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert signed_in_as(client) == csp.member.pk
    assert signed_in_as(elsewhere) is None
    user = User.objects.get(pk=csp.member.pk)
    assert user.session_generation
    assert client.session[HASH_SESSION_KEY] == user.get_session_auth_hash()


def test_a_password_change_is_audited_without_the_password(client, csp):
    client.force_login(csp.member)

    client.post(
        reverse("change_password"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        HTTP_USER_AGENT="Mozilla/5.0 (PartnerHub tests)",
    )

    event = AuditEvent.objects.get(action=AuditAction.PASSWORD_CHANGED)
    assert event.outcome == AuditOutcome.DONE
    assert event.actor == event.target == csp.member
    assert event.organization == csp.organization
    assert event.user_agent == "Mozilla/5.0 (PartnerHub tests)"
    assert event.get_action_display() == "Password changed"
    stored = str([event.before, event.after, event.reason, event.actor_label])
    assert NEW_PASSWORD not in stored
    assert PASSWORD not in stored


def test_a_refused_password_change_is_not_audited_as_a_change(client, csp):
    client.force_login(csp.member)

    client.post(
        reverse("change_password"),
        {
            "old_password": "not-my-password",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED).exists()
    assert User.objects.get(pk=csp.member.pk).session_generation == ""


# Sign out everywhere


def test_my_profile_offers_sign_out_everywhere_as_a_post_form(client, csp):
    client.force_login(csp.member)

    response = client.get(PROFILE)

    page = response.content.decode()
    form = re.search(
        rf'<form[^>]*action="{SIGN_OUT_EVERYWHERE}"[^>]*>(.*?)</form>', page, re.DOTALL
    )
    assert form is not None
    assert 'method="post"' in form.group(0)
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert re.search(
        r'type="submit"\s+name="sign_out_everywhere"\s+value="Sign out everywhere"', form.group(1)
    )
    assertContains(response, "This browser stays signed in.")


def test_sign_out_everywhere_ends_the_other_sessions_and_keeps_this_one(client, csp):
    phone, laptop = signed_in_client(csp.member), signed_in_client(csp.member)
    colleague = signed_in_client(csp.billing_admin)
    client.force_login(csp.member)

    response = client.post(SIGN_OUT_EVERYWHERE, follow=True)

    assertRedirects(response, PROFILE)
    assertContains(response, "You are signed out everywhere else. This browser stays signed in.")
    assert signed_in_as(client) == csp.member.pk
    assert signed_in_as(phone) is None
    assert signed_in_as(laptop) is None
    assert signed_in_as(colleague) == csp.billing_admin.pk


def test_sign_out_everywhere_is_audited(client, csp):
    client.force_login(csp.member)

    client.post(SIGN_OUT_EVERYWHERE, REMOTE_ADDR="198.51.100.4")

    event = AuditEvent.objects.get(action=AuditAction.SIGNED_OUT_EVERYWHERE)
    assert event.outcome == AuditOutcome.DONE
    assert event.actor == event.target == csp.member
    assert event.organization == csp.organization
    assert event.ip_address == "198.51.100.4"
    assert event.get_action_display() == "Signed out everywhere"


def test_the_sessions_signed_out_everywhere_do_not_come_back(client, csp):
    phone = signed_in_client(csp.member)
    client.force_login(csp.member)

    client.post(SIGN_OUT_EVERYWHERE)
    client.post(reverse("logout"))

    assert signed_in_as(phone) is None
    assert signed_in_as(signed_in_client(csp.member)) == csp.member.pk


def test_sign_out_everywhere_needs_the_csrf_token(csp):
    phone = signed_in_client(csp.member)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(csp.member)

    response = browser.post(SIGN_OUT_EVERYWHERE)

    assert response.status_code == 403
    assert signed_in_as(phone) == csp.member.pk
    assert not AuditEvent.objects.filter(action=AuditAction.SIGNED_OUT_EVERYWHERE).exists()


def test_sign_out_everywhere_is_a_post(client, csp):
    client.force_login(csp.member)

    assert client.get(SIGN_OUT_EVERYWHERE).status_code == 405
    assert not AuditEvent.objects.filter(action=AuditAction.SIGNED_OUT_EVERYWHERE).exists()


def test_support_staff_may_sign_out_everywhere_too(support):
    other = support_browser(support)
    browser = support_browser(support)

    response = browser.post(SIGN_OUT_EVERYWHERE)

    assert response.status_code == 302
    assert signed_in_as(browser) == support.pk
    assert signed_in_as(other) is None
    assert other.get(admin_url("index")).status_code == 302


def test_the_admins_password_change_is_the_counted_and_audited_one(support):
    browser = support_browser(support)

    response = browser.get(admin_url("password_change"))

    assertRedirects(response, reverse("change_password"))
    browser.post(
        response.url,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    event = AuditEvent.objects.get(action=AuditAction.PASSWORD_CHANGED)
    assert event.actor == support
    assert event.organization is None
