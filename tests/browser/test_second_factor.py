"""The second factor in a real browser: codes computed as a phone would (pyotp), a new user's
enrolment, a passkey through Chromium's virtual authenticator (the DevTools protocol's WebAuthn
domain), recovery codes, and a Global admin's reset."""

from __future__ import annotations

import re

from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from accounts import services as account_services
from accounts.models import AuditAction, AuditEvent, User
from mfa.models import AuthenticatorApp
from tests.browser.conftest import (
    BROWSER_TEST,
    DEMO_PASSWORD,
    app_code,
    enrol,
    open_settings,
    sign_in,
    sign_out,
)

pytestmark = BROWSER_TEST

ADMIN = "globaladmin@contoso.example"
# A passkey ceremony (two requests, the authenticator, the signature checked) and then a page:
# more than expect's five seconds on a busy machine.
PASSKEY_MS = 20_000


def password_only(page: object, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_sign_in_asks_for_the_apps_code_after_the_password(page, demo, shoot):
    password_only(page, demo, ADMIN)
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    page.goto(demo + "/users/")
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()

    page.locator("input[name=code]").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("This code is not right")).to_be_visible()
    expect(page.locator("input[name=code]")).to_have_value("000000")
    shoot(page, "30-second-step-wrong-code")

    page.wait_for_timeout(1100)  # django-otp holds codes back a second after a wrong one
    page.locator("input[name=code]").fill(app_code(ADMIN))
    page.get_by_role("button", name="Verify").click()
    # Back to the page first asked for.
    expect(page.get_by_role("heading", name="User management")).to_be_visible()
    assert page.url.endswith("/users/")


def test_a_new_user_sets_up_an_app_then_chooses_a_password(page, demo, shoot):
    admin = User.objects.get(email=ADMIN)
    new = account_services.create_user(
        admin,
        organization=admin.organization,
        first_name="Ada",
        last_name="Lovelace",
        email="ada.lovelace@contoso.example",
        role_keys=[],
    )

    password_only(page, demo, new.user.email, new.temporary_password)
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_test_id("qr-code").locator("svg")).to_be_visible()
    shoot(page, "31-enrolment")
    secret = page.get_by_test_id("secret").inner_text().replace(" ", "")
    assert re.fullmatch("[A-Z2-7]{32}", secret)

    page.locator("input[name=code]").fill(app_code(new.user.email, secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    assert len(codes) == 10
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as a text file").click()
    text = open(download.value.path()).read()  # noqa: SIM115
    assert all(code in text for code in codes)
    shoot(page, "32-recovery-codes")
    page.get_by_role("button", name="I have kept my codes, continue").click()

    # Then the temporary password is replaced, as before.
    expect(page.get_by_text("Choose a new password")).to_be_visible()
    assert AuditEvent.objects.filter(
        action=AuditAction.SECOND_FACTOR_ENROLLED, target=new.user
    ).exists()


def add_virtual_authenticator(page: object) -> object:
    """A platform authenticator with a fingerprint that always matches, in this tab."""
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return session


def test_a_passkey_is_added_and_then_used_instead_of_the_code(page, demo, shoot):
    add_virtual_authenticator(page)
    sign_in(page, demo, ADMIN)
    open_settings(page, "My profile")
    page.get_by_role("link", name="Sign-in methods").click()
    page.get_by_role("link", name="Add a passkey or security key").click()
    page.get_by_role("button", name="Add a passkey or security key").click()

    expect(page.get_by_role("heading", name="Sign-in methods")).to_be_visible(timeout=PASSKEY_MS)
    expect(page.get_by_test_id("methods")).to_contain_text("Passkey or security key")
    shoot(page, "33-sign-in-methods-with-a-passkey")
    assert AuditEvent.objects.filter(
        action=AuditAction.SECOND_FACTOR_ENROLLED, after={"method": "Passkey or security key"}
    ).exists()

    sign_out(page)
    password_only(page, demo, ADMIN)
    page.get_by_role("button", name="Use a passkey or security key").click()
    expect(page.get_by_role("heading", name="Verify it's you")).to_have_count(0, timeout=PASSKEY_MS)
    page.goto(demo + "/users/")
    expect(page.get_by_role("heading", name="User management")).to_be_visible()
    assert WebAuthnCredential.objects.get(user__email=ADMIN).last_used_at is not None


def test_a_recovery_code_signs_in_once_when_the_phone_is_lost(page, demo):
    sign_in(page, demo, ADMIN)
    page.goto(demo + "/profile/sign-in-methods/")
    page.get_by_role("button", name="Make new recovery codes").click()
    codes = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    page.get_by_role("button", name="I have kept my codes, continue").click()
    expect(page.get_by_test_id("recovery")).to_contain_text("10 of 10 unused")
    sign_out(page)

    password_only(page, demo, ADMIN)
    page.locator("input[name=code]").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("You used a recovery code: 9 left.")).to_be_visible()
    sign_out(page)

    password_only(page, demo, ADMIN)
    page.locator("input[name=code]").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("This code is not right, or was used already")).to_be_visible()


def test_a_global_admin_resets_a_users_second_factor(page, demo, shoot):
    sign_in(page, demo, ADMIN)
    target = User.objects.get(email="john.smith@contoso.example")
    page.goto(f"{demo}/users/{target.public_id}/")
    page.get_by_role("link", name="Reset second factor").click()
    expect(page.get_by_test_id("consequence")).to_contain_text("Authenticator app")
    shoot(page, "34-reset-second-factor")
    page.get_by_role("button", name="Reset second factor").click()
    expect(
        page.get_by_text("is reset: they set one up again at their next sign-in")
    ).to_be_visible()
    assert not AuthenticatorApp.objects.filter(user=target).exists()
    sign_out(page)

    password_only(page, demo, target.email)
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    enrol(page, target.email)
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()
