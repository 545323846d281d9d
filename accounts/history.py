"""An audit event in words: what it changed (or tried to), field by field.

Shared by a user's page (their history) and the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts.models import AuditEvent
from roles.catalogue import SPECS


@dataclass(frozen=True)
class Change:
    """One field of an audit event, before and after, in words."""

    label: str
    before: str | None
    after: str | None


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
        changes.append(
            Change(
                label,
                _in_words(field, before[field]) if field in before else None,
                _in_words(field, after[field]) if field in after else None,
            )
        )
    return changes
