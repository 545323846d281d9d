"""The steps of Add user: the new user's details, their roles, and the review before Add.

The forms ask the rulebook (roles.rules) which roles the admin may grant, and
accounts.duplicates which users of the organization may be the same person; they decide
nothing themselves. Every step is validated again on the server when Add is selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Fieldset, Layout
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.audit import NOWHERE, FieldRefused, Origin, RefusalsRecordedForm
from accounts.duplicates import PossibleDuplicate, possible_duplicates
from accounts.forms.text import EmailAddressField, OneLineField
from accounts.invitations import INVITATION_DAYS
from accounts.models import AuditAction, PartnerOrganization, User
from accounts.services import EmailInUse
from roles import rules
from roles.catalogue import CATALOGUE, RoleGroup, in_catalogue_order
from roles.rules import Access, Decision


class Partial:
    """A crispy layout piece drawn by a template with the form in its context.

    Unlike crispy's HTML, the template is a file: nothing typed by a person is ever read as
    template code.
    """

    def __init__(self, template_name: str) -> None:
        self.template_name = template_name

    def render(self, form: forms.Form, context: Any, **kwargs: Any) -> SafeString:
        return render_to_string(self.template_name, {"form": form})


def _no_form_tag() -> FormHelper:
    # The step page draws the <form>, the wizard's management form and the buttons.
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


POSSIBLE_DUPLICATES = (
    "Someone in your organization may be this person: open them to check. If this is a "
    "different person, tick the box to add them anyway."
)


class DetailsForm(forms.Form):
    """Step 1: who the new user is. Stops on an email in use; lists possible duplicates."""

    first_name = OneLineField(
        label="First name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    last_name = OneLineField(
        label="Last name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    email = EmailAddressField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    different_person = forms.BooleanField(
        label="This is a different person: add anyway", required=False
    )
    # The possible duplicates the page listed beside the box: a tick passes over those only.
    acknowledged_duplicates = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, organization: PartnerOrganization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.possible_duplicates: list[PossibleDuplicate] = []

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        existing = (
            User.objects.with_email(email)
            .only("public_id", "organization_id", "first_name", "last_name", "email")
            .first()
        )
        if existing is None:
            return email
        # Another organization's user stays invisible: the same message, nothing about them.
        if existing.organization_id == self.organization.pk:
            # The link sits under the field, tied to it as its help text.
            self["email"].help_text = self.fields["email"].help_text = format_html(
                '<a href="{}">Go to {}\'s page</a> instead of adding them again.',
                reverse("user_detail", args=[existing.public_id]),
                existing.get_full_name() or existing.email,
            )
        raise ValidationError(EmailInUse.message, code="email_in_use")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if any(name in self._errors for name in ("first_name", "last_name", "email")):
            return cleaned
        self.possible_duplicates = possible_duplicates(
            self.organization, cleaned["first_name"], cleaned["last_name"], cleaned["email"]
        )
        listed = {str(duplicate.user.public_id) for duplicate in self.possible_duplicates}
        acknowledged = set(filter(None, cleaned.get("acknowledged_duplicates", "").split(",")))
        if listed and not (cleaned.get("different_person") and listed <= acknowledged):
            self._ask_about(listed, keep_tick=listed <= acknowledged)
            self.add_error("different_person", POSSIBLE_DUPLICATES)
        return cleaned

    def _ask_about(self, listed: set[str], *, keep_tick: bool) -> None:
        # The page shown next lists these: the hidden field says so, and a tick given for
        # other possible duplicates does not count for these.
        data = self.data.copy()
        data[self.add_prefix("acknowledged_duplicates")] = ",".join(sorted(listed))
        if not keep_tick:
            data.pop(self.add_prefix("different_person"), None)
        self.data = data

    @property
    def helper(self) -> FormHelper:
        helper = _no_form_tag()
        layout = Layout("first_name", "last_name", "email")
        if self.is_bound:
            self.is_valid()  # validating (once: Django keeps the result) finds the duplicates
        if self.possible_duplicates:
            layout.append(
                Fieldset(
                    "Possible duplicates",
                    Partial("accounts/add_user/possible_duplicates.html"),
                    "different_person",
                    "acknowledged_duplicates",
                    css_class="border border-warning rounded p-3 mb-3",
                )
            )
        helper.layout = layout
        return helper


@dataclass(frozen=True)
class RoleChoice:
    """One role's checkbox: what it unlocks, and whether the admin may grant it (and why not)."""

    key: str
    name: str
    unlocks: str
    decision: Decision
    checked: bool
    id: str


@dataclass(frozen=True)
class RoleChoiceGroup:
    legend: str
    choices: list[RoleChoice]


ROLE_GROUP_LEGENDS = {
    RoleGroup.DIRECTORY: "Directory roles",
    RoleGroup.MEMBERSHIP: "Membership roles",
}


class RolesForm(RefusalsRecordedForm, forms.Form):
    """Step 2: the roles to grant. Those the admin may not grant are offered disabled, with
    the reason, and refused at the field if they are sent anyway (a refused attempt)."""

    roles = forms.MultipleChoiceField(
        label="Roles",
        required=False,
        choices=[(spec.key.value, spec.name) for spec in CATALOGUE],
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        actor: User,
        new_user: User,
        origin: Origin = NOWHERE,
        new_user_label: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organization = new_user.organization
        self.refusals_actor, self.refusals_origin = actor, origin
        self.new_user_label = new_user_label
        self.decisions: dict[str, Decision] = rules.grantable_roles(actor, new_user)
        self.helper = _no_form_tag()
        self.helper.layout = Layout(Field("roles", template="accounts/add_user/role_choices.html"))

    def clean_roles(self) -> list[str]:
        keys = in_catalogue_order(self.cleaned_data["roles"])
        refused = [
            FieldRefused(
                self.decisions[key].reason,
                action=AuditAction.ROLE_GRANTED,
                organization=self.organization,
                target_label=self.new_user_label,
                role=key,
            )
            for key in keys
            if not self.decisions[key]
        ]
        if refused:
            raise ValidationError(refused)
        return keys

    def ticked(self) -> list[str]:
        """The ticked roles the admin may grant, valid or not yet validated: what to preview."""
        value = self["roles"].value() or []
        if isinstance(value, str):
            value = [value]
        return [key for key in in_catalogue_order(value) if self.decisions.get(key)]

    def access(self) -> Access:
        """What the ticked roles would let the new user see and do (the access preview)."""
        return rules.access_for_roles(self.ticked(), self.organization)

    def role_groups(self) -> list[RoleChoiceGroup]:
        """The checkboxes, directory roles then membership roles, each in catalogue order."""
        ticked = set(self.ticked())
        auto_id = self["roles"].auto_id
        return [
            RoleChoiceGroup(
                legend,
                [
                    RoleChoice(
                        key=spec.key.value,
                        name=spec.name,
                        unlocks=spec.unlocks,
                        decision=self.decisions[spec.key.value],
                        checked=spec.key.value in ticked,
                        id=f"{auto_id}_{spec.key.value}",
                    )
                    for spec in CATALOGUE
                    if spec.group == group
                ],
            )
            for group, legend in ROLE_GROUP_LEGENDS.items()
        ]


class SignIn(models.TextChoices):
    """How a new user gets to sign in the first time."""

    INVITATION = "invitation", "Email an invitation"
    TEMPORARY_PASSWORD = "temporary_password", "Show a temporary password"


SIGN_IN_HELP = {
    SignIn.INVITATION: (
        f"they get a link to choose their own password; it works once, for {INVITATION_DAYS} "
        "days. Nobody else ever sees their password."
    ),
    SignIn.TEMPORARY_PASSWORD: (
        "the next page shows a password once, for you to pass on; they must choose their own "
        "at first sign-in."
    ),
}


class ReviewForm(forms.Form):
    """Step 3: how the new user signs in the first time; Add confirms. Carries a refusal met
    while adding."""

    sign_in = forms.ChoiceField(
        label="How will they sign in the first time?",
        choices=[(choice.value, f"{choice.label}: {SIGN_IN_HELP[choice]}") for choice in SignIn],
        initial=SignIn.INVITATION,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how the new user will sign in the first time."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _no_form_tag()
