"""README's screenshots of the main pages: desktop (1366 x 800) and phone (390 x 844), light and
dark (the system's colour scheme, which the pages follow), as Contoso's Global admin sees them.

`make screenshots` sets PARTNERHUB_SCREENSHOTS=docs/screenshots and runs the browser tests; this
one writes docs/screenshots/<page>-<desktop|phone>-<light|dark>.png. Without that variable it is
deselected (tests/conftest.py), not skipped: it checks nothing the other tests do not.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import User
from tests.browser.conftest import BROWSER_TEST, verified_session

pytestmark = [BROWSER_TEST, pytest.mark.screenshots]

SCREENS = {"desktop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")


def test_readme_screenshots(chromium, demo):
    folder = Path(os.environ["PARTNERHUB_SCREENSHOTS"])
    folder.mkdir(parents=True, exist_ok=True)
    admin = User.objects.get(email="globaladmin@contoso.example")
    someone = User.objects.get(email="john.smith@contoso.example")
    _client, cookie = verified_session(admin)
    name, value = cookie.split("=", 1)
    pages = {
        "home": reverse("home"),
        "directory": reverse("directory"),
        "user": reverse("user_detail", args=[someone.public_id]),
        "roles": reverse("roles_overview"),
        "audit-log": reverse("audit_log"),
        "csv-import": reverse("import_users"),
        "my-profile": reverse("profile"),
    }
    written = []
    for screen, viewport in SCREENS.items():
        for scheme in SCHEMES:
            context = chromium.new_context(viewport=viewport, color_scheme=scheme)
            context.set_default_timeout(10_000)
            context.add_cookies([{"name": name, "value": value, "url": demo}])
            page = context.new_page()

            def shoot(label: str, screen: str = screen, scheme: str = scheme, page=page) -> None:
                page.wait_for_function(
                    "() => document.getAnimations().every((a) => a.playState !== 'running')"
                )
                path = folder / f"{label}-{screen}-{scheme}.png"
                page.screenshot(path=str(path))
                written.append(path)

            for label, path in pages.items():
                response = page.goto(demo + path)
                assert response.ok, f"{path}: {response.status}"
                assert page.url == demo + path, f"{path} sent to {page.url}"
                shoot(label)

            page.goto(demo + reverse("add_user"))
            shoot("add-user-details")
            page.get_by_label("First name").fill("Katherine")
            page.get_by_label("Last name").fill("Johnson")
            page.get_by_label("Email").fill("katherine.johnson@contoso.example")
            page.get_by_role("button", name="Next").click()
            expect(page.get_by_text("Step 2 of 3").first).to_be_visible()
            page.get_by_label("MPN Partner Admin").check()
            shoot("add-user-roles")
            page.get_by_role("button", name="Next").click()
            expect(page.get_by_test_id("review-details")).to_be_visible()
            shoot("add-user-review")
            context.close()

    assert all(path.stat().st_size > 0 for path in written)
    assert len(written) == (len(pages) + 3) * len(SCREENS) * len(SCHEMES)
