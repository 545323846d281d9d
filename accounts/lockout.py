"""Sign-in lockout (django-axes, configured in settings): whose failures count, and the page a
locked-out sign-in gets.

The page is the same whether or not the email belongs to an account, and it is made before any
password is checked or any user is looked up, so neither its text nor its timing tells them apart.

A signed-in person's password, asked again ("Confirm your password", the change-password form),
is checked the same way (password_is_right): a wrong one counts toward the same lockout, and a
locked-out email is refused whatever the password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import authenticate, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.forms.sign_in import SignInForm
from accounts.identity import sign_in_key

if TYPE_CHECKING:
    from accounts.models import User


def lockout_message() -> str:
    """What a locked-out sign-in is told, with the cool-off in minutes."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed sign-ins for this email. Try again in {minutes} minutes, or ask an "
        "admin of your organization to reset your password."
    )


def sign_in_name(request: HttpRequest, credentials: dict | None) -> str | None:
    """The email that failures are counted against, in its canonical form: USER@, user@ and
    their look-alikes that fold into it (a long s, a Kelvin sign, full-width letters) must not
    get five tries each. Text that cannot be an email gets a fixed-length key shared by its
    look-alikes (accounts.identity.sign_in_key)."""
    field = settings.AXES_USERNAME_FORM_FIELD
    name = (credentials or {}).get(field) or request.POST.get(field)
    return sign_in_key(name) if isinstance(name, str) and name.strip() else None


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """The sign-in page again, with the lockout message and the email as typed.

    Reached from a signed-in page (a password asked again), it signs that session out first:
    five wrong passwords there are likely someone else at an unattended browser.
    """
    email = request.POST.get("username", "")
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        email = user.email
        logout(request)
    form = SignInForm(request, initial={"username": email})
    return render(
        request,
        "registration/locked_out.html",
        {"form": form, "lockout_message": lockout_message()},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


def clear_lockout(email: str) -> None:
    """Forget an email's failed sign-ins: the lockout page tells its owner to ask an admin for a
    password reset, and the new temporary password must then work at once."""
    from axes.utils import reset

    reset(username=sign_in_key(email))


def password_is_right(request: HttpRequest, user: User, password: str) -> bool:
    """Whether the password is the signed-in user's, checked as sign-in checks it: through
    django-axes, so a wrong one is a failure counted against the user's email (five lock it,
    with those of the sign-in page) and a locked-out email is refused whatever the password.
    A lockout sets request.axes_locked_out: AxesMiddleware then answers with locked_out()."""
    authenticated = authenticate(request, username=user.email, password=password)
    if authenticated is None or authenticated.pk != user.pk:
        return False
    if request.user.is_verified():
        # Past both steps, as a completed sign-in, which clears the count (mfa.views); a
        # password alone never does (settings: AXES_RESET_ON_SUCCESS).
        clear_lockout(user.email)
    return True
