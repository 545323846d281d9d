"""An attacker's view of the second step (DOMAIN.md rule 10): someone holding a person's
password, or a session or a recovery code of theirs, and scripts. Each test is a way in that
was tried; those that once worked are fixed, the others stay as proof that they do not."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounts.models import AuditAction, AuditEvent, User
from mfa import services
from mfa.models import AuthenticatorApp
from tests.conftest import Cast
from tests.factories import PASSWORD
from tests.second_factor import (
    TEST_KEY,
    code_at,
    current_step,
    give_authenticator_app,
    next_code,
)
from tests.test_reauthentication import password_entered

SECOND_FACTOR = reverse("second_factor")
ENROL = reverse("enrol_authenticator_app")
HOME = reverse("home")
OTHER_KEY = b"another-phone-key!!!"


def password_only(client: Client, user: User) -> None:
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302


def send_code(client: Client, code: str, **query: str):
    url = SECOND_FACTOR + (f"?{urlencode(query)}" if query else "")
    return client.post(url, {"code": code})


def signed_out(client: Client) -> bool:
    response = client.get(HOME)
    return response.status_code == 302 and response.url.startswith(reverse("login"))


def second_app(user: User, key: bytes = OTHER_KEY) -> AuthenticatorApp:
    device = AuthenticatorApp(user=user, name="Authenticator app 2", confirmed=True)
    device.set_key(key)
    device.save()
    return device


@pytest.fixture
def person(csp: Cast) -> User:
    give_authenticator_app(csp.member)
    return csp.member


# Secrets at rest: a dump of every table, sessions included


def session_rows_text() -> str:
    """Every stored session, decoded as the database holds it (signed, not encrypted)."""
    return json.dumps([row.get_decoded() for row in Session.objects.all()])


def test_recovery_codes_waiting_to_be_shown_are_not_readable_in_the_session_table(client, csp):
    # Ten new codes wait in the session until the person says they kept them (or for as long
    # as the session lives, when they close the tab): a database dump must not show them.
    person = csp.member
    password_only(client, person)
    content = client.get(ENROL).content.decode()
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', content).group(1).replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    done = client.post(ENROL, {"code": code_at(key, current_step())})

    codes = client.get(done.url).context["codes"]
    download = client.get(reverse("recovery_codes_download")).content.decode()

    assert len(codes) == 10
    assert all(code in download for code in codes)
    stored = session_rows_text()
    for code in codes:
        assert code not in stored
        assert code.replace("-", "") not in stored
    # The pending secret of the app was never readable either.
    assert secret not in stored


def test_new_recovery_codes_from_my_profile_are_not_readable_in_the_session_table(client, person):
    client.force_login(person)
    response = client.post(reverse("new_recovery_codes"))
    codes = client.get(response.url).context["codes"]

    stored = session_rows_text()
    assert all(code.replace("-", "") not in stored for code in codes)


def test_a_refused_code_is_not_kept_by_the_lockout_table(client, person):
    # django-axes keeps the POST of every failed sign-in (AccessAttempt.post_data, readable in a
    # dump and on the support admin's page). A refused code is not always a wrong one: a
    # recovery code mistyped by one character gives nine of its ten away.
    codes = services.make_recovery_codes(person)
    password_only(client, person)
    near_miss = codes[0][:-1] + ("Z" if codes[0][-1] != "Z" else "Y")

    assert send_code(client, near_miss).status_code == 200

    stored = json.dumps(list(AccessAttempt.objects.values()), default=str)
    assert AccessAttempt.objects.get().failures_since_start == 1
    assert codes[0][:-1] not in stored


# The app's own throttle: someone with the password alone can make it wait


def test_a_right_code_while_the_app_waits_is_told_to_wait(client, person):
    # Wrong codes make the app wait (django-otp's throttle doubles the wait with each one):
    # a script holding the password can keep its owner's app waiting. The owner's right code
    # is then not checked: they are told how long, and what works meanwhile, not "not right".
    AuthenticatorApp.objects.filter(user=person).update(
        throttling_failure_count=12, throttling_failure_timestamp=timezone.now()
    )
    codes = services.make_recovery_codes(person)
    password_only(client, person)

    response = send_code(client, code_at(TEST_KEY, current_step()))

    assert response.status_code == 200
    [error] = response.context["form"].errors["code"]
    assert "Too many wrong codes" in error
    assert "34\xa0minutes" in error
    assert "recovery code" in error
    assert response.context["form"]["code"].value() == code_at(TEST_KEY, current_step())
    assert AccessAttempt.objects.get().failures_since_start == 1  # an attempt all the same
    assert AuditEvent.objects.filter(action=AuditAction.SECOND_FACTOR_FAILED, target=person)
    # A recovery code works meanwhile.
    assert send_code(client, codes[0]).status_code == 302


def test_a_wrong_code_after_the_wait_is_a_wrong_code(client, person):
    AuthenticatorApp.objects.filter(user=person).update(
        throttling_failure_count=1,
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=5),
    )
    password_only(client, person)

    response = send_code(client, "000000")

    assert "not right" in response.context["form"].errors["code"][0]
    assert AccessAttempt.objects.get().failures_since_start == 1


# Taking a method away ends the sessions it let in


def test_removing_a_method_signs_out_the_sessions_it_let_in(person):
    # Someone passed the second step with the person's second phone (stolen, or a colleague's);
    # the person removes that phone from My profile, from their own session.
    stolen = second_app(person)
    attacker, owner = Client(), Client()
    password_only(attacker, person)
    assert send_code(attacker, code_at(OTHER_KEY, current_step())).status_code == 302
    assert attacker.get(HOME).status_code == 200
    owner.force_login(person)
    password_entered(owner, minutes_ago=1)

    removed = owner.post(reverse("remove_sign_in_method", args=["app", stolen.pk]))

    assert removed.status_code == 302
    assert not AuthenticatorApp.objects.filter(pk=stolen.pk).exists()
    assert signed_out(attacker)
    # The person who removed it stays signed in, past the second factor.
    assert owner.get(HOME).status_code == 200
    assert owner.get(reverse("sign_in_methods")).status_code == 200


def test_new_recovery_codes_sign_out_the_sessions_an_old_code_let_in(person):
    # A sheet of codes was found; the person makes new ones (the old stop working): whoever got
    # in with one of the old must be out too.
    old = services.make_recovery_codes(person)
    attacker, owner = Client(), Client()
    password_only(attacker, person)
    assert send_code(attacker, old[0]).status_code == 302
    assert attacker.get(HOME).status_code == 200
    owner.force_login(person)
    password_entered(owner, minutes_ago=1)

    assert owner.post(reverse("new_recovery_codes")).status_code == 302

    assert signed_out(attacker)
    assert owner.get(HOME).status_code == 200


def test_a_refused_removal_ends_no_session(person):
    other = Client()
    other.force_login(person)
    owner = Client()
    owner.force_login(person)
    password_entered(owner, minutes_ago=1)
    only = AuthenticatorApp.objects.get(user=person)

    owner.post(reverse("remove_sign_in_method", args=["app", only.pk]))

    assert AuthenticatorApp.objects.filter(pk=only.pk).exists()
    assert other.get(HOME).status_code == 200


# Ways around the step that were tried and do not work


def test_a_password_only_session_cannot_enrol_a_new_app_for_an_account_that_has_one(client, person):
    password_only(client, person)

    response = client.post(ENROL, {"code": code_at(OTHER_KEY, current_step())})

    assert response.status_code == 302
    assert response.url.startswith(SECOND_FACTOR)
    assert AuthenticatorApp.objects.filter(user=person).count() == 1
    assert not client.session.get("otp_device_id")


def test_a_password_only_session_cannot_register_a_passkey_by_json(client, person):
    password_only(client, person)

    for name in ("credential-registration-begin", "credential-registration-complete"):
        response = client.post(
            reverse(f"otp_webauthn:{name}"), data="{}", content_type="application/json"
        )
        assert response.status_code == 302
        assert response.url.startswith(SECOND_FACTOR)


def test_a_code_works_once_even_from_another_session(person):
    code = next_code(AuthenticatorApp.objects.get(user=person))
    first, second = Client(), Client()
    password_only(first, person)
    password_only(second, person)

    assert send_code(first, code).status_code == 302
    assert send_code(second, code).status_code == 200
    assert second.get(HOME).status_code == 302


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:x"]
)
def test_next_after_the_code_never_leaves_the_site(client, person, target):
    password_only(client, person)

    response = send_code(client, next_code(AuthenticatorApp.objects.get(user=person)), next=target)

    assert response.status_code == 302
    assert response.url == HOME


def test_signing_in_again_with_the_password_does_not_clear_the_wrong_codes(client, person):
    # A script with the password alone: four wrong codes, sign out, sign in again (the right
    # password is not yet a successful sign-in), four more... The count goes on: the fifth
    # wrong code locks the email, whatever the sign-ins in between.
    password_only(client, person)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert send_code(client, "000000").status_code == 200
    client.post(reverse("logout"))
    password_only(client, person)

    response = send_code(client, "000000")

    assert response.status_code == settings.AXES_HTTP_RESPONSE_CODE
    assert signed_out(client)
    relocked = client.post(reverse("login"), {"username": person.email, "password": PASSWORD})
    assert relocked.status_code == settings.AXES_HTTP_RESPONSE_CODE


def test_wrong_passwords_are_not_cleared_by_the_right_one_before_the_second_step(client, person):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": person.email, "password": "wrong"})
    password_only(client, person)

    assert send_code(client, "000000").status_code == settings.AXES_HTTP_RESPONSE_CODE


def test_a_completed_sign_in_clears_the_count(client, person):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": person.email, "password": "wrong"})
    password_only(client, person)
    assert (
        send_code(client, next_code(AuthenticatorApp.objects.get(user=person))).status_code == 302
    )
    client.post(reverse("logout"))

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": person.email, "password": "wrong"})
    password_only(client, person)
    assert client.get(SECOND_FACTOR).status_code == 200


def test_enrolling_the_first_app_completes_the_sign_in_and_clears_the_count(client, csp):
    person = csp.member
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": person.email, "password": "wrong"})
    password_only(client, person)
    content = client.get(ENROL).content.decode()
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', content).group(1).replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    assert client.post(ENROL, {"code": code_at(key, current_step())}).status_code == 302
    client.post(reverse("logout"))

    client.post(reverse("login"), {"username": person.email, "password": "wrong"})
    assert (
        client.post(reverse("login"), {"username": person.email, "password": PASSWORD}).status_code
        == 302
    )


def test_the_django_admin_cannot_touch_anyones_second_factor():
    # Every way a method is taken ends the person's sessions, and only a Global admin resets
    # one (rule 10): the support admin has no page for devices at all (django-otp-webauthn
    # ships an admin class; it is not registered here), nor for recovery codes.
    from django.contrib import admin
    from django_otp.models import Device

    from mfa.models import RecoveryCode

    registered = list(admin.site._registry)
    assert not [model for model in registered if issubclass(model, Device)]
    assert RecoveryCode not in registered
