"""The Content-Security-Policy in a real browser: every main page works under it, nothing refused.

The policy allows our own files only, with no inline scripts or styles (settings.py). A page
that relied on an inline script, an inline style or a foreign host would still load, silently
broken; Chromium reports each refusal, and this test fails on any of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    BROWSER_TEST,
    DEMO_PASSWORD,
    enter_code,
    open_settings,
    sign_in,
    sign_out,
)

pytestmark = BROWSER_TEST

SUPPORT_STAFF = "support@partnerhub.example"

# Each violation the page sees is handed to the test through a binding, which survives
# navigation (an array kept in the page would not).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile || event.documentURI}:${event.lineNumber}`
  );
});
"""


@dataclass
class PolicyWatch:
    """What the browser said about the policy while the test went from page to page."""

    violations: list[str] = field(default_factory=list)
    # Our server's pages and fetches, and whether each carried the policy.
    responses: dict[str, bool] = field(default_factory=dict)

    def assert_clean(self) -> None:
        assert self.violations == [], "\n".join(self.violations)
        missing = [url for url, has_policy in self.responses.items() if not has_policy]
        assert missing == [], f"no Content-Security-Policy header on: {missing}"


@pytest.fixture
def watch(browser_context: object, page: object, demo: str) -> PolicyWatch:
    watched = PolicyWatch()
    browser_context.expose_binding(
        "reportCspViolation", lambda source, text: watched.violations.append(text)
    )
    browser_context.add_init_script(REPORT_VIOLATIONS)

    def on_console(message: object) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            watched.violations.append(f"console: {text}")

    def on_response(response: object) -> None:
        request = response.request
        if response.url.startswith(demo) and request.resource_type in {"document", "fetch"}:
            watched.responses[f"{request.method} {response.url}"] = (
                response.header_value("content-security-policy") is not None
            )

    page.on("console", on_console)
    page.on("response", on_response)
    return watched


def test_the_main_pages_run_under_the_policy(page, demo, watch, shoot):
    sign_in(page, demo, "globaladmin@contoso.example")
    expect(page.get_by_test_id("workspaces")).to_be_visible()

    open_settings(page, "User management")
    page.get_by_label("Search").fill("smith")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("directory")).to_be_visible()

    # Add user, each step; ticking a role makes the access preview fetch its fragment.
    page.get_by_role("link", name="Add user", exact=True).click()
    page.get_by_label("First name").fill("Katherine")
    page.get_by_label("Last name").fill("Johnson")
    page.get_by_label("Email").fill("katherine.johnson@contoso.example")
    page.get_by_role("button", name="Next").click()
    with page.expect_response(lambda response: "/users/add/preview/" in response.url):
        page.get_by_label("MPN Partner Admin").check()
    expect(page.get_by_test_id("access-preview")).to_contain_text("Membership")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Show a temporary password").check()
    page.get_by_role("button", name="Add", exact=True).click()

    # The temporary password page, and its Copy button (copy.js).
    expect(page.get_by_role("heading", name="Temporary password")).to_be_visible()
    password = page.get_by_label("Temporary password").input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == password

    page.get_by_role("link", name="Go to Katherine's page").click()
    expect(page.get_by_role("heading", name="Katherine Johnson")).to_be_visible()

    # Edit roles: the same access preview, fetched from its own fragment as boxes are ticked.
    page.get_by_role("link", name="Edit roles").click()
    with page.expect_response(lambda response: "/roles/preview/" in response.url):
        page.get_by_label("Referrals admin").check()
    expect(page.get_by_test_id("access-preview")).to_contain_text("Referrals")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Katherine Johnson")).to_be_visible()

    open_settings(page, "My profile")
    expect(page.get_by_role("heading", name="My profile")).to_be_visible()

    page.goto(demo + "/")
    page.get_by_test_id("workspaces").get_by_role("link", name="Membership").click()
    expect(page.get_by_role("heading", name="Membership", exact=True)).to_be_visible()

    open_settings(page, "Audit log")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.get_by_text("katherine.johnson@contoso.example").first).to_be_visible()
    shoot(page, "13-audit-log")

    sign_out(page)
    watch.assert_clean()
    assert any("/users/add/preview/" in url for url in watch.responses)
    assert any("/roles/preview/" in url for url in watch.responses)


def test_the_support_admin_runs_under_the_policy(page, demo, watch):
    page.goto(f"{demo}/admin/")
    page.locator("#id_username").fill(SUPPORT_STAFF)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("input[type=submit]").click()
    enter_code(page, SUPPORT_STAFF)  # the second step, under the policy too
    expect(page.locator("#site-name")).to_be_visible()

    page.goto(f"{demo}/admin/accounts/user/")
    expect(page.locator("#result_list")).to_be_visible()
    # A change page: the admin's most scripted page (its form constants, related-object links).
    page.locator("#result_list tbody tr th a").first.click()
    expect(page.locator("#content form")).to_be_visible()

    watch.assert_clean()


def test_the_api_documentation_runs_under_the_policy(page, demo, watch):
    # Swagger UI from the drf-spectacular-sidecar package, with its start-up script served as
    # a file (the split view) and its inline style moved to static/css/api-docs.css.
    page.goto(f"{demo}/api/v1/docs/")
    expect(page.get_by_text("/api/v1/users/", exact=True).first).to_be_visible()
    expect(page.get_by_text("/api/v1/audit-events/", exact=True).first).to_be_visible()

    watch.assert_clean()


def test_creating_an_api_client_runs_under_the_policy(page, demo, watch):
    sign_in(page, demo, "globaladmin@contoso.example", DEMO_PASSWORD)
    open_settings(page, "API clients")
    page.get_by_label("Name").fill("Okta")
    page.get_by_label("User management admin").check()
    page.get_by_role("button", name="Create client").click()

    expect(page.get_by_test_id("api-client-token")).to_have_value(re.compile(r"^phc_"))
    watch.assert_clean()


def test_the_second_factor_pages_and_passkey_scripts_run_under_the_policy(page, demo, watch):
    from tests.browser.test_second_factor import (
        PASSKEY_MS,
        add_virtual_authenticator,
        password_only,
    )

    add_virtual_authenticator(page)
    sign_in(page, demo, "globaladmin@contoso.example")
    page.goto(f"{demo}/profile/sign-in-methods/passkey/")
    page.get_by_role("button", name="Add a passkey or security key").click()
    expect(page.get_by_role("heading", name="Sign-in methods")).to_be_visible(timeout=PASSKEY_MS)
    page.get_by_role("button", name="Make new recovery codes").click()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    sign_out(page)

    password_only(page, demo, "globaladmin@contoso.example")
    page.get_by_role("button", name="Use a passkey or security key").click()
    expect(page.get_by_role("heading", name="Verify it's you")).to_have_count(0, timeout=PASSKEY_MS)

    watch.assert_clean()
