"""A change in words, as the user's history and the audit log show it."""

from __future__ import annotations

import pytest

from accounts.history import Change
from accounts.templatetags.audit_rows import change_line

HOSTILE = '<script>"x"</script>'


@pytest.mark.parametrize(
    ("change", "markup"),
    [
        (
            Change("Roles", None, None, added=("Sales agent", "Billing admin"), removed=("A",)),
            "Roles: +&nbsp;<bdi>Sales agent</bdi>, +&nbsp;<bdi>Billing admin</bdi>, "
            "&minus;&nbsp;<bdi>A</bdi>",
        ),
        (
            Change("Roles", None, None, removed=("A", "B")),
            "Roles: &minus;&nbsp;<bdi>A</bdi>, &minus;&nbsp;<bdi>B</bdi>",
        ),
        (
            Change("Email", "a@x.example", "b@x.example"),
            "Email: from <bdi>a@x.example</bdi> to <bdi>b@x.example</bdi>",
        ),
        (Change("Status", None, "Active"), "Status: <bdi>Active</bdi>"),
        (Change("Role", "Sales agent", None), "Role: was <bdi>Sales agent</bdi>"),
        (
            Change("First name", HOSTILE, ""),
            "First name: from <bdi>&lt;script&gt;&quot;x&quot;&lt;/script&gt;</bdi> to <bdi></bdi>",
        ),
    ],
)
def test_each_kind_of_change(change, markup):
    assert change_line(change) == markup
