"""The lists on a phone (390 pixels) and on a desktop: the directory and the audit log become
stacked cards with nothing off-screen, the header of a long list stays in view, a cut email is
whole on keyboard focus, and the lists and the add-user steps pass the accessibility check at
both widths."""

from __future__ import annotations

from itertools import pairwise

import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.models import User
from roles.catalogue import RoleKey
from roles.services import grant_role
from tests.browser.accessibility import describe
from tests.browser.conftest import BROWSER_TEST, sign_in

pytestmark = BROWSER_TEST

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 800}
ADMIN = "globaladmin@contoso.example"

# Every cell and badge of the list must lie within the screen (a pixel of rounding allowed).
OFF_SCREEN = """(selector) => {
    const width = document.documentElement.clientWidth;
    return Array.from(document.querySelectorAll(selector))
        .filter((element) => {
            const box = element.getBoundingClientRect();
            return box.width > 0 && (box.left < -1 || box.right > width + 1);
        })
        .map((element) => element.outerHTML.slice(0, 120));
}"""


def context_at(chromium, viewport):
    context = chromium.new_context(viewport=viewport)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def phone(chromium):
    context = context_at(chromium, PHONE)
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(chromium):
    context = context_at(chromium, DESKTOP)
    yield context.new_page()
    context.close()


@pytest.fixture
def events(demo):
    """A few changes in the audit log, made through the services as the pages make them: a long
    email edited in, a role granted, a deactivation and a reactivation."""
    admin = User.objects.get(email=ADMIN)
    target = User.objects.get(email="john.smith@contoso.example")
    services.update_user_details(
        admin,
        target,
        first_name="Johnathan-Alexander",
        last_name="Smithington-Worthington",
        email="johnathan.alexander.smithington-worthington@contoso.example",
    )
    grant_role(admin, target, RoleKey.REFERRALS_ADMIN)
    services.deactivate_user(admin, target)
    services.reactivate_user(admin, target)
    return demo


def page_width_overflow(page) -> int:
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


@pytest.mark.parametrize(
    ("path", "testid", "rows"),
    [("/users/", "directory", "tbody tr"), ("/audit-log/", "audit-log", "audit-event")],
)
def test_on_a_phone_each_row_is_a_card_with_nothing_off_screen(
    phone, events, shoot, path, testid, rows
):
    demo = events
    sign_in(phone, demo, ADMIN)
    phone.goto(demo + path)

    table = phone.get_by_test_id(testid)
    first = table.locator(rows).first if rows == "tbody tr" else table.get_by_test_id(rows).first
    expect(first).to_be_visible()
    shoot(phone, f"lists-phone-{testid}")
    # A card: the row is a box as wide as the list, its cells stacked, each with its label.
    assert first.evaluate("(row) => getComputedStyle(row).display") in ("block", "flex")
    assert first.bounding_box()["width"] <= PHONE["width"]
    cells = first.locator("td:not(.list-select)")  # the checkbox sits in the corner
    boxes = [cells.nth(index).bounding_box() for index in range(cells.count())]
    shown = [box for box in boxes if box and box["height"] > 0]
    assert len(shown) >= 4
    # Stacked: no two cells side by side.
    tops = sorted(box["y"] for box in shown)
    assert all(later >= earlier + 1 for earlier, later in pairwise(tops))
    labelled = first.locator("td[data-label]").first
    label = labelled.evaluate("(cell) => getComputedStyle(cell, '::before').content")
    assert label.strip('"') == labelled.get_attribute("data-label")
    assert page_width_overflow(phone) <= 0, f"{path} is wider than the phone"
    assert phone.evaluate(OFF_SCREEN, f"[data-testid={testid}] td, .badge") == []


def test_the_audit_log_on_a_phone_is_compact_not_a_strip(phone, events):
    demo = events
    sign_in(phone, demo, ADMIN)
    phone.goto(demo + "/audit-log/")
    events = phone.get_by_test_id("audit-event")
    expect(events.first).to_be_visible()

    heights = [events.nth(index).bounding_box()["height"] for index in range(events.count())]
    # One card per event, each a few lines high rather than a column of one word per line.
    assert max(heights) < 600, heights
    document = phone.evaluate("() => document.documentElement.scrollHeight")
    assert document < 900 * max(len(heights), 1)


def test_on_a_desktop_the_directory_is_a_table_with_a_sticky_header(desktop, demo, shoot):
    sign_in(desktop, demo, ADMIN)
    desktop.goto(demo + "/users/?per_page=50")
    table = desktop.get_by_test_id("directory")
    expect(table).to_be_visible()
    shoot(desktop, "lists-desktop-directory")

    header = table.locator("thead th").nth(1)
    assert header.evaluate("(th) => getComputedStyle(th).position") == "sticky"
    row = table.locator("tbody tr").first
    assert row.evaluate("(tr) => getComputedStyle(tr).display") == "table-row"
    assert row.bounding_box()["height"] <= 48  # dense: about 40 pixels
    # Scrolling the list keeps its header in view, at the top of the list's box.
    scroller = desktop.locator(".list-scroll")
    top = scroller.bounding_box()["y"]
    scroller.evaluate("(box) => { box.scrollTop = 400; }")
    assert abs(header.bounding_box()["y"] - top) <= 2
    assert page_width_overflow(desktop) <= 0


def test_a_cut_email_is_whole_on_keyboard_focus(desktop, demo):
    sign_in(desktop, demo, ADMIN)
    desktop.set_viewport_size({"width": 900, "height": 800})
    desktop.goto(demo + "/users/")
    email = desktop.get_by_test_id("directory").locator("td[data-label=Email] .truncate").first
    expect(email).to_be_visible()
    text = email.inner_text()
    assert email.get_attribute("title") == text

    email.focus()
    fits = email.evaluate("(span) => span.scrollWidth <= span.clientWidth + 1")
    assert fits, "the focused email is still cut"


def test_the_bulk_actions_count_the_users_ticked(desktop, demo):
    sign_in(desktop, demo, ADMIN)
    desktop.goto(demo + "/users/")
    boxes = desktop.locator("[data-bulk-user]")
    boxes.nth(0).check()
    boxes.nth(1).check()

    expect(desktop.locator("[data-bulk-count]")).to_have_text("2 selected")
    expect(desktop.get_by_test_id("bulk-actions")).to_have_class("commandbar-bulk has-selection")


def test_the_add_user_stepper_marks_the_current_step(desktop, demo):
    sign_in(desktop, demo, ADMIN)
    desktop.goto(demo + "/users/add/")

    steps = desktop.get_by_test_id("stepper").locator("li")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_have_attribute("aria-current", "step")
    desktop.get_by_label("First name").fill("Ada")
    desktop.get_by_label("Last name").fill("Lovelace")
    desktop.get_by_label("Email").fill("ada.lovelace.stepper@contoso.example")
    desktop.get_by_role("button", name="Next").click()

    expect(steps.nth(1)).to_have_attribute("aria-current", "step")
    expect(steps.nth(0)).to_contain_text("Details (done)")
    assert steps.nth(0).get_attribute("aria-current") is None
    # The name field is sized to a name, not stretched across the page.
    desktop.get_by_role("button", name="Back").click()
    assert desktop.get_by_label("First name").bounding_box()["width"] <= 24 * 16 + 1


def add_user_to_review(page, base_url):
    page.goto(base_url + "/users/add/")
    page.get_by_label("First name").fill("Mary")
    page.get_by_label("Last name").fill("Jackson")
    page.get_by_label("Email").fill("mary.jackson@contoso.example")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_test_id("stepper").locator("li").nth(2)).to_have_attribute(
        "aria-current", "step"
    )


LIST_PAGES = [
    ("User management", "/users/"),
    ("User management, no results", "/users/?q=nobody-matches"),
    ("Audit log", "/audit-log/"),
    ("Audit log, nothing matches", "/audit-log/?date_from=2001-01-01&date_to=2001-01-02"),
    ("Audit log, a filter to correct", "/audit-log/?person=nobody%40nowhere.example"),
    ("Roles", "/users/roles/"),
    ("API clients", "/settings/api-clients/"),
    ("Sign-in methods", "/profile/sign-in-methods/"),
    ("Add user: details", "/users/add/"),
    ("Add user: review", add_user_to_review),
    ("Add users from CSV", "/users/import/"),
]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_lists_and_the_wizard_pass_the_accessibility_check(chromium, axe, events, viewport):
    demo = events
    context = context_at(chromium, viewport)
    page = context.new_page()
    try:
        sign_in(page, demo, ADMIN)
        problems = {}
        for name, target in LIST_PAGES:
            if callable(target):
                target(page, demo)
            else:
                page.goto(demo + target)
            page.wait_for_load_state()
            page.wait_for_function(
                "() => document.getAnimations().every((a) => a.playState !== 'running')"
            )
            if found := axe.violations(page):
                problems[name] = found
            assert page_width_overflow(page) <= 0, f"{name} is wider than the screen"
        assert not problems, describe(problems)
    finally:
        context.close()
