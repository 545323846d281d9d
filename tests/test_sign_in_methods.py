"""Settings > My profile > Sign-in methods, and a Global admin's reset of another user's second
factor (DOMAIN.md rules 10 and 11)."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from accounts import audit
from accounts.models import AuditAction, AuditEvent, AuditOutcome, User
from mfa import services
from mfa.models import AuthenticatorApp, RecoveryCodes
from tests.conftest import Cast
from tests.factories import PASSWORD
from tests.second_factor import give_authenticator_app, pass_second_factor
from tests.test_reauthentication import password_entered

METHODS = reverse("sign_in_methods")


def passkey_of(user: User) -> WebAuthnCredential:
    """A passkey as django-otp-webauthn stores it (a public key: nothing secret)."""
    return WebAuthnCredential.objects.create(
        user=user,
        name="Passkey",
        confirmed=True,
        credential_id=b"credential-" + str(user.pk).encode(),
        public_key=b"public-key",
        sign_count=0,
    )


def remove(client: Client, device) -> object:
    kind = "app" if isinstance(device, AuthenticatorApp) else "passkey"
    return client.post(reverse("remove_sign_in_method", args=[kind, device.pk]))


def test_it_lists_the_methods_with_their_last_use(client, csp):
    app = give_authenticator_app(csp.member)
    passkey_of(csp.member)
    services.make_recovery_codes(csp.member)
    client.force_login(csp.member)

    response = client.get(METHODS)

    content = response.content.decode()
    assert "Authenticator app" in content
    assert "Passkey or security key" in content
    assert "10 of 10 unused" in content
    assert next(m for _, _, m in response.context["methods"]) == app


def test_the_only_method_cannot_be_removed(client, csp):
    client.force_login(csp.member)
    app = AuthenticatorApp.objects.get(user=csp.member)

    response = remove(client, app)

    assert response.url == METHODS
    assert AuthenticatorApp.objects.filter(pk=app.pk).exists()
    [refused] = AuditEvent.objects.filter(action=AuditAction.SECOND_FACTOR_REMOVED)
    assert refused.outcome == AuditOutcome.REFUSED


def test_one_of_two_methods_is_removed_and_recorded(client, csp):
    client.force_login(csp.member)
    passkey = passkey_of(csp.member)

    response = remove(client, passkey)

    assert response.url == METHODS
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    [event] = AuditEvent.objects.filter(action=AuditAction.SECOND_FACTOR_REMOVED)
    assert event.outcome == AuditOutcome.DONE
    assert event.after == {"method": "Passkey or security key"}
    # The app that verified this session is now the only one: it stays.
    assert remove(client, AuthenticatorApp.objects.get(user=csp.member)).url == METHODS
    assert AuthenticatorApp.objects.filter(user=csp.member).exists()


def test_removing_the_app_this_session_used_keeps_the_session_verified(client, csp):
    client.force_login(csp.member)  # verified with the member's app
    passkey_of(csp.member)

    remove(client, AuthenticatorApp.objects.get(user=csp.member))

    assert not AuthenticatorApp.objects.filter(user=csp.member).exists()
    assert client.get(METHODS).status_code == 200


def test_new_recovery_codes_keep_a_session_verified_by_a_recovery_code(client, csp):
    give_authenticator_app(csp.member)
    [first, *_] = services.make_recovery_codes(csp.member)
    client.post(reverse("login"), {"username": csp.member.email, "password": PASSWORD})
    assert client.post(reverse("second_factor"), {"code": first}).status_code == 302

    client.post(reverse("new_recovery_codes"))

    assert client.get(METHODS).status_code == 200


def test_another_persons_method_is_not_found(client, csp):
    client.force_login(csp.member)
    others = give_authenticator_app(csp.global_admin)

    assert remove(client, others).status_code == 404
    assert AuthenticatorApp.objects.filter(pk=others.pk).exists()


@pytest.mark.parametrize("change", ["remove", "new recovery codes", "add passkey", "add app"])
def test_changes_ask_for_the_password_when_it_was_entered_long_ago(client, csp, change):
    client.force_login(csp.member)
    passkey = passkey_of(csp.member)
    password_entered(client, minutes_ago=11)

    response = {
        "remove": lambda: remove(client, passkey),
        "new recovery codes": lambda: client.post(reverse("new_recovery_codes")),
        "add passkey": lambda: client.get(reverse("add_passkey")),
        "add app": lambda: client.get(reverse("enrol_authenticator_app")),
    }[change]()

    assert response.status_code == 302
    assert response.url.startswith(reverse("confirm_password"))
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert not RecoveryCodes.objects.filter(user=csp.member).exists()


def test_adding_a_passkey_needs_a_recent_password_at_the_endpoint_too(client, csp):
    client.force_login(csp.member)
    password_entered(client, minutes_ago=11)

    response = client.post(reverse("otp_webauthn:credential-registration-begin"))

    assert response.status_code == 403
    assert response.json()["detail"].startswith("For your security, confirm your password")


# A Global admin resets another user's second factor


def reset(client: Client, target: User):
    return client.post(reverse("reset_second_factor", args=[target.public_id]))


def test_the_reset_asks_first(client, csp):
    give_authenticator_app(csp.member)
    client.force_login(csp.global_admin)

    response = client.get(reverse("reset_second_factor", args=[csp.member.public_id]))

    assert response.status_code == 200
    assert "Authenticator app" in response.content.decode()
    assert AuthenticatorApp.objects.filter(user=csp.member).exists()


def test_a_reset_removes_every_method_ends_the_sessions_and_is_recorded(client, csp):
    member = Client()
    member.force_login(csp.member)
    passkey_of(csp.member)
    services.make_recovery_codes(csp.member)
    client.force_login(csp.global_admin)

    response = reset(client, csp.member)

    assert response.url == reverse("user_detail", args=[csp.member.public_id])
    assert not services.methods_of(csp.member)
    assert not RecoveryCodes.objects.filter(user=csp.member).exists()
    # Rule 11: the member's open session ended.
    assert member.get(reverse("home")).url.startswith(reverse("login"))
    [event] = AuditEvent.objects.filter(action=AuditAction.SECOND_FACTOR_RESET)
    assert event.actor == csp.global_admin
    assert event.target == csp.member
    assert event.before == {"methods": ["Authenticator app", "Passkey or security key"]}
    assert audit.verify_chains().intact


def test_after_a_reset_the_user_enrols_again_at_sign_in(client, csp):
    client.force_login(csp.global_admin)
    reset(client, csp.member)

    member = Client()
    member.post(reverse("login"), {"username": csp.member.email, "password": PASSWORD})

    assert member.get(reverse("second_factor")).url == reverse("enrol_authenticator_app")


def test_a_global_admins_reset_by_a_user_management_admin_is_refused_and_recorded(client, csp):
    client.force_login(csp.user_admin)
    give_authenticator_app(csp.global_admin)

    assert reset(client, csp.global_admin).status_code == 403
    assert AuthenticatorApp.objects.filter(user=csp.global_admin).exists()
    [refused] = AuditEvent.objects.refused().filter(action=AuditAction.SECOND_FACTOR_RESET)
    assert refused.actor == csp.user_admin


def test_the_service_refuses_support_staff(csp, support):
    give_authenticator_app(csp.member)

    with pytest.raises(services.RuleRefused):
        services.reset_second_factor(support, csp.member)
    assert services.methods_of(csp.member)
    assert AuditEvent.objects.refused().filter(action=AuditAction.SECOND_FACTOR_RESET).exists()


def test_a_reset_asks_for_the_password_when_it_was_entered_long_ago(client, csp):
    give_authenticator_app(csp.member)
    client.force_login(csp.global_admin)
    password_entered(client, minutes_ago=11)

    response = reset(client, csp.member)

    assert response.url.startswith(reverse("confirm_password"))
    assert services.methods_of(csp.member)


def test_a_global_admin_resets_another_global_admin(client, csp: Cast):
    give_authenticator_app(csp.second_global_admin)
    client.force_login(csp.global_admin)

    assert reset(client, csp.second_global_admin).status_code == 302
    assert not services.methods_of(csp.second_global_admin)


def test_the_user_signs_in_and_is_verified_once_enrolled(client, csp):
    # The whole path after a reset: password, enrolment, then pages.
    client.force_login(csp.global_admin)
    reset(client, csp.member)
    member = Client()
    member.post(reverse("login"), {"username": csp.member.email, "password": PASSWORD})
    pass_second_factor(member, csp.member)  # the test's app stands in for the enrolment

    assert member.get(reverse("home")).status_code == 200


def test_an_operator_resets_a_support_staff_members_second_factor(support):
    from django.core.management import call_command

    give_authenticator_app(support)

    call_command("reset_support_second_factor", support.email.upper(), stdout=io.StringIO())

    assert not services.methods_of(support)
    [event] = AuditEvent.objects.filter(action=AuditAction.SECOND_FACTOR_RESET)
    assert event.actor_label == "manage.py reset_support_second_factor"
    assert event.target == support


def test_the_operators_command_refuses_partner_users(csp):
    from django.core.management import CommandError, call_command

    give_authenticator_app(csp.member)

    with pytest.raises(CommandError, match="reset by a Global admin"):
        call_command("reset_support_second_factor", csp.member.email, stdout=io.StringIO())
    assert services.methods_of(csp.member)
