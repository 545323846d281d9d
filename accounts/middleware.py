"""A user signed in with a temporary password chooses a new one before anything else."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

# The pages such a user may still reach: the one to change the password, and signing out.
ALLOWED_URL_NAMES = {"change_password", "logout"}


class PasswordChangeRequiredMiddleware:
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
