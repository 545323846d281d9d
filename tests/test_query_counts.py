"""Queries per page: a few, and the same however many users are listed and roles they hold.

Issue "Scale: million-user directories": the directory (with and without a search), a user's
page and the support admin's user list (with and without a search) each cost at most
MAX_QUERIES, for 10 users or 100, holding 1 role or all 12.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, AuditOutcome, PartnerOrganization, User
from roles.catalogue import CATALOGUE, RoleKey
from tests.factories import OrganizationFactory, SupportStaffFactory, UserFactory

# Session, the signed-in user, their roles (or, in the admin, their two kinds of permissions),
# then the page's own: a count or the page's rows, and their roles. The second factor costs
# none: the session says it was passed (mfa.middleware.VerifiedSessionMiddleware).
MAX_QUERIES = 6

ONE_ROLE = [RoleKey.REFERRALS_ADMIN]
EVERY_ROLE = [spec.key for spec in CATALOGUE]
SIZES = [pytest.param(10, id="10 users"), pytest.param(100, id="100 users")]
ROLES = [pytest.param(ONE_ROLE, id="1 role"), pytest.param(EVERY_ROLE, id="12 roles")]
PAGES = [
    pytest.param("directory", {}, id="directory"),
    pytest.param("directory", {"q": "Listed"}, id="directory search"),
    pytest.param(
        "directory",
        {
            "q": "Listed",
            "role": RoleKey.REFERRALS_ADMIN,
            "status": "active",
            "last_sign_in": "never",
        },
        id="directory filtered",
    ),
    pytest.param("directory", {"role": "none", "per_page": "100"}, id="directory, no role"),
    pytest.param("directory", {"status": "pending", "sort": "-status"}, id="directory, pending"),
    pytest.param("user_detail", {}, id="user page"),
    pytest.param("user_detail:invited", {}, id="page of a user invited by email"),
    pytest.param("user_detail:global_admin", {}, id="page of a Global admin"),
    pytest.param("audit_log:person", {}, id="audit log by a person"),
    pytest.param("admin:accounts_user_changelist", {}, id="admin list"),
    pytest.param("admin:accounts_user_changelist", {"q": "Listed"}, id="admin search"),
]


def organization_with(users: int, roles: list[str]) -> tuple[PartnerOrganization, User]:
    """A CSP organization whose Global admin sees `users` more users, each holding `roles`."""
    organization = OrganizationFactory()
    admin = UserFactory(organization=organization, roles=[RoleKey.GLOBAL_ADMIN], last_name="Admin")
    creator = UserFactory(organization=organization)
    for _ in range(users):
        UserFactory(organization=organization, roles=roles, last_name="Listed", created_by=creator)
    return organization, admin


def queries_for(client: Client, name: str, data: dict, users: int, roles: list[str]) -> int:
    organization, admin = organization_with(users, roles)
    if name.startswith("user_detail"):
        target = User.objects.filter(organization=organization, last_name="Listed").first()
        if name == "user_detail:invited":  # the page says when the invitation expires
            target.set_unusable_password()
            target.save(update_fields=["password"])
        elif name == "user_detail:global_admin":  # the page asks whether another remains
            target = admin
        url = reverse("user_detail", args=[target.public_id])
    elif name == "audit_log:person":  # the person's lookup, then their events and the count
        url = reverse("audit_log")
        data = {**data, "person": admin.email}
        for listed in User.objects.filter(organization=organization, last_name="Listed"):
            AuditEvent.objects.create(
                organization=organization,
                action=AuditAction.USER_EDITED,
                outcome=AuditOutcome.DONE,
                actor=admin if listed.pk % 2 else listed,
                actor_label=str(admin),
                target=listed if listed.pk % 2 else admin,
                target_label=str(listed),
            )
    else:
        url = reverse(name)
    client.force_login(SupportStaffFactory() if name.startswith("admin:") else admin)
    if name == "user_detail:global_admin":  # a Global admin looking at another one
        client.force_login(UserFactory(organization=organization, roles=[RoleKey.GLOBAL_ADMIN]))
    client.get(url, data)  # warm: the session, content types
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("users", SIZES)
@pytest.mark.parametrize(("name", "data"), PAGES)
def test_a_page_costs_a_few_queries(client, db, name, data, users, roles):
    assert queries_for(client, name, data, users, roles) <= MAX_QUERIES


@pytest.mark.parametrize(("name", "data"), PAGES)
def test_a_page_costs_the_same_however_many_users_and_roles(client, db, name, data):
    few = queries_for(client, name, data, 10, ONE_ROLE)
    many = queries_for(client, name, data, 100, EVERY_ROLE)

    assert few == many
