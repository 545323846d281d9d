"""The status and role badges, written from Python: colour class, icon and text."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from accounts.models import User


@pytest.mark.parametrize(
    ("member", "status", "icon"),
    [
        (User(is_active=True, password="md5$x$y"), "active", "check-circle"),
        (User(is_active=True, password="!unusable"), "pending", "envelope"),
        (User(is_active=False, password="md5$x$y"), "deactivated", "no-symbol"),
    ],
)
def test_a_members_status(member, status, icon):
    badge, drawn = (
        Template(
            "{% load status_badges icons %}{% status_badge member %}|"
            '{% heroicon_micro icon aria_hidden="true" %}'
        )
        .render(Context({"member": member, "icon": icon}))
        .split("|")
    )
    assert badge.startswith(f'<span class="badge status-badge status-badge-{status}"')
    assert drawn in badge
    assert badge.endswith(f"{member.status.label}</span>")


def test_a_status_given_by_name_escapes_its_label():
    html = Template(
        '{% load status_badges %}{% status_badge status="revoked" label=label %}'
    ).render(Context({"label": "<b>Revoked</b>"}))
    assert 'data-status="revoked"' in html
    assert "&lt;b&gt;Revoked&lt;/b&gt;</span>" in html
    assert "<svg" in html  # an unknown status still has its icon (x-circle)


def test_a_role_unknown_to_the_catalogue_is_escaped_text():
    html = Template("{% load role_badges %}{% role_badge role %}").render(
        Context({"role": "<script>x</script>"})
    )
    assert html == (
        '<span title="Role" data-role-kind="unknown" class="badge role-badge">'
        "&lt;script&gt;x&lt;/script&gt;</span>"
    )
