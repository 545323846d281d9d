"""No escalation on any path: crafted requests with fields no form offers, or with roles the
actor may not grant, are refused or ignored, and the database does not change (DOMAIN.md rules
1 to 3). The ordinary refusals of each page are in that page's tests; these are the crafted ones.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.factories import OrganizationFactory
from tests.test_add_user import GRACE, URL, post, sent

# Fields no partner form offers, sent anyway.
PRIVILEGED = {
    "is_staff": "on",
    "is_superuser": "on",
    "must_change_password": "",
    "organization": "",  # filled in with another organization's id below
    "groups": "1",
    "user_permissions": "1",
    "created_by": "1",
}


def state_of(user: User) -> tuple:
    user.refresh_from_db()
    roles = frozenset(RoleAssignment.objects.filter(user=user).values_list("role__key", flat=True))
    return (
        user.is_staff,
        user.is_superuser,
        user.organization_id,
        user.must_change_password,
        user.groups.count(),
        user.user_permissions.count(),
        roles,
    )


@pytest.fixture
def crafted(db) -> dict[str, str]:
    return {**PRIVILEGED, "organization": str(OrganizationFactory().pk)}


def test_the_add_user_flow_ignores_privileged_fields(client, csp, crafted):
    client.force_login(csp.user_admin)
    client.get(URL, follow=True)
    details = sent("details", **GRACE)
    details.update({f"details-{name}": value for name, value in crafted.items()})
    post(client, details)
    roles = sent("roles", roles=[RoleKey.REFERRALS_ADMIN])
    roles.update({f"roles-{name}": value for name, value in crafted.items()})
    post(client, roles)
    post(client, {**sent("review", sign_in="temporary_password"), **crafted})

    added = User.objects.get(email=GRACE["email"])
    assert (added.is_staff, added.is_superuser) == (False, False)
    assert added.organization == csp.organization
    assert added.must_change_password is True
    assert added.groups.count() == added.user_permissions.count() == 0
    assert added.created_by == csp.user_admin


def test_edit_details_ignores_privileged_fields(client, csp, crafted):
    target = csp.billing_admin
    before = state_of(target)
    client.force_login(csp.global_admin)

    response = client.post(
        reverse("edit_user", args=[target.public_id]),
        {"first_name": "Bill", "last_name": "Payer", "email": target.email, **crafted},
    )

    assert response.status_code == 302
    assert state_of(target) == before
    assert User.objects.get(pk=target.pk).first_name == "Bill"


@pytest.mark.parametrize(
    ("actor", "target", "roles"),
    [
        # A User management admin grants themselves Global admin (self: rule 3; GA: rule 2).
        ("user_admin", "user_admin", [RoleKey.GLOBAL_ADMIN, RoleKey.USER_MANAGEMENT_ADMIN]),
        # ... or grants it to someone else.
        ("user_admin", "member", [RoleKey.GLOBAL_ADMIN]),
        # An Account admin grants a directory role, or Account admin to themselves.
        ("account_admin", "member", [RoleKey.BILLING_ADMIN]),
        ("account_admin", "account_admin", [RoleKey.ACCOUNT_ADMIN, RoleKey.MPN_PARTNER_ADMIN]),
        # An MPN Partner Admin, who changes no roles, tries anyway.
        ("mpn_admin", "member", [RoleKey.INCENTIVES_ADMIN]),
        # A Global admin changes their own roles (rule 3 binds them too).
        ("global_admin", "global_admin", []),
        # A User management admin strips a Global admin (rule 2).
        ("user_admin", "global_admin", []),
    ],
)
def test_crafted_role_changes_are_refused_and_change_nothing(client, csp, actor, target, roles):
    acting, targeted = getattr(csp, actor), getattr(csp, target)
    before = state_of(targeted)
    client.force_login(acting)

    response = client.post(
        reverse("edit_roles", args=[targeted.public_id]),
        {"directory_roles": roles, "membership_roles": roles, "roles": roles},
    )

    assert response.status_code in {200, 403}  # the form's error, or the page refused
    assert state_of(targeted) == before


def test_a_crafted_role_change_for_another_organizations_user_answers_404(client, csp, outsider):
    before = state_of(csp.member)
    client.force_login(outsider)

    response = client.post(
        reverse("edit_roles", args=[csp.member.public_id]),
        {"directory_roles": [RoleKey.GLOBAL_ADMIN]},
    )

    assert response.status_code == 404
    assert state_of(csp.member) == before


def test_support_staff_cannot_make_anyone_staff_or_superuser_in_the_admin(client, support, csp):
    target = csp.member
    before = state_of(target)
    client.force_login(support)

    client.post(
        reverse("admin:accounts_user_change", args=[target.pk]),
        {
            "first_name": target.first_name,
            "last_name": target.last_name,
            "email": target.email,
            "is_active": "on",
            "roles": list(target.role_assignments.values_list("role_id", flat=True)),
            "is_staff": "on",
            "is_superuser": "on",
            "groups": "1",
        },
    )

    assert state_of(target) == before
    support.refresh_from_db()
    assert support.is_superuser is False
