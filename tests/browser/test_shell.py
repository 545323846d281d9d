"""The shell around every page in a browser: the navigation collapsing into a menu on a phone,
the header's search, dark mode from the system's setting and from My profile, and the axe check
of pages in dark."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.browser.accessibility import Violation, describe
from tests.browser.conftest import BROWSER_TEST, open_settings, sign_in

pytestmark = BROWSER_TEST

ADMIN = "globaladmin@contoso.example"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 800}


def new_page(chromium, **options):
    context = chromium.new_context(**options)
    context.set_default_timeout(10_000)
    return context, context.new_page()


@pytest.fixture
def phone(chromium):
    context, page = new_page(chromium, viewport=PHONE)
    yield page
    context.close()


@pytest.fixture
def dark(chromium):
    """A desktop browser whose system is set to dark."""
    context, page = new_page(chromium, viewport=DESKTOP, color_scheme="dark")
    yield page
    context.close()


@pytest.fixture
def dark_phone(chromium):
    context, page = new_page(chromium, viewport=PHONE, color_scheme="dark")
    yield page
    context.close()


def theme(page) -> str | None:
    return page.locator("html").get_attribute("data-bs-theme")


def background(page) -> str:
    return page.evaluate("() => getComputedStyle(document.body).backgroundColor")


def test_the_navigation_collapses_on_a_phone_and_opens_with_the_menu_button(phone, demo, shoot):
    sign_in(phone, demo, ADMIN)
    nav = phone.get_by_role("navigation", name="Main")
    menu = phone.get_by_role("button", name="Menu")

    expect(nav.get_by_role("link", name="User management")).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_have_attribute("aria-controls", "ph-nav")

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    shoot(phone, "shell-phone-menu-open")
    nav.get_by_role("link", name="User management").click()

    expect(phone.get_by_role("heading", name="User management", level=1)).to_be_visible()
    expect(nav.get_by_role("link", name="User management")).to_be_hidden()  # closed again
    overflow = phone.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


def test_the_navigation_is_a_column_beside_the_page_on_a_desktop(page, demo):
    sign_in(page, demo, ADMIN)
    nav = page.get_by_role("navigation", name="Main")

    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    nav.get_by_role("link", name="Audit log").click()

    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    expect(nav.get_by_role("link", name="Audit log")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Home")).not_to_have_attribute("aria-current", "page")


def test_the_header_search_goes_to_the_one_user_found(page, demo):
    sign_in(page, demo, ADMIN)
    adele = User.objects.get(email="useradmin@contoso.example")
    search = page.get_by_role("search", name="Find a user").get_by_label("Find a user")

    search.fill("adele vance")
    search.press("Enter")

    expect(page).to_have_url(re.compile(f"/users/{adele.public_id}/$"))
    expect(page.get_by_test_id("user-name")).to_have_text("Adele Vance")


def test_the_header_search_lists_several_matches_in_the_directory(page, demo):
    sign_in(page, demo, ADMIN)
    search = page.get_by_role("search", name="Find a user").get_by_label("Find a user")

    search.fill("john smith")  # two of them, and a third John Smith's address
    search.press("Enter")

    expect(page).to_have_url(re.compile(r"/users/\?q=john\+smith$"))
    expect(
        page.get_by_text(re.compile("[0-9]+ users match “john smith”: choose one below"))
    ).to_be_visible()


def test_dark_mode_follows_the_system_setting(dark, demo, shoot):
    dark.goto(f"{demo}/accounts/login/")
    assert theme(dark) == "dark"  # signed out too

    sign_in(dark, demo, ADMIN)

    assert theme(dark) == "dark"
    assert background(dark) == "rgb(27, 27, 27)"
    shoot(dark, "shell-dark-home")


def test_the_profile_switch_chooses_dark_or_light_whatever_the_system_says(page, demo):
    sign_in(page, demo, ADMIN)  # the system says light
    assert theme(page) == "light"
    open_settings(page, "My profile")

    page.get_by_role("radio", name="Dark").check()
    page.get_by_role("button", name="Save theme").click()

    expect(page.get_by_text("Your theme is saved: Dark.")).to_be_visible()
    assert theme(page) == "dark"
    page.goto(f"{demo}/users/")
    assert theme(page) == "dark"
    assert background(page) == "rgb(27, 27, 27)"

    page.goto(f"{demo}/profile/")
    page.get_by_role("radio", name="System").check()
    page.get_by_role("button", name="Save theme").click()
    expect(page.get_by_text("Your theme is saved: System.")).to_be_visible()
    assert theme(page) == "light"


def test_a_light_choice_stays_light_on_a_dark_system(dark, demo):
    User.objects.filter(email=ADMIN).update(theme_preference="light")
    sign_in(dark, demo, ADMIN)

    assert theme(dark) == "light"
    assert background(dark) == "rgb(245, 245, 245)"


def dark_pages(base: str) -> list[tuple[str, str]]:
    john = User.objects.get(email="john.smith@contoso.example")
    return [
        ("home", f"{base}/"),
        ("directory", f"{base}/users/"),
        ("directory, a search", f"{base}/users/?q=smith"),
        ("a user's page", f"{base}/users/{john.public_id}/"),
        ("edit roles", f"{base}/users/{john.public_id}/roles/"),
        ("my profile", f"{base}/profile/"),
        ("the audit log", f"{base}/audit-log/"),
        ("add user", f"{base}/users/add/"),
        ("roles", f"{base}/users/roles/"),
    ]


def test_pages_pass_the_accessibility_check_in_dark(axe, dark, demo):
    problems: dict[str, list[Violation]] = {}
    dark.goto(f"{demo}/accounts/login/")
    found = axe.violations(dark)
    if found:
        problems["sign-in"] = found
    sign_in(dark, demo, ADMIN)
    for name, url in dark_pages(demo):
        dark.goto(url)
        dark.wait_for_load_state()
        assert theme(dark) == "dark"
        found = axe.violations(dark)
        if found:
            problems[name] = found
    # The person's menu open, over the page.
    dark.get_by_test_id("signed-in-as").click()
    found = axe.violations(dark)
    if found:
        problems["the person's menu"] = found
    assert not problems, f"Accessibility violations in dark:\n{describe(problems)}"


def test_a_phone_page_passes_the_accessibility_check_in_dark_with_the_menu_open(
    axe, dark_phone, demo
):
    sign_in(dark_phone, demo, ADMIN)
    dark_phone.get_by_role("button", name="Menu").click()
    expect(dark_phone.get_by_role("link", name="Audit log")).to_be_visible()

    assert not axe.violations(dark_phone), describe({"home": axe.violations(dark_phone)})
