"""{% role_badge role %}: one role as a badge whose look says its kind (roles.catalogue.RoleKind).

Lists hold roles in several shapes (the catalogue's facts, a Role row, a key, a name read from a
CSV file); the tag finds the catalogue's facts of each without a query, so every list draws a
role the same way from the same partial.
"""

from __future__ import annotations

from django import template

from roles.catalogue import SPECS, RoleSpec, spec_named

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


@register.inclusion_tag("partials/role_badge.html")
def role_badge(role: object) -> dict[str, object]:
    """A role's badge; an unknown role shows its text in a plain badge."""
    found = role_spec(role)
    if found is None:
        return {"name": str(role), "kind": "", "kind_label": "Role"}
    return {"name": found.name, "kind": found.kind.value, "kind_label": found.kind.label}
