"""{% role_badge role %}: one role as a badge whose look says its kind (roles.catalogue.RoleKind).

Lists hold roles in several shapes (the catalogue's facts, a Role row, a key, a name read from a
CSV file); the tag finds the catalogue's facts of each without a query, so every list draws a
role the same way.
"""

from __future__ import annotations

from functools import cache

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from partnerhub.templatetags.icons import heroicon_micro
from roles.catalogue import SPECS, RoleKind, RoleSpec, spec_named

register = template.Library()


def role_spec(role: object) -> RoleSpec | None:
    """The catalogue's facts of a role given as a RoleSpec, a Role, a key or a name; None when
    the catalogue does not know it."""
    if isinstance(role, RoleSpec):
        return role
    key = getattr(role, "key", None)
    if isinstance(key, str):
        return SPECS.get(key)
    if isinstance(role, str):
        return SPECS.get(role) or spec_named(role)
    return None


@register.simple_tag
def role_badge(role: object) -> SafeString:
    """A role's badge; an unknown role shows its text in a plain badge. Written from Python, not
    a partial: a directory page draws one for every role of every row. The title comes first so
    the class ends the tag."""
    found = role_spec(role)
    if found is None:
        return format_html(
            '<span title="Role" data-role-kind="unknown" class="badge role-badge">{}</span>', role
        )
    return _badge(found)


@cache
def _badge(found: RoleSpec) -> SafeString:
    """The catalogue's roles are few and fixed: each badge is drawn once per process."""
    kind = found.kind.value
    icon = (
        heroicon_micro("shield-check", aria_hidden="true", **{"class": "role-badge-icon"})
        if kind == RoleKind.TOP_ADMIN
        else ""
    )
    return format_html(
        '<span title="{}" data-role-kind="{}" class="badge role-badge role-badge-{}">{}{}</span>',
        found.kind.label,
        kind,
        kind,
        icon,
        found.name,
    )
