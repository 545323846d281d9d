"""The add-user flow with the keyboard alone: Tab, Shift+Tab, Enter, Space, arrow keys, typing.

No click anywhere: from signing in to the new user's temporary password. At each stop the
focused element must show that it has focus (an outline or Bootstrap's focus ring), and each
step, a new page, starts with focus at its top: the first Tab reaches "Skip to main content",
which leads into the step's form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import expect

from accounts.models import User
from roles.catalogue import RoleKey
from tests.browser.conftest import BROWSER_TEST, DEMO_PASSWORD, app_code

pytestmark = BROWSER_TEST

# How many Tabs a page may take to reach what the person is after: more is a keyboard trap, or
# a page that makes keyboard users wade through too much.
MOST_TABS = 40

FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  // Roughly the accessible name: the text a screen reader reads, icons (aria-hidden) left out.
  const text = (node) => {
    const copy = node.cloneNode(true);
    copy.querySelectorAll("[aria-hidden=true]").forEach((hidden) => hidden.remove());
    return copy.textContent;
  };
  const label = element.getAttribute("aria-label")
    || (element.labels && element.labels.length ? text(element.labels[0]) : "")
    || text(element) || element.value || "";
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {
    tag: element.tagName.toLowerCase(),
    type: element.getAttribute("type") || "",
    name: label.replace(/\\s+/g, " ").trim(),
    checked: Boolean(element.checked),
    invalid: element.getAttribute("aria-invalid") === "true",
    visible_focus: outline || style.boxShadow !== "none",
  };
}"""


@dataclass(frozen=True)
class Focused:
    """The element that has the keyboard focus."""

    tag: str
    type: str
    name: str
    checked: bool
    invalid: bool
    visible_focus: bool


def focused(page: object) -> Focused | None:
    found = page.evaluate(FOCUSED)
    return Focused(**found) if found else None


def tab_to(page: object, wanted: Callable[[Focused], bool], what: str) -> Focused:
    """Press Tab until the focused element is the wanted one; it must show its focus."""
    passed = []
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        now = focused(page)
        if now and wanted(now):
            assert now.visible_focus, f"{what} has the focus but does not show it"
            return now
        passed.append(now.name if now else "(the page)")
    raise AssertionError(f"{MOST_TABS} Tabs did not reach {what}; they passed {passed}")


def named(name: str, *, tag: str | None = None) -> Callable[[Focused], bool]:
    return lambda now: now.name == name and (tag is None or now.tag == tag)


def field(label: str) -> Callable[[Focused], bool]:
    return lambda now: now.tag == "input" and now.name.startswith(label)


def assert_focus_starts_at_the_top(page: object) -> None:
    """A new page: nothing focused yet; the first Tab is the skip link, which leads into main."""
    assert focused(page) is None
    tab_to(page, named("Skip to main content"), "the skip link")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#main$"))


def test_a_global_admin_adds_a_user_with_the_keyboard_alone(page, demo):
    # Sign in: the email field has the focus; Enter in the password field signs in.
    page.goto(f"{demo}/accounts/login/")
    assert focused(page).name.startswith("Email")
    page.keyboard.type("globaladmin@contoso.example")
    page.keyboard.press("Tab")
    assert focused(page).name.startswith("Password")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")

    # The second step: the code field has the focus; Enter verifies.
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    assert focused(page).name.startswith("Code")
    page.keyboard.type(app_code("globaladmin@contoso.example"))
    page.keyboard.press("Enter")

    # Home > User management: past the skip link, the first workspace of the home page.
    expect(page.get_by_test_id("workspaces")).to_be_visible()
    assert_focus_starts_at_the_top(page)
    tab_to(page, named("User management", tag="a"), "the User management workspace")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="User management")).to_be_visible()
    tab_to(page, named("Add user", tag="a"), "Add user")
    page.keyboard.press("Enter")

    # Details. An email already in use first: the page comes back with the error on the field.
    expect(page.get_by_test_id("step-indicator")).to_contain_text("Step 1 of 3")
    assert_focus_starts_at_the_top(page)
    tab_to(page, field("First name"), "First name")
    page.keyboard.type("Katherine")
    page.keyboard.press("Tab")
    page.keyboard.type("Johnson")
    page.keyboard.press("Tab")
    assert focused(page).name.startswith("Email")
    page.keyboard.type("john.smith@contoso.example")
    page.keyboard.press("Enter")

    expect(page.get_by_text("A user with this email already exists.")).to_be_visible()
    # After an error the focus is already on the field to correct (static/js/focus-error.js).
    email = focused(page)
    assert email.name.startswith("Email")
    assert email.invalid
    assert email.visible_focus
    page.keyboard.press("Control+A")
    page.keyboard.type("katherine.johnson@contoso.example")
    page.keyboard.press("Enter")

    # Roles: Space ticks a box; a box the admin may not grant is never reached.
    expect(page.get_by_test_id("step-indicator")).to_contain_text("Step 2 of 3")
    assert_focus_starts_at_the_top(page)
    for role in ("MPN Partner Admin", "Referrals admin"):
        box = tab_to(page, field(role), role)
        assert not box.checked
        page.keyboard.press("Space")
        assert focused(page).checked
    expect(page.get_by_test_id("access-preview")).to_contain_text("Referrals")
    tab_to(page, named("Next", tag="button"), "Next")
    page.keyboard.press("Enter")

    # Review: where the review asks how they sign in first, choose the temporary password with
    # the arrow keys (Tab enters a radio group at its chosen radio).
    expect(page.get_by_test_id("review-details")).to_contain_text(
        "katherine.johnson@contoso.example"
    )
    assert_focus_starts_at_the_top(page)
    if page.get_by_role("radio").count():
        tab_to(page, lambda now: now.type == "radio", "the sign-in choice")
        for _ in range(page.get_by_role("radio").count()):
            if re.search("temporary password", focused(page).name, re.IGNORECASE):
                break
            page.keyboard.press("ArrowDown")
        chosen = focused(page)
        assert chosen.checked
        assert "temporary password" in chosen.name.lower()
    tab_to(page, named("Add", tag="button"), "Add")
    page.keyboard.press("Enter")

    # The confirmation: the temporary password, and its Copy button works from the keyboard.
    expect(page.get_by_role("heading", name="Temporary password")).to_be_visible()
    page.wait_for_load_state("load")  # the Copy button's script runs once the page has loaded
    tab_to(page, named("Copy", tag="button"), "Copy")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()

    added = User.objects.get(email="katherine.johnson@contoso.example")
    assert set(added.role_assignments.values_list("role__key", flat=True)) == {
        RoleKey.MPN_PARTNER_ADMIN,
        RoleKey.REFERRALS_ADMIN,
    }
