"""In a real browser: tick users in the directory (one by one, or the whole page with the small
script), choose a bulk action, read the confirmation, apply it and read what happened to each;
choose all that match a filter and see who would be skipped and why."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from accounts.models import PartnerOrganization, User
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.browser.conftest import BROWSER_TEST, open_settings, sign_in
from tests.factories import UserFactory

pytestmark = BROWSER_TEST


def test_assign_a_role_to_the_users_ticked(page, demo, shoot):
    contoso = PartnerOrganization.objects.get(name__startswith="Contoso")
    testers = [
        UserFactory(organization=contoso, first_name="Bulk", last_name=f"Tester{number}")
        for number in range(3)
    ]
    sign_in(page, demo, "globaladmin@contoso.example")
    open_settings(page, "User management")
    page.get_by_label("Search").fill("Tester")
    page.get_by_role("button", name="Search").click()
    rows = page.get_by_test_id("directory").locator("tbody tr")
    expect(rows).to_have_count(3)

    page.get_by_label("Select every user on this page").check()  # the script's header box
    page.get_by_label("Select Bulk Tester2").uncheck()
    page.get_by_label("Action for the selected users").select_option(label="Assign a role")
    page.get_by_label("Assign or remove").select_option(label="Referrals admin")
    page.get_by_role("button", name="Review").click()

    expect(page.get_by_test_id("bulk-summary")).to_contain_text("2 of the 2 users selected")
    expect(page.get_by_test_id("consequence")).to_contain_text("Each gets Referrals admin")
    page.get_by_test_id("bulk-apply").click()

    expect(page.get_by_test_id("bulk-result-summary")).to_contain_text("2 users changed")
    expect(page.get_by_test_id("bulk-result")).to_contain_text("Referrals admin assigned.")
    shoot(page, "17-bulk-action-result")
    given = RoleAssignment.objects.filter(role__key=RoleKey.REFERRALS_ADMIN, user__in=testers)
    assert sorted(given.values_list("user__last_name", flat=True)) == ["Tester0", "Tester1"]


def test_all_that_match_shows_who_is_skipped_and_why(page, demo, shoot):
    deactivated = set(User.objects.filter(is_active=False).values_list("pk", flat=True))
    sign_in(page, demo, "useradmin@contoso.example")
    open_settings(page, "User management")
    page.get_by_label("Status").select_option(label="Active")
    page.get_by_role("button", name="Search").click()

    # Nobody ticked: the bulk actions are folded behind their summary until opened.
    expect(page.get_by_label("Action for the selected users")).to_be_hidden()
    page.get_by_test_id("bulk-actions-toggle").click()
    page.get_by_label("Action for the selected users").select_option(label="Deactivate")
    page.get_by_label(re.compile(r"All \d+ that match")).check()
    page.get_by_role("button", name="Review").click()

    expect(page.get_by_test_id("bulk-summary")).to_contain_text("will be skipped")
    expect(page.get_by_test_id("consequence")).to_contain_text("can no longer sign in")
    skipped = page.get_by_test_id("bulk-skipped")
    expect(skipped).to_contain_text("Only a Global admin can change a user who holds Global admin.")
    expect(skipped).to_contain_text("You cannot deactivate or delete your own account.")
    expect(page.get_by_test_id("bulk-apply")).to_be_visible()
    shoot(page, "16-bulk-action-confirmation")

    page.get_by_role("link", name="Cancel").click()  # back to the directory as filtered
    expect(page.get_by_label("Status")).to_have_value("active")
    assert set(User.objects.filter(is_active=False).values_list("pk", flat=True)) == deactivated
