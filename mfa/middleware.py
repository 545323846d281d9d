"""Every page after a second factor (DOMAIN.md rule 10): a session signed in with the password
alone reaches only the second step, enrolment, and signing out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

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
        user = request.user
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
