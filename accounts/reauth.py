"""Re-authentication for sensitive actions: granting Global admin, resetting a password,
deleting a user ask for the admin's password again when they last entered it too long ago.

The session keeps when the password was last entered: at sign-in (accounts.signals), and on the
"Confirm your password" page. This is authentication, not authorization: the rulebook is not
asked here, and the views still ask it for everything.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

# How long an entered password vouches for the person at the keyboard.
RECENT_PASSWORD_ENTRY = timedelta(minutes=10)

SESSION_KEY = "password-entered-at"

CONFIRM_FIRST = "For your security, confirm your password to continue."


def mark_password_entered(request: HttpRequest) -> None:
    """Record in the session that the user entered their password just now."""
    request.session[SESSION_KEY] = timezone.now().timestamp()


def password_recently_confirmed(request: HttpRequest) -> bool:
    """True when the user entered their password in this session within the last 10 minutes."""
    entered_at = request.session.get(SESSION_KEY)
    if not isinstance(entered_at, int | float):
        return False
    age = timezone.now().timestamp() - entered_at
    # A time in the future (a tampered or restored session) vouches for nothing.
    return 0 <= age <= RECENT_PASSWORD_ENTRY.total_seconds()


def ask_for_password(request: HttpRequest, next_url: str) -> HttpResponseRedirect:
    """Send the user to "Confirm your password", then back to next_url; nothing was done."""
    messages.info(request, CONFIRM_FIRST)
    return redirect(reverse("confirm_password") + "?" + urlencode({"next": next_url}))


def safe_next(request: HttpRequest) -> str | None:
    """The `next` address to return to, if it is on this site."""
    url = request.POST.get("next") or request.GET.get("next")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None
