"""On a phone's screen (390 pixels wide): names and emails without a space to break at wrap, and
no page gets wider than the screen. Right-to-left names keep the text beside them in its order."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import PartnerOrganization
from roles.catalogue import RoleKey
from tests.browser.conftest import BROWSER_TEST, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = BROWSER_TEST

PHONE = {"width": 390, "height": 844}
LONG = "Maximiliana" * 12  # 132 letters, not one place to break
RTL_NAME = "\u05d3\u05e0\u05d9\u05d0\u05dc"  # Daniel, in Hebrew letters


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport=PHONE)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def long_admin(demo):
    """A Global admin of Contoso whose name, email and colleague are as long as they come."""
    contoso = PartnerOrganization.objects.get(partner_id="1234567")
    admin = UserFactory(
        organization=contoso,
        first_name=LONG,
        last_name=LONG,
        email=f"{'maximiliana' * 5}@{'sub' * 20}.contoso.example",  # 55 + 60 letters
        roles=[RoleKey.GLOBAL_ADMIN],
    )
    UserFactory(organization=contoso, first_name=RTL_NAME, last_name="Levi", roles=[])
    return admin


def pages_of(base: str, admin) -> list[str]:
    user = f"{base}/users/{admin.public_id}/"
    return [
        f"{base}/",
        f"{base}/users/?q=maximiliana",
        user,
        f"{user}edit/",
        f"{user}roles/",
        f"{user}delete/",
        f"{base}/users/add/",
        f"{base}/users/import/",
        f"{base}/audit-log/",
        f"{base}/profile/",
        f"{base}/membership/",
        f"{base}/workspaces/billing/",
    ]


def test_no_page_is_wider_than_a_phone_and_long_names_wrap(phone, demo, long_admin):
    sign_in(phone, demo, long_admin.email, PASSWORD)
    expect(phone.get_by_test_id("signed-in-as")).to_be_visible()

    for url in pages_of(demo, long_admin):
        phone.goto(url)
        overflow = phone.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{url} is {overflow} pixels wider than the screen"

    phone.goto(f"{demo}/users/{long_admin.public_id}/")
    heading = phone.get_by_test_id("user-name")
    # Wrapped, not cut: every letter is there, over several lines.
    expect(heading).to_contain_text(f"{LONG} {LONG}")
    assert heading.bounding_box()["height"] > 3 * 30


def test_a_right_to_left_name_does_not_reorder_the_text_beside_it(page, demo, long_admin):
    sign_in(page, demo, long_admin.email, PASSWORD)
    page.goto(f"{demo}/users/?q=levi")

    # The name's cell (the first, for an admin who may act on users, is the row's checkbox).
    row = page.get_by_test_id("directory").locator("tbody tr").first
    cell = row.locator("td", has=page.get_by_role("link")).first
    expect(cell.locator("bdi")).to_have_text(f"{RTL_NAME} Levi")
