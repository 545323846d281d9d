"""Accepting an invitation: the emailed one-time link with which a new user sets their password.

Anonymous. As Django's PasswordResetConfirmView does, the first visit checks the token, keeps it
in the session and redirects to the same address without it: the page's links and resources
would otherwise send the token to whoever serves them, in the Referer header.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.audit import Origin
from accounts.forms.password_reset import ChooseOwnPasswordForm
from accounts.invitations import INVITATION_DAYS, invitation_token_generator
from accounts.lockout import clear_lockout
from accounts.models import AuditAction, User
from accounts.services import LinkNotValid
from accounts.views.sign_in import remember_email_for_sign_in

SESSION_KEY = "_invitation_token"
# Stands for the token in the address once the token is in the session.
SET_PASSWORD = "set-password"  # noqa: S105 (a path segment, not a password)


def _invited_user(uidb64: str) -> User | None:
    """The partner user the link is for, while they are active and have no password yet."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError, ValidationError):
        return None
    user = (
        User.objects.select_related("organization")
        .filter(pk=pk, is_active=True, organization__isnull=False)
        .first()
    )
    return user if user is not None and not user.has_usable_password() else None


def _link_not_valid(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return render(
        request, "accounts/invitation/not_valid.html", {"invitation_days": INVITATION_DAYS}
    )


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Checks the invitation link, then asks the new user to choose their password."""
    user = _invited_user(uidb64)
    if token != SET_PASSWORD:
        if user is None or not invitation_token_generator.check_token(user, token):
            return _link_not_valid(request)
        request.session[SESSION_KEY] = token
        return redirect("accept_invitation", uidb64=uidb64, token=SET_PASSWORD)
    token = request.session.get(SESSION_KEY, "")
    if user is None or not invitation_token_generator.check_token(user, token):
        return _link_not_valid(request)
    form = ChooseOwnPasswordForm(user, request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.set_password_from_link(
                user,
                token,
                form.cleaned_data["new_password1"],
                token_generator=invitation_token_generator,
                audit_action=AuditAction.INVITATION_ACCEPTED,
                origin=Origin.from_request(request),
            )
        except LinkNotValid:  # used in another tab, resent, or deactivated meanwhile
            return _link_not_valid(request)
        del request.session[SESSION_KEY]
        # Failed sign-ins typed before the password existed must not lock the new owner out.
        clear_lockout(user.email)
        remember_email_for_sign_in(request, user.email)
        messages.success(request, "Your password is set: sign in with your new password.")
        return redirect("login")
    return render(
        request, "accounts/invitation/set_password.html", {"form": form, "invited_user": user}
    )
