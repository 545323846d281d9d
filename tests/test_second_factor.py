"""The second step of sign-in (DOMAIN.md rule 10), through the pages: a password alone opens
nothing; an authenticator app's code, once, within one step of drift; a recovery code, once;
wrong codes count toward the password's lockout; everything is in the audit trail."""

from __future__ import annotations

import base64
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import AuditAction, AuditEvent, AuditOutcome, User
from mfa import crypto, services
from mfa.models import AuthenticatorApp, RecoveryCode, RecoveryCodes
from tests.conftest import Cast
from tests.factories import PASSWORD, UserFactory
from tests.second_factor import (
    TEST_KEY,
    code_at,
    current_step,
    give_authenticator_app,
    next_code,
)

SECOND_FACTOR = reverse("second_factor")
ENROL = reverse("enrol_authenticator_app")


def password_only(client: Client, user: User) -> None:
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302


def send_code(client: Client, code: str, **query: str):
    url = SECOND_FACTOR + (f"?{urlencode(query)}" if query else "")
    return client.post(url, {"code": code})


def events(action: str, user: User) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, target=user).order_by("pk"))


@pytest.fixture
def person(csp: Cast) -> User:
    give_authenticator_app(csp.member)
    return csp.member


def test_after_the_password_every_page_sends_to_the_second_step(client, person):
    password_only(client, person)

    for url in (reverse("home"), reverse("profile"), reverse("workspace", args=["billing"])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url == f"{SECOND_FACTOR}?{urlencode({'next': url})}"
    assert client.post(reverse("change_password"), {}).url == SECOND_FACTOR


def test_the_django_admin_needs_the_second_factor_too(client, support):
    give_authenticator_app(support)
    password_only(client, support)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response.url.startswith(SECOND_FACTOR)


def test_the_app_code_opens_the_page_asked_for(client, person):
    password_only(client, person)

    response = send_code(client, code_at(TEST_KEY, current_step()), next=reverse("profile"))

    assert response.status_code == 302
    assert response.url == reverse("profile")
    assert client.get(reverse("profile")).status_code == 200
    assert client.session[DEVICE_ID_SESSION_KEY].startswith("mfa.authenticatorapp/")
    assert AuthenticatorApp.objects.get(user=person).last_used_at is not None


def test_the_session_gets_a_new_key_after_the_second_factor(client, person):
    password_only(client, person)
    before = client.session.session_key

    send_code(client, code_at(TEST_KEY, current_step()))

    assert client.session.session_key != before
    assert client.get(reverse("home")).status_code == 200


def test_a_code_works_once(client, person):
    code = code_at(TEST_KEY, current_step())
    password_only(client, person)
    assert send_code(client, code).status_code == 302
    client.post(reverse("logout"))

    password_only(client, person)
    response = send_code(client, code)

    assert response.status_code == 200
    assert "was used already" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.parametrize(
    ("steps_off", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)]
)
def test_one_step_of_clock_drift_either_way_is_tolerated(client, person, steps_off, accepted):
    password_only(client, person)

    response = send_code(client, code_at(TEST_KEY, current_step() + steps_off))

    assert (response.status_code == 302) is accepted


def test_a_wrong_code_is_refused_next_to_the_field_and_recorded(client, person):
    password_only(client, person)

    response = send_code(client, "123456")

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert response.context["form"]["code"].value() == "123456"
    [event] = events(AuditAction.SECOND_FACTOR_FAILED, person)
    assert event.outcome == AuditOutcome.REFUSED
    assert event.actor == person


def test_wrong_codes_count_toward_the_password_lockout(client, person):
    # Signed in with the right password (which clears any count), four wrong codes...
    password_only(client, person)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert send_code(client, "000000").status_code == 200

    # ... and the fifth wrong code locks the email out and signs this session out.
    response = send_code(client, "000000")

    assert response.status_code == settings.AXES_HTTP_RESPONSE_CODE
    assert "Too many failed sign-ins" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302
    assert "_auth_user_id" not in client.session
    # Locked: the right password does not sign in either.
    locked = client.post(reverse("login"), {"username": person.email, "password": PASSWORD})
    assert locked.status_code == settings.AXES_HTTP_RESPONSE_CODE


def test_wrong_passwords_and_wrong_codes_share_one_count(client, person):
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        client.post(reverse("login"), {"username": person.email, "password": "wrong"})
    # The right password is not yet a success: it clears nothing, the codes add to the count.
    password_only(client, person)
    assert send_code(client, "000000").status_code == 200

    assert send_code(client, "000000").status_code == settings.AXES_HTTP_RESPONSE_CODE


def test_a_right_code_clears_the_count(client, person):
    password_only(client, person)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        send_code(client, "000000")
    AuthenticatorApp.objects.filter(user=person).update(throttling_failure_count=0)

    assert (
        send_code(client, next_code(AuthenticatorApp.objects.get(user=person))).status_code == 302
    )
    client.post(reverse("logout"))
    password_only(client, person)
    assert send_code(client, "000000").status_code == 200  # one failure, not five


def test_a_user_without_a_method_enrols_before_any_page(client, csp):
    person = csp.member
    password_only(client, person)

    assert client.get(reverse("home")).url.startswith(SECOND_FACTOR)
    assert client.get(SECOND_FACTOR).url == ENROL
    page = client.get(ENROL)
    assert page.status_code == 200
    content = page.content.decode()
    assert "<svg" in content  # the QR code, drawn on the server
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', content).group(1).replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))

    wrong = client.post(ENROL, {"code": "000000"})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["code"]
    assert not AuthenticatorApp.objects.filter(user=person).exists()

    done = client.post(ENROL, {"code": code_at(key, current_step())})
    assert done.status_code == 302
    assert done.url == reverse("recovery_codes")
    codes_page = client.get(done.url)
    codes = codes_page.context["codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    download = client.get(reverse("recovery_codes_download"))
    assert download["Content-Disposition"].startswith("attachment")
    assert all(code in download.content.decode() for code in codes)
    assert client.post(reverse("recovery_codes")).url == reverse("sign_in_methods")
    # Shown once.
    assert client.get(reverse("recovery_codes")).status_code == 302
    assert client.get(reverse("recovery_codes_download")).status_code == 404
    assert client.get(reverse("home")).status_code == 200
    [enrolled] = events(AuditAction.SECOND_FACTOR_ENROLLED, person)
    assert enrolled.after == {"method": "Authenticator app"}
    assert events(AuditAction.RECOVERY_CODES_CREATED, person)


def test_secrets_are_not_in_the_database_as_they_are(client, csp):
    person = csp.member
    password_only(client, person)
    content = client.get(ENROL).content.decode()
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', content).group(1).replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    client.post(ENROL, {"code": code_at(key, current_step())})
    codes = client.get(reverse("recovery_codes")).context["codes"]

    app = AuthenticatorApp.objects.get(user=person)
    assert secret not in app.encrypted_key
    assert key.hex() not in app.encrypted_key
    assert app.bin_key == key
    digests = set(RecoveryCode.objects.values_list("digest", flat=True))
    assert not any(code.replace("-", "") in digest for code in codes for digest in digests)
    session_data = client.session.load()
    assert secret not in str(session_data)


def test_a_recovery_code_signs_in_once(client, person):
    codes = services.make_recovery_codes(person)
    password_only(client, person)

    assert send_code(client, codes[0].lower()).status_code == 302  # any case, with or without -
    [used] = events(AuditAction.RECOVERY_CODE_USED, person)
    assert used.after == {"recovery_codes_left": "9"}
    client.post(reverse("logout"))
    password_only(client, person)
    assert send_code(client, codes[0]).status_code == 200
    # A few seconds later (django-otp holds the codes back a moment after a wrong one):
    RecoveryCodes.objects.filter(user=person).update(throttling_failure_count=0)
    assert send_code(client, f"{codes[1][:5]}-{codes[1][5:]}").status_code == 302


def test_new_recovery_codes_end_the_old_ones(client, person):
    old = services.make_recovery_codes(person)
    client.force_login(person)

    response = client.post(reverse("new_recovery_codes"))

    assert response.url.startswith(reverse("recovery_codes"))
    new = client.get(response.url).context["codes"]
    assert set(new).isdisjoint(old)
    client.post(reverse("logout"))
    password_only(client, person)
    assert send_code(client, old[0]).status_code == 200


def test_a_temporary_password_sign_in_enrols_first_then_changes_the_password(client, csp):
    person = UserFactory(organization=csp.organization, must_change_password=True)
    password_only(client, person)

    assert client.get(reverse("home")).url.startswith(SECOND_FACTOR)
    content = client.get(ENROL).content.decode()
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', content).group(1).replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    done = client.post(ENROL, {"code": code_at(key, current_step())})
    assert client.get(done.url).status_code == 200  # the codes, before the new password

    assert client.get(reverse("home")).url.startswith(reverse("change_password"))


def test_a_password_only_session_cannot_add_a_method(client, person):
    password_only(client, person)

    assert client.get(ENROL).url.startswith(SECOND_FACTOR)
    assert client.post(reverse("new_recovery_codes")).url.startswith(SECOND_FACTOR)
    response = client.post(reverse("otp_webauthn:credential-registration-begin"))
    assert response.status_code == 302
    assert response.url.startswith(SECOND_FACTOR)


# Production: with debug off, no page is reached with the password alone


def every_url(csp: Cast) -> list[str]:
    """Every URL of the site, the Django admin's included, with arguments that resolve."""
    from django.urls import URLPattern, URLResolver, get_resolver

    urls = []

    def walk(patterns: list, prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace)
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                route = re.sub(r"<uuid:\w+>", str(csp.member.public_id), route)
                route = re.sub(r"<int:\w+>|\(\?P<\w+>\\d\+\)", "1", route)
                route = re.sub(r"<(?:slug|str|path):\w+>|\(\?P<\w+>[^)]*\)", "x", route)
                urls.append("/" + route.lstrip("^").rstrip("$").replace("\\", ""))

    walk(get_resolver().url_patterns, "", None)
    return sorted(set(urls))


# Reachable with the password alone: the second step and enrolment (which a person with an
# app is sent back from), signing out, health, and the passkey's own second step.
BEFORE_THE_SECOND_FACTOR = {
    SECOND_FACTOR,
    "/healthz",
    reverse("logout"),
    reverse("otp_webauthn:credential-authentication-begin"),
    reverse("otp_webauthn:credential-authentication-complete"),
    reverse("otp_webauthn:js-i18n-catalog"),
    # The API's public OpenAPI document and its page: no data, open to anyone.
    reverse("api_schema"),
    reverse("api_docs"),
}


@pytest.mark.parametrize("who", ["member", "global_admin", "support"])
def test_with_debug_off_no_page_opens_with_the_password_alone(client, csp, support, who):
    assert not settings.DEBUG
    user = support if who == "support" else getattr(csp, who)
    give_authenticator_app(user)
    password_only(client, user)
    opened = []
    urls = every_url(csp)
    assert len(urls) > 80  # the partner pages, the admin's, ours

    for url in urls:
        if url in BEFORE_THE_SECOND_FACTOR:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            # Sent to the second step, or refused before any view: nothing else.
            sent_to_step = response.status_code == 302 and response.url.startswith(SECOND_FACTOR)
            # The REST API and SCIM read no session: without a bearer token, 401.
            refused = {401, 404, 405} if url.startswith(("/api/", "/scim/")) else {404, 405}
            if not sent_to_step and response.status_code not in refused:
                opened.append((method, url, response.status_code))

    assert opened == []
    assert client.session.get(DEVICE_ID_SESSION_KEY) is None
    assert "_auth_user_id" in client.session  # still signed in, at the second step


def test_a_new_key_first_and_rotate_mfa_key_let_the_old_key_go(person, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old_key = settings.PARTNERHUB_MFA_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.PARTNERHUB_MFA_KEYS = [new_key, old_key]

    call_command("rotate_mfa_key", stdout=open("/dev/null", "w"))  # noqa: SIM115

    settings.PARTNERHUB_MFA_KEYS = [new_key]
    assert AuthenticatorApp.objects.get(user=person).bin_key == TEST_KEY


def test_a_recovery_code_of_digits_only_is_still_a_recovery_code(client, person):
    codes = services.make_recovery_codes(person)
    digits_only = "2345678923"
    RecoveryCode.objects.filter(codes__user=person).first().delete()
    RecoveryCode.objects.create(
        codes=RecoveryCodes.objects.get(user=person),
        digest=crypto.digests(digits_only)[0],
    )
    password_only(client, person)

    assert send_code(client, digits_only).status_code == 302
    assert len(codes) == 10


def test_views_read_the_user_itself_not_its_lazy_wrappers(client, csp):
    """The middleware hands the views the user loaded once (mfa.middleware.resolved): the
    rulebook reads it dozens of times a page, and through the wrappers each read cost more."""
    client.force_login(csp.global_admin)
    response = client.get(reverse("directory"))
    assert response.status_code == 200
    user = response.wsgi_request.user
    assert type(user) is User
    assert user.pk == csp.global_admin.pk
    assert user.is_verified()


def test_a_signed_out_visitor_is_anonymous_as_before(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
