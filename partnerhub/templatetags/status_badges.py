"""{% status_badge member %} or {% status_badge status=... label=... %}: a status as colour,
icon and text (a User: Active, Pending invitation, Deactivated; an API client: active, expired,
revoked; a bulk action's outcome). The icon is decorative: the text says it.

Written from Python rather than a partial: a directory page draws one on every row.
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from partnerhub.templatetags.icons import heroicon_micro

register = template.Library()

ICONS = {
    "active": "check-circle",
    "pending": "envelope",
    "deactivated": "no-symbol",
    "expired": "clock",
}


@register.simple_tag
def status_badge(member: object = None, *, status: str = "", label: str = "") -> SafeString:
    if member is not None:
        status, label = member.status, member.status.label
    return _badge(str(status), str(label))


@lru_cache(maxsize=256)
def _badge(status: str, label: str) -> SafeString:
    """A few statuses, each with its label: drawn once per process (a page draws one per row)."""
    icon = heroicon_micro(ICONS.get(str(status), "x-circle"), aria_hidden="true")
    return format_html(
        '<span class="badge status-badge status-badge-{}" data-status="{}">{}{}</span>',
        status,
        status,
        icon,
        label,
    )
