"""Middleware of the partner pages: a temporary password is changed before anything else; every
refused page is recorded."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts import audit
from roles.rules import RuleRefused

# The pages such a user may still reach: the one to change the password, and signing out.
ALLOWED_URL_NAMES = {"change_password", "logout"}


class PasswordChangeRequiredMiddleware:
    """A user signed in with a temporary password chooses a new one before anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or not user.must_change_password:
            return None
        if request.resolver_match.url_name in ALLOWED_URL_NAMES:
            return None
        if request.resolver_match.namespace == "admin":
            return None  # support staff are never given temporary passwords
        url = reverse("change_password")
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        return redirect(url)


class RefusalAuditMiddleware:
    """Records every rulebook refusal that leaves a view as a refused attempt (DOMAIN.md, Audit).

    The one place for page refusals: a view refuses by raising RuleRefused (roles.rules.require),
    and whatever view raised it, it is recorded here before the 403 page is made. Refusals that
    a service raised were recorded there already (their audit_context is filled in).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, RuleRefused) and not exception.audit_context:
            audit.record_page_refusal(request, exception)
