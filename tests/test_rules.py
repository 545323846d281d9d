"""The rulebook (roles.rules) against DOMAIN.md, as a specification.

The expected answers are DOMAIN.md's tables copied here as data: the roles, "Who may do what",
and what each role unlocks. They are never read from roles.rules, so that changing one rule in
the rulebook makes a test here fail. Where the rulebook documents a decision DOMAIN.md leaves
open (support staff, nobody deactivates themselves), that decision is written here as data too.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import PartnerOrganization, ProgramType, User
from roles import rules
from roles.catalogue import CATALOGUE, RoleKey
from roles.models import GlobalAdminGrantRequest, Role
from roles.rules import Action, Decision, Workspace
from tests.conftest import Cast
from tests.factories import OrganizationFactory, SupportStaffFactory, UserFactory

pytestmark = pytest.mark.django_db

GA = RoleKey.GLOBAL_ADMIN
UMA = RoleKey.USER_MANAGEMENT_ADMIN
AA = RoleKey.ACCOUNT_ADMIN
MPN = RoleKey.MPN_PARTNER_ADMIN
BILLING = RoleKey.BILLING_ADMIN
ADMIN_AGENT = RoleKey.ADMIN_AGENT
SALES_AGENT = RoleKey.SALES_AGENT
HELPDESK = RoleKey.HELPDESK_AGENT
REFERRALS = RoleKey.REFERRALS_ADMIN
INCENTIVES = RoleKey.INCENTIVES_ADMIN
BUSINESS_PROFILE = RoleKey.BUSINESS_PROFILE_ADMIN
REPORT_VIEWER = RoleKey.EXECUTIVE_REPORT_VIEWER

NO_ROLE = None  # an actor who holds no role at all

EDIT = Action.EDIT_USER
DEACTIVATE = Action.DEACTIVATE_USER
REACTIVATE = Action.REACTIVATE_USER
DELETE = Action.DELETE_USER
RESET_PASSWORD = Action.RESET_PASSWORD
RESET_SECOND_FACTOR = Action.RESET_SECOND_FACTOR

Y, N = True, False


# DOMAIN.md, "Roles": role -> (group, CSP only).

DIRECTORY, MEMBERSHIP = "directory", "membership"

ROLES: dict[str, tuple[str, bool]] = {
    GA: (DIRECTORY, N),
    UMA: (DIRECTORY, Y),
    AA: (MEMBERSHIP, N),
    MPN: (MEMBERSHIP, N),
    BILLING: (DIRECTORY, Y),
    ADMIN_AGENT: (DIRECTORY, Y),
    SALES_AGENT: (DIRECTORY, Y),
    HELPDESK: (DIRECTORY, Y),
    REFERRALS: (MEMBERSHIP, N),
    INCENTIVES: (MEMBERSHIP, N),
    BUSINESS_PROFILE: (MEMBERSHIP, N),
    REPORT_VIEWER: (MEMBERSHIP, N),
}


def is_csp_only(role: str) -> bool:
    return ROLES[role][1]


# DOMAIN.md, "Who may do what". Columns: Global admin, User management admin, Account admin,
# MPN Partner Admin, any other role. "yes, except Global admins", "yes, read only" and "yes,
# user-management events" are yes here; rule 2 has tests of its own below.

COLUMNS = (GA, UMA, AA, MPN)

WHO_MAY_DO_WHAT: dict[Action, tuple[bool, bool, bool, bool, bool]] = {
    Action.SEE_DIRECTORY: (Y, Y, Y, Y, N),
    Action.SEARCH_DIRECTORY: (Y, Y, Y, Y, N),
    Action.ADD_USER: (Y, Y, N, N, N),
    Action.EDIT_USER: (Y, Y, N, N, N),
    Action.DEACTIVATE_USER: (Y, Y, N, N, N),
    Action.REACTIVATE_USER: (Y, Y, N, N, N),
    Action.DELETE_USER: (Y, Y, N, N, N),
    Action.RESET_PASSWORD: (Y, N, N, N, N),
    Action.RESET_SECOND_FACTOR: (Y, N, N, N, N),  # rule 10
    Action.MANAGE_GLOBAL_ADMIN: (Y, N, N, N, N),
    Action.MANAGE_DIRECTORY_ROLES: (Y, Y, N, N, N),
    Action.MANAGE_MEMBERSHIP_ROLES: (Y, Y, Y, N, N),
    Action.USE_MEMBERSHIP_WORKSPACE: (Y, N, N, Y, N),
    Action.PURCHASE_MAPS: (Y, N, N, Y, N),
    Action.SEE_AUDIT_LOG: (Y, Y, N, N, N),
    Action.MANAGE_API_CLIENTS: (Y, N, N, N, N),
}

ORGANIZATION_ACTIONS = [
    Action.SEE_DIRECTORY,
    Action.SEARCH_DIRECTORY,
    Action.ADD_USER,
    Action.USE_MEMBERSHIP_WORKSPACE,
    Action.PURCHASE_MAPS,
    Action.SEE_AUDIT_LOG,
    Action.MANAGE_API_CLIENTS,
]
USER_ACTIONS = [EDIT, DEACTIVATE, REACTIVATE, DELETE, RESET_PASSWORD, RESET_SECOND_FACTOR]


def counts_as(role: str | None, *, csp: bool) -> str | None:
    """Rule 5: in a non-CSP organization a CSP-only role counts for nothing."""
    if role is not None and is_csp_only(role) and not csp:
        return NO_ROLE
    return role


def table_says(role: str | None, action: Action, *, csp: bool) -> bool:
    """The table's answer for someone holding only `role` (NO_ROLE: none)."""
    role = counts_as(role, csp=csp)
    column = COLUMNS.index(role) if role in COLUMNS else len(COLUMNS)
    return WHO_MAY_DO_WHAT[action][column]


def governing_action(role: str) -> Action:
    """Which row of the table says who may grant or revoke the role."""
    if role == GA:
        return Action.MANAGE_GLOBAL_ADMIN
    if ROLES[role][0] == DIRECTORY:
        return Action.MANAGE_DIRECTORY_ROLES
    return Action.MANAGE_MEMBERSHIP_ROLES


def table_lets_grant(actor_role: str | None, role: str, *, csp: bool) -> bool:
    # Rule 5: a CSP-only role is never granted in a non-CSP organization, whoever asks.
    return table_says(actor_role, governing_action(role), csp=csp) and (
        csp or not is_csp_only(role)
    )


def table_lets_revoke(actor_role: str | None, role: str, *, csp: bool) -> bool:
    # A CSP-only role left over in a non-CSP organization may still be taken away.
    return table_says(actor_role, governing_action(role), csp=csp)


# The decisions of roles/rules.py's docstring: what support staff (is_staff, no organization)
# may do in any organization. Everything else of the table they may not.

SUPPORT_MAY: dict[Action, bool] = {
    Action.SEE_DIRECTORY: Y,
    Action.SEARCH_DIRECTORY: Y,
    Action.ADD_USER: Y,
    Action.EDIT_USER: Y,
    Action.DEACTIVATE_USER: Y,
    Action.REACTIVATE_USER: Y,
    Action.DELETE_USER: Y,
    Action.RESET_PASSWORD: N,  # rule 6 keeps it to Global admins
    Action.RESET_SECOND_FACTOR: N,  # rule 10 too
    Action.MANAGE_GLOBAL_ADMIN: Y,
    Action.MANAGE_DIRECTORY_ROLES: Y,
    Action.MANAGE_MEMBERSHIP_ROLES: Y,
    Action.USE_MEMBERSHIP_WORKSPACE: N,  # the partner's own business
    Action.PURCHASE_MAPS: N,
    Action.SEE_AUDIT_LOG: Y,
    # Rule 13: clients are the organization's own; support staff only revoke them (in the
    # support admin: can_revoke_api_client).
    Action.MANAGE_API_CLIENTS: N,
}


# DOMAIN.md, "Roles", column "what it unlocks": the workspaces each role shows on the dashboard.
# The user-management workspace is the directory, which the four admin roles of the table see.

EVERY_WORKSPACE = {
    Workspace.USER_MANAGEMENT,
    Workspace.ACCOUNT_SETTINGS,
    Workspace.MEMBERSHIP,
    Workspace.BILLING,
    Workspace.CUSTOMERS,
    Workspace.LEADS,
    Workspace.SUPPORT_REQUESTS,
    Workspace.REFERRALS,
    Workspace.INCENTIVES,
    Workspace.BUSINESS_PROFILE,
    Workspace.ANALYTICS,
}
CSP_WORKSPACES = {
    Workspace.BILLING,
    Workspace.CUSTOMERS,
    Workspace.LEADS,
    Workspace.SUPPORT_REQUESTS,
}
UNLOCKS: dict[str | None, set[Workspace]] = {
    GA: EVERY_WORKSPACE,
    UMA: {Workspace.USER_MANAGEMENT},
    AA: {Workspace.USER_MANAGEMENT, Workspace.ACCOUNT_SETTINGS},
    MPN: {Workspace.USER_MANAGEMENT, Workspace.MEMBERSHIP},
    BILLING: {Workspace.BILLING},
    ADMIN_AGENT: {Workspace.CUSTOMERS},
    SALES_AGENT: {Workspace.CUSTOMERS, Workspace.LEADS},
    HELPDESK: {Workspace.SUPPORT_REQUESTS},
    REFERRALS: {Workspace.REFERRALS},
    INCENTIVES: {Workspace.INCENTIVES},
    BUSINESS_PROFILE: {Workspace.BUSINESS_PROFILE},
    REPORT_VIEWER: {Workspace.ANALYTICS},
    NO_ROLE: set(),
}


def workspaces_expected(role: str | None, *, csp: bool) -> set[Workspace]:
    unlocked = UNLOCKS[counts_as(role, csp=csp)]
    return set(unlocked) if csp else unlocked - CSP_WORKSPACES


# Parameters

EVERY_ROLE = list(ROLES)
EVERY_ACTOR = [*ROLES, NO_ROLE]


def role_id(role: str | None) -> str:
    return "no_role" if role is None else str(role)


@pytest.fixture(params=[True, False], ids=["csp", "non_csp"])
def in_csp(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.fixture
def organization(in_csp: bool) -> PartnerOrganization:
    """A CSP, then a non-CSP organization, empty: the table tests bring the one or two people
    each needs, which keeps a thousand of them fast."""
    return organization_of_kind(in_csp)


@pytest.fixture
def cast(request: pytest.FixtureRequest, in_csp: bool) -> Cast:
    """The fixed cast of a CSP organization, then of a non-CSP one."""
    return request.getfixturevalue("csp" if in_csp else "non_csp")


# Helpers


def organization_of_kind(in_csp: bool) -> PartnerOrganization:
    return OrganizationFactory(
        program_type=ProgramType.CSP_DIRECT if in_csp else ProgramType.NON_CSP
    )


def holder(organization: PartnerOrganization, *roles: str | None, active: bool = True) -> User:
    """A new user of the organization holding exactly these roles (NO_ROLE: none)."""
    keys = [role for role in roles if role is not None]
    return UserFactory(organization=organization, roles=keys, is_active=active)


def assert_refusal_explained(decision: Decision) -> None:
    reason = decision.reason
    assert reason.strip(), "a refusal must say why"
    assert reason[0].isupper(), f"not a sentence: {reason!r}"
    assert reason.endswith("."), f"not a sentence: {reason!r}"
    assert len(reason.split()) >= 3, f"not a sentence: {reason!r}"


def assert_decision(decision: Decision, expected: bool) -> None:
    assert isinstance(decision, Decision)
    assert bool(decision) is expected, decision.reason or "allowed"
    if not expected:
        assert_refusal_explained(decision)


def ask(actor: User | AnonymousUser, target: User, kind: str, what: str) -> Decision:
    """One question about a target: kind is "manage" (what: an action), "grant" or "revoke"."""
    if kind == "manage":
        return rules.can_manage_user(actor, target, Action(what))
    if kind == "grant":
        return rules.can_grant_role(actor, target, what)
    return rules.can_revoke_role(actor, target, what)


def every_question(
    actor: User | AnonymousUser, cast: Cast, *, own_organization: bool = True
) -> dict[str, Decision]:
    """Every question the rulebook answers about the cast's organization and its users.

    `own_organization`: the cast is the actor's own, so `can` without an organization asks
    about it too.
    """
    organization = cast.organization
    organization_actions = [action for action in Action if action not in USER_ACTIONS]
    answers = {
        f"can {action}": rules.can(actor, action, organization) for action in organization_actions
    }
    if own_organization:
        answers.update(
            {
                f"can {action} (own organization)": rules.can(actor, action)
                for action in organization_actions
            }
        )
    deactivated = holder(organization, REFERRALS, active=False)
    for name in ("global_admin", "user_admin", "account_admin", "member"):
        target = getattr(cast, name)
        for action in USER_ACTIONS:
            on = deactivated if action == REACTIVATE else target
            answers[f"{action} {name}"] = rules.can_manage_user(actor, on, action)
        for role in ROLES:
            answers[f"grant {role} to {name}"] = rules.can_grant_role(actor, target, role)
            answers[f"revoke {role} from {name}"] = rules.can_revoke_role(actor, target, role)
    for role in ROLES:
        answers[f"grant {role} to a new user"] = rules.can_grant_role(
            actor, User(organization=organization), role
        )
    return answers


def assert_all_refused(answers: dict[str, Decision]) -> None:
    allowed = [question for question, decision in answers.items() if decision]
    assert not allowed, f"allowed: {allowed}"
    for decision in answers.values():
        assert_refusal_explained(decision)


# The data above is DOMAIN.md's


def test_the_catalogue_holds_the_roles_of_domain_md():
    assert {spec.key: (spec.group, spec.csp_only) for spec in CATALOGUE} == ROLES


def test_every_action_of_the_rulebook_is_in_the_table():
    # A new action must be added to WHO_MAY_DO_WHAT, with DOMAIN.md's answer, to be tested.
    assert set(Action) == set(WHO_MAY_DO_WHAT)
    assert set(ORGANIZATION_ACTIONS) | set(USER_ACTIONS) <= set(Action)


def test_every_workspace_of_the_rulebook_is_in_the_unlocks_table():
    assert set(Workspace) == EVERY_WORKSPACE


@pytest.mark.parametrize("action", list(WHO_MAY_DO_WHAT), ids=str)
def test_roles_allowed_to_names_the_roles_of_the_table(action):
    expected = [role for role, yes in zip(COLUMNS, WHO_MAY_DO_WHAT[action], strict=False) if yes]

    assert rules.roles_allowed_to(action) == expected


# 1. Organization-wide actions: every role x every action, CSP and non-CSP


@pytest.mark.parametrize("action", ORGANIZATION_ACTIONS, ids=str)
@pytest.mark.parametrize("role", EVERY_ACTOR, ids=role_id)
def test_organization_wide_actions_follow_the_table(organization, in_csp, role, action):
    actor = holder(organization, role)
    expected = table_says(role, action, csp=in_csp)

    assert_decision(rules.can(actor, action, organization), expected)
    assert_decision(rules.can(actor, action), expected)


@pytest.mark.parametrize(
    ("program_type", "is_csp"),
    [
        (ProgramType.CSP_DIRECT, Y),
        (ProgramType.CSP_INDIRECT_PROVIDER, Y),
        (ProgramType.CSP_INDIRECT_RESELLER, Y),
        (ProgramType.NON_CSP, N),
    ],
    ids=str,
)
def test_only_a_csp_program_has_user_management_admins(program_type, is_csp):
    """Rule 5: "CSP" is any of the three CSP programs; elsewhere only Global admins add users."""
    organization = OrganizationFactory(program_type=program_type)
    user_admin = holder(organization, UMA)
    global_admin = holder(organization, GA)

    assert_decision(rules.can(user_admin, Action.ADD_USER, organization), is_csp)
    assert_decision(rules.can(global_admin, Action.ADD_USER, organization), Y)
    assert_decision(
        rules.can_grant_role(global_admin, User(organization=organization), UMA), is_csp
    )


# 2. Actions on another user of the organization: every role x every action


@pytest.mark.parametrize("action", USER_ACTIONS, ids=str)
@pytest.mark.parametrize("role", EVERY_ACTOR, ids=role_id)
def test_actions_on_an_ordinary_user_follow_the_table(organization, in_csp, role, action):
    actor = holder(organization, role)
    target = holder(organization, REFERRALS, active=action != REACTIVATE)

    decision = rules.can_manage_user(actor, target, action)

    assert_decision(decision, table_says(role, action, csp=in_csp))


@pytest.mark.parametrize("action", USER_ACTIONS, ids=str)
@pytest.mark.parametrize("role", EVERY_ACTOR, ids=role_id)
def test_actions_on_a_global_admin_are_for_global_admins_only(organization, in_csp, role, action):
    """Rule 2: the table's "yes, except Global admins". A Global admin acting is a second active
    Global admin, so rule 4 does not stand in the way."""
    actor = holder(organization, role)
    target = holder(organization, GA, active=action != REACTIVATE)

    decision = rules.can_manage_user(actor, target, action)

    assert_decision(decision, table_says(role, action, csp=in_csp) and role == GA)


# 3. Granting and revoking roles: every actor role x every role


@pytest.mark.parametrize("new_user", [False, True], ids=["existing_user", "new_user"])
@pytest.mark.parametrize("role", EVERY_ROLE, ids=role_id)
@pytest.mark.parametrize("actor_role", EVERY_ACTOR, ids=role_id)
def test_granting_a_role_follows_the_table(organization, in_csp, actor_role, role, new_user):
    actor = holder(organization, actor_role)
    # A new user is not saved yet: the add-user flow asks before it creates anyone.
    target = User(organization=organization) if new_user else holder(organization)

    decision = rules.can_grant_role(actor, target, role)

    assert_decision(decision, table_lets_grant(actor_role, role, csp=in_csp))


@pytest.mark.parametrize("role", EVERY_ROLE, ids=role_id)
@pytest.mark.parametrize("actor_role", EVERY_ACTOR, ids=role_id)
def test_revoking_a_role_follows_the_table(organization, in_csp, actor_role, role):
    actor = holder(organization, actor_role)
    target = holder(organization, role)

    decision = rules.can_revoke_role(actor, target, role)

    assert_decision(decision, table_lets_revoke(actor_role, role, csp=in_csp))


# 4. The numbered rules


# Rule 1: deny by default


def test_an_anonymous_visitor_is_refused_everything(csp):
    assert_all_refused(every_question(AnonymousUser(), csp))
    assert rules.workspaces_for(AnonymousUser()) == []


@pytest.mark.parametrize("role", [GA, UMA, AA, MPN], ids=role_id)
def test_a_deactivated_user_is_refused_everything_their_roles_gave(cast, role):
    actor = holder(cast.organization, role, active=False)

    assert_all_refused(every_question(actor, cast))
    assert rules.workspaces_for(actor) == []


def test_a_user_with_no_role_is_refused_everything(cast):
    actor = holder(cast.organization)

    assert_all_refused(every_question(actor, cast))
    assert rules.workspaces_for(actor) == []


@pytest.mark.parametrize("key", ["owner", "GLOBAL_ADMIN", "Global admin", ""])
def test_a_role_the_catalogue_does_not_know_is_neither_granted_nor_revoked(cast, key):
    target = holder(cast.organization)

    assert_decision(rules.can_grant_role(cast.global_admin, target, key), N)
    assert_decision(
        rules.can_grant_role(cast.global_admin, User(organization=target.organization), key), N
    )
    assert_decision(rules.can_revoke_role(cast.global_admin, target, key), N)
    assert rules.workspaces_for_roles([key], cast.organization) == []


def test_holding_a_role_the_catalogue_does_not_know_unlocks_nothing(cast):
    unknown = Role.objects.create(
        key="owner",
        name="Owner",
        description="Not in DOMAIN.md.",
        group=DIRECTORY,
        csp_only=False,
        unlocks="Everything, it claims.",
        position=99,
    )
    actor = holder(cast.organization)
    actor.role_assignments.create(role=unknown)
    actor = User.objects.get(pk=actor.pk)

    assert_all_refused(every_question(actor, cast))
    assert rules.workspaces_for(actor) == []


# Rule 2: nobody below Global admin changes anything about a Global admin

GLOBAL_ADMIN_HOLDS = (GA, REFERRALS, BILLING)
CHANGES_TO_A_USER = [
    *[("manage", action) for action in USER_ACTIONS],
    *[("grant", role) for role in ROLES if role not in GLOBAL_ADMIN_HOLDS],
    *[("revoke", role) for role in GLOBAL_ADMIN_HOLDS],
]


def change_id(change: tuple[str, str]) -> str:
    return f"{change[0]}-{change[1]}"


@pytest.mark.parametrize("change", CHANGES_TO_A_USER, ids=change_id)
@pytest.mark.parametrize(
    ("actor_roles", "allowed"),
    [((GA,), Y), ((UMA,), N), ((UMA, AA), N), ((AA,), N), ((MPN,), N)],
    ids=[
        "global_admin",
        "user_management_admin",
        "user_management_and_account_admin",
        "account_admin",
        "mpn_partner_admin",
    ],
)
def test_only_a_global_admin_changes_anything_about_a_global_admin(
    csp, actor_roles, allowed, change
):
    kind, what = change
    actor = holder(csp.organization, *actor_roles)
    target = holder(csp.organization, *GLOBAL_ADMIN_HOLDS, active=what != REACTIVATE)

    assert_decision(ask(actor, target, kind, what), allowed)


CHANGES_BELOW_GLOBAL_ADMIN = [
    change
    for change in CHANGES_TO_A_USER
    if change[1] not in {GA, RESET_PASSWORD, RESET_SECOND_FACTOR}
]


@pytest.mark.parametrize("change", CHANGES_BELOW_GLOBAL_ADMIN, ids=change_id)
def test_a_user_management_admin_may_make_the_same_changes_to_anyone_else(csp, change):
    # The contrast to rule 2: what is refused above is refused because the target is a Global
    # admin (password resets and Global admin itself stay with Global admins for everyone).
    kind, what = change
    actor = holder(csp.organization, UMA)
    target = holder(csp.organization, *GLOBAL_ADMIN_HOLDS[1:], active=what != REACTIVATE)

    assert_decision(ask(actor, target, kind, what), Y)


# Rule 3: nobody changes their own role assignments, even a Global admin


@pytest.mark.parametrize("role", EVERY_ROLE, ids=role_id)
@pytest.mark.parametrize("actor_role", [GA, UMA, AA], ids=role_id)
def test_nobody_grants_or_revokes_their_own_roles(csp, actor_role, role):
    actor = holder(csp.organization, actor_role)
    holding_both = holder(csp.organization, actor_role, role)

    # The target is loaded on its own, as a view would: the same person, another object.
    assert_decision(rules.can_grant_role(actor, User.objects.get(pk=actor.pk), role), N)
    assert_decision(
        rules.can_revoke_role(holding_both, User.objects.get(pk=holding_both.pk), role), N
    )


def test_a_global_admin_may_change_the_roles_of_another_global_admin(csp):
    # The contrast to rule 3: the cast's two Global admins may change each other's roles.
    assert_decision(rules.can_grant_role(csp.global_admin, csp.second_global_admin, AA), Y)
    assert_decision(rules.can_revoke_role(csp.global_admin, csp.second_global_admin, GA), Y)


# Rule 4: an organization always keeps at least one active Global admin

LOSING_GLOBAL_ADMIN = [("manage", DEACTIVATE), ("manage", DELETE), ("revoke", GA)]
KEEPING_GLOBAL_ADMIN = [
    ("manage", EDIT),
    ("grant", AA),
    ("revoke", REFERRALS),
]


@pytest.mark.parametrize("change", LOSING_GLOBAL_ADMIN, ids=change_id)
def test_the_last_active_global_admin_cannot_go(in_csp, support, outsider, change):
    # Only support staff rank as Global admin without being one; a Global admin of another
    # organization (the outsider) does not count.
    organization = organization_of_kind(in_csp)
    last = holder(organization, GA, REFERRALS)
    holder(organization, UMA, AA)

    assert_decision(ask(support, last, *change), N)
    assert_decision(ask(last, User.objects.get(pk=last.pk), *change), N)


@pytest.mark.parametrize("change", KEEPING_GLOBAL_ADMIN, ids=change_id)
def test_the_last_active_global_admin_may_still_be_changed_otherwise(in_csp, support, change):
    organization = organization_of_kind(in_csp)
    last = holder(organization, GA, REFERRALS)

    assert_decision(ask(support, last, *change), Y)


@pytest.mark.parametrize("change", LOSING_GLOBAL_ADMIN, ids=change_id)
def test_with_a_second_active_global_admin_either_may_go(cast, support, change):
    assert_decision(ask(cast.global_admin, cast.second_global_admin, *change), Y)
    assert_decision(ask(cast.second_global_admin, cast.global_admin, *change), Y)
    assert_decision(ask(support, cast.global_admin, *change), Y)


@pytest.mark.parametrize("change", LOSING_GLOBAL_ADMIN, ids=change_id)
def test_a_deactivated_second_global_admin_does_not_count(cast, support, change):
    User.objects.filter(pk=cast.second_global_admin.pk).update(is_active=False)
    last = User.objects.get(pk=cast.global_admin.pk)

    assert_decision(ask(support, last, *change), N)


def test_a_deactivated_global_admin_may_be_deleted_or_reactivated_by_the_active_one(cast):
    User.objects.filter(pk=cast.second_global_admin.pk).update(is_active=False)
    deactivated = User.objects.get(pk=cast.second_global_admin.pk)

    assert_decision(rules.can_manage_user(cast.global_admin, deactivated, DELETE), Y)
    assert_decision(rules.can_manage_user(cast.global_admin, deactivated, REACTIVATE), Y)
    assert_decision(rules.can_revoke_role(cast.global_admin, deactivated, GA), Y)


# Rule 5: CSP-only roles


def test_csp_only_roles_left_in_a_non_csp_organization_count_for_nothing(non_csp):
    # Say the organization left the CSP program: the roles stay in the database, unlocking
    # nothing, and a Global admin may clear them away but not grant them again.
    leftover = holder(non_csp.organization, UMA, BILLING, SALES_AGENT, AA)

    assert_decision(rules.can(leftover, Action.ADD_USER), N)
    assert_decision(rules.can(leftover, Action.SEE_AUDIT_LOG), N)
    assert_decision(rules.can(leftover, Action.SEE_DIRECTORY), Y)  # as Account admin
    assert_decision(rules.can_manage_user(leftover, non_csp.member, EDIT), N)
    assert_decision(rules.can_grant_role(leftover, non_csp.member, HELPDESK), N)
    assert set(rules.workspaces_for(leftover)) == {
        Workspace.USER_MANAGEMENT,
        Workspace.ACCOUNT_SETTINGS,
    }
    for role in (UMA, BILLING, SALES_AGENT):
        assert_decision(rules.can_revoke_role(non_csp.global_admin, leftover, role), Y)
        assert_decision(rules.can_grant_role(non_csp.global_admin, non_csp.member, role), N)


def test_when_an_organization_leaves_csp_its_user_management_admins_stop_managing(csp):
    assert_decision(rules.can(csp.user_admin, Action.ADD_USER), Y)

    PartnerOrganization.objects.filter(pk=csp.organization.pk).update(
        program_type=ProgramType.NON_CSP
    )
    user_admin = User.objects.get(pk=csp.user_admin.pk)
    global_admin = User.objects.get(pk=csp.global_admin.pk)

    assert_decision(rules.can(user_admin, Action.ADD_USER), N)
    assert_decision(rules.can_manage_user(user_admin, csp.member, EDIT), N)
    assert rules.workspaces_for(user_admin) == []
    assert_decision(
        rules.can_grant_role(global_admin, User(organization=global_admin.organization), UMA), N
    )
    assert_decision(rules.can_revoke_role(global_admin, user_admin, UMA), Y)


# Rule 6: passwords. The decision of roles/rules.py: nobody resets their own with the admin
# action (they change it from their profile), and support staff reset none.

RESET_CASES = [
    ("global_admin", "member", Y),
    ("global_admin", "account_admin", Y),
    ("global_admin", "user_admin", Y),
    ("global_admin", "second_global_admin", Y),
    ("second_global_admin", "global_admin", Y),
    ("global_admin", "global_admin", N),
    ("user_admin", "member", N),
    ("user_admin", "global_admin", N),
    ("user_admin", "user_admin", N),
    ("account_admin", "member", N),
    ("mpn_admin", "member", N),
    ("billing_admin", "member", N),
    ("member", "member", N),
    ("support", "member", N),
    ("support", "global_admin", N),
]


def person(cast: Cast, support: User, name: str) -> User:
    # Loaded afresh, so that "themselves" is the same person, not the same Python object.
    user = support if name == "support" else getattr(cast, name)
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize(("actor", "target", "allowed"), RESET_CASES, ids=lambda value: str(value))
def test_only_a_global_admin_resets_another_users_password(cast, support, actor, target, allowed):
    decision = rules.can_manage_user(
        person(cast, support, actor), person(cast, support, target), RESET_PASSWORD
    )

    assert_decision(decision, allowed)


# Rule 10: a second factor is reset exactly as a password is (the same cases).
@pytest.mark.parametrize(("actor", "target", "allowed"), RESET_CASES, ids=lambda value: str(value))
def test_only_a_global_admin_resets_another_users_second_factor(
    cast, support, actor, target, allowed
):
    decision = rules.can_manage_user(
        person(cast, support, actor), person(cast, support, target), RESET_SECOND_FACTOR
    )

    assert_decision(decision, allowed)


# A decision of roles/rules.py: resending an invitation is for those who may add users and may
# edit the user (so below Global admin, not to a Global admin), while the user has no password
# yet and is active.

RESEND_INVITATION_CASES = [
    ("global_admin", NO_ROLE, Y),
    ("global_admin", REFERRALS, Y),
    ("global_admin", GA, Y),
    ("user_admin", REFERRALS, Y),
    ("user_admin", UMA, Y),
    ("user_admin", GA, N),
    ("account_admin", REFERRALS, N),
    ("mpn_admin", REFERRALS, N),
    ("billing_admin", REFERRALS, N),
    ("member", REFERRALS, N),
    ("support", REFERRALS, Y),
    ("support", GA, Y),
]


def invited(organization: PartnerOrganization, role: str | None, **fields: object) -> User:
    """A user added with an invitation who has not set a password yet (an unusable password)."""
    keys = [role] if role is not None else []
    return UserFactory(organization=organization, roles=keys, **{"password": "!invited", **fields})


@pytest.mark.parametrize(
    ("actor", "target_role", "allowed"), RESEND_INVITATION_CASES, ids=lambda value: str(value)
)
def test_who_may_resend_an_invitation(csp, support, actor, target_role, allowed):
    target = invited(csp.organization, target_role)

    decision = rules.can_resend_invitation(person(csp, support, actor), target)

    assert_decision(decision, allowed)


def test_a_user_management_admin_of_a_non_csp_organization_resends_nothing(non_csp):
    # The role does not exist there (rule 5): the holder below holds nothing that counts.
    leftover = holder(non_csp.organization, UMA)

    assert_decision(rules.can_resend_invitation(leftover, invited(non_csp.organization, None)), N)


@pytest.mark.parametrize(
    ("state", "fields"),
    [("has set a password", {"password": "pbkdf2$set"}), ("is deactivated", {"is_active": False})],
)
def test_no_invitation_is_resent_to_a_user_who_cannot_accept_it(cast, state, fields):
    target = invited(cast.organization, REFERRALS, **fields)

    assert_decision(rules.can_resend_invitation(cast.global_admin, target), N)


def test_nobody_resends_an_invitation_to_another_organization(cast, outsider):
    assert_decision(rules.can_resend_invitation(outsider, invited(cast.organization, None)), N)


def test_an_anonymous_visitor_resends_no_invitation(csp):
    target = invited(csp.organization, None)

    assert_decision(rules.can_resend_invitation(AnonymousUser(), target), N)


# 5. A decision of roles/rules.py: nobody deactivates, deletes or resets themselves


@pytest.mark.parametrize(
    "action", [DEACTIVATE, DELETE, RESET_PASSWORD, RESET_SECOND_FACTOR], ids=str
)
@pytest.mark.parametrize("name", ["global_admin", "user_admin"])
def test_nobody_deactivates_deletes_or_resets_themselves(csp, name, action):
    # The cast has two Global admins, so rule 4 is not why the Global admin is refused.
    actor = getattr(csp, name)

    assert_decision(rules.can_manage_user(actor, User.objects.get(pk=actor.pk), action), N)


# 5. A decision of roles/rules.py, support staff: user management in every organization, but
# no passwords and no membership workspace; the rules that protect an organization bind them too


@pytest.mark.parametrize("action", ORGANIZATION_ACTIONS, ids=str)
def test_support_staff_organization_wide_actions(cast, support, action):
    assert_decision(rules.can(support, action, cast.organization), SUPPORT_MAY[action])


@pytest.mark.parametrize("action", USER_ACTIONS, ids=str)
@pytest.mark.parametrize("target_role", [REFERRALS, NO_ROLE, GA], ids=role_id)
def test_support_staff_actions_on_users(cast, support, target_role, action):
    target = holder(cast.organization, target_role, active=action != REACTIVATE)

    assert_decision(rules.can_manage_user(support, target, action), SUPPORT_MAY[action])


@pytest.mark.parametrize("role", EVERY_ROLE, ids=role_id)
def test_support_staff_grant_and_revoke_roles_but_not_csp_roles_outside_csp(
    cast, in_csp, support, role
):
    may_change = SUPPORT_MAY[governing_action(role)]
    may_grant = may_change and (in_csp or not is_csp_only(role))

    assert_decision(rules.can_grant_role(support, holder(cast.organization), role), may_grant)
    assert_decision(
        rules.can_grant_role(support, User(organization=cast.organization), role), may_grant
    )
    assert_decision(
        rules.can_revoke_role(support, holder(cast.organization, role), role), may_change
    )


def test_deactivated_support_staff_are_refused_everything(csp, support):
    User.objects.filter(pk=support.pk).update(is_active=False)

    assert_all_refused(every_question(User.objects.get(pk=support.pk), csp))


# DOMAIN.md rule 12: a Global admin grant made by support staff takes effect only when a second
# support staff member approves it. Decisions of roles/rules.py: never the one who asked decides
# (they may withdraw it); only while the request waits; an approval asks the grant's rules again.

# (who decides, the request's status, may they approve or reject?)
DECIDE_CASES = [
    ("another support staff member", "pending", Y),
    ("the support staff member who asked", "pending", N),
    ("a deactivated support staff member", "pending", N),
    ("a superuser of the support team", "pending", Y),
    ("the organization's Global admin", "pending", N),
    ("the user it is for", "pending", N),
    ("anonymous", "pending", N),
    ("another support staff member", "approved", N),
    ("another support staff member", "rejected", N),
    ("another support staff member", "cancelled", N),
]

# (who withdraws, the request's status, may they?)
CANCEL_CASES = [
    ("the support staff member who asked", "pending", Y),
    ("another support staff member", "pending", N),
    ("the organization's Global admin", "pending", N),
    ("anonymous", "pending", N),
    ("the support staff member who asked", "approved", N),
    ("the support staff member who asked", "rejected", N),
]


def grant_request_for(
    cast: Cast, requester: User, status: str = "pending"
) -> GlobalAdminGrantRequest:
    return GlobalAdminGrantRequest.objects.create(
        organization=cast.organization,
        user=cast.member,
        user_label=str(cast.member),
        user_email=cast.member.email,
        requested_by=requester,
        status=status,
    )


def decider(cast: Cast, requester: User, name: str) -> User | AnonymousUser:
    return {
        "another support staff member": lambda: SupportStaffFactory(),
        "the support staff member who asked": lambda: User.objects.get(pk=requester.pk),
        "a deactivated support staff member": lambda: SupportStaffFactory(is_active=False),
        "a superuser of the support team": lambda: SupportStaffFactory(is_superuser=True),
        "the organization's Global admin": lambda: cast.global_admin,
        "the user it is for": lambda: cast.member,
        "anonymous": AnonymousUser,
    }[name]()


@pytest.mark.parametrize(("who", "status", "allowed"), DECIDE_CASES, ids=str)
def test_a_second_support_staff_member_decides_a_global_admin_request(
    cast, support, who, status, allowed
):
    grant_request = grant_request_for(cast, support, status)
    actor = decider(cast, support, who)

    assert_decision(rules.can_decide_global_admin_grant(actor, grant_request), allowed)
    assert_decision(rules.can_approve_global_admin_grant(actor, grant_request), allowed)


@pytest.mark.parametrize(("who", "status", "allowed"), CANCEL_CASES, ids=str)
def test_only_the_one_who_asked_withdraws_a_global_admin_request(
    cast, support, who, status, allowed
):
    grant_request = grant_request_for(cast, support, status)

    decision = rules.can_cancel_global_admin_grant(decider(cast, support, who), grant_request)

    assert_decision(decision, allowed)


@pytest.mark.parametrize(
    "change",
    [
        "the user was deactivated",
        "the user was deleted",
        "the user holds Global admin already",
        "the one who asked was deactivated",
    ],
)
def test_an_approval_is_refused_when_things_changed_since_the_request(cast, support, change):
    grant_request = grant_request_for(cast, support)
    if change == "the user was deactivated":
        User.objects.filter(pk=cast.member.pk).update(is_active=False)
    elif change == "the user was deleted":
        cast.member.delete()
    elif change == "the user holds Global admin already":
        Role.objects.get(key=GA).assignments.create(user=cast.member)
    else:
        User.objects.filter(pk=support.pk).update(is_active=False)
    grant_request.refresh_from_db()
    approver = decider(cast, support, "another support staff member")

    assert_decision(rules.can_approve_global_admin_grant(approver, grant_request), N)
    # Rejecting is still possible: the request must not wait forever.
    assert_decision(rules.can_decide_global_admin_grant(approver, grant_request), Y)


# Who grants Global admin at once, who asks for it, and who may ask
GRANT_AT_ONCE_CASES = [
    ("global_admin", GA, Y),
    ("global_admin", REFERRALS, Y),
    ("support", GA, N),
    ("support", REFERRALS, Y),
    ("support", UMA, Y),
]


@pytest.mark.parametrize(("actor", "role", "allowed"), GRANT_AT_ONCE_CASES, ids=str)
def test_only_support_staffs_global_admin_grant_waits_for_approval(
    cast, support, actor, role, allowed
):
    assert_decision(rules.can_grant_without_approval(person(cast, support, actor), role), allowed)


REQUEST_CASES = [
    ("support", "member", Y),
    ("support", "a new user", Y),
    ("support", "global_admin", N),  # holds it already
    ("support", "a deactivated user", N),
    ("support", "a user with a request waiting", N),
    ("global_admin", "member", N),  # a Global admin grants it
    ("user_admin", "member", N),
    ("member", "account_admin", N),
]


@pytest.mark.parametrize(("actor", "target", "allowed"), REQUEST_CASES, ids=str)
def test_who_may_ask_for_global_admin(csp, support, actor, target, allowed):
    if target == "a new user":
        user = User(organization=csp.organization)
    elif target == "a deactivated user":
        user = holder(csp.organization, REFERRALS, active=False)
    elif target == "a user with a request waiting":
        user = grant_request_for(csp, SupportStaffFactory()).user
    else:
        user = person(csp, support, target)

    decision = rules.can_request_global_admin(person(csp, support, actor), user)

    assert_decision(decision, allowed)


# 6. Another organization


def test_a_global_admin_of_another_organization_is_refused_everything(cast, outsider):
    assert_all_refused(every_question(outsider, cast, own_organization=False))


def test_a_global_admin_is_refused_everything_about_another_organization(cast, outsider):
    elsewhere = Cast(
        organization=outsider.organization,
        global_admin=outsider,
        second_global_admin=outsider,
        user_admin=holder(outsider.organization, UMA),
        account_admin=holder(outsider.organization, AA),
        mpn_admin=outsider,
        billing_admin=outsider,
        member=holder(outsider.organization, REFERRALS),
    )

    assert_all_refused(every_question(cast.global_admin, elsewhere, own_organization=False))


@pytest.mark.parametrize("action", USER_ACTIONS, ids=str)
def test_a_global_admin_does_not_manage_support_staff(csp, support, action):
    User.objects.filter(pk=support.pk).update(is_active=action != REACTIVATE)
    target = User.objects.get(pk=support.pk)

    assert_decision(rules.can_manage_user(csp.global_admin, target, action), N)
    assert_decision(rules.can_grant_role(csp.global_admin, target, AA), N)


# 7. Every refusal says why


def test_every_refusal_to_the_cast_and_to_support_staff_is_a_sentence(cast, support):
    names = ("global_admin", "user_admin", "account_admin", "mpn_admin", "member")
    for actor in [*(getattr(cast, name) for name in names), support]:
        for decision in every_question(actor, cast).values():
            if not decision:
                assert_refusal_explained(decision)


# 8. Workspaces


@pytest.mark.parametrize("role", EVERY_ACTOR, ids=role_id)
def test_each_role_unlocks_its_workspaces(organization, in_csp, role):
    user = holder(organization, role)
    expected = workspaces_expected(role, csp=in_csp)
    keys = [] if role is None else [role]

    shown = rules.workspaces_for(user)
    assert set(shown) == expected
    assert len(shown) == len(set(shown))
    assert set(rules.workspaces_for_roles(keys, organization)) == expected


def test_a_global_admin_sees_every_workspace_of_a_csp_organization(csp):
    assert set(rules.workspaces_for(csp.global_admin)) == EVERY_WORKSPACE


def test_a_global_admin_of_a_non_csp_organization_sees_no_csp_workspace(non_csp):
    shown = set(rules.workspaces_for(non_csp.global_admin))

    assert shown == EVERY_WORKSPACE - CSP_WORKSPACES
    assert not shown & {
        Workspace.BILLING,
        Workspace.CUSTOMERS,
        Workspace.LEADS,
        Workspace.SUPPORT_REQUESTS,
    }


def test_an_mpn_partner_admin_sees_membership_and_user_management(cast):
    assert set(rules.workspaces_for(cast.mpn_admin)) == {
        Workspace.MEMBERSHIP,
        Workspace.USER_MANAGEMENT,
    }


@pytest.mark.parametrize(
    ("roles", "in_csp_organization", "expected"),
    [
        ((MPN, BILLING), Y, {Workspace.USER_MANAGEMENT, Workspace.MEMBERSHIP, Workspace.BILLING}),
        ((MPN, BILLING), N, {Workspace.USER_MANAGEMENT, Workspace.MEMBERSHIP}),
        (
            (SALES_AGENT, HELPDESK),
            Y,
            {Workspace.CUSTOMERS, Workspace.LEADS, Workspace.SUPPORT_REQUESTS},
        ),
        ((SALES_AGENT, HELPDESK), N, set()),
        (
            (AA, REPORT_VIEWER, "owner"),
            Y,
            {Workspace.USER_MANAGEMENT, Workspace.ACCOUNT_SETTINGS, Workspace.ANALYTICS},
        ),
        ((GA, REFERRALS), N, EVERY_WORKSPACE - CSP_WORKSPACES),
        ((), Y, set()),
        (("owner",), Y, set()),
    ],
    ids=[
        "mpn_and_billing-csp",
        "mpn_and_billing-non_csp",
        "sales_and_helpdesk-csp",
        "sales_and_helpdesk-non_csp",
        "account_admin_report_viewer_and_unknown-csp",
        "global_admin_and_referrals-non_csp",
        "no_role",
        "unknown_role",
    ],
)
def test_roles_together_unlock_the_union_of_their_workspaces(roles, in_csp_organization, expected):
    organization = organization_of_kind(in_csp_organization)

    assert set(rules.workspaces_for_roles(roles, organization)) == expected


def test_a_user_without_roles_sees_no_workspace(cast):
    assert rules.workspaces_for(holder(cast.organization)) == []


def test_support_staff_and_deactivated_users_see_no_partner_workspace(csp, support):
    # Support staff work in the Django admin; a deactivated user cannot sign in (rule 7).
    deactivated = holder(csp.organization, GA, active=False)

    assert rules.workspaces_for(support) == []
    assert rules.workspaces_for(deactivated) == []


@pytest.mark.parametrize("role", EVERY_ACTOR, ids=role_id)
def test_the_access_preview_of_the_add_user_flow_agrees_with_the_tables(organization, in_csp, role):
    # DOMAIN.md, add-user flow step 3: what the chosen roles will let the new user see and do,
    # derived from the same rules that enforce it.
    access = rules.access_for_roles([] if role is None else [role], organization)

    assert set(access.workspaces) == workspaces_expected(role, csp=in_csp)
    assert access.actions == [
        action for action in rules.PREVIEWED_ACTIONS if table_says(role, action, csp=in_csp)
    ]


# Who may change an email: whoever controls it can choose the password (rules 2, 6 and 12).
# (actor, target, whether the target waits for approval as a Global admin, allowed)
EMAIL_CHANGES = [
    ("global_admin", "member", False, True),
    ("global_admin", "second_global_admin", False, True),
    ("global_admin", "member", True, True),
    ("user_admin", "member", False, True),
    ("user_admin", "member", True, False),
    ("user_admin", "global_admin", False, False),
    ("account_admin", "member", False, False),
    ("support", "member", False, True),
    ("support", "member", True, False),
    ("support", "global_admin", False, False),
]


@pytest.mark.parametrize(("actor", "target", "pending", "allowed"), EMAIL_CHANGES)
def test_who_may_change_an_email(cast, actor, target, pending, allowed):
    acting = SupportStaffFactory() if actor == "support" else getattr(cast, actor)
    shown = getattr(cast, target)
    if pending:
        grant_request_for(cast, SupportStaffFactory())
    # User management admin is a CSP role: in a non-CSP organization it allows nothing (rule 5).
    expected = allowed and not (actor == "user_admin" and not cast.organization.is_csp)

    assert bool(rules.can_change_email(acting, shown)) is expected
