"""The add-user story of DOMAIN.md, in a real browser, for each kind of admin."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.models import MapsPurchase, User
from roles.catalogue import RoleKey
from tests.browser.conftest import BROWSER_TEST, open_settings, sign_in, sign_out

pytestmark = BROWSER_TEST


def test_a_global_admin_adds_a_user_who_then_signs_in_and_sees_their_workspaces(page, demo, shoot):
    sign_in(page, demo, "globaladmin@contoso.example")
    open_settings(page, "User management")
    page.get_by_label("Search").fill("grace")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No user matches “grace”.")).to_be_visible()

    page.get_by_role("link", name="Add user", exact=True).click()
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Email").fill("grace.hopper@contoso.example")
    shoot(page, "03-add-user-details")
    page.get_by_role("button", name="Next").click()

    page.get_by_label("MPN Partner Admin").check()
    page.get_by_label("Referrals admin").check()
    preview = page.get_by_test_id("access-preview")
    expect(preview).to_contain_text("Membership")
    expect(preview).to_contain_text("Referrals")
    shoot(page, "04-add-user-roles")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_text("grace.hopper@contoso.example")).to_be_visible()
    shoot(page, "05-add-user-review")
    page.get_by_label("Show a temporary password").check()
    page.get_by_role("button", name="Add", exact=True).click()

    expect(page.get_by_role("heading", name="Temporary password")).to_be_visible()
    password = page.get_by_label("Temporary password").input_value()
    page.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == password
    shoot(page, "06-add-user-temporary-password")
    page.reload()
    expect(page.get_by_role("heading", name="Temporary password")).to_have_count(0)
    expect(page.get_by_role("heading", name="User added")).to_be_visible()
    assert User.objects.filter(email="grace.hopper@contoso.example").count() == 1

    sign_out(page)
    sign_in(page, demo, "grace.hopper@contoso.example", password)
    expect(page.get_by_text("Choose a new password")).to_be_visible()
    shoot(page, "07-first-sign-in-change-password")
    page.locator("#id_old_password").fill(password)
    page.locator("#id_new_password1").fill("Grace-chose-this-2026")
    page.locator("#id_new_password2").fill("Grace-chose-this-2026")
    page.get_by_role("button", name="Change password").click()

    page.goto(demo + "/")
    tiles = page.get_by_test_id("workspaces").locator("[data-workspace]")
    workspaces = sorted(tiles.evaluate_all("tiles => tiles.map(t => t.dataset.workspace)"))
    assert workspaces == ["membership", "referrals", "user_management"]
    shoot(page, "08-new-user-home")


def test_a_user_management_admin_adds_a_user_but_cannot_grant_global_admin(page, demo, shoot):
    sign_in(page, demo, "useradmin@contoso.example")
    open_settings(page, "User management")
    page.get_by_role("link", name="Add user", exact=True).click()
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email").fill("ada.lovelace@contoso.example")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_label("Global admin")).to_be_disabled()
    expect(
        page.get_by_text("Only a Global admin can grant or revoke Global admin.")
    ).to_be_visible()
    shoot(page, "09-user-admin-cannot-grant-global-admin")
    page.get_by_label("Helpdesk agent").check()
    page.get_by_role("button", name="Next").click()
    # The review form is sent once: a second submit (an impatient double click) is cancelled.
    cancelled = page.locator("form[data-submit-once]").evaluate(
        """form => [1, 2].map(() => {
            const submit = new Event("submit", {bubbles: true, cancelable: true});
            form.dispatchEvent(submit);  // a synthetic event: nothing is sent
            return submit.defaultPrevented;
        })"""
    )
    assert cancelled == [False, True]
    page.evaluate("() => window.dispatchEvent(new Event('pageshow'))")  # as after Back
    page.get_by_label("Show a temporary password").check()
    page.get_by_role("button", name="Add", exact=True).click()

    expect(page.get_by_role("heading", name="Temporary password")).to_be_visible()
    expect(page.get_by_label("Temporary password")).not_to_have_value("")
    added = User.objects.get(email="ada.lovelace@contoso.example")
    assert set(added.role_assignments.values_list("role__key", flat=True)) == {
        RoleKey.HELPDESK_AGENT
    }


def test_an_account_admin_changes_membership_roles_but_cannot_add_users(page, demo, shoot):
    sign_in(page, demo, "accountadmin@contoso.example")
    open_settings(page, "User management")
    expect(page.get_by_role("link", name="Add user")).to_have_count(0)

    page.get_by_label("Search").fill("chidi")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Chidi Okonkwo").click()
    page.get_by_role("link", name="Edit roles").click()
    expect(page.get_by_label("Billing admin")).to_be_disabled()
    page.get_by_label("Incentives admin").check()
    shoot(page, "10-account-admin-edit-roles")
    page.get_by_role("button", name="Save").click()

    chidi = User.objects.get(email="chidi.okonkwo@contoso.example")
    assert set(chidi.role_assignments.values_list("role__key", flat=True)) == {
        RoleKey.SALES_AGENT,
        RoleKey.INCENTIVES_ADMIN,
    }


def test_an_mpn_partner_admin_reads_the_directory_and_buys_maps(page, demo, shoot):
    sign_in(page, demo, "mpnadmin@contoso.example")
    open_settings(page, "User management")
    expect(page.get_by_role("link", name="Add user")).to_have_count(0)
    page.get_by_role("link", name="Megan Bowen").click()
    expect(page.get_by_role("dialog", name="Megan Bowen")).to_be_visible()  # the side panel
    for action in ("Edit roles", "Edit details", "Reset password", "Deactivate", "Delete user"):
        expect(page.get_by_role("link", name=action)).to_have_count(0)
        expect(page.get_by_role("button", name=action)).to_have_count(0)
    shoot(page, "11-mpn-admin-read-only-user")

    page.goto(demo + "/")
    page.get_by_test_id("workspaces").get_by_role("link", name="Membership").click()
    expect(page.get_by_role("heading", name="Membership", exact=True)).to_be_visible()
    page.get_by_label("I confirm the purchase of MAPS").check()
    page.get_by_role("button", name="Purchase MAPS").click()
    expect(page.get_by_text("purchased", exact=False).first).to_be_visible()
    shoot(page, "12-mpn-admin-bought-maps")
    assert MapsPurchase.objects.filter(organization__partner_id="1234567").count() == 1


def test_a_role_ticked_before_the_preview_script_ran_is_previewed(page, demo):
    """On a slow page a box can be ticked before the deferred script listens: it still counts."""
    sign_in(page, demo, "globaladmin@contoso.example")
    page.goto(demo + "/users/add/")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email").fill("ada.lovelace@contoso.example")
    held = []
    page.route("**/access-preview*.js", lambda route: held.append(route))
    page.get_by_role("button", name="Next").click()
    page.get_by_label("MPN Partner Admin").check()  # the script is still held back
    assert held, "the preview script was not requested"
    preview = page.get_by_test_id("access-preview")
    expect(preview).not_to_contain_text("Membership")
    with page.expect_response(lambda response: "/users/add/preview/" in response.url):
        held[0].continue_()
    expect(preview).to_contain_text("Membership")
