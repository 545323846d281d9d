"""After a form comes back with errors, the focus is on them (static/js/focus-error.js)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import BROWSER_TEST, sign_in

pytestmark = BROWSER_TEST


def focused(page) -> dict:
    return page.evaluate(
        "() => ({tag: document.activeElement.tagName, id: document.activeElement.id,"
        " text: document.activeElement.textContent.trim()})"
    )


def test_a_refused_sign_in_puts_the_focus_on_the_summary_of_errors(page, demo):
    sign_in(page, demo, "globaladmin@contoso.example", "not-the-password")

    expect(page.get_by_text("The email or password is not right")).to_be_visible()
    assert "The email or password is not right" in focused(page)["text"]


def test_a_field_with_an_error_gets_the_focus(page, demo):
    sign_in(page, demo, "globaladmin@contoso.example")
    page.goto(f"{demo}/users/add/")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email").fill("globaladmin@contoso.example")  # in use: refused
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_text("already exists").first).to_be_visible()
    assert focused(page)["id"] == page.get_by_label("Email").get_attribute("id")


def test_the_audit_logs_bad_date_gets_the_focus(page, demo):
    sign_in(page, demo, "globaladmin@contoso.example")
    page.goto(f"{demo}/audit-log/?date_from=2026-02-31")

    assert focused(page)["id"] == "id_date_from"


def test_a_page_without_errors_keeps_its_focus(page, demo):
    page.goto(f"{demo}/accounts/login/")

    assert focused(page)["id"] == "id_username"  # the sign-in form's own autofocus
