"""A user's page and the actions on it: edit details, reset password, deactivate, reactivate,
delete. (Edit roles is roles.views.edit_roles.)

Every view reads the same way: the target, scoped to the organization (404 otherwise); the
rulebook's answer for this actor and target (403 with the reason otherwise); the service; a
redirect. Services ask the rulebook again under the organization's lock: what they refuse
then (another admin changed something meanwhile) is recorded by them and explained here.
Sign-in is checked before the method, so an anonymous visitor learns nothing about a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.cache import patch_vary_headers
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.audit import Origin
from accounts.forms.user import UserDetailsForm
from accounts.history import Change, describe_changes
from accounts.invitations import base_url_for_email, invitation_status
from accounts.lockout import clear_lockout
from accounts.models import AuditEvent, AuditOutcome, User
from accounts.reauth import ask_for_password, password_recently_confirmed
from accounts.services import EmailInUse
from accounts.views.common import (
    organization_users,
    show_temporary_password,
    user_in_directory,
    with_roles,
)
from partnerhub.templatetags.when import MOMENT
from roles import rules
from roles.forms import role_boxes
from roles.rules import Action, Decision, RuleRefused

# How much of a user's history the page shows: the latest events, with a link to the audit log
# filtered by the person for the rest. Twenty fill a screen or two; fifty made the page long
# and drew a hundred moments and change lists for a history few read that far.
HISTORY_LENGTH = 20

# The reset form names the password it replaces, so that the same form sent twice resets once.
REPLACES = "replaces"
ALREADY_CHANGED = (
    "Nothing was reset: {name}'s password changed since that page was shown. A temporary "
    "password is shown once and cannot be shown again; reset it again if it was lost."
)


def password_version(user: User) -> str:
    """A keyed digest of the user's current password hash: changes whenever the password does,
    and tells the page nothing about the hash."""
    return salted_hmac("accounts.views.user.password_version", user.password).hexdigest()[:32]


def _require_may(request: HttpRequest, target: User, action: Action) -> None:
    rules.require(rules.can_manage_user(request.user, target, action), action, target)


def _back_to_user(request: HttpRequest, target: User) -> HttpResponseRedirect:
    # A user deleted by someone else meanwhile has no page left to go back to.
    if organization_users(request).filter(pk=target.pk).exists():
        return redirect("user_detail", target.public_id)
    return redirect("directory")


# The user page


@dataclass(frozen=True)
class PageAction:
    """A button of the user page, as the rulebook answers it for this actor and target."""

    decision: Decision

    @property
    def allowed(self) -> bool:
        return bool(self.decision)

    @property
    def blocked_by_last_global_admin(self) -> bool:
        # Shown disabled with the reason: the admin may do this in general, just not now.
        return not self.decision and self.decision.reason == rules.LAST_GLOBAL_ADMIN

    @property
    def reason(self) -> str:
        return self.decision.reason


@dataclass(frozen=True)
class HistoryEntry:
    event: AuditEvent
    changes: list[Change]

    @property
    def refused(self) -> bool:
        return self.event.outcome == AuditOutcome.REFUSED


def _history(request: HttpRequest, target: User) -> tuple[list[HistoryEntry], bool]:
    # One row more than shown says whether there is more, without counting.
    events = list(
        AuditEvent.objects.visible_to(request.user)
        .about(target)
        .order_by("-created_at", "-id")[: HISTORY_LENGTH + 1]
    )
    entries = [HistoryEntry(event, describe_changes(event)) for event in events[:HISTORY_LENGTH]]
    return entries, len(events) > HISTORY_LENGTH


def _why_no_action(actor: User, target: User, actions: dict[str, PageAction]) -> list[str]:
    """Why the actor may do nothing to the target: the rulebook's reasons, each said once."""
    box_reasons = {box.decision.reason for box in role_boxes(actor, target)}
    # One line for the roles: the reason when every box has the same, else what it comes to.
    roles_reason = (
        box_reasons.pop()
        if len(box_reasons) == 1
        else f"You cannot grant or revoke any role of {target.get_full_name() or target.email}."
    )
    status = Action.DEACTIVATE_USER if target.is_active else Action.REACTIVATE_USER
    reasons = [roles_reason] + [
        actions[action.value].reason
        for action in (Action.EDIT_USER, Action.RESET_PASSWORD, status, Action.DELETE_USER)
    ]
    return list(dict.fromkeys(reason for reason in reasons if reason))


@login_required
@require_GET
def user_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """A user's details, roles and history, with the actions the actor may take on them: the full
    page, or its content alone for the directory's side panel."""
    target = user_in_directory(request, public_id)
    with_roles(target)
    prefetch_related_objects([target], "created_by")
    actor = request.user
    actions = {
        action.value: PageAction(rules.can_manage_user(actor, target, action))
        for action in rules.USER_ACTIONS
    }
    may_edit_roles = any(box.changeable for box in role_boxes(actor, target))
    invitation = invitation_status(target)
    may_resend_invitation = invitation is not None and rules.can_resend_invitation(actor, target)
    can_see_history = bool(rules.can(actor, Action.SEE_AUDIT_LOG))
    history, more_history = _history(request, target) if can_see_history else ([], False)
    any_action = (
        may_edit_roles
        or may_resend_invitation
        or any(a.allowed or a.blocked_by_last_global_admin for a in actions.values())
    )
    # The directory's side panel asks with htmx (HX-Request): the same page's content without
    # the layout, decided exactly as the full page. Vary keeps a cache from answering one with
    # the other; htmx restoring a page from history wants the whole page.
    panel = request.htmx and not request.htmx.history_restore_request
    response = render(
        request,
        "accounts/user/panel.html" if panel else "accounts/user/detail.html",
        {
            "shown_user": target,
            "assignments": target.role_assignments.all(),
            "actions": actions,
            "may_edit_roles": may_edit_roles,
            "invitation": invitation,
            "may_resend_invitation": bool(may_resend_invitation),
            "any_action": any_action,
            "why_no_action": [] if any_action else _why_no_action(actor, target, actions),
            "last_global_admin": rules.is_last_active_global_admin(target),
            "last_global_admin_reason": rules.LAST_GLOBAL_ADMIN,
            "can_see_history": can_see_history,
            "history": history,
            "more_history": more_history,
            "history_length": HISTORY_LENGTH,
            "full_history_url": (
                f"{reverse('audit_log')}?{urlencode({'person': target.email})}"
                if more_history
                else ""
            ),
        },
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


# Edit details


def _save_details(request: HttpRequest, target: User, form: UserDetailsForm) -> bool:
    """Save the form's details through the service; False with the form's errors set if not."""
    try:
        services.update_user_details(
            request.user,
            target,
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
            email=form.cleaned_data["email"],
            origin=Origin.from_request(request),
        )
    except EmailInUse:
        form.add_error("email", EmailInUse.message)
    except RuleRefused as refusal:
        # Allowed when the form was shown, refused now: someone changed something meanwhile.
        form.add_error(None, refusal.reason)
    except ValidationError as error:
        for field, field_errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        return True
    return False


@login_required
@require_http_methods(["GET", "POST"])
def edit_user(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Edit a user's first name, last name and email."""
    target = user_in_directory(request, public_id)
    _require_may(request, target, Action.EDIT_USER)
    if request.method == "POST":
        form = UserDetailsForm(request.POST)
        if form.is_valid() and _save_details(request, target, form):
            messages.success(
                request,
                format_html("<bdi>{}</bdi>'s details are saved.", form.cleaned_data["first_name"]),
            )
            return redirect("user_detail", target.public_id)
    else:
        form = UserDetailsForm.for_user(target)
    return render(request, "accounts/user/edit.html", {"shown_user": target, "form": form})


# Password and status


@login_required
@require_http_methods(["GET", "POST"])
def reset_password(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Asks to confirm, saying what a reset ends; then gives the user a new temporary password,
    shown once in the answer."""
    target = user_in_directory(request, public_id)
    _require_may(request, target, Action.RESET_PASSWORD)
    if request.method != "POST":
        return render(
            request,
            "accounts/user/reset_password.html",
            {
                "shown_user": target,
                "invitation": invitation_status(target),
                "password_version": password_version(target),
            },
        )
    if not password_recently_confirmed(request):
        return ask_for_password(request, reverse("reset_password", args=[target.public_id]))
    if not constant_time_compare(request.POST.get(REPLACES, ""), password_version(target)):
        # The form was sent again (the page that showed the new password was reloaded), or the
        # password changed since the user's page was shown: a second reset would replace the
        # temporary password just handed out.
        messages.warning(request, ALREADY_CHANGED.format(name=target.get_full_name()))
        return _back_to_user(request, target)
    try:
        password = services.reset_password(
            request.user, target, origin=Origin.from_request(request)
        )
    except RuleRefused as refusal:
        messages.error(request, refusal.reason)
        return _back_to_user(request, target)
    clear_lockout(target.email)
    return show_temporary_password(request, target, password, new_user=False)


@login_required
@require_http_methods(["GET", "POST"])
def deactivate_user(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Asks to confirm, saying what deactivation ends; then stops the user signing in: their
    open sessions end at their next request."""
    target = user_in_directory(request, public_id)
    _require_may(request, target, Action.DEACTIVATE_USER)
    if request.method != "POST":
        return render(
            request,
            "accounts/user/deactivate.html",
            {"shown_user": target, "invitation": invitation_status(target)},
        )
    try:
        services.deactivate_user(request.user, target, origin=Origin.from_request(request))
    except RuleRefused as refusal:
        messages.error(request, refusal.reason)
        return _back_to_user(request, target)
    messages.success(
        request,
        format_html(
            "<bdi>{}</bdi> is deactivated and can no longer sign in.", target.get_full_name()
        ),
    )
    return redirect("user_detail", target.public_id)


@login_required
@require_POST
def reactivate_user(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Let a deactivated user sign in again, with the roles they had."""
    target = user_in_directory(request, public_id)
    _require_may(request, target, Action.REACTIVATE_USER)
    try:
        services.reactivate_user(request.user, target, origin=Origin.from_request(request))
    except RuleRefused as refusal:
        messages.error(request, refusal.reason)
        return _back_to_user(request, target)
    messages.success(
        request,
        format_html("<bdi>{}</bdi> is active again and can sign in.", target.get_full_name()),
    )
    return redirect("user_detail", target.public_id)


# Invitation


@login_required
@require_POST
def resend_invitation(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Email the user a new invitation to set their password; the links sent before stop working."""
    target = user_in_directory(request, public_id)
    _require_may(request, target, Action.EDIT_USER)
    try:
        target = services.resend_invitation(
            request.user,
            target,
            origin=Origin.from_request(request),
            base_url=base_url_for_email(request),
        )
    except RuleRefused as refusal:
        # Set a password, deactivated or out of the actor's reach since the page was shown.
        messages.error(request, refusal.reason)
        return _back_to_user(request, target)
    expires_at = timezone.localtime(invitation_status(target).expires_at)
    messages.success(
        request,
        format_html(
            "A new invitation is on its way to <bdi>{}</bdi>. It expires on {} ({}).",
            target.email,
            dateformat.format(expires_at, MOMENT),
            timezone.get_current_timezone_name(),
        ),
    )
    return redirect("user_detail", target.public_id)


# Delete


@login_required
@require_http_methods(["GET", "POST"])
def delete_user(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Asks to confirm, then deletes the user; the audit trail keeps their name."""
    target = user_in_directory(request, public_id)
    _require_may(request, target, Action.DELETE_USER)
    # Asked before the page that says Delete, and again if the page was left open too long.
    if not password_recently_confirmed(request):
        return ask_for_password(request, reverse("delete_user", args=[target.public_id]))
    if request.method != "POST":
        return render(request, "accounts/user/delete.html", {"shown_user": target})
    try:
        services.delete_user(request.user, target, origin=Origin.from_request(request))
    except RuleRefused as refusal:
        messages.error(request, refusal.reason)
        return _back_to_user(request, target)
    messages.success(
        request,
        format_html(
            "<bdi>{}</bdi> (<bdi>{}</bdi>) is deleted.", target.get_full_name(), target.email
        ),
    )
    return redirect("directory")
