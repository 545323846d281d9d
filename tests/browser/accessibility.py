"""The accessibility check of the browser tests: axe-core, run inside the page Playwright shows.

axe-core comes from npm as a development dependency (package.json, installed by `make setup`).
Its source is evaluated in the page through Playwright's `page.evaluate`, which runs over the
DevTools protocol: the page's Content-Security-Policy (no inline scripts) governs the page's own
scripts, not the test's, so axe runs under the real policy and the context needs no
`bypass_csp`. The page is checked exactly as its visitors get it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

AXE_SOURCE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"

# WCAG 2.1 A and AA, and axe's best practices (landmarks, one main heading, heading order...).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

# A violation of these impacts fails the test. Moderate ones too: none is left to excuse, and a
# new one is as fixable in a template; "minor" is advice.
FAILING_IMPACTS = ("critical", "serious", "moderate")


@dataclass(frozen=True)
class Violation:
    """One rule axe found broken on a page, with the elements that break it."""

    rule: str
    impact: str
    help: str
    help_url: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        nodes = "\n".join(f"      {target}" for target in self.targets)
        return f"  {self.rule} ({self.impact}): {self.help}\n    {self.help_url}\n{nodes}"


def axe_source() -> str:
    """axe-core's source; skips the test when `make setup` has not installed it."""
    if not AXE_SOURCE.exists():
        missing = AXE_SOURCE.relative_to(settings.BASE_DIR)
        pytest.skip(f"axe-core is not installed ({missing} is missing): run `make setup`")
    return AXE_SOURCE.read_text()


class Axe:
    """Runs axe-core in a Playwright page and reports what fails."""

    def __init__(self, source: str) -> None:
        self.source = source

    def violations(self, page: object, *, disabled_rules: tuple[str, ...] = ()) -> list[Violation]:
        """The violations on the page as it is now, of the failing impacts."""
        # A new document has lost axe: load it again (it keeps its state on `window.axe`).
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(self.source)
        options = {
            "runOnly": {"type": "tag", "values": TAGS},
            "rules": {rule: {"enabled": False} for rule in disabled_rules},
            "resultTypes": ["violations"],
        }
        found = page.evaluate(
            """async (options) => (await window.axe.run(document, options)).violations.map(
                (v) => ({rule: v.id, impact: v.impact, help: v.help, help_url: v.helpUrl,
                         targets: v.nodes.map((n) => n.target.join(" >>> "))}))""",
            options,
        )
        return [
            Violation(**{**item, "targets": tuple(item["targets"])})
            for item in found
            if item["impact"] in FAILING_IMPACTS
        ]


def describe(problems: dict[str, list[Violation]]) -> str:
    """The violations by page, as a developer needs them to fix the templates."""
    return "\n".join(
        f"{page}:\n" + "\n".join(str(violation) for violation in violations)
        for page, violations in problems.items()
    )
