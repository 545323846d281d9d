"""In a real browser: filter the directory, page through the filtered list, change the page
size, jump to the end, open the Roles page and follow a role to its holders."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import PartnerOrganization
from roles.catalogue import RoleKey
from tests.browser.conftest import BROWSER_TEST, open_settings, sign_in
from tests.factories import UserFactory

pytestmark = BROWSER_TEST


def state(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_filters_combine_with_the_search_and_survive_paging(page, demo, shoot):
    contoso = PartnerOrganization.objects.get(name__startswith="Contoso")
    long_ago = timezone.now() - timedelta(days=100)
    for number in range(30):
        UserFactory(
            organization=contoso,
            first_name="Agent",
            last_name=f"Quiet{number:02}",
            roles=[RoleKey.SALES_AGENT],
            last_login=long_ago,
        )
    invited = UserFactory(organization=contoso, first_name="Ivy", last_name="Invited")
    invited.set_unusable_password()
    invited.save(update_fields=["password"])

    sign_in(page, demo, "globaladmin@contoso.example")
    open_settings(page, "User management")
    page.get_by_label("Search").fill("agent")
    page.get_by_label("Role").select_option(label="Sales agent")
    page.get_by_label("Last sign-in").select_option(label="More than 90 days ago")
    page.get_by_role("button", name="Search").click()

    expect(page.get_by_role("status")).to_contain_text("30 users match")
    rows = page.get_by_test_id("directory").locator("tbody tr")
    expect(rows).to_have_count(25)
    assert state(page)["role"] == ["sales_agent"]
    assert state(page)["last_sign_in"] == ["90"]
    shoot(page, "14-user-management-filters")

    page.get_by_role("link", name="Next").click()
    expect(rows).to_have_count(5)
    expect(page.get_by_label("Role")).to_have_value("sales_agent")
    expect(page.get_by_label("Search")).to_have_value("agent")
    assert state(page)["page"] == ["2"]

    page.get_by_role("link", name="First").click()
    page.get_by_role("link", name="Name").click()  # sorting keeps the filters
    assert state(page)["role"] == ["sales_agent"]
    expect(rows).to_have_count(25)

    page.get_by_label("Users per page").select_option("50")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(30)

    page.get_by_label("Search").fill("")
    page.get_by_label("Role").select_option(label="Any role")
    page.get_by_label("Last sign-in").select_option(label="Any time")
    page.get_by_label("Status").select_option(label="Pending invitation")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ivy Invited")
    expect(rows.first).to_contain_text("Pending invitation")
    expect(rows.first).to_contain_text("Never")


def test_go_to_page_and_last(page, demo):
    contoso = PartnerOrganization.objects.get(name__startswith="Contoso")
    for number in range(60):
        UserFactory(organization=contoso, first_name="Paged", last_name=f"Person{number:02}")

    sign_in(page, demo, "globaladmin@contoso.example")
    page.goto(f"{demo}/users/?q=paged")
    page.get_by_role("link", name="Last").click()
    expect(page.get_by_text("Page 3 of 3")).to_be_visible()

    page.get_by_label("Go to page").fill("2")
    page.get_by_role("button", name="Go", exact=True).click()
    expect(page.get_by_text("Page 2 of 3")).to_be_visible()
    assert state(page)["q"] == ["paged"]


def test_the_roles_page_leads_to_the_holders_of_a_role(page, demo, shoot):
    sign_in(page, demo, "globaladmin@contoso.example")
    open_settings(page, "User management")
    page.locator("#main").get_by_role("link", name="Roles", exact=True).click()
    expect(page.get_by_role("heading", name="Roles")).to_be_visible()
    shoot(page, "15-roles")

    global_admins = page.get_by_role("row").filter(has_text="Everything in the organization.")
    global_admins.get_by_role("link").first.click()

    expect(page.get_by_label("Role")).to_have_value("global_admin")
    rows = page.get_by_test_id("directory").locator("tbody tr")
    for index in range(rows.count()):
        expect(rows.nth(index)).to_contain_text("Global admin")
