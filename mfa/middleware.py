"""Every page after a second factor (DOMAIN.md rule 10): a session signed in with the password
alone reaches only the second step, enrolment, and signing out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import LazyObject, empty
from django.utils.http import urlencode
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware

from api.paths import is_api_request

# (namespace, URL name) reachable before the second factor. Static files and /healthz never
# reach here with a session that matters (WhiteNoise serves the first; the second is listed).
ALLOWED_BEFORE_SECOND_FACTOR = {
    ("", "second_factor"),
    ("", "enrol_authenticator_app"),
    ("", "logout"),
    ("", "healthz"),
    # The passkey's own second step; registering one needs a verified session (mfa.views).
    ("otp_webauthn", "credential-authentication-begin"),
    ("otp_webauthn", "credential-authentication-complete"),
    ("otp_webauthn", "js-i18n-catalog"),
}


class VerifiedSessionMiddleware(OTPMiddleware):
    """django-otp's OTPMiddleware, with `request.user.is_verified()` answered by the session
    alone: the session names the device it passed its second factor with (django-otp's
    `otp_login` writes it, after a code, a passkey or a recovery code was accepted), and that
    is enough. django-otp also reads that device on every request, to check it still exists
    and is confirmed: one query more on every page (the directory, at the issue's bound of six
    queries, would take seven). Nothing needs that read here: the session is server-side,
    every way a person's methods are taken from them (a Global admin's reset, an operator's
    reset of support staff, deactivation, removing one of their own, new recovery codes
    replacing the old) ends all their sessions (`end_sessions`); the person removing their own
    method keeps their session, past the second factor by design (`mfa.views._keep_verified`).
    `user.otp_device` is therefore not set: nothing reads it.
    """

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        session = request.session
        user.is_verified = lambda: bool(
            user.is_authenticated and session.get(DEVICE_ID_SESSION_KEY)
        )
        return user


def resolved(user: Any) -> Any:
    """The user behind request.user's lazy wrappers (Django's, then django-otp's), loaded.

    Every view reads the user, so the laziness saves nothing past this point, and it costs: each
    attribute read through the two wrappers is several Python calls, and a page asks the
    rulebook dozens of times (a directory page read the user's attributes about 2,300 times,
    a fifth of its time). The object is the same one the wrappers would give: `is_verified`
    (set above) and everything remembered on it (held_roles) are on it."""
    while isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    return user


class SecondFactorRequiredMiddleware:
    """Signed in but not past the second factor: to the second step (which sends a person
    without a method to enrolment), with `next` kept for a page that was asked for. The Django
    admin too: support staff use a second factor like everyone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = request.user = resolved(request.user)
        if not user.is_authenticated or user.is_verified():
            return None
        if is_api_request(request):
            # The REST API and SCIM never read the session: their bearer token decides alone.
            return None
        match = request.resolver_match
        if (match.namespace, match.url_name) in ALLOWED_BEFORE_SECOND_FACTOR:
            return None
        url = reverse("second_factor")
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        return redirect(url)
