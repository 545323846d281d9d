"""API clients in the support admin: seen and revoked, never created, changed, or shown with
their secret (PartnerHub keeps only its hash, which is not shown either)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from accounts.admin import ReadOnlyAdmin, ServiceAdmin, password_needed
from api.clients import revoke_client
from api.models import ApiClient
from roles import rules
from roles.catalogue import SPECS


@admin.register(ApiClient)
class ApiClientAdmin(ReadOnlyAdmin, ServiceAdmin):
    list_display = (
        "name",
        "organization",
        "role_names",
        "created_by_label",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("organization",)
    list_select_related = ("organization",)
    search_fields = ("name", "organization__name", "organization__partner_id")
    fields = (
        "name",
        "organization",
        "role_names",
        "created_by_label",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoked_by_label",
    )
    readonly_fields = fields
    actions = ("revoke_selected",)

    @admin.display(description="roles")
    def role_names(self, client: ApiClient) -> str:
        return ", ".join(SPECS[key].name for key in client.role_keys if key in SPECS)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        # Which client may be revoked by whom is the rulebook's, in the service.
        return rules.is_support_staff(request.user)

    @admin.action(permissions=["revoke"], description="Revoke selected API clients")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if ask := password_needed(request):
            return ask
        self.one_at_a_time(
            request,
            queryset.select_related("organization"),
            lambda client, origin: revoke_client(request.user, client, origin=origin),
            "Revoked",
        )
        return None
