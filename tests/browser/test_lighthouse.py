"""Lighthouse's accessibility and best-practices scores of the main pages, desktop and mobile.

Lighthouse (npm, pinned in package.json) drives Debian's Chromium against the live test server
with the demo data, signed in as Contoso's Global admin: the test makes a real session that has
passed the second factor and hands its cookie to Lighthouse as a request header. The add-user
wizard keeps its steps in that session, so the test sends each step with the same session (through
Django's test client) before Lighthouse opens the next. Each page must score at least BARS in
both form factors; a failure lists the audits that cost points, with the elements they name.

The pages' markup does not depend on the database: marked `lighthouse`, the test runs in the
SQLite run of the suite and is deselected (not skipped) on PostgreSQL (tests/conftest.py).
`make lighthouse` runs it alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import User
from accounts.views.add_user import RUNS, step_url
from roles.catalogue import RoleKey
from tests.browser.conftest import BROWSER_TEST, CHROMIUM, CHROMIUM_ARGS, verified_session

pytestmark = [BROWSER_TEST, pytest.mark.lighthouse]

LIGHTHOUSE = Path(settings.BASE_DIR) / "node_modules" / ".bin" / "lighthouse"
BARS = {"accessibility": 98, "best-practices": 95}
FORM_FACTORS = ("desktop", "mobile")
ADMIN = "globaladmin@contoso.example"
WIZARD = "add_user_wizard-current_step"


def lighthouse() -> Path:
    """Lighthouse's command; skips the test when `make setup` has not installed it."""
    if not shutil.which("node"):
        pytest.skip("Node.js is missing: apt-get install nodejs npm, then make setup")
    if not LIGHTHOUSE.exists():
        pytest.skip("Lighthouse is not installed (node_modules/.bin/lighthouse): run make setup")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    return LIGHTHOUSE


@dataclass(frozen=True)
class Report:
    """What Lighthouse made of one page in one form factor."""

    page: str
    form_factor: str
    scores: dict[str, int]  # category -> 0..100
    failing: list[str]  # the audits that cost points, described for a developer
    seconds: float

    def below_bar(self) -> list[str]:
        return [
            f"{category} {self.scores.get(category)} < {bar}"
            for category, bar in BARS.items()
            if self.scores.get(category) is None or self.scores[category] < bar
        ]


def audit_lines(result: dict) -> list[str]:
    """Each audit of the two categories that did not pass: its id, title and items."""
    lines: list[str] = []
    audits = result["audits"]
    for category in BARS:
        for ref in result["categories"][category]["auditRefs"]:
            audit = audits[ref["id"]]
            if ref["weight"] == 0 or audit["score"] is None or audit["score"] >= 1:
                continue
            lines.append(f"  [{category}] {audit['id']}: {audit['title']}")
            items = (audit.get("details") or {}).get("items") or []
            for item in items[:10]:
                node = item.get("node") or {}
                where = node.get("selector") or item.get("url") or item.get("source") or ""
                what = node.get("snippet") or item.get("description") or item.get("value") or ""
                lines.append(f"      {where} {str(what)[:200]}".rstrip())
    return lines


def run_lighthouse(url: str, page: str, form_factor: str, cookie: str, folder: Path) -> Report:
    output = folder / f"{uuid4().hex}.json"
    command = [
        str(lighthouse()),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={output}",
        "--only-categories=accessibility,best-practices",
        # The screenshot only illustrates the HTML report; the JSON is read here.
        "--disable-full-page-screenshot",
        f"--chrome-flags={' '.join(CHROMIUM_ARGS)}",
        f"--extra-headers={json.dumps({'Cookie': cookie})}",
    ]
    if form_factor == "desktop":
        command.append("--preset=desktop")
    started = time.monotonic()
    finished = subprocess.run(
        command,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    seconds = time.monotonic() - started
    assert finished.returncode == 0, (
        f"Lighthouse failed on {page} ({form_factor}):\n{finished.stdout}\n{finished.stderr}"
    )
    result = json.loads(output.read_text())
    # A session the server did not accept would score the sign-in page instead: refuse that.
    assert result.get("runtimeError") is None, result["runtimeError"]
    assert result["finalDisplayedUrl"] == url, (
        f"Lighthouse was sent from {url} to {result['finalDisplayedUrl']}"
    )
    scores = {
        category: round(result["categories"][category]["score"] * 100)
        for category in BARS
        if result["categories"][category]["score"] is not None
    }
    return Report(page, form_factor, scores, audit_lines(result), seconds)


def test_main_pages_meet_lighthouses_bars(demo):
    lighthouse()  # skips here, before anything runs, when it is not installed
    admin = User.objects.get(email=ADMIN)
    client, cookie = verified_session(admin)
    someone = User.objects.get(email="john.smith@contoso.example")
    reports: list[Report] = []

    with tempfile.TemporaryDirectory(prefix="lighthouse-") as tmp:
        folder = Path(tmp)

        def measure(page: str, path: str) -> None:
            # Desktop and mobile side by side: two Lighthouse processes, two Chromiums.
            with ThreadPoolExecutor(max_workers=len(FORM_FACTORS)) as pool:
                reports.extend(
                    pool.map(
                        lambda form_factor: run_lighthouse(
                            demo + path, page, form_factor, cookie, folder
                        ),
                        FORM_FACTORS,
                    )
                )

        measure("Home", reverse("home"))
        measure("User management", reverse("directory"))
        measure("A user's page", reverse("user_detail", args=[someone.public_id]))
        measure("Audit log", reverse("audit_log"))
        measure("Add users from CSV", reverse("import_users"))

        # The wizard: begun with the session, each step sent with it before the next is measured.
        assert client.get(reverse("add_user")).status_code == 302
        run = UUID(client.session[RUNS][-1])
        measure("Add user: details", step_url(run, "details"))
        details = {
            WIZARD: "details",
            "details-first_name": "Katherine",
            "details-last_name": "Johnson",
            "details-email": "katherine.johnson@contoso.example",
        }
        sent = client.post(step_url(run, "details"), details)
        assert sent.status_code == 302
        assert sent.url == step_url(run, "roles")
        measure("Add user: roles", step_url(run, "roles"))
        roles = {WIZARD: "roles", "roles-roles": [RoleKey.MPN_PARTNER_ADMIN]}
        sent = client.post(step_url(run, "roles"), roles)
        assert sent.status_code == 302
        assert sent.url == step_url(run, "review")
        measure("Add user: review", step_url(run, "review"))

    table = "\n".join(
        f"  {r.page:<22} {r.form_factor:<8} "
        + "  ".join(f"{c} {r.scores.get(c)}" for c in BARS)
        + f"  ({r.seconds:.0f} s)"
        for r in reports
    )
    print(f"\nLighthouse scores:\n{table}")
    failures = [
        f"{r.page} ({r.form_factor}): {', '.join(r.below_bar())}\n" + "\n".join(r.failing)
        for r in reports
        if r.below_bar()
    ]
    assert not failures, "Below Lighthouse's bar:\n" + "\n".join(failures) + f"\n{table}"
