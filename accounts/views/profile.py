"""Settings > My profile: who I am, what my roles unlock, and changing my own password."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.audit import Origin
from accounts.forms.profile import ChangePasswordForm, SignOutEverywhereForm, ThemeForm
from accounts.models import ThemePreference, User
from accounts.reauth import mark_password_entered
from roles import rules


@dataclass(frozen=True)
class HeldRole:
    name: str
    unlocks: str
    counts: bool  # False for a CSP-only role held in a non-CSP organization (rule 5)


@require_GET
@login_required
def my_profile(request: HttpRequest) -> HttpResponse:
    """The signed-in partner user's name, email, organization, and roles with what they unlock."""
    if request.user.organization_id is None:
        # Support staff have no partner profile: their account lives in the support admin.
        return redirect("admin:index")
    return _my_profile_page(
        request, ThemeForm(initial={"theme_preference": request.user.theme_preference})
    )


def _my_profile_page(request: HttpRequest, theme_form: ThemeForm) -> HttpResponse:
    user = request.user
    # Loaded once for the page: the roles listed, the rulebook's answers and the header.
    prefetch_related_objects([user], "role_assignments__role")
    held = rules.held_roles(user)
    roles = [
        HeldRole(assignment.role.name, assignment.role.unlocks, assignment.role.key in held)
        for assignment in user.role_assignments.all()
    ]
    return render(
        request,
        "accounts/profile/my_profile.html",
        {
            "roles": roles,
            "workspaces": rules.workspaces_for(user),
            "sign_out_form": SignOutEverywhereForm(),
            "theme_form": theme_form,
        },
    )


@require_POST
@login_required
def save_theme(request: HttpRequest) -> HttpResponse:
    """Saves the signed-in partner user's theme (system, light or dark).

    Not audited: how the pages look to the person is no change to their access, unlike the
    password and the sessions, the only other things My profile changes.
    """
    if request.user.organization_id is None:
        return redirect("admin:index")
    form = ThemeForm(request.POST)
    if not form.is_valid():
        return _my_profile_page(request, form)
    theme = form.cleaned_data["theme_preference"]
    User.objects.filter(pk=request.user.pk).update(theme_preference=theme)
    label = ThemePreference(theme).label
    messages.success(request, f"Your theme is saved: {label}.")
    return redirect("profile")


def _safe_next(request: HttpRequest) -> str | None:
    """The `next` address to return to, if it is on this site."""
    url = request.POST.get("next") or request.GET.get("next")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def change_password(request: HttpRequest) -> HttpResponse:
    """Changes the signed-in user's password; also the forced change of a temporary password.

    This session stays signed in; the user's other sessions end (the service ends them all,
    and update_session_auth_hash keeps this one).
    """
    if request.method == "POST":
        form = ChangePasswordForm(request, request.POST)
        if form.is_valid():
            user = services.change_own_password(
                request.user,
                form.cleaned_data["new_password1"],
                origin=Origin.from_request(request),
            )
            update_session_auth_hash(request, user)
            mark_password_entered(request)
            messages.success(request, "Your password is changed.")
            return redirect(_safe_next(request) or "home")
    else:
        form = ChangePasswordForm(request)
    # Posting back to this address keeps `next` (the page the user first asked for).
    form.helper.form_action = request.get_full_path()
    return render(request, "accounts/profile/change_password.html", {"form": form})


@never_cache
@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """Ends every other session of the signed-in user, on every browser and server; this one
    stays signed in (the person asking is at this browser, and signs out here as usual)."""
    user = services.sign_out_everywhere(request.user, origin=Origin.from_request(request))
    update_session_auth_hash(request, user)
    messages.success(request, "You are signed out everywhere else. This browser stays signed in.")
    return redirect("profile")
