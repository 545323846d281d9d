"""Edit roles: one box per catalogue role, each open or closed as the rulebook says."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.audit import NOWHERE, FieldRefused, Origin, RefusalsRecordedForm
from accounts.models import AuditAction
from roles import rules
from roles.catalogue import CATALOGUE, RoleGroup, RoleSpec
from roles.rules import Decision

if TYPE_CHECKING:
    from accounts.models import User
    from roles.rules import Actor

# One field per group of the catalogue, in the order the page shows them.
GROUP_FIELDS: dict[RoleGroup, tuple[str, str]] = {
    RoleGroup.DIRECTORY: ("directory_roles", "Directory roles"),
    RoleGroup.MEMBERSHIP: ("membership_roles", "Membership roles"),
}


@dataclass(frozen=True)
class RoleBox:
    """One role of the catalogue as the Edit roles page shows it to one actor, for one target."""

    spec: RoleSpec
    held: bool
    # May the actor flip the box: grant the role if it is not held, revoke it if it is.
    decision: Decision

    @property
    def key(self) -> str:
        return self.spec.key.value

    @property
    def changeable(self) -> bool:
        return bool(self.decision)


def assigned_roles(user: User) -> set[str]:
    """The keys of every role assigned to the user, read from the prefetched assignments.

    Unlike rules.held_roles, a CSP-only role left in a non-CSP organization is included: it
    unlocks nothing there, but it is still assigned and may be revoked.
    """
    return {assignment.role.key for assignment in user.role_assignments.all()}


def role_boxes(actor: Actor, target: User) -> list[RoleBox]:
    """Every catalogue role: whether the target holds it, and whether the actor may change that."""
    assigned = assigned_roles(target)
    boxes = []
    for spec in CATALOGUE:
        held = spec.key.value in assigned
        decide = rules.can_revoke_role if held else rules.can_grant_role
        boxes.append(RoleBox(spec, held, decide(actor, target, spec.key.value)))
    return boxes


def preview_roles(boxes: Iterable[RoleBox], sent: Iterable[str]) -> set[str]:
    """The roles the target would hold: those sent among the boxes the actor may change, and
    those held among the boxes they may not (a browser does not send a disabled box)."""
    sent = set(sent)
    return {box.key for box in boxes if (box.key in sent if box.changeable else box.held)}


def _box_label(box: RoleBox) -> SafeString:
    # The reason a box is closed sits in its label, so it is read out with the box.
    note = box.decision.reason if not box.changeable else box.spec.unlocks
    return format_html(
        '{} <span class="d-block small text-body-secondary">{}</span>', box.spec.name, note
    )


class RoleCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes of which some are closed: the roles the actor may not change."""

    def __init__(self, closed: set[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.closed = closed

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        # The access preview's script reads the ticked boxes (static/js/access-preview.js).
        option["attrs"]["data-access-preview-role"] = True
        if value in self.closed:
            option["attrs"]["disabled"] = True
        return option


class EditRolesForm(RefusalsRecordedForm, forms.Form):
    """The roles a user should hold. Only the boxes the actor may change can change.

    Browsers do not send disabled boxes, so a role the target holds and the actor may not
    change is kept whatever was posted; a role the actor may not grant that arrives ticked
    (a crafted request) is an error with the rulebook's reason, and a refused attempt.
    """

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        boxes: list[RoleBox],
        actor: User,
        target: User,
        origin: Origin = NOWHERE,
    ) -> None:
        self.boxes = {box.key: box for box in boxes}
        self.target = target
        self.refusals_actor, self.refusals_origin = actor, origin
        if data is not None:
            data = data.copy()
            for box in boxes:
                field_name, _ = GROUP_FIELDS[box.spec.group]
                if box.held and not box.changeable and box.key not in data.getlist(field_name):
                    data.appendlist(field_name, box.key)
        super().__init__(data)
        for group, (field_name, label) in GROUP_FIELDS.items():
            in_group = [box for box in boxes if box.spec.group == group]
            self.fields[field_name] = forms.MultipleChoiceField(
                label=label,
                required=False,
                choices=[(box.key, _box_label(box)) for box in in_group],
                initial=[box.key for box in in_group if box.held],
                widget=RoleCheckboxes(closed={box.key for box in in_group if not box.changeable}),
            )

    def _clean_group(self, field_name: str) -> list[str]:
        keys = self.cleaned_data[field_name]
        refusals = [
            FieldRefused(
                self.boxes[key].decision.reason,
                action=AuditAction.ROLE_GRANTED,
                organization=self.target.organization,
                target=self.target,
                role=key,
            )
            for key in keys
            if not self.boxes[key].held and not self.boxes[key].changeable
        ]
        if refusals:
            raise ValidationError(refusals)
        return keys

    def clean_directory_roles(self) -> list[str]:
        return self._clean_group("directory_roles")

    def clean_membership_roles(self) -> list[str]:
        return self._clean_group("membership_roles")

    def previewed_roles(self) -> set[str]:
        """The roles the access preview shows: those sent (the closed boxes held included), or
        those held before anything was sent."""
        if not self.is_bound:
            return {key for key, box in self.boxes.items() if box.held}
        sent = {
            key for field_name, _ in GROUP_FIELDS.values() for key in self.data.getlist(field_name)
        }
        return preview_roles(self.boxes.values(), sent)

    def wanted_roles(self) -> set[str]:
        """The keys of the roles the target should hold once saved."""
        return {
            key for field_name, _ in GROUP_FIELDS.values() for key in self.cleaned_data[field_name]
        }
