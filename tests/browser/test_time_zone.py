"""The browser tells PartnerHub its time zone (static/js/time-zone.js), and times follow it."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.models import User
from tests.browser.conftest import BROWSER_TEST, sign_in

pytestmark = BROWSER_TEST


def test_times_are_shown_in_the_browsers_time_zone(chromium, demo):
    context = chromium.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        sign_in(page, demo, "globaladmin@contoso.example")
        john = User.objects.get(email="john.smith@contoso.example")
        page.goto(f"{demo}/users/{john.public_id}/")

        expect(page.get_by_text("Times are shown in Asia/Tokyo")).to_be_visible()
        created = page.locator("dd time").first.get_attribute("datetime")
        assert created.endswith("+09:00")
    finally:
        context.close()
