"""Receivers of Django's auth signals: connected in AccountsConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.middleware import start_session_clock
from accounts.models import User
from accounts.reauth import mark_password_entered


def password_entered_at_sign_in(
    sender: type[User], request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """Signing in is entering the password: sensitive actions need no prompt for a while."""
    if request is not None and hasattr(request, "session"):
        mark_password_entered(request)


def session_clock_started_at_sign_in(
    sender: type[User], request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """The session's idle timeout and absolute lifetime count from sign-in."""
    if request is not None and hasattr(request, "session"):
        start_session_clock(request)
