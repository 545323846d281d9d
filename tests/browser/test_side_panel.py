"""The directory's side panel in a real browser: a user's name opens their page beside the list
(htmx), with the actions the rulebook allows; the list keeps its place, filters and selection;
Escape closes it and the focus goes back to the name. A click with Ctrl, or a browser without
JavaScript, opens the full page. Under the Content-Security-Policy, and axe-clean on a desktop
and on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import PartnerOrganization, User
from roles.catalogue import RoleKey
from tests.browser import test_content_security_policy
from tests.browser.accessibility import describe
from tests.browser.conftest import BROWSER_TEST, sign_in
from tests.factories import UserFactory

pytestmark = BROWSER_TEST

# The policy's watch (violations reported by the browser, responses without the header).
watch = test_content_security_policy.watch

PHONE = {"width": 390, "height": 844}
LISTED = 40  # enough people for the list to scroll


@pytest.fixture
def listed(demo: str) -> list[User]:
    """Forty Contoso people named "Panel Person 01".."40", each a Sales agent."""
    contoso = PartnerOrganization.objects.get(partner_id="1234567")
    return [
        UserFactory(
            organization=contoso,
            first_name="Panel",
            last_name=f"Person {number:02}",
            email=f"panel.person{number:02}@contoso.example",
            roles=[RoleKey.SALES_AGENT],
        )
        for number in range(1, LISTED + 1)
    ]


def directory(page, demo: str, query: str = "q=panel+person&per_page=50") -> None:
    page.goto(f"{demo}/users/?{query}")
    expect(page.get_by_test_id("directory")).to_be_visible()


def panel_actions(page) -> list[str]:
    """The names of the actions the panel offers, links and buttons, in order."""
    actions = page.get_by_test_id("user-panel").get_by_test_id("user-actions")
    return actions.locator("a, button").all_inner_texts()


def page_actions(page) -> list[str]:
    return page.get_by_test_id("user-actions").locator("a, button").all_inner_texts()


def scroll_y(page) -> float:
    return page.evaluate("() => window.scrollY")


def test_a_name_opens_the_panel_beside_the_list_which_keeps_its_place(page, demo, listed, shoot):
    sign_in(page, demo, "globaladmin@contoso.example")
    directory(page, demo)
    address = page.url
    expect(page.get_by_role("status")).to_contain_text(f"{LISTED} users match")
    # A selection for a bulk action, and the list scrolled down to the 35th person.
    page.get_by_label("Select Panel Person 02").check()
    link = page.get_by_role("link", name="Panel Person 35", exact=True)
    link.scroll_into_view_if_needed()
    scrolled = scroll_y(page)
    assert scrolled > 300

    link.click()

    panel = page.get_by_role("dialog", name="Panel Person 35")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("user-panel-title")).to_be_focused()
    expect(panel.get_by_test_id("user-details")).to_contain_text("panel.person35@contoso.example")
    expect(panel.get_by_test_id("user-roles")).to_contain_text("Sales agent")
    expect(panel.get_by_role("link", name="Open full page")).to_have_attribute(
        "href", f"/users/{listed[34].public_id}/"
    )
    # A Global admin may do everything to a Sales agent (DOMAIN.md's table).
    assert panel_actions(page) == [
        "Edit roles",
        "Edit details",
        "Reset password",
        "Reset second factor",
        "Deactivate",
        "Delete user",
    ]
    shoot(page, "18-user-management-side-panel")

    # The list did not move or reload: the same address, search, selection and scroll.
    assert page.url == address
    expect(page.get_by_label("Search")).to_have_value("panel person")
    expect(page.get_by_label("Select Panel Person 02")).to_be_checked()
    assert scroll_y(page) == scrolled

    page.keyboard.press("Escape")

    expect(panel).to_be_hidden()
    expect(link).to_be_focused()
    assert scroll_y(page) == scrolled
    expect(page.get_by_label("Select Panel Person 02")).to_be_checked()

    # Another name opens the panel again, with that person's page; Close closes it too.
    other = page.get_by_role("link", name="Panel Person 36", exact=True)
    other.click()
    expect(page.get_by_role("dialog", name="Panel Person 36")).to_be_visible()
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(other).to_be_focused()


@pytest.mark.parametrize(
    ("email", "target", "expected"),
    [
        # The same actions as the full page shows, for each: the rulebook decides both.
        ("accountadmin@contoso.example", "john.smith@contoso.example", ["Edit roles"]),
        (
            "useradmin@contoso.example",
            "globaladmin@contoso.example",  # nobody below Global admin changes one (rule 2)
            [],
        ),
        ("mpnadmin@contoso.example", "john.smith@contoso.example", []),
    ],
)
def test_the_panel_offers_what_the_full_page_offers(page, demo, email, target, expected):
    shown = User.objects.get(email=target)
    sign_in(page, demo, email)
    directory(page, demo, f"q={target}")

    page.get_by_role("link", name=shown.get_full_name(), exact=True).click()

    panel = page.get_by_role("dialog", name=shown.get_full_name())
    expect(panel).to_be_visible()
    if expected:
        assert panel_actions(page) == expected
    else:
        expect(panel.get_by_test_id("user-actions")).to_have_count(0)
        expect(panel.get_by_test_id("why-no-action").first).to_be_visible()
    page.goto(f"{demo}/users/{shown.public_id}/")
    assert (page_actions(page) if expected else []) == expected


def test_an_action_from_the_panel_goes_through_its_page_and_the_list_shows_it(page, demo, listed):
    sign_in(page, demo, "globaladmin@contoso.example")
    directory(page, demo)
    page.get_by_role("link", name="Panel Person 07", exact=True).click()
    panel = page.get_by_role("dialog", name="Panel Person 07")

    panel.get_by_role("link", name="Deactivate").click()
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_test_id("user-name")).to_have_text("Panel Person 07")
    page.get_by_role("link", name="Back to User management").click()

    row = page.get_by_role("row", name=re.compile("Panel Person 07"))
    expect(row).to_contain_text("Deactivated")
    assert not User.objects.get(pk=listed[6].pk).is_active


def test_ctrl_click_opens_the_full_page_in_a_new_tab(page, demo, listed, browser_context):
    sign_in(page, demo, "globaladmin@contoso.example")
    directory(page, demo)

    with browser_context.expect_page() as opened:
        page.get_by_role("link", name="Panel Person 03", exact=True).click(modifiers=["Control"])

    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url.endswith(f"/users/{listed[2].public_id}/")
    expect(tab.get_by_test_id("user-name")).to_have_text("Panel Person 03")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_without_javascript_the_name_opens_the_full_page(chromium, demo, listed):
    context = chromium.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, demo, "globaladmin@contoso.example")
        directory(page, demo)

        page.get_by_role("link", name="Panel Person 04", exact=True).click()

        expect(page.get_by_test_id("user-name")).to_have_text("Panel Person 04")
        assert page.url.endswith(f"/users/{listed[3].public_id}/")
        expect(page.get_by_role("link", name="Edit details")).to_be_visible()
    finally:
        context.close()


def test_the_panel_runs_under_the_policy(page, demo, listed, watch):
    sign_in(page, demo, "globaladmin@contoso.example")
    directory(page, demo)

    with page.expect_response(lambda response: "/users/" in response.url) as answered:
        page.get_by_role("link", name="Panel Person 05", exact=True).click()
    expect(page.get_by_role("dialog", name="Panel Person 05")).to_be_visible()

    # The panel's answer is the page's content only, for htmx, and says it varies with that.
    response = answered.value
    assert response.request.headers.get("hx-request") == "true"
    assert "hx-request" in response.header_value("vary").lower()
    assert "<html" not in response.text()
    watch.assert_clean()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_open_panel_passes_axe(chromium, demo, listed, axe, viewport):
    context = chromium.new_context(viewport=viewport or {"width": 1366, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, demo, "globaladmin@contoso.example")
        directory(page, demo)
        page.get_by_role("link", name="Panel Person 06", exact=True).click()
        panel = page.get_by_role("dialog", name="Panel Person 06")
        expect(panel).to_be_visible()
        expect(page.get_by_test_id("user-panel-title")).to_be_focused()

        box = panel.bounding_box()
        if viewport:
            # The whole screen on a phone, and nothing wider than it.
            assert box["width"] == pytest.approx(PHONE["width"], abs=1)
            width = page.evaluate("() => document.documentElement.clientWidth")
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        else:
            assert box["width"] == pytest.approx(480, abs=1)
        violations = axe.violations(page)
        assert not violations, describe({"the side panel": violations})
    finally:
        context.close()


def test_back_to_the_list_after_an_action_from_the_panel_shows_the_change(page, demo, listed):
    sign_in(page, demo, "globaladmin@contoso.example")
    directory(page, demo)
    address = page.url
    page.get_by_role("link", name="Panel Person 08", exact=True).click()
    panel = page.get_by_role("dialog", name="Panel Person 08")

    panel.get_by_role("link", name="Edit details").click()
    page.get_by_label("Last name").fill("Person 08 Renamed")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("user-name")).to_have_text("Panel Person 08 Renamed")
    page.go_back()
    page.go_back()

    expect(page.get_by_role("link", name="Panel Person 08 Renamed", exact=True)).to_be_visible()
    assert page.url == address


def test_a_user_gone_meanwhile_opens_the_full_page_that_says_so(page, demo, listed):
    sign_in(page, demo, "globaladmin@contoso.example")
    directory(page, demo)
    User.objects.filter(pk=listed[8].pk).delete()

    page.get_by_role("link", name="Panel Person 09", exact=True).click()

    expect(page).to_have_url(re.compile(f"/users/{listed[8].public_id}/$"))
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_contain_text("not found")


def test_signed_out_meanwhile_the_name_leads_to_sign_in_not_into_the_panel(
    page, demo, listed, browser_context
):
    sign_in(page, demo, "globaladmin@contoso.example")
    directory(page, demo)
    browser_context.clear_cookies()

    page.get_by_role("link", name="Panel Person 10", exact=True).click()

    expect(page).to_have_url(re.compile("/accounts/login/"))
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_test_id("user-panel")).to_have_count(0)
