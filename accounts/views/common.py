"""What every partner page starts with: the organization's users, scoped, and one-time secrets."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.invitations import LAST_INVITATION_SENT, last_invitation_sent_expression
from accounts.models import User, UserQuerySet
from roles import rules
from roles.models import RoleAssignment
from roles.rules import Action

_SESSION_KEY = "temporary-passwords"


def organization_users(request: HttpRequest) -> UserQuerySet:
    """The users of the acting user's organization: the only users a partner page may touch."""
    return User.objects.in_organization(request.user.organization)


def get_user_or_404(request: HttpRequest, public_id: UUID) -> User:
    """A user of the acting user's organization; another organization's answers 404 like a
    user that does not exist."""
    # In the same query: the creator, whom the user's page names, whether another Global admin
    # is active, which the rulebook asks of a Global admin for several buttons (rule 4), and when
    # an invitation was last resent, which the page shows for a user without a password yet.
    return get_object_or_404(
        organization_users(request)
        .select_related("organization", "created_by")
        .annotate(
            **{
                rules.ANOTHER_ACTIVE_GLOBAL_ADMIN: rules.another_active_global_admin_expression(),
                LAST_INVITATION_SENT: last_invitation_sent_expression(),
            }
        ),
        public_id=public_id,
    )


def user_in_directory(request: HttpRequest, public_id: UUID) -> User:
    """The user a page is about: 403 for someone who may not see the directory (support staff
    included: they work in the support admin), 404 for a user outside the organization."""
    # Asked first: support staff have no organization, so the lookup below would not be scoped.
    rules.require(rules.can(request.user, Action.SEE_DIRECTORY), Action.SEE_DIRECTORY)
    return get_user_or_404(request, public_id)


def with_roles(user: User) -> User:
    """The user with their role assignments and roles loaded in one query."""
    prefetch_related_objects(
        [user],
        Prefetch("role_assignments", queryset=RoleAssignment.objects.select_related("role")),
    )
    return user


def remember_temporary_password(
    request: HttpRequest, user: User, password: str, *, new_user: bool
) -> None:
    """Keep a temporary password in the session until the next page shows it, once."""
    passwords = request.session.get(_SESSION_KEY, {})
    passwords[str(user.public_id)] = {"password": password, "new_user": new_user}
    request.session[_SESSION_KEY] = passwords


@never_cache
@require_GET
@login_required
def temporary_password(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Shows a user's temporary password once: the session forgets it as the page is made."""
    user = user_in_directory(request, public_id)
    passwords = request.session.get(_SESSION_KEY, {})
    shown = passwords.pop(str(user.public_id), None)
    request.session[_SESSION_KEY] = passwords
    return render(
        request,
        "accounts/temporary_password.html",
        {
            "shown_user": user,
            "password": shown["password"] if shown else None,
            "new_user": shown["new_user"] if shown else False,
        },
    )
