"""Settings > API clients: the form that creates one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.audit import NOWHERE, FieldRefused, Origin, RefusalsRecordedForm
from accounts.forms.text import OneLineField
from accounts.models import AuditAction, User
from api.models import ApiClient
from roles import rules
from roles.catalogue import CATALOGUE, in_catalogue_order

# Decision: a token always expires (as Entra's client secrets do, two years at most); 90 days
# unless the admin chooses otherwise. Rotating means creating a new client, then revoking.
EXPIRY_CHOICES = [
    ("30", "30 days"),
    ("90", "90 days"),
    ("180", "180 days"),
    ("365", "1 year"),
    ("730", "2 years"),
]


class ApiClientForm(RefusalsRecordedForm, forms.Form):
    name = OneLineField(
        label="Name",
        max_length=100,
        help_text="What calls with it, e.g. Entra ID provisioning. Shown in the audit log.",
    )
    roles = forms.MultipleChoiceField(
        label="Roles it acts with",
        choices=[(spec.key.value, spec.name) for spec in CATALOGUE],
        widget=forms.CheckboxSelectMultiple,
        help_text="The client may do what a person holding these roles may do, never more. "
        "Provisioning (SCIM) needs a role that may add users.",
    )
    expires_in = forms.ChoiceField(label="Expires after", choices=EXPIRY_CHOICES, initial="90")

    def __init__(self, *args: Any, actor: User, origin: Origin = NOWHERE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.organization = actor.organization
        self.refusals_actor, self.refusals_origin = actor, origin
        newcomer = User(organization=self.organization)
        self.decisions = {
            spec.key.value: rules.can_grant_role(actor, newcomer, spec.key) for spec in CATALOGUE
        }
        # Only the roles the admin may give are offered; the rest are named in the help.
        self.fields["roles"].choices = [
            (spec.key.value, spec.name) for spec in CATALOGUE if self.decisions[spec.key.value]
        ]
        self.refused_roles = [
            (spec.name, self.decisions[spec.key.value].reason)
            for spec in CATALOGUE
            if not self.decisions[spec.key.value]
            and (self.organization.is_csp or not spec.csp_only)
        ]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if ApiClient.objects.in_organization(self.organization).filter(name=name).exists():
            raise ValidationError("Another API client of your organization has this name.")
        return name

    def clean_roles(self) -> list[str]:
        return in_catalogue_order(self.cleaned_data["roles"])

    def _clean_fields(self) -> None:
        # A role the admin may not give, sent anyway (a crafted request): refused at the field
        # and recorded, rather than "not one of the available choices".
        raw = self.data.getlist(self.add_prefix("roles")) if hasattr(self.data, "getlist") else []
        refused = [
            FieldRefused(
                self.decisions[key].reason,
                action=AuditAction.API_CLIENT_CREATED,
                organization=self.organization,
                target_label=f"API client {self.data.get(self.add_prefix('name'), '')}",
                role=key,
            )
            for key in in_catalogue_order(raw)
            if key in self.decisions and not self.decisions[key]
        ]
        super()._clean_fields()
        if refused:
            self._errors.pop("roles", None)
            self.cleaned_data.pop("roles", None)
            self.add_error("roles", ValidationError(refused))

    def expires_at(self) -> timezone.datetime:
        return timezone.now() + timedelta(days=int(self.cleaned_data["expires_in"]))
