"""Confirm your password: asked before a sensitive action when the password was last entered
more than a few minutes ago (accounts.reauth)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.forms.reauth import ConfirmPasswordForm
from accounts.reauth import mark_password_entered, safe_next


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def confirm_password(request: HttpRequest) -> HttpResponse:
    """Asks for the signed-in user's password, then returns to `next` (on this site only)."""
    if request.method == "POST":
        form = ConfirmPasswordForm(request, request.POST)
        if form.is_valid():
            mark_password_entered(request)
            return redirect(safe_next(request) or "home")
    else:
        form = ConfirmPasswordForm(request)
    # Posting back to this address keeps `next`.
    form.helper.form_action = request.get_full_path()
    return render(request, "registration/confirm_password.html", {"form": form})
