"""Sign-in by email, with the user's organization loaded in the same query."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.models import User

# Set on the request when the password was right but the account is deactivated: the sign-in
# form then says so (the password proves the owner, so a guesser learns nothing).
DEACTIVATED_USER = "partnerhub_deactivated_user"


class EmailBackend(ModelBackend):
    """Django's ModelBackend (email as the user name, in its canonical form: accounts.identity;
    inactive users refused, including on every request of a session they already hold:
    DOMAIN.md rule 7)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        """ModelBackend's check, step by step, to remember on the request an account whose
        password was right but which is deactivated (no extra hashing: the same work)."""
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            User().set_password(password)  # as ModelBackend: the same time for no account
            return None
        if not user.check_password(password):
            return None
        if self.user_can_authenticate(user):
            return user
        if request is not None and user.organization_id:
            setattr(request, DEACTIVATED_USER, user)
        return None

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.select_related("organization").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
