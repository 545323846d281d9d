"""Add user in two tabs at once, and the browser's Back and Forward through its steps.

A page the browser would have to send again shows Chromium's "Confirm Form Resubmission" error
page (ERR_CACHE_MISS) instead of the step: each check below names the step it expects instead.
"""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.models import User
from roles.catalogue import RoleKey
from tests.browser.conftest import BROWSER_TEST, sign_in

pytestmark = BROWSER_TEST


def fill_details(page: object, first: str, last: str, email: str) -> None:
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Next").click()


def expect_step(page: object, title: str) -> None:
    expect(page.get_by_role("heading", name="Add user")).to_be_visible()
    expect(page.get_by_test_id("step-indicator")).to_contain_text(title)


def roles_of(email: str) -> set[str]:
    user = User.objects.get(email=email)
    return set(user.role_assignments.values_list("role__key", flat=True))


def test_two_add_user_tabs_stay_separate(browser_context, demo):
    tab_a = browser_context.new_page()
    sign_in(tab_a, demo, "globaladmin@contoso.example")
    tab_b = browser_context.new_page()  # the same session, as a second tab is

    tab_a.goto(demo + "/users/add/")
    fill_details(tab_a, "Grace", "Hopper", "grace.hopper@contoso.example")
    tab_a.get_by_label("MPN Partner Admin").check()
    tab_b.goto(demo + "/users/add/")
    fill_details(tab_b, "Ada", "Lovelace", "ada.lovelace@contoso.example")
    tab_b.get_by_label("Referrals admin").check()
    tab_b.get_by_role("button", name="Next").click()
    tab_a.get_by_role("button", name="Next").click()

    expect(tab_a.get_by_test_id("review-details")).to_contain_text("grace.hopper@contoso.example")
    expect(tab_a.get_by_test_id("review-roles")).to_have_text("MPN Partner Admin")
    tab_a.get_by_role("button", name="Add", exact=True).click()
    expect(tab_a.get_by_role("heading", name="User added")).to_be_visible()
    expect(tab_a.get_by_test_id("added-roles")).to_have_text("MPN Partner Admin")
    expect(tab_b.get_by_test_id("review-details")).to_contain_text("ada.lovelace@contoso.example")
    tab_b.get_by_role("button", name="Add", exact=True).click()
    expect(tab_b.get_by_test_id("added-roles")).to_have_text("Referrals admin")

    assert roles_of("grace.hopper@contoso.example") == {RoleKey.MPN_PARTNER_ADMIN}
    assert roles_of("ada.lovelace@contoso.example") == {RoleKey.REFERRALS_ADMIN}
    assert User.objects.get(email="ada.lovelace@contoso.example").first_name == "Ada"


def test_back_and_forward_between_the_steps_and_after_add(page, demo):
    sign_in(page, demo, "globaladmin@contoso.example")
    page.goto(demo + "/users/add/")
    fill_details(page, "Grace", "Hopper", "grace.hopper@contoso.example")
    page.get_by_label("MPN Partner Admin").check()
    page.get_by_role("button", name="Next").click()
    expect_step(page, "Review")

    page.go_back()
    expect_step(page, "Roles")
    expect(page.get_by_label("MPN Partner Admin")).to_be_checked()
    page.go_back()
    expect_step(page, "Details")
    expect(page.get_by_label("Email")).to_have_value("grace.hopper@contoso.example")
    page.go_forward()
    expect_step(page, "Roles")
    page.go_forward()
    expect_step(page, "Review")

    # The wizard's own Back button, then the browser's Back: still no form sent again.
    page.get_by_role("button", name="Back").click()
    expect_step(page, "Roles")
    page.go_back()
    expect_step(page, "Review")

    page.get_by_label("Show a temporary password").check()
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("heading", name="User added")).to_be_visible()
    expect(page.get_by_label("Temporary password")).not_to_have_value("")

    # Back after Add: the run is over; its page says who was added, and adds nobody.
    page.go_back()
    expect(page.get_by_role("heading", name="User added")).to_be_visible()
    expect(page.get_by_test_id("added-roles")).to_have_text("MPN Partner Admin")
    expect(page.get_by_label("Temporary password")).to_have_count(0)
    assert User.objects.filter(email="grace.hopper@contoso.example").count() == 1

    page.get_by_role("link", name="Add another user").click()
    expect_step(page, "Details")
    expect(page.get_by_label("Email")).to_have_value("")


def test_reloading_the_temporary_password_keeps_the_heading_and_adds_nobody(page, demo):
    sign_in(page, demo, "globaladmin@contoso.example")
    page.goto(demo + "/users/add/")
    fill_details(page, "Grace", "Hopper", "grace.hopper@contoso.example")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Show a temporary password").check()
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_label("Temporary password")).not_to_have_value("")

    page.reload()

    expect(page.get_by_role("heading", name="User added")).to_be_visible()
    expect(page.get_by_label("Temporary password")).to_have_count(0)
    expect(page.get_by_test_id("password-not-shown-again")).to_be_visible()
    assert User.objects.filter(email="grace.hopper@contoso.example").count() == 1
