"""Pages that belong to no app: the home dashboard, the health check, the error pages."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import User
from roles import rules
from roles.catalogue import SPECS, RoleKey
from roles.models import Role, RoleAssignment
from roles.rules import Workspace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tile:
    workspace: Workspace
    description: str
    url: str  # its page, or the page that says what it is and who may use it


# What each workspace is for, and its page where PartnerHub has one.
WORKSPACE_TILES: dict[Workspace, tuple[str, str | None]] = {
    Workspace.USER_MANAGEMENT: ("Users of your organization and their roles.", "directory"),
    Workspace.ACCOUNT_SETTINGS: ("Locations and program enrolment.", None),
    Workspace.MEMBERSHIP: ("Benefits, competencies and the partner action pack.", "membership"),
    Workspace.BILLING: ("Invoices and reconciliation.", None),
    Workspace.CUSTOMERS: ("Customers and their subscriptions.", None),
    Workspace.LEADS: ("Leads to follow up.", None),
    Workspace.SUPPORT_REQUESTS: ("Your customers' support requests.", None),
    Workspace.REFERRALS: ("Referrals for your organization.", None),
    Workspace.INCENTIVES: ("Incentives, bank and tax details.", None),
    Workspace.BUSINESS_PROFILE: ("Your organization's public business profile.", None),
    Workspace.ANALYTICS: ("Analytics reports.", None),
}


def workspace_url(workspace: Workspace) -> str:
    """The workspace's page, or the page that says what it is and who may use it."""
    url_name = WORKSPACE_TILES[workspace][1]
    return reverse(url_name) if url_name else reverse("workspace", args=[workspace.value])


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Greets the user with their organization and roles, and a tile per workspace they unlock."""
    user = request.user
    roles = Role.objects.filter(assignments__user=user) if user.organization_id else []
    tiles = [
        Tile(workspace, WORKSPACE_TILES[workspace][0], workspace_url(workspace))
        for workspace in rules.workspaces_for(user)
    ]
    return render(request, "home.html", {"roles": roles, "tiles": tiles})


@login_required
@require_GET
def workspace(request: HttpRequest, workspace: str) -> HttpResponse:
    """A workspace PartnerHub has no page for yet: what it is, and who here may use it.

    Any partner user may read it (it is the question a refused person asks); a workspace that
    does not exist in the organization (the CSP business in a non-CSP one) answers 404.
    """
    user = request.user
    try:
        chosen = Workspace(workspace)
    except ValueError:
        raise Http404 from None
    if user.organization is None or WORKSPACE_TILES[chosen][1] is not None:
        raise Http404
    keys = rules.roles_unlocking(chosen, user.organization)
    if not keys:
        raise Http404
    return render(
        request,
        "workspace.html",
        {
            "workspace": chosen,
            "description": WORKSPACE_TILES[chosen][0],
            "role_names": [SPECS[key].name for key in keys],
            "yours": chosen in rules.workspaces_for(user),
            "holders": _holders(user, keys, exclude_self=False),
        },
    )


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the cache answer, 503 otherwise. Says nothing more to anyone.

    Not even to support staff: knowing who asks needs the session, which lives in the very
    database and cache being checked. What failed goes to the log, with the request id.
    """
    for component, check in (("database", _database_answers), ("cache", _cache_answers)):
        try:
            check()
        except Exception:  # any failure of a dependency is "unavailable", never a 500
            logger.exception("Health check: the %s does not answer.", component)
            return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


def _database_answers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache_answers() -> None:
    # Written and read back: a cache that accepts connections but loses writes is down too.
    # A key per check, so two servers probed at the same moment do not read each other's.
    key, value = f"healthz:{uuid.uuid4().hex}", "ok"
    cache.set(key, value, timeout=10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the cache did not return what was written")
    finally:
        cache.delete(key)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A 403 that explains: why, which roles would allow it, and who holds them here."""
    reason = getattr(exception, "reason", "") or "You do not have permission to do this."
    permission = getattr(exception, "permission", None)
    role_names: list[str] = []
    holders: list[Holder] = []
    user = getattr(request, "user", None)
    if permission is not None:
        keys = rules.roles_allowed_to(permission)
        role_names = [SPECS[key].name for key in keys]
        if user is not None and user.is_authenticated and user.organization_id:
            holders = _holders(user, keys, exclude_self=True)
    return render(
        request,
        "403.html",
        {"reason": reason, "role_names": role_names, "holders": holders},
        status=403,
    )


def _holders(user: User, keys: list[RoleKey], *, exclude_self: bool) -> list[Holder]:
    """Up to ten people of the user's organization who can answer, holding one of the roles:
    never a deactivated user, nor one invited who has not chosen a password yet. By name and
    role; their email addresses only to those who may see the directory anyway (a Billing
    admin is not handed a list of admins' addresses)."""
    found = (
        User.objects.in_organization(user.organization)
        .who_can_help()
        .filter(role_assignments__role__key__in=keys)
        .distinct()
        .order_by("last_name", "first_name")
        .prefetch_related(
            Prefetch(
                "role_assignments",
                queryset=RoleAssignment.objects.filter(role__key__in=keys).select_related("role"),
                to_attr="relevant_assignments",
            )
        )
    )
    if exclude_self:
        found = found.exclude(pk=user.pk)
    show_emails = bool(rules.can(user, rules.Action.SEE_DIRECTORY))
    return [
        Holder(
            holder.get_full_name(),
            holder.email if show_emails else "",
            [assignment.role.name for assignment in holder.relevant_assignments],
        )
        for holder in found[:10]
    ]


@dataclass(frozen=True)
class Holder:
    """Someone the 403 page suggests asking: their name, roles and, maybe, their email."""

    name: str
    email: str
    roles: list[str]


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    from api.paths import is_api_request, json_error

    if is_api_request(request):  # an API or SCIM client reads JSON, never a page
        return json_error(request, 404, "There is nothing at this address.")
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 page, or JSON on the API's and SCIM's addresses."""
    from django.views.defaults import server_error as default_server_error

    from api.paths import is_api_request, json_error

    if is_api_request(request):
        return json_error(
            request, 500, "Something went wrong on our side; nothing was changed. Try again."
        )
    return default_server_error(request)
