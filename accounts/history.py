"""An audit event in words: what it changed (or tried to), field by field.

Shared by a user's page (their history), the audit log and its export, and the support admin.
A role granted reads "Roles: + Sales agent", one revoked the same with a minus sign, a list
that changed names what was added and removed, a value that changed "from A to B".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts.models import AuditAction, AuditEvent
from roles.catalogue import SPECS

MINUS = "\u2212"  # the minus sign: a hyphen reads as a dash in a sentence


@dataclass(frozen=True)
class Change:
    """One field of an audit event, before and after, in words; for lists (roles) what was
    added and removed."""

    label: str
    before: str | None
    after: str | None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def is_difference(self) -> bool:
        return bool(self.added or self.removed)

    @property
    def sentence(self) -> str:
        """The change as one line of plain text (the admin, the export)."""
        if self.is_difference:
            parts = [f"+ {item}" for item in self.added] + [f"{MINUS} {i}" for i in self.removed]
            return f"{self.label}: {', '.join(parts)}"
        if self.before is not None and self.after is not None:
            return f"{self.label}: from {self.before} to {self.after}"
        if self.after is not None:
            return f"{self.label}: {self.after}"
        return f"{self.label}: was {self.before}"


def sentences(event: AuditEvent) -> str:
    """All of an event's changes, as plain text: "Roles: + Sales agent; Status: ..."."""
    return "; ".join(change.sentence for change in describe_changes(event))


FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "is_active": "Status",
    "roles": "Roles",
    "role": "Role",
    "name": "Name",
    "partner_id": "Partner ID",
    "program_type": "Program type",
    "membership_year": "Membership year",
}


def _in_words(field: str, value: Any) -> str:
    if field == "is_active" and isinstance(value, bool):
        return "Active" if value else "Deactivated"
    if isinstance(value, list):
        return ", ".join(_in_words(field, item) for item in value) or "none"
    if field == "role" and value in SPECS:
        # Refused attempts name the role by its key.
        return SPECS[value].name
    if value in (None, ""):
        return "empty"
    return str(value)


def describe_changes(event: AuditEvent) -> list[Change]:
    """What an audit event changed (or tried to), field by field, readable by a person."""
    before, after = event.before or {}, event.after or {}
    # In the order of FIELD_LABELS, then the rest by name: PostgreSQL's jsonb keeps no key order.
    fields = {**before, **after}
    known = [field for field in FIELD_LABELS if field in fields]
    changes = []
    for field in known + sorted(field for field in fields if field not in FIELD_LABELS):
        label = FIELD_LABELS.get(field, field.replace("_", " ").capitalize())
        difference = _difference(event, field, before, after)
        if difference is not None:
            changes.append(difference)
            continue
        changes.append(
            Change(
                label,
                _in_words(field, before[field]) if field in before else None,
                _in_words(field, after[field]) if field in after else None,
            )
        )
    return changes


def _difference(
    event: AuditEvent, field: str, before: dict[str, Any], after: dict[str, Any]
) -> Change | None:
    """A role granted or revoked, or a list whose items changed, as what was added and removed;
    None for any other field."""
    if field == "role" and field in after and event.action in _ROLE_SIGNS:
        name = _in_words(field, after[field])
        if event.action == AuditAction.ROLE_GRANTED:
            return Change("Roles", None, None, added=(name,))
        return Change("Roles", None, None, removed=(name,))
    old, new = before.get(field), after.get(field)
    if isinstance(old, list) and isinstance(new, list):
        label = FIELD_LABELS.get(field, field.replace("_", " ").capitalize())
        return Change(
            label,
            _in_words(field, old),
            _in_words(field, new),
            added=tuple(_in_words(field, item) for item in new if item not in old),
            removed=tuple(_in_words(field, item) for item in old if item not in new),
        )
    return None


_ROLE_SIGNS = frozenset({AuditAction.ROLE_GRANTED, AuditAction.ROLE_REVOKED})
