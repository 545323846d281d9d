"""In a real browser: sign in, open User management from the Settings menu, search."""

from playwright.sync_api import expect

from tests.browser.conftest import BROWSER_TEST, open_settings, sign_in

pytestmark = BROWSER_TEST


def test_a_global_admin_finds_people_in_the_directory(page, demo, shoot):
    sign_in(page, demo, "globaladmin@contoso.example")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("Contoso Ltd")
    shoot(page, "01-home-global-admin")

    open_settings(page, "User management")
    expect(page.get_by_role("heading", name="User management")).to_be_visible()

    page.get_by_label("Search").fill("smith")
    page.get_by_role("button", name="Search").click()
    rows = page.get_by_test_id("directory").locator("tbody tr")
    expect(rows).to_have_count(3)  # John Smith, Jon Smith, John Smith (+partner)
    shoot(page, "02-user-management-search")

    page.get_by_label("Search").fill("zoe muller")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Zoë Müller")
