"""The directory's bulk action form: which action, which role, which users."""

from __future__ import annotations

from uuid import UUID

from django import forms

from accounts.bulk import MAX_BULK_USERS, ROLE_ACTIONS, BulkAction, actions_offered, roles_offered
from accounts.models import User
from roles.catalogue import SPECS

PICKED, MATCHING = "picked", "matching"


class PublicIdsField(forms.Field):
    """The public ids of the users ticked, as hidden inputs (the checkboxes send them)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: list[str] | None) -> list[UUID]:
        values = value or []
        if len(values) > MAX_BULK_USERS:
            raise forms.ValidationError(
                f"A bulk action takes at most {MAX_BULK_USERS:,} users at a time."
            )
        try:
            return [UUID(text) for text in values]
        except ValueError:
            raise forms.ValidationError("The users ticked could not be read.") from None


class BulkActionForm(forms.Form):
    """The choices are those the rulebook allows the actor on someone; each user is decided on
    its own afterwards."""

    action = forms.ChoiceField(label="Action for the selected users")
    target_role = forms.ChoiceField(label="Assign or remove", required=False)
    scope = forms.ChoiceField(label="Which users", widget=forms.RadioSelect, initial=PICKED)
    user = PublicIdsField(required=False)

    def __init__(
        self,
        *args: object,
        actor: User,
        matching: int | None = None,
        only: tuple[list[str], list[str]] | None = None,
        **kwargs: object,
    ):
        super().__init__(*args, **kwargs)
        # `only`: the actions and roles that would change someone selected (bulk.applicable).
        actions, roles = only or (actions_offered(actor), roles_offered(actor))
        self.fields["action"].choices = [("", "Choose an action")] + [
            (action, BulkAction(action).label) for action in actions
        ]
        self.fields["target_role"].choices = [("", "Choose a role")] + [
            (key, SPECS[key].name) for key in roles
        ]
        self.fields["target_role"].help_text = "For Assign a role and Remove a role."
        everyone = "All users that match" if matching is None else f"All {matching:,} that match"
        self.fields["scope"].choices = [(PICKED, "The users ticked"), (MATCHING, everyone)]

    def clean(self) -> dict:
        cleaned = super().clean()
        action = cleaned.get("action")
        if action in ROLE_ACTIONS and not cleaned.get("target_role"):
            verb = "assign" if action == BulkAction.ASSIGN_ROLE else "remove"
            self.add_error("target_role", f"Choose the role to {verb}.")
        if cleaned.get("scope") == PICKED and not cleaned.get("user"):
            self.add_error(
                "scope", "Tick at least one user in the list, or choose all users that match."
            )
        return cleaned

    @property
    def role_key(self) -> str:
        if self.cleaned_data.get("action") in ROLE_ACTIONS:
            return self.cleaned_data.get("target_role") or ""
        return ""
