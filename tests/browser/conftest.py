"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Without Chromium the tests skip on a laptop; in CI a skip fails the run (tests/conftest.py).
PARTNERHUB_SCREENSHOTS=docs/screenshots saves a screenshot of each step there (make screenshots).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

# Playwright's sync API runs an event loop in this thread; Django's ORM, used by the test
# itself, would otherwise refuse to run beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "Browser-demo-password-2026"
# The demo accounts' authenticator app secret in the browser tests (seed_demo --totp-secret):
# the test computes each code as a person's phone would.
DEMO_TOTP_SECRET = "BROWSERTESTSECRETTOTPKEY23456ABC"


# Each browser test module sets this as its pytestmark: the live server's thread must see the
# test's data, so the test commits it (a transactional test); the flush after it is followed
# by post_migrate, which puts the role catalogue and the Support group back.
BROWSER_TEST = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def demo(live_server: object) -> str:
    """The demo organizations in the live server's database; returns the server's URL."""
    call_command(
        "seed_demo",
        "--password",
        DEMO_PASSWORD,
        "--totp-secret",
        DEMO_TOTP_SECRET,
        stdout=open(os.devnull, "w"),  # noqa: SIM115
    )
    return live_server.url


@pytest.fixture
def browser_context(chromium: object) -> Iterator[object]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context: object) -> object:
    return browser_context.new_page()


@pytest.fixture
def axe() -> object:
    """axe-core, ready to check a page (tests/browser/accessibility.py); skips without it."""
    from tests.browser.accessibility import Axe, axe_source

    return Axe(axe_source())


@pytest.fixture
def shoot() -> object:
    """shoot(page, "name") saves a screenshot when PARTNERHUB_SCREENSHOTS names a folder."""
    folder = os.environ.get("PARTNERHUB_SCREENSHOTS")

    def take(page: object, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

    return take


def verified_session(admin: object) -> tuple[object, str]:
    """A real signed-in session of the admin, past the second factor (tests/conftest.py makes
    force_login verify the session with the admin's authenticator app), and its cookie."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(admin)
    name = settings.SESSION_COOKIE_NAME
    return client, f"{name}={client.cookies[name].value}"


def sign_in(page: object, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Both steps: the password, then (when it was right and the person has an app) the code
    the app shows now."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if "/accounts/second-factor/authenticator-app/" in page.url:
        enrol(page, email)
    elif "/accounts/second-factor/" in page.url:
        enter_code(page, email)


# The secrets of the authenticator apps set up in a test, by email (the demo's are the seeded one).
ENROLLED: dict[str, str] = {}


def enrol(page: object, email: str) -> list[str]:
    """Set up an authenticator app on the enrolment page, as a person would: read the secret,
    enter the app's code, keep the recovery codes and continue. Returns the codes."""
    secret = page.get_by_test_id("secret").inner_text().replace(" ", "")
    ENROLLED[email] = secret
    page.locator("input[name=code]").fill(app_code(email, secret))
    page.get_by_role("button", name="Confirm").click()
    codes = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    page.get_by_role("button", name="I have kept my codes, continue").click()
    page.wait_for_load_state()
    return codes


def app_code(email: str, secret: str | None = None) -> str:
    """The code an app holding the secret shows, not yet used for this person: now, or the next
    step's when a code of this step was used already (one step of drift is allowed)."""
    import base64
    import time

    import pyotp

    from mfa.models import AuthenticatorApp

    secret = secret or ENROLLED.get(email, DEMO_TOTP_SECRET)
    app = AuthenticatorApp.objects.filter(user__email=email).first()
    step = int(time.time()) // 30
    if app is not None:
        step = max(step, app.last_t + 1)
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return pyotp.TOTP(base64.b32encode(key).decode()).at(step * 30)


def enter_code(page: object, email: str) -> None:
    """The second step of sign-in, with the authenticator app's code."""
    page.locator("input[name=code]").fill(app_code(email))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state()


def open_settings(page: object, item: str) -> None:
    """Go to a page as a person would from any page: a link of the left navigation (User
    management, Audit log, API clients...) or an item of their menu in the header (My profile,
    Sign-in methods)."""
    link = page.locator("#ph-nav").get_by_role("link", name=item, exact=True)
    if link.count():
        link.click()
        return
    open_account_menu(page)
    page.locator("#account-menu + .dropdown-menu").get_by_role("link", name=item).click()


def open_account_menu(page: object) -> None:
    """Open the signed-in person's menu in the header (My profile, Sign-in methods, Sign out)."""
    page.get_by_test_id("signed-in-as").click()


def sign_out(page: object) -> None:
    open_account_menu(page)
    page.get_by_role("button", name="Sign out").click()
