"""The Django admin of the role catalogue (read-only), of who holds which role, and of the
Global admin requests that a second support staff member decides (DOMAIN.md rule 12)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import ReadOnlyAdmin, RulebookForm, ServiceAdmin, password_needed
from accounts.audit import Origin
from accounts.models import PartnerOrganization, User
from roles import rules
from roles.catalogue import RoleKey
from roles.models import GlobalAdminGrantRequest, Role, RoleAssignment
from roles.services import (
    approve_global_admin_request,
    cancel_global_admin_request,
    grant_role,
    reject_global_admin_request,
    request_global_admin,
    revoke_role,
)


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    """The catalogue is loaded by migration from roles.catalogue; nobody edits it here."""

    list_display = ("name", "group", "csp_only", "unlocks")
    list_filter = ("group", "csp_only")


class RoleAssignmentForm(RulebookForm):
    class Meta:
        model = RoleAssignment
        fields = ("user", "role")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The autocomplete only ever sends a user's id; anything else (a crafted request) is no
        # user, rather than a value its widget cannot even show again.
        user = self.data.get("user", "")
        if self.is_bound and not (user.isascii() and user.isdecimal()):
            self.data = self.data.copy()
            self.data["user"] = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user, role = cleaned.get("user"), cleaned.get("role")
        if user is not None and role is not None:
            self.requests_global_admin = self.check_grant(
                user, role, organization=user.organization, target=user
            )
            self.confirm_password_before(self.requests_global_admin)
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
        origin = Origin.from_request(request)
        if form.requests_global_admin:
            # Support staff's Global admin is a request (rule 12): no assignment yet.
            obj.grant_request = request_global_admin(request.user, obj.user, origin=origin)
            return
        grant_role(request.user, obj.user, obj.role.key, origin=origin)
        # The service saved its own instance: point the admin's at that row.
        obj.pk = RoleAssignment.objects.get(user=obj.user, role=obj.role).pk
        obj.refresh_from_db()

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if obj.pk is None:
            return None  # a Global admin request: its record is in the audit trail
        return super().log_addition(request, obj, message)

    def response_add(
        self, request: HttpRequest, obj: RoleAssignment, post_url_continue: str | None = None
    ) -> HttpResponse:
        grant_request = getattr(obj, "grant_request", None)
        if grant_request is None:
            return super().response_add(request, obj, post_url_continue)
        messages.info(
            request,
            f"{grant_request} waits for a second support staff member's approval.",
        )
        return HttpResponseRedirect(
            reverse("admin:roles_globaladmingrantrequest_change", args=[grant_request.pk])
        )

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        # Revoking Global admin asks for the password again, as deleting a user does.
        revokes_global_admin = RoleAssignment.objects.filter(
            pk=object_id if str(object_id).isdecimal() else None, role__key=RoleKey.GLOBAL_ADMIN
        ).exists()
        if (
            revokes_global_admin
            and self.has_delete_permission(request)
            and (ask := password_needed(request))
        ):
            return ask
        return super().delete_view(request, object_id, extra_context)

    @admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
    def delete_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """A bulk action that revokes: asks for the password before the confirmation page and
        again before revoking, as the users' bulk delete does."""
        return password_needed(request) or super().delete_selected(request, queryset)

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


@admin.register(GlobalAdminGrantRequest)
class GlobalAdminGrantRequestAdmin(ReadOnlyAdmin, ServiceAdmin):
    """Support staff's requests to make someone a Global admin. They are made from a user's
    page or a new role assignment, never here; here another support staff member approves or
    rejects them, and the one who asked may cancel. Every decision goes through roles.services
    and the rulebook (can_decide_global_admin_grant), and is audited."""

    list_display = (
        "__str__",
        "organization",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status",)
    list_select_related = ("organization", "requested_by", "decided_by")
    search_fields = ("user_label",)
    search_help_text = "Search by the user's name or email."
    fields = (
        "user_link",
        "organization",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "reason",
    )
    readonly_fields = fields
    actions = ("approve_selected", "reject_selected", "cancel_selected")

    def has_decide_permission(self, request: HttpRequest) -> bool:
        # Who may decide which request is the rulebook's, per request, in the services.
        return rules.is_support_staff(request.user)

    @admin.display(description="user")
    def user_link(self, grant_request: GlobalAdminGrantRequest) -> str:
        if grant_request.user_id is None:
            return f"{grant_request.user_label} (deleted)"
        url = reverse("admin:accounts_user_change", args=[grant_request.user_id])
        return format_html('<a href="{}">{}</a>', url, grant_request.user_label)

    @admin.action(permissions=["decide"], description="Approve: make them Global admins")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        # Granting Global admin asks for the password again, as on the partner pages.
        if ask := password_needed(request):
            return ask
        return self._decide(
            request,
            queryset,
            "approve_selected",
            title="Approve",
            explanation=(
                "Each user below becomes a Global admin of their organization, if the rulebook "
                "still allows it."
            ),
            decide=lambda r, note, origin: approve_global_admin_request(
                request.user, r, origin=origin
            ),
            done="Approved",
        )

    @admin.action(permissions=["decide"], description="Reject: grant nothing")
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._decide(
            request,
            queryset,
            "reject_selected",
            title="Reject",
            explanation="Nobody below becomes a Global admin.",
            decide=lambda r, note, origin: reject_global_admin_request(
                request.user, r, note=note, origin=origin
            ),
            done="Rejected",
        )

    @admin.action(permissions=["decide"], description="Cancel my requests")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._decide(
            request,
            queryset,
            "cancel_selected",
            title="Cancel the requests",
            explanation="You withdraw these requests: nobody below becomes a Global admin.",
            decide=lambda r, note, origin: cancel_global_admin_request(
                request.user, r, note=note, origin=origin
            ),
            done="Cancelled",
        )

    def _decide(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        action: str,
        *,
        title: str,
        explanation: str,
        decide: Any,
        done: str,
    ) -> HttpResponse | None:
        """A confirmation page with an optional note, then each request decided on its own."""
        requests = list(queryset.select_related("organization", "requested_by"))
        if not request.POST.get("post"):
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "explanation": explanation,
                "requests": requests,
                "action": action,
            }
            return TemplateResponse(
                request, "admin/roles/globaladmingrantrequest/decide.html", context
            )
        note = request.POST.get("note", "")
        self.one_at_a_time(request, requests, lambda r, origin: decide(r, note, origin), done)
        return None
