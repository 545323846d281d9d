"""Edit roles: grant and revoke a user's roles, box by box, as the rulebook allows."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.audit import Origin
from accounts.models import User
from accounts.reauth import ask_for_password, password_recently_confirmed
from accounts.views.common import user_in_directory, with_roles
from roles import rules
from roles import services as role_services
from roles.catalogue import SPECS, RoleKey
from roles.forms import EditRolesForm, RoleBox, preview_roles, role_boxes
from roles.rules import Action, RuleRefused
from roles.services import RoleChange


def _require_some_box_open(target: User, boxes: list[RoleBox]) -> None:
    """403 when the actor may change none of the target's roles: yourself, a Global admin
    below that rank, or a role that changes no roles."""
    if any(box.changeable for box in boxes):
        return
    reasons = {box.decision.reason for box in boxes}
    reason = (
        reasons.pop()
        if len(reasons) == 1
        else f"You cannot grant or revoke any role of {target.get_full_name()}."
    )
    # Name the roles that could: for a Global admin's roles, only a Global admin.
    permission = (
        Action.MANAGE_GLOBAL_ADMIN
        if rules.holds_global_admin(target)
        else Action.MANAGE_MEMBERSHIP_ROLES
    )
    raise RuleRefused(reason, permission=permission, target=target)


def _saved_message(target: User, change: RoleChange) -> str:
    if not change:
        return f"No change: {target.get_full_name()} keeps the same roles."
    parts = []
    if change.granted:
        parts.append("granted " + ", ".join(SPECS[key].name for key in change.granted))
    if change.revoked:
        parts.append("revoked " + ", ".join(SPECS[key].name for key in change.revoked))
    return f"Roles of {target.get_full_name()} saved: " + "; ".join(parts) + "."


def _grants_global_admin(form: EditRolesForm, boxes: list[RoleBox]) -> bool:
    """Does saving the form grant Global admin (not held yet, now wanted)?"""
    held = {box.key for box in boxes if box.held}
    return RoleKey.GLOBAL_ADMIN in form.wanted_roles() - held


@login_required
@require_http_methods(["GET", "POST"])
def edit_roles(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """One box per role, ticked for those held; the boxes the actor may not change are closed
    with the reason. Saving grants and revokes the difference in one go."""
    target = with_roles(user_in_directory(request, public_id))
    boxes = role_boxes(request.user, target)
    _require_some_box_open(target, boxes)
    if request.method == "POST":
        form = EditRolesForm(
            request.POST,
            boxes=boxes,
            actor=request.user,
            target=target,
            origin=Origin.from_request(request),
        )
        # Granting Global admin asks for the password again (accounts.reauth); nothing is saved.
        granting_ga = form.is_valid() and _grants_global_admin(form, boxes)
        if granting_ga and not password_recently_confirmed(request):
            return ask_for_password(request, reverse("edit_roles", args=[target.public_id]))
        if form.is_valid():
            try:
                change = role_services.change_roles(
                    request.user,
                    target,
                    form.wanted_roles(),
                    origin=Origin.from_request(request),
                )
            except RuleRefused as refusal:
                # The page was right when shown; someone changed something since.
                form.add_error(None, refusal.reason)
            else:
                messages.success(request, _saved_message(target, change))
                return redirect("user_detail", target.public_id)
    else:
        form = EditRolesForm(boxes=boxes, actor=request.user, target=target)
    # The same access preview as Add user's, of the roles the user would hold once saved.
    access = rules.access_for_roles(form.previewed_roles(), target.organization)
    return render(
        request,
        "accounts/user/roles.html",
        {
            "shown_user": target,
            "form": form,
            "access": access,
            "preview_url": reverse("edit_roles_preview", args=[target.public_id]),
        },
    )


@never_cache
@require_GET
@login_required
def edit_roles_preview(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The access preview of Edit roles for ?roles=key&roles=key, as an HTML fragment: what the
    user would see and do with the boxes ticked (the closed boxes as they are)."""
    target = with_roles(user_in_directory(request, public_id))
    boxes = role_boxes(request.user, target)
    _require_some_box_open(target, boxes)
    keys = preview_roles(boxes, request.GET.getlist("roles"))
    access = rules.access_for_roles(keys, target.organization)
    return render(request, "accounts/add_user/access_preview.html", {"access": access})
