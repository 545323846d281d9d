"""Middleware of signed-in sessions: a user signed in with a temporary password chooses a new
one before anything else; a session ends after a while without activity, and after a while in
all; every page the rulebook refuses is recorded."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounts import audit
from api.paths import is_api_request
from roles.rules import RuleRefused

# The pages such a user may still reach: the one to change the password, signing out, and the
# recovery codes just made at enrolment (shown once, before the new password is chosen).
ALLOWED_URL_NAMES = {"change_password", "logout", "recovery_codes", "recovery_codes_download"}

# The session's clocks, in seconds since the epoch.
SIGNED_IN_AT = "signed-in-at"
LAST_ACTIVITY = "last-activity"
# The last activity is written at most this often (seconds): a session write per request
# would cost a database and a Redis write for every click.
ACTIVITY_WRITE_INTERVAL = 60


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if is_api_request(request):
            return None  # the API and SCIM take bearer tokens; no session reaches them
        user = request.user
        if not user.is_authenticated or not user.must_change_password:
            return None
        if not user.is_verified():
            return None  # the second factor comes first (mfa.middleware decides those pages)
        if request.resolver_match.url_name in ALLOWED_URL_NAMES:
            return None
        if request.resolver_match.namespace == "admin":
            return None  # support staff are never given temporary passwords
        url = reverse("change_password")
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        return redirect(url)


class SessionTimeoutMiddleware:
    """Signs a session out after PARTNERHUB_SESSION_IDLE_MINUTES without a request, or
    PARTNERHUB_SESSION_MAX_HOURS after sign-in, support staff and the admin included, with a
    message on the sign-in page and `next` kept for a page that was being read.

    The session keeps the sign-in time and the last activity (accounts.signals stamps both at
    sign-in). The last activity is written at most once a minute, so a busy page does not write
    the session on every request; the idle timeout is therefore exact to the minute.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Anonymous requests have nothing to time out, and cost no user lookup here; the API
        # and SCIM never read the session.
        if AUTH_SESSION_KEY in request.session and not is_api_request(request):
            ended = session_ended(request)
            if ended is not None:
                return sign_out(request, ended)
        return self.get_response(request)


def session_ended(request: HttpRequest) -> str | None:
    """Why the signed-in session has ended (the message to show), or None while it lasts."""
    session, now = request.session, timezone.now().timestamp()
    signed_in_at, last_activity = session.get(SIGNED_IN_AT), session.get(LAST_ACTIVITY)
    if not isinstance(signed_in_at, int | float) or not isinstance(last_activity, int | float):
        # A session opened before sessions were timed: its clocks start now.
        start_session_clock(request)
        return None
    if now - signed_in_at > settings.PARTNERHUB_SESSION_MAX_HOURS * 3600:
        hours = settings.PARTNERHUB_SESSION_MAX_HOURS
        return f"You were signed out {_count(hours, 'hour')} after signing in. Sign in again."
    if now - last_activity > settings.PARTNERHUB_SESSION_IDLE_MINUTES * 60:
        minutes = settings.PARTNERHUB_SESSION_IDLE_MINUTES
        return f"You were signed out after {_count(minutes, 'minute')} without activity."
    if now - last_activity >= ACTIVITY_WRITE_INTERVAL:
        session[LAST_ACTIVITY] = now
    return None


def start_session_clock(request: HttpRequest) -> None:
    """The session's sign-in time and last activity are now."""
    now = timezone.now().timestamp()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_ACTIVITY] = now


def sign_out(request: HttpRequest, reason: str) -> HttpResponse:
    """Sign the session out and send the person to sign in, told why. A page being read comes
    back after sign-in; a form posted after the end is not replayed."""
    logout(request)
    messages.info(request, reason)
    if request.method in {"GET", "HEAD"}:
        return redirect_to_login(request.get_full_path())
    return redirect(settings.LOGIN_URL)


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


class RefusalAuditMiddleware:
    """Records every refusal that leaves a view as a refused attempt (DOMAIN.md, Audit).

    The one place for page refusals: a view refuses by raising RuleRefused (roles.rules.require),
    and whatever view raised it, it is recorded here before the 403 page is made; so is the
    Django admin's own PermissionDenied. Refusals that a service raised were recorded there
    already (their audit_context is filled in).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, RuleRefused):
            if not exception.audit_context:
                audit.record_page_refusal(request, exception)
        elif (
            isinstance(exception, PermissionDenied)
            and request.user.is_authenticated
            and request.resolver_match is not None
            and request.resolver_match.namespace == "admin"
        ):
            # The admin's own refusals (a model permission the person lacks) are attempts too.
            audit.record_admin_refusal(request, exception)
