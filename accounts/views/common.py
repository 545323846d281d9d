"""What every partner page starts with: the organization's users, scoped, and one-time secrets."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import add_never_cache_headers

from accounts.invitations import (
    LAST_INVITATION_SENT,
    last_invitation_delivery_expressions,
    last_invitation_sent_expression,
)
from accounts.models import User, UserQuerySet
from roles import rules
from roles.models import RoleAssignment
from roles.rules import Action


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
                **last_invitation_delivery_expressions(),
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


def show_temporary_password(
    request: HttpRequest, user: User, password: str, *, new_user: bool
) -> HttpResponse:
    """The page that shows a new temporary password, once: the response to the POST that made it.

    Nothing keeps the password: not the session, a cookie, a URL or a cache (no-store). Sending
    the same form again, as reloading this page does, adds no user (the wizard has forgotten
    its steps) and resets nothing (the reset form names the password it replaces).
    """
    response = render(
        request,
        "accounts/temporary_password.html",
        {"shown_user": user, "password": password, "new_user": new_user, "may_add_users": True},
    )
    add_never_cache_headers(response)
    return response
