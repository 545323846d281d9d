"""The Django admin of the role catalogue (read-only) and of who holds which role."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from accounts.admin import ReadOnlyAdmin, RulebookForm, ServiceAdmin
from accounts.audit import Origin
from accounts.models import AuditAction, PartnerOrganization, User
from roles import rules
from roles.models import Role, RoleAssignment
from roles.services import grant_role, revoke_role


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    """The catalogue is loaded by migration from roles.catalogue; nobody edits it here."""

    list_display = ("name", "group", "csp_only", "unlocks")
    list_filter = ("group", "csp_only")


class RoleAssignmentForm(RulebookForm):
    class Meta:
        model = RoleAssignment
        fields = ("user", "role")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user, role = cleaned.get("user"), cleaned.get("role")
        if user is not None and role is not None:
            self.refuse_unless(
                rules.can_grant_role(self.request.user, user, role.key),
                "role",
                AuditAction.ROLE_GRANTED,
                organization=user.organization,
                target=user,
                role=role.key,
            )
        return cleaned


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ServiceAdmin):
    """Adding an assignment grants the role, deleting one revokes it; nothing is edited."""

    form = RoleAssignmentForm
    list_display = ("user", "role", "organization", "granted_by", "granted_at")
    list_filter = ("role",)
    list_select_related = ("user__organization", "role", "granted_by")
    search_fields = ("user__email", "user__first_name", "user__last_name")
    search_help_text = "Search by the user's name or email."
    autocomplete_fields = ("user",)
    actions = ("delete_selected",)

    @admin.display(description="organization", ordering="user__organization__name")
    def organization(self, assignment: RoleAssignment) -> PartnerOrganization | None:
        return assignment.user.organization

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.partner_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: RoleAssignment, form: Any, change: bool
    ) -> None:
        grant_role(request.user, obj.user, obj.role.key, origin=Origin.from_request(request))
        # The service saved its own instance: point the admin's at that row.
        obj.pk = RoleAssignment.objects.get(user=obj.user, role=obj.role).pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: RoleAssignment) -> None:
        revoke_role(request.user, obj.user, obj.role.key, origin=Origin.from_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RoleAssignment]) -> None:
        revoked = self.one_at_a_time(
            request,
            queryset.select_related("user__organization", "role"),
            lambda a, origin: revoke_role(request.user, a.user, a.role.key, origin=origin),
            "Revoked",
        )
        # The service deleted its own copies of these rows, so these still carry their ids.
        if revoked:
            self.log_deletions(request, revoked)
