"""Rules of the rulebook that a change could once lose without any test noticing.

Each test here fails with one named mutation of roles/rules.py (`make mutate` lists them) and
passes without it: the conditions of a rule that every caller used to guard a second time, or
that only a state the services never reach would show.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from roles import rules
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from roles.rules import Action
from tests.conftest import Cast
from tests.factories import OrganizationFactory, SupportStaffFactory, UserFactory

GA = RoleKey.GLOBAL_ADMIN
UMA = RoleKey.USER_MANAGEMENT_ADMIN
AA = RoleKey.ACCOUNT_ADMIN


# Who counts as support staff: active, staff, and of no organization, all three.


def test_a_deactivated_support_staff_member_is_no_longer_support_staff(support: User):
    support.is_active = False
    support.save(update_fields=["is_active"])

    assert not rules.is_support_staff(support)
    assert not rules.can_manage_organizations(support)


def test_a_deactivated_requester_can_no_longer_have_their_request_approved(
    csp: Cast, support: User
):
    from roles.services import request_global_admin

    grant_request = request_global_admin(support, csp.member)
    approver = SupportStaffFactory()
    support.is_active = False
    support.save(update_fields=["is_active"])
    grant_request.refresh_from_db()

    decision = rules.can_approve_global_admin_grant(approver, grant_request)

    assert not decision
    assert "can no longer act" in decision.reason
    assert not rules.can_cancel_global_admin_grant(support, grant_request)


def test_a_user_of_an_organization_is_never_support_staff_even_if_marked_staff(csp: Cast):
    # The database refuses this row (partner user xor support staff); the rulebook refuses it
    # too, for an instance that was never saved or was changed in memory.
    user = User(organization=csp.organization, is_staff=True, is_active=True)

    assert not rules.is_support_staff(user)
    assert not rules.can_manage_organizations(user)


def test_a_user_of_no_organization_who_is_not_staff_is_not_support_staff(db: None):
    user = User(organization=None, is_staff=False, is_active=True)

    assert not rules.is_support_staff(user)
    assert not rules.can_manage_organizations(user)


def test_an_anonymous_visitor_holds_no_role(db: None):
    assert rules.held_roles(AnonymousUser()) == frozenset()


# What forget_held_roles forgets


def test_forgetting_held_roles_forgets_the_last_global_admin_answer_too(csp: Cast):
    organization = OrganizationFactory()
    only = UserFactory(organization=organization, roles=[GA])
    assert rules.is_last_active_global_admin(only)  # remembered on the instance

    UserFactory(organization=organization, roles=[GA])
    rules.forget_held_roles(only)

    assert not rules.is_last_active_global_admin(only)


def test_forgetting_held_roles_forgets_the_prefetched_assignments(csp: Cast):
    user = User.objects.prefetch_related("role_assignments__role").get(pk=csp.member.pk)
    assert rules.held_roles(user) == {RoleKey.REFERRALS_ADMIN}

    RoleAssignment.objects.filter(user=user).delete()  # the prefetched list is not told
    rules.forget_held_roles(user)

    assert rules.held_roles(user) == frozenset()


# A deactivated actor: every helper refuses, not only the public entry points


def test_a_deactivated_actor_may_take_no_action_whatever_their_roles(csp: Cast):
    admin = csp.global_admin
    admin.is_active = False

    assert all(not rules._may(admin, action) for action in Action)


# Rule 4 counts active Global admins: a deactivated one is never "the last"


@pytest.fixture
def without_active_global_admin(support: User) -> tuple[User, User]:
    """An organization whose only Global admin was deactivated (data from before rule 4 held,
    or an import): a state the services never make, which the rulebook still answers."""
    organization = OrganizationFactory()
    dormant = UserFactory(organization=organization, roles=[GA], is_active=False)
    member = UserFactory(organization=organization, roles=[RoleKey.REFERRALS_ADMIN])
    return dormant, member


def test_a_deactivated_global_admin_is_not_the_last_active_one(
    support: User, without_active_global_admin: tuple[User, User]
):
    dormant, _ = without_active_global_admin

    assert not rules.is_last_active_global_admin(dormant)
    assert rules.can_manage_user(support, dormant, Action.DELETE_USER)
    assert rules.can_revoke_role(support, dormant, GA)


def test_only_a_global_admin_can_be_the_last_one(
    support: User, without_active_global_admin: tuple[User, User]
):
    _, member = without_active_global_admin

    assert not rules.is_last_active_global_admin(member)
    assert rules.can_manage_user(support, member, Action.DEACTIVATE_USER)
    assert rules.can_manage_user(support, member, Action.DELETE_USER)


# Resending an invitation needs the right to add users, not only to edit this one


def test_resending_an_invitation_needs_add_user_even_where_editing_is_allowed(
    csp: Cast, monkeypatch: pytest.MonkeyPatch
):
    # DOMAIN.md's table grants editing and adding to the same roles today, so the two checks
    # agree; were editing ever granted more widely, resending would still need ADD_USER.
    monkeypatch.setitem(rules.GRANTED_TO, Action.EDIT_USER, frozenset({GA, UMA, AA}))
    invited = UserFactory(organization=csp.organization, password="!unusable")
    assert rules.can_manage_user(csp.account_admin, invited, Action.EDIT_USER)

    decision = rules.can_resend_invitation(csp.account_admin, invited)

    assert not decision
    assert decision.reason == "Only a Global admin or User management admin can add users."
    assert rules.can_resend_invitation(csp.user_admin, invited)


# Asking the wrong question is a programming error, not a silent answer


def test_an_action_on_a_user_is_not_asked_of_the_organization_and_the_other_way_round(csp: Cast):
    with pytest.raises(ValueError, match="concerns a user"):
        rules.can(csp.global_admin, Action.EDIT_USER)
    with pytest.raises(ValueError, match="is not an action on a user"):
        rules.can_manage_user(csp.global_admin, csp.member, Action.ADD_USER)


def test_an_unknown_role_is_refused_not_a_crash(csp: Cast):
    for decide in (rules.can_grant_role, rules.can_revoke_role):
        decision = decide(csp.global_admin, csp.member, "no_such_role")
        assert decision.reason == "There is no such role."


def test_rule_4_is_asked_of_the_database_once_per_instance(
    csp: Cast, django_assert_num_queries: object
):
    admin = User.objects.get(pk=csp.global_admin.pk)
    rules.held_roles(admin)
    with django_assert_num_queries(1):  # a user's page asks it for several buttons
        for _ in range(3):
            assert not rules.is_last_active_global_admin(admin)


# Rule 12 as the forms and the importer see it


def test_support_staffs_global_admin_is_offered_as_a_request_not_a_grant(csp: Cast):
    support = SupportStaffFactory()

    grantable = rules.grantable_roles(support, User(organization=csp.organization))

    assert not grantable[RoleKey.GLOBAL_ADMIN]
    assert grantable[RoleKey.GLOBAL_ADMIN].reason == rules.SECOND_APPROVAL_NEEDED
    assert grantable[RoleKey.BILLING_ADMIN]


@pytest.mark.django_db
def test_nobody_asks_for_global_admin_for_support_staff():
    # The grant's own rules bind a request: support staff accounts are not managed here.
    decision = rules.can_request_global_admin(SupportStaffFactory(), SupportStaffFactory())

    assert not decision
    assert decision.reason == "Support staff accounts are not managed here."


def test_a_deactivated_global_admin_reads_no_audit_event(csp: Cast):
    from accounts.models import AuditEvent
    from accounts.services import deactivate_user

    deactivate_user(csp.global_admin, csp.member)
    gone = csp.second_global_admin
    User.objects.filter(pk=gone.pk).update(is_active=False)
    gone.refresh_from_db()

    assert rules.audit_actions_visible_to(gone) == frozenset()
    assert not AuditEvent.objects.visible_to(gone).exists()
