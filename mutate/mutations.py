# The original texts are copied from the code, line for line: some are longer than a line here.
# ruff: noqa: E501
"""The named mutations of `make mutate`: each breaks one rule of the rulebook or one promise of
the services, the way a refactor could, and some test must notice.

A mutation names its file, the exact original text and its replacement (`within` a function,
when the text recurs in the file), why it matters (the rule it breaks), the tests that should
notice, and, for one no test can notice, why it is equivalent. When the code changes so that an
original text is no longer found exactly once, the run stops and says which mutation to update.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    edits: tuple[tuple[str, str], ...]  # (original, replacement), applied in order
    why: str = ""
    within: str = ""  # the edits apply inside the function this text starts
    tests: tuple[str, ...] = ()
    postgresql: bool = False  # only PostgreSQL's row locks and concurrency can notice
    equivalent: str = ""  # why no test can notice it (a survivor must say)


# The tests each kind of mutation runs, quickest to fail first (pytest -x stops at the first).
RULES_TESTS = (
    "tests/test_mutants_rules.py",
    "tests/test_rules.py",
    "tests/test_rules_last_admin.py",
    "tests/test_lock_rereads.py",
    "tests/test_services.py",
    "tests/test_global_admin_requests.py",
    "tests/test_escalation.py",
    "tests/test_edit_roles.py",
    "tests/test_user_page.py",
    "tests/test_admin.py",
    "tests/test_invitations.py",
    "tests/test_query_counts.py",
)
SERVICES_TESTS = (
    "tests/test_mutants_services.py",
    "tests/test_lock_rereads.py",
    "tests/test_services.py",
    "tests/test_global_admin_requests.py",
    "tests/test_invitations.py",
    "tests/test_email_jobs.py",
    "tests/test_forgot_password.py",
    "tests/test_sessions.py",
    "tests/test_profile.py",
    "tests/test_organizations.py",
    "tests/test_admin.py",
    "tests/test_add_user.py",
    "tests/test_user_actions.py",
)
POSTGRESQL_TESTS = ("tests/test_lock_rereads.py", "tests/test_concurrency.py")

RULES = "roles/rules.py"
ROLE_SERVICES = "roles/services.py"
SERVICES = "accounts/services.py"

# Replaces a call so that it does nothing: `audit.record(` becomes `SKIP(`.
SKIP = "(lambda *args, **kwargs: None)("


def rule(name: str, original: str, replacement: str, why: str, **more: object) -> Mutation:
    more.setdefault("tests", RULES_TESTS)
    return Mutation(name, RULES, ((original, replacement),), why, **more)


def role_service(name: str, original: str, replacement: str, why: str, **more: object) -> Mutation:
    more.setdefault("tests", SERVICES_TESTS)
    return Mutation(name, ROLE_SERVICES, ((original, replacement),), why, **more)


def service(name: str, original: str, replacement: str, why: str, **more: object) -> Mutation:
    more.setdefault("tests", SERVICES_TESTS)
    return Mutation(name, SERVICES, ((original, replacement),), why, **more)


def locked(name: str, original: str, replacement: str, why: str, **more: object) -> Mutation:
    """A mutation of accounts/services.py that only PostgreSQL's row locks can notice."""
    return Mutation(
        name, SERVICES, ((original, replacement),), why, tests=POSTGRESQL_TESTS, postgresql=True
    )


# roles/rules.py: DOMAIN.md's table as data

TABLE = [
    rule(
        "table_account_admin_adds_users",
        "Action.ADD_USER: frozenset({GA, UMA}),",
        "Action.ADD_USER: frozenset({GA, UMA, AA}),",
        "only Global and User management admins add users",
    ),
    rule(
        "table_user_admin_resets_passwords",
        "Action.RESET_PASSWORD: frozenset({GA}),",
        "Action.RESET_PASSWORD: frozenset({GA, UMA}),",
        "rule 6: only a Global admin resets passwords",
    ),
    rule(
        "table_user_admin_resets_second_factors",
        "Action.RESET_SECOND_FACTOR: frozenset({GA}),",
        "Action.RESET_SECOND_FACTOR: frozenset({GA, UMA}),",
        "rule 10: only a Global admin resets another user's second factor",
    ),
    rule(
        "table_user_admin_grants_global_admin",
        "Action.MANAGE_GLOBAL_ADMIN: frozenset({GA}),",
        "Action.MANAGE_GLOBAL_ADMIN: frozenset({GA, UMA}),",
        "only a Global admin grants Global admin",
    ),
    rule(
        "table_account_admin_loses_membership_roles",
        "Action.MANAGE_MEMBERSHIP_ROLES: frozenset({GA, UMA, AA}),",
        "Action.MANAGE_MEMBERSHIP_ROLES: frozenset({GA, UMA}),",
        "an Account admin manages membership roles",
    ),
    rule(
        "table_mpn_admin_edits_users",
        "Action.EDIT_USER: frozenset({GA, UMA}),",
        "Action.EDIT_USER: frozenset({GA, UMA, MPN}),",
        "the MPN Partner Admin reads the directory only",
    ),
    rule(
        "table_account_admin_buys_maps",
        "Action.PURCHASE_MAPS: frozenset({GA, MPN}),",
        "Action.PURCHASE_MAPS: frozenset({GA, MPN, AA}),",
        "MAPS is bought by Global admins and MPN Partner Admins",
    ),
    rule(
        "table_member_sees_directory",
        "Action.SEE_DIRECTORY: frozenset({GA, UMA, AA, MPN}),",
        "Action.SEE_DIRECTORY: frozenset({GA, UMA, AA, MPN, RoleKey.REFERRALS_ADMIN}),",
        "other roles see their own profile only",
    ),
    rule(
        "table_user_admin_reads_whole_audit_log",
        "Action.SEE_AUDIT_LOG: frozenset({GA, UMA}),",
        "Action.SEE_AUDIT_LOG: frozenset({GA, UMA, AA}),",
        "the audit log is for Global and User management admins",
    ),
    rule(
        "support_staff_reset_passwords",
        "        Action.MANAGE_GLOBAL_ADMIN,\n        Action.MANAGE_DIRECTORY_ROLES,\n"
        "        Action.MANAGE_MEMBERSHIP_ROLES,\n        Action.SEE_AUDIT_LOG,\n    }\n)\n\n"
        "USER_ACTIONS",
        "        Action.MANAGE_GLOBAL_ADMIN,\n        Action.MANAGE_DIRECTORY_ROLES,\n"
        "        Action.MANAGE_MEMBERSHIP_ROLES,\n        Action.SEE_AUDIT_LOG,\n"
        "        Action.RESET_PASSWORD,\n    }\n)\n\nUSER_ACTIONS",
        "rule 12 and 6: support staff never set a partner's password",
    ),
    rule(
        "support_staff_cannot_delete",
        "        Action.DELETE_USER,\n        Action.MANAGE_GLOBAL_ADMIN,\n"
        "        Action.MANAGE_DIRECTORY_ROLES,",
        "        Action.MANAGE_GLOBAL_ADMIN,\n        Action.MANAGE_DIRECTORY_ROLES,",
        "support staff have a Global admin's user-management powers",
    ),
    rule(
        "billing_workspace_for_account_admin",
        "Workspace.BILLING: frozenset({GA, RoleKey.BILLING_ADMIN}),",
        "Workspace.BILLING: frozenset({GA, RoleKey.BILLING_ADMIN, AA}),",
        "each role unlocks its own workspaces",
    ),
]

# roles/rules.py: who the actor is

WHO = [
    rule(
        "is_support_staff_without_is_authenticated",
        "user.is_authenticated and user.is_active and user.is_staff",
        "user.is_active and user.is_staff",
        "anonymous visitors are nobody",
        equivalent="AnonymousUser.is_active is always False: the next condition refuses them.",
    ),
    rule(
        "is_support_staff_without_is_active",
        "user.is_authenticated and user.is_active and user.is_staff",
        "user.is_authenticated and user.is_staff",
        "deactivated support staff act no more (rule 7)",
    ),
    rule(
        "is_support_staff_without_is_staff",
        "user.is_authenticated and user.is_active and user.is_staff and",
        "user.is_authenticated and user.is_active and",
        "support staff are staff",
    ),
    rule(
        "is_support_staff_without_no_organization",
        "and user.is_staff and user.organization_id is None",
        "and user.is_staff",
        "support staff belong to no organization",
    ),
    rule(
        "organization_is_csp_ignores_program",
        "return user.organization is not None and user.organization.is_csp",
        "return user.organization is not None",
        "rule 5: CSP-only roles count only in CSP organizations",
    ),
    rule(
        "held_roles_of_anonymous",
        "if not user.is_authenticated or user.organization_id is None:\n        return frozenset()"
        "\n    client_roles",
        "if user.organization_id is None:\n        return frozenset()\n    client_roles",
        "anonymous visitors hold no role",
    ),
    rule(
        "held_roles_keep_csp_roles_outside_csp",
        "    if not _organization_is_csp(user):\n        keys = {key for key in keys if key in SPECS",
        "    if False:\n        keys = {key for key in keys if key in SPECS",
        "rule 5: CSP-only roles count only in CSP organizations",
    ),
    rule(
        "held_roles_keep_only_csp_roles",
        "keys = {key for key in keys if key in SPECS and not SPECS[key].csp_only}",
        "keys = {key for key in keys if key in SPECS and SPECS[key].csp_only}",
        "rule 5: the non-CSP roles count everywhere",
    ),
    rule(
        "held_roles_ignore_remembered",
        "    if cached is not None:\n        return cached\n    prefetched",
        "    prefetched",
        "a page asks the rulebook many times: one query",
    ),
    rule(
        "held_roles_ignore_prefetched",
        "    if prefetched is not None:\n        keys = {assignment.role.key",
        "    if False:\n        keys = {assignment.role.key",
        "the directory prefetches roles: no query per user",
    ),
    rule(
        "forget_held_roles_keeps_roles",
        'user.__dict__.pop("_held_roles", None)\n',
        "\n",
        "an instance forgets the roles it held once they changed",
    ),
    rule(
        "forget_held_roles_keeps_last_global_admin",
        'user.__dict__.pop("_last_active_global_admin", None)\n',
        "\n",
        "an instance forgets whether it was the last Global admin",
    ),
    rule(
        "forget_held_roles_keeps_prefetched",
        'getattr(user, "_prefetched_objects_cache", {}).pop("role_assignments", None)',
        "None",
        "an instance forgets its prefetched roles",
    ),
    rule(
        "may_without_is_active",
        "    if not actor.is_authenticated or not actor.is_active:\n        return False",
        "    if not actor.is_authenticated:\n        return False",
        "deny by default: a deactivated actor may nothing",
    ),
    rule(
        "may_without_is_authenticated",
        "    if not actor.is_authenticated or not actor.is_active:\n        return False",
        "    if not actor.is_active:\n        return False",
        "deny by default: anonymous visitors may nothing",
        equivalent="AnonymousUser.is_active is always False: the remaining check refuses them.",
    ),
    rule(
        "may_support_staff_everything",
        "return action in SUPPORT_STAFF_ACTIONS",
        "return True",
        "support staff reset no password and run no membership workspace",
    ),
    rule(
        "may_any_role_or_the_table",
        "return bool(held_roles(actor) & GRANTED_TO.get(action, frozenset()))",
        "return bool(held_roles(actor) | GRANTED_TO.get(action, frozenset()))",
        "deny by default: only the table's roles",
    ),
    rule(
        "ranks_as_global_admin_not_support_staff",
        "return is_support_staff(actor) or GA in held_roles(actor)",
        "return GA in held_roles(actor)",
        "support staff change Global admins",
    ),
    rule(
        "ranks_as_global_admin_user_admin",
        "return is_support_staff(actor) or GA in held_roles(actor)",
        "return is_support_staff(actor) or UMA in held_roles(actor)",
        "rule 2: nobody below Global admin changes a Global admin",
    ),
]

# roles/rules.py: organization-wide actions

ORGANIZATION_WIDE = [
    rule(
        "signed_out_ignores_a_stopped_client",
        "    if isinstance(stopped, Decision) and not stopped:\n        return stopped",
        "    if False:\n        return stopped",
        "a client stopped during its call is refused with its own reason",
        tests=("tests/test_api_attacks.py",),
    ),
    rule(
        "can_without_is_active",
        "    if not actor.is_authenticated or not actor.is_active:\n"
        "        return _signed_out(actor)\n    if action in USER_ACTIONS:",
        "    if not actor.is_authenticated:\n"
        "        return _signed_out(actor)\n    if action in USER_ACTIONS:",
        "a deactivated user is told to sign in",
    ),
    rule(
        "can_accepts_user_actions",
        '        raise ValueError(f"{action} concerns a user: ask can_manage_user.")',
        "        pass",
        "actions on a user need the user (can_manage_user)",
    ),
    rule(
        "can_support_staff_in_partner_pages",
        "    if is_support_staff(actor) and organization is None:\n        return refused(",
        "    if False:\n        return refused(",
        "support staff work in the admin, not the partner pages",
    ),
    rule(
        "can_other_organization",
        "        and organization.pk != actor.organization_id\n",
        "        and False\n",
        "nobody acts in another organization",
    ),
    rule(
        "can_support_staff_refused_everywhere",
        "        and not is_support_staff(actor)\n        and organization.pk",
        "        and organization.pk",
        "support staff act in every organization",
    ),
    rule(
        "can_without_table",
        "    if not _may(actor, action):\n        return _not_allowed(action)\n    return ALLOWED\n\n\n"
        "def can_manage_organizations",
        "    return ALLOWED\n\n\ndef can_manage_organizations",
        "deny by default",
    ),
    rule(
        "can_manage_organizations_anyone",
        "    if is_support_staff(actor):\n        return ALLOWED\n"
        '    return refused("Only the partner network',
        '    if True:\n        return ALLOWED\n    return refused("Only the partner network',
        "only support staff manage organizations",
    ),
]

# roles/rules.py: actions on one user

ON_A_USER = [
    rule(
        "reach_without_is_active",
        "    if not actor.is_authenticated or not actor.is_active:\n"
        "        return _signed_out(actor)\n    if target.organization_id is None:",
        "    if not actor.is_authenticated:\n"
        "        return _signed_out(actor)\n    if target.organization_id is None:",
        "a deactivated user is told to sign in",
    ),
    rule(
        "reach_support_staff_targets",
        "    if target.organization_id is None:\n",
        "    if False:\n",
        "support staff accounts are not managed as partner users",
    ),
    rule(
        "reach_other_organization",
        "actor.organization_id != target.organization_id:\n",
        "False:\n",
        "nobody reaches another organization's users",
    ),
    rule(
        "reach_support_staff_refused",
        "    if not is_support_staff(actor) and actor.organization_id != target.organization_id:",
        "    if actor.organization_id != target.organization_id:",
        "support staff reach every organization",
    ),
    rule(
        "target_organization_of_the_actor",
        "        return actor.organization\n    return target.organization",
        "        return actor.organization\n    return actor.organization",
        "rule 5 is asked of the target's organization",
    ),
    rule(
        "is_self_never",
        "return target.pk is not None and actor.pk == target.pk",
        "return False",
        "rule 3: nobody changes their own roles",
    ),
    rule(
        "holds_global_admin_user_admin",
        "def holds_global_admin(user: User) -> bool:\n    return GA in held_roles(user)",
        "def holds_global_admin(user: User) -> bool:\n    return UMA in held_roles(user)",
        "rule 2: who holds Global admin",
    ),
    rule(
        "other_global_admins_inactive_too",
        "role__key=GA, user__organization_id=organization_id, user__is_active=True",
        "role__key=GA, user__organization_id=organization_id",
        "rule 4: only active Global admins count",
    ),
    rule(
        "other_global_admins_any_organization",
        "role__key=GA, user__organization_id=organization_id, user__is_active=True",
        "role__key=GA, user__is_active=True",
        "rule 4: the organization's own Global admins",
    ),
    rule(
        "other_global_admins_include_the_user",
        "    ).exclude(user_id=user_id)",
        "    )",
        "rule 4: others than the user",
    ),
    rule(
        "annotation_inverted",
        "models.When(models.Exists(holds_it), then=models.Exists(others)),",
        "models.When(models.Exists(holds_it), then=~models.Exists(others)),",
        "the directory's answer to rule 4 is the rulebook's",
    ),
    rule(
        "last_global_admin_without_is_active",
        "if not user.is_active or user.pk is None or not holds_global_admin(user):",
        "if user.pk is None or not holds_global_admin(user):",
        "rule 4: a deactivated Global admin is not the last active one",
    ),
    rule(
        "last_global_admin_without_holds_it",
        "if not user.is_active or user.pk is None or not holds_global_admin(user):",
        "if not user.is_active or user.pk is None:",
        "rule 4: only a Global admin can be the last one",
    ),
    rule(
        "last_global_admin_ignores_remembered",
        "    if cached is not None:\n        return cached\n    others = user.__dict__.get",
        "    others = user.__dict__.get",
        "a user's page asks rule 4 for several buttons: one query",
    ),
    rule(
        "last_global_admin_ignores_annotation",
        "    if others is None:\n        others = another_active_global_admin_exists",
        "    if True:\n        others = another_active_global_admin_exists",
        "the directory answers rule 4 in its query",
    ),
    rule(
        "last_global_admin_inverted",
        '    user.__dict__["_last_active_global_admin"] = not others\n    return not others',
        '    user.__dict__["_last_active_global_admin"] = not others\n    return bool(others)',
        "rule 4",
    ),
    rule(
        "last_global_admin_counts_deactivated",
        "[organization_id, GA.value, True, user_id]",
        "[organization_id, GA.value, False, user_id]",
        "rule 4 counts active Global admins only",
    ),
    rule(
        "last_global_admin_counts_self",
        "AND {assignments}.user_id <> %s LIMIT 1",
        "AND {assignments}.user_id + 0 * %s > 0 LIMIT 1",
        "rule 4 never counts the user themselves",
    ),
    rule(
        "manage_user_accepts_other_actions",
        '        raise ValueError(f"{action} is not an action on a user.")',
        "        pass",
        "only actions on a user are asked here",
    ),
    rule(
        "manage_user_without_reach",
        "    reach = _reach(actor, target)\n    if not reach:\n        return reach\n"
        "    if not _may(actor, action):",
        "    if not _may(actor, action):",
        "nobody reaches another organization's users",
    ),
    rule(
        "manage_user_without_table",
        "    if not _may(actor, action):\n        return _not_allowed(action)\n"
        "    if holds_global_admin(target) and not _ranks_as_global_admin(actor):",
        "    if holds_global_admin(target) and not _ranks_as_global_admin(actor):",
        "deny by default",
    ),
    rule(
        "manage_user_global_admin_target_open",
        "    if holds_global_admin(target) and not _ranks_as_global_admin(actor):\n"
        '        return refused("Only a Global admin can change a user who holds Global admin.")',
        "    if False:\n"
        '        return refused("Only a Global admin can change a user who holds Global admin.")',
        "rule 2",
    ),
    rule(
        "manage_user_own_password",
        "        if action == Action.RESET_PASSWORD:\n",
        "        if False:\n",
        "nobody resets their own password with the admin action",
    ),
    rule(
        "manage_user_own_second_factor",
        "        if action == Action.RESET_SECOND_FACTOR:\n",
        "        if False:\n",
        "nobody resets their own second factor with the admin action (My profile is for that)",
    ),
    rule(
        "support_staff_reset_second_factors",
        "        Action.MANAGE_MEMBERSHIP_ROLES,\n        Action.SEE_AUDIT_LOG,\n    }\n)\n\n"
        "USER_ACTIONS",
        "        Action.MANAGE_MEMBERSHIP_ROLES,\n        Action.SEE_AUDIT_LOG,\n"
        "        Action.RESET_SECOND_FACTOR,\n    }\n)\n\nUSER_ACTIONS",
        "rule 10: support staff never reset a partner's second factor",
    ),
    rule(
        "manage_user_deletes_self",
        "        if action in {Action.DEACTIVATE_USER, Action.DELETE_USER}:\n"
        '            return refused("You cannot',
        '        if action in {Action.DEACTIVATE_USER}:\n            return refused("You cannot',
        "nobody deletes themselves",
    ),
    rule(
        "manage_user_deactivates_self",
        "        if action in {Action.DEACTIVATE_USER, Action.DELETE_USER}:\n"
        '            return refused("You cannot',
        '        if action in {Action.DELETE_USER}:\n            return refused("You cannot',
        "nobody deactivates themselves",
    ),
    rule(
        "manage_user_deactivates_the_deactivated",
        "if action == Action.DEACTIVATE_USER and not target.is_active:",
        "if False:",
        "a deactivated user is not deactivated again",
    ),
    rule(
        "manage_user_reactivates_the_active",
        "if action == Action.REACTIVATE_USER and target.is_active:",
        "if False:",
        "an active user is not reactivated",
    ),
    rule(
        "manage_user_deletes_last_global_admin",
        "    if action in {Action.DEACTIVATE_USER, Action.DELETE_USER} and is_last_active_global_admin(",
        "    if action in {Action.DEACTIVATE_USER} and is_last_active_global_admin(",
        "rule 4: the last Global admin is not deleted",
    ),
    rule(
        "manage_user_deactivates_last_global_admin",
        "    if action in {Action.DEACTIVATE_USER, Action.DELETE_USER} and is_last_active_global_admin(",
        "    if action in {Action.DELETE_USER} and is_last_active_global_admin(",
        "rule 4: the last Global admin is not deactivated",
    ),
    rule(
        "resend_invitation_without_edit",
        "    decision = can_manage_user(actor, target, Action.EDIT_USER)\n    if not decision:\n"
        "        return decision\n    if not _may(actor, Action.ADD_USER):",
        "    if not _may(actor, Action.ADD_USER):",
        "rule 2: a Global admin's invitation is resent by a Global admin",
    ),
    rule(
        "resend_invitation_without_add_user",
        "    if not _may(actor, Action.ADD_USER):\n        return _not_allowed(Action.ADD_USER)",
        "    if False:\n        return _not_allowed(Action.ADD_USER)",
        "resending is for those who may add users",
    ),
    rule(
        "resend_invitation_after_password",
        "    if target.has_usable_password():\n",
        "    if False:\n",
        "an invitation is for a user without a password",
    ),
    rule(
        "resend_invitation_to_deactivated",
        "    if not target.is_active:\n"
        '        return refused("This user is deactivated: reactivate them before resending',
        "    if False:\n"
        '        return refused("This user is deactivated: reactivate them before resending',
        "a deactivated user's link does not work",
    ),
]

# roles/rules.py: granting and revoking roles

ROLES = [
    rule(
        "global_admin_is_a_directory_role",
        "    if role_key == GA:\n        return Action.MANAGE_GLOBAL_ADMIN",
        "    if False:\n        return Action.MANAGE_GLOBAL_ADMIN",
        "only a Global admin grants Global admin",
    ),
    rule(
        "directory_roles_are_membership_roles",
        "    if SPECS[role_key].group == RoleGroup.DIRECTORY:",
        "    if False:",
        "an Account admin grants membership roles only",
    ),
    rule(
        "change_role_without_reach",
        "    reach = _reach(actor, target)\n    if not reach:\n        return reach\n"
        "    if role_key not in SPECS:",
        "    if role_key not in SPECS:",
        "nobody changes another organization's roles",
    ),
    rule(
        "change_role_unknown",
        '    if role_key not in SPECS:\n        return refused("There is no such role.")',
        '    if False:\n        return refused("There is no such role.")',
        "an unknown role is refused, not a crash",
    ),
    rule(
        "change_own_roles",
        '    if _is_self(actor, target):\n        return refused("Nobody changes their own roles',
        '    if False:\n        return refused("Nobody changes their own roles',
        "rule 3",
    ),
    rule(
        "change_global_admins_roles",
        "    if holds_global_admin(target) and not _ranks_as_global_admin(actor):\n"
        '        return refused("Only a Global admin can change the roles',
        '    if False:\n        return refused("Only a Global admin can change the roles',
        "rule 2",
    ),
    rule(
        "change_role_without_table",
        "    if not _may(actor, action):\n        holders = roles_allowed_to(action)",
        "    if False:\n        holders = roles_allowed_to(action)",
        "deny by default",
    ),
    rule(
        "grant_csp_role_anywhere",
        "    if SPECS[role_key].csp_only and not _target_organization(actor, target).is_csp:",
        "    if False:",
        "rule 5",
    ),
    rule(
        "grant_csp_role_only_outside_csp",
        "    if SPECS[role_key].csp_only and not _target_organization(actor, target).is_csp:",
        "    if SPECS[role_key].csp_only and _target_organization(actor, target).is_csp:",
        "rule 5",
    ),
    rule(
        "revoke_last_global_admin",
        "    if role_key == GA and is_last_active_global_admin(target):",
        "    if False:",
        "rule 4",
    ),
    rule(
        "revoke_any_role_of_last_global_admin",
        "    if role_key == GA and is_last_active_global_admin(target):",
        "    if is_last_active_global_admin(target):",
        "rule 4 is about Global admin only",
    ),
    rule(
        "grantable_roles_without_approval",
        "        spec.key.value: can_grant_role(actor, target, spec.key)\n"
        "        and can_grant_without_approval(actor, spec.key)",
        "        spec.key.value: can_grant_role(actor, target, spec.key)",
        "rule 12: support staff's Global admin grant is shown as a request",
    ),
]

# roles/rules.py: rule 12, the second approval

SECOND_APPROVAL = [
    rule(
        "grant_without_approval_for_support",
        "    if role_key == GA and is_support_staff(actor):\n        return refused(SECOND_APPROVAL",
        "    if False:\n        return refused(SECOND_APPROVAL",
        "rule 12",
    ),
    rule(
        "grant_without_approval_any_role",
        "    if role_key == GA and is_support_staff(actor):\n        return refused(SECOND_APPROVAL",
        "    if is_support_staff(actor):\n        return refused(SECOND_APPROVAL",
        "rule 12 is about Global admin only",
    ),
    rule(
        "request_global_admin_by_partner",
        "    if not is_support_staff(actor):\n"
        '        return refused("Only support staff request Global admin',
        '    if False:\n        return refused("Only support staff request Global admin',
        "only support staff ask",
    ),
    rule(
        "request_global_admin_without_grant_rules",
        "    decision = can_grant_role(actor, target, GA)\n    if not decision:\n"
        "        return decision\n    if target.pk is None:",
        "    if target.pk is None:",
        "a request obeys the grant's rules (rule 5, last Global admin)",
    ),
    rule(
        "request_global_admin_for_deactivated",
        "    if not target.is_active:\n"
        '        return refused("This user is deactivated: reactivate them before asking',
        "    if False:\n"
        '        return refused("This user is deactivated: reactivate them before asking',
        "no request for a deactivated user",
    ),
    rule(
        "request_global_admin_twice_for_holder",
        '    if holds_global_admin(target):\n        return refused("This user holds Global admin '
        'already.")',
        '    if False:\n        return refused("This user holds Global admin already.")',
        "no request for a Global admin",
    ),
    rule(
        "request_global_admin_while_one_waits",
        "    if target.global_admin_requests.filter(status=GrantRequestStatus.PENDING).exists():",
        "    if False:",
        "one pending request per user",
    ),
    rule(
        "decide_by_partner",
        "    if not is_support_staff(actor):\n"
        '        return refused("Only support staff decide Global admin requests.")',
        '    if False:\n        return refused("Only support staff decide Global admin requests.")',
        "rule 12: support staff decide",
    ),
    rule(
        "decide_own_request",
        "    if grant_request.requested_by_id == actor.pk:\n",
        "    if False:\n",
        "rule 12: a second staff member decides",
    ),
    rule(
        "decide_decided_request",
        "    if not grant_request.is_pending:\n"
        '        return refused(f"This request is {grant_request.get_status_display().lower()} '
        'already.")\n    return ALLOWED\n\n\ndef can_approve',
        "    return ALLOWED\n\n\ndef can_approve",
        "a request is decided once",
    ),
    rule(
        "approve_when_requester_left",
        "    if not is_support_staff(grant_request.requested_by):\n",
        "    if False:\n",
        "the one who asked must still be able to act",
    ),
    rule(
        "approve_for_deleted_user",
        '    if user is None:\n        return refused("This user no longer exists',
        '    if False:\n        return refused("This user no longer exists',
        "no approval for a deleted user",
    ),
    rule(
        "approve_for_deactivated_user",
        "    if not user.is_active:\n"
        '        return refused("This user is deactivated: reject the request',
        '    if False:\n        return refused("This user is deactivated: reject the request',
        "no approval for a deactivated user",
    ),
    rule(
        "approve_for_holder",
        '    if holds_global_admin(user):\n        return refused("This user holds Global admin '
        "already: reject",
        '    if False:\n        return refused("This user holds Global admin already: reject',
        "no approval for a Global admin",
    ),
    rule(
        "approve_without_grant_rules",
        "    return can_grant_role(actor, user, GA)",
        "    return ALLOWED",
        "an approval obeys the grant's rules",
        equivalent=(
            "Today can_grant_role(GA) refuses an active support staff member nothing for an "
            "active partner user (reach, rank and permission were checked before); kept so that "
            "a grant rule added later binds approvals too."
        ),
    ),
    rule(
        "cancel_by_anyone",
        "    if not is_support_staff(actor) or grant_request.requested_by_id != actor.pk:",
        "    if not is_support_staff(actor):",
        "only the one who asked cancels",
    ),
    rule(
        "cancel_decided_request",
        "    if not grant_request.is_pending:\n"
        '        return refused(f"This request is {grant_request.get_status_display().lower()} '
        'already.")\n    return ALLOWED\n\n\n# Workspaces',
        "    return ALLOWED\n\n\n# Workspaces",
        "a decided request is not cancelled",
    ),
]

# roles/rules.py: workspaces and the audit log

WORKSPACES = [
    rule(
        "workspaces_keep_csp_roles_outside_csp",
        "    keys = {key for key in role_keys if key in SPECS}\n    if not organization.is_csp:\n"
        "        keys = {key for key in keys if not SPECS[key].csp_only}\n    return [",
        "    keys = {key for key in role_keys if key in SPECS}\n    return [",
        "rule 5: a CSP role unlocks nothing outside CSP",
    ),
    rule(
        "workspaces_csp_business_everywhere",
        "        and (organization.is_csp or workspace not in CSP_WORKSPACES)",
        "",
        "the CSP business exists only in CSP organizations",
    ),
    rule(
        "workspaces_for_deactivated",
        "if not user.is_authenticated or not user.is_active or user.organization is None:",
        "if not user.is_authenticated or user.organization is None:",
        "a deactivated user sees nothing",
    ),
    rule(
        "preview_keeps_csp_roles_outside_csp",
        "    if not organization.is_csp:\n        keys = {key for key in keys if not SPECS[key]."
        "csp_only}\n    return Access(",
        "    return Access(",
        "the access preview says what the rules enforce",
    ),
    rule(
        "audit_log_whole_for_user_admin",
        "    if GA in roles:\n        return None",
        "    if GA in roles or UMA in roles:\n        return None",
        "a User management admin reads the user-management events only",
    ),
    rule(
        "audit_log_nothing_for_user_admin",
        "    if UMA in roles:\n",
        "    if False:\n",
        "a User management admin reads the user-management events",
    ),
    rule(
        "audit_log_without_permission",
        "    if not can(actor, Action.SEE_AUDIT_LOG):\n        return frozenset()",
        "    if False:\n        return frozenset()",
        "the audit log is for those the table names",
    ),
]

# roles/services.py

ROLE_SERVICES_MUTATIONS = [
    role_service(
        "change_roles_without_lock",
        "organization = lock_organization(target.organization_id, actor)\n"
        "        target = reload_target(target, AuditAction.ROLE_GRANTED)",
        "organization = target.organization\n"
        "        target = reload_target(target, AuditAction.ROLE_GRANTED)",
        "the actor is read again under the lock",
    ),
    role_service(
        "change_roles_without_reload",
        "        target = reload_target(target, AuditAction.ROLE_GRANTED)\n",
        "",
        "the target is read again under the lock",
    ),
    role_service(
        "change_roles_callers_target_remembers",
        "    rules.forget_held_roles(callers_target)\n",
        "",
        "the caller's instance forgets its old roles",
    ),
    role_service(
        "change_roles_without_grant_rules",
        "        audit.require(rules.can_grant_role(actor, target, key), AuditAction.ROLE_GRANTED",
        "        (lambda *args, **kwargs: None)(rules.can_grant_role(actor, target, key), "
        "AuditAction.ROLE_GRANTED",
        "every grant asks the rulebook",
    ),
    role_service(
        "change_roles_grants_without_approval",
        "        if not approved:  # rule 12",
        "        if False:  # rule 12",
        "rule 12: support staff's Global admin waits for approval",
    ),
    role_service(
        "change_roles_without_revoke_rules",
        "        audit.require(rules.can_revoke_role(actor, target, key)",
        "        (lambda *args, **kwargs: None)(rules.can_revoke_role(actor, target, key)",
        "every revocation asks the rulebook",
    ),
    role_service(
        "change_roles_grants_nothing",
        "    RoleAssignment.objects.bulk_create(\n        [RoleAssignment(user=target",
        "    (lambda *args, **kwargs: None)(\n        [RoleAssignment(user=target",
        "a grant grants",
    ),
    role_service(
        "change_roles_revokes_nothing",
        "RoleAssignment.objects.filter(pk__in=[assignments[key].pk for key in to_revoke]).delete()",
        "None",
        "a revocation revokes",
    ),
    role_service(
        "change_roles_granted_by_nobody",
        "RoleAssignment(user=target, role=roles[key], granted_by=actor)",
        "RoleAssignment(user=target, role=roles[key])",
        "an assignment says who granted it",
    ),
    role_service(
        "change_roles_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "every change is audited",
        within="def _change_roles_under_lock(",
    ),
    role_service(
        "request_global_admin_without_lock",
        "organization = lock_organization(target.organization_id, actor)\n"
        "        target = reload_target(target, AuditAction.GLOBAL_ADMIN_REQUESTED)",
        "organization = target.organization\n"
        "        target = reload_target(target, AuditAction.GLOBAL_ADMIN_REQUESTED)",
        "the actor is read again under the lock",
    ),
    role_service(
        "request_global_admin_without_reload",
        "        target = reload_target(target, AuditAction.GLOBAL_ADMIN_REQUESTED)\n",
        "",
        "the target is read again under the lock",
    ),
    role_service(
        "request_global_admin_without_rules",
        "        audit.require(\n            rules.can_request_global_admin(actor, target)",
        "        (lambda *args, **kwargs: None)(\n            rules.can_request_global_admin("
        "actor, target)",
        "rule 12: who may ask",
    ),
    role_service(
        "request_global_admin_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "every request is audited",
        within="def request_global_admin(",
    ),
    role_service(
        "approve_without_rules",
        "        audit.require(\n            rules.can_approve_global_admin_grant(actor, grant_request)",
        "        (lambda *args, **kwargs: None)(\n"
        "            rules.can_approve_global_admin_grant(actor, grant_request)",
        "rule 12: who approves, and the grant's rules again",
    ),
    role_service(
        "approve_refused_as_support_grant",
        "            approved=True,",
        "            approved=False,",
        "an approved grant takes effect",
    ),
    role_service(
        "reject_without_rules",
        "        audit.require(\n            rules.can_decide_global_admin_grant(actor, grant_request)",
        "        (lambda *args, **kwargs: None)(\n"
        "            rules.can_decide_global_admin_grant(actor, grant_request)",
        "rule 12: who rejects",
    ),
    role_service(
        "cancel_without_rules",
        "        audit.require(\n            rules.can_cancel_global_admin_grant(actor, grant_request)",
        "        (lambda *args, **kwargs: None)(\n"
        "            rules.can_cancel_global_admin_grant(actor, grant_request)",
        "only the one who asked cancels",
    ),
    role_service(
        "decide_without_lock",
        "        organization = lock_organization(grant_request.organization_id, actor)",
        "        organization = grant_request.organization",
        "the decider is read again under the lock",
    ),
    role_service(
        "decide_without_reload",
        "        grant_request = (\n            GlobalAdminGrantRequest.objects.select_related(",
        "        grant_request = grant_request or (\n"
        "            GlobalAdminGrantRequest.objects.select_related(",
        "a request is read again under the lock: decided once",
    ),
    role_service(
        "decide_deleted_request",
        "        if grant_request is None:\n",
        "        if False:\n",
        "a request deleted meanwhile is refused, not a crash",
    ),
    role_service(
        "decide_unsaved",
        '        grant_request.save(update_fields=["status", "decided_by", "decided_at", "reason"])',
        "        pass",
        "a decision is kept",
    ),
    role_service(
        "decide_nobody_decided",
        "        grant_request.decided_by = actor\n",
        "",
        "a decision names who decided",
    ),
    role_service(
        "decide_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "every decision is audited",
        within="def _decide(",
    ),
    role_service(
        "decide_note_with_nul",
        'grant_request.reason = note.replace("\\x00", "").strip()[:NOTE_LENGTH]',
        "grant_request.reason = note.strip()[:NOTE_LENGTH]",
        "a typed note cannot break PostgreSQL",
        tests=(
            "tests/test_mutants_services.py",
            "tests/test_global_admin_requests.py",
            "tests/test_hostile_input.py",
        ),
    ),
    role_service(
        "decide_user_remembers",
        "        rules.forget_held_roles(grant_request.user)",
        "        pass",
        "the approved user's instance knows its new role",
    ),
]

# accounts/services.py

LOCKS = [
    service(
        "temporary_password_half_as_long",
        "for _ in range(4)) for _ in range(4)]",
        "for _ in range(2)) for _ in range(4)]",
        "a temporary password has 16 random characters",
    ),
    service(
        "temporary_password_half_alphabet",
        "secrets.choice(_PASSWORD_ALPHABET)",
        "secrets.choice(_PASSWORD_ALPHABET[::2])",
        "a temporary password draws from the whole alphabet",
    ),
    service(
        "lock_organization_without_actor_reread",
        '        actor.refresh_from_db(fields=["is_active"])',
        "        pass",
        "an admin deactivated a moment ago acts no more",
    ),
    service(
        "lock_organization_keeps_actor_roles",
        "    rules.forget_held_roles(actor)\n    return organization",
        "    return organization",
        "an admin demoted a moment ago acts no more",
    ),
    service(
        "lock_organization_deleted_actor_crashes",
        "    except User.DoesNotExist:\n",
        "    except ZeroDivisionError:\n",
        "an admin deleted a moment ago is refused, not a crash",
    ),
    Mutation(
        "lock_organization_rereads_before_the_lock",
        SERVICES,
        (
            (
                "    organization = (\n        PartnerOrganization.objects.select_for_update()",
                '    actor.refresh_from_db(fields=["is_active"])\n'
                "    organization = (\n        PartnerOrganization.objects.select_for_update()",
            ),
            ('        actor.refresh_from_db(fields=["is_active"])', "        pass"),
        ),
        "the actor is read after the lock is taken, not before",
        tests=POSTGRESQL_TESTS,
        postgresql=True,
    ),
    locked(
        "lock_organization_without_row_lock",
        "PartnerOrganization.objects.select_for_update().get(pk=organization_id)",
        "PartnerOrganization.objects.get(pk=organization_id)",
        "rule 4 holds when two admins act at the same moment",
    ),
    service(
        "reload_target_returns_the_callers",
        '    fresh = User.objects.select_related("organization").filter(pk=target.pk).first()',
        "    fresh = target",
        "the target is read again under the lock",
    ),
    service(
        "reload_target_deleted_crashes",
        "    if fresh is None:\n",
        "    if False:\n",
        "a user deleted a moment ago is refused, not written to",
    ),
]

CREATE = [
    service(
        "create_user_without_lock",
        "        organization = lock_organization(organization.pk, actor)\n"
        "        audit.require(rules.can(actor, Action.ADD_USER",
        "        audit.require(rules.can(actor, Action.ADD_USER",
        "the actor is read again under the lock",
    ),
    service(
        "create_user_without_add_user",
        "        audit.require(rules.can(actor, Action.ADD_USER, organization)",
        "        (lambda *args, **kwargs: None)(rules.can(actor, Action.ADD_USER, organization)",
        "only those the table names add users",
    ),
    service(
        "create_user_without_grant_rules",
        "            audit.require(\n                rules.can_grant_role(actor, user, key)",
        "            (lambda *args, **kwargs: None)(\n"
        "                rules.can_grant_role(actor, user, key)",
        "a new user's roles obey the grant's rules",
    ),
    service(
        "create_user_without_second_approval",
        "            audit.require(\n                rules.can_grant_without_approval(actor, key)",
        "            (lambda *args, **kwargs: None)(\n"
        "                rules.can_grant_without_approval(actor, key)",
        "rule 12",
    ),
    service(
        "create_user_without_email_precheck",
        "        if existing is not None:\n            raise EmailInUse(existing)\n"
        "        user.full_clean(",
        "        user.full_clean(",
        "an email in use is found before anything is written (docs/architecture.md)",
    ),
    service(
        "create_user_without_full_clean",
        '        user.full_clean(exclude=["password"], validate_constraints=False)\n'
        "        password = None",
        "        password = None",
        "what the service is given is checked, whoever calls it",
    ),
    service(
        "create_user_password_kept",
        "            must_change_password=not invite,",
        "            must_change_password=False,",
        "a temporary password is changed at first sign-in",
    ),
    service(
        "create_user_invited_with_a_password",
        "        password = None if invite else generate_temporary_password()",
        "        password = generate_temporary_password()",
        "an invited user has no password until they choose one",
    ),
    service(
        "create_user_without_roles",
        "        RoleAssignment.objects.bulk_create(\n            [RoleAssignment(user=user",
        "        (lambda *args, **kwargs: None)(\n            [RoleAssignment(user=user",
        "a new user holds the roles chosen",
    ),
    service(
        "create_user_unaudited",
        "        audit.record(\n            actor,\n            AuditAction.USER_CREATED,",
        "        (lambda *args, **kwargs: None)(\n            actor,\n"
        "            AuditAction.USER_CREATED,",
        "every creation is audited",
    ),
    service(
        "create_user_roles_unaudited",
        "            audit.record(\n                actor,\n                AuditAction.ROLE_GRANTED,",
        "            (lambda *args, **kwargs: None)(\n                actor,\n"
        "                AuditAction.ROLE_GRANTED,",
        "every grant is audited",
    ),
    service(
        "create_user_never_invites",
        "        if invite:\n            _invite(user, actor, base_url)",
        "        pass",
        "an invited user gets the email",
    ),
    locked(
        "create_user_race_crashes",
        "        except IntegrityError as error:\n"
        "            # Another request added the same email",
        "        except ZeroDivisionError as error:\n"
        "            # Another request added the same email",
        "one email is one user however many requests race, with the ordinary message",
    ),
    service(
        "resend_keeps_the_waiting_invitation",
        "    if replacing:\n        replace_waiting_invitations(user)",
        "    pass",
        "a resend replaces the invitation still waiting: one email, the newest",
    ),
]

LINKS = [
    service(
        "resend_invitation_without_lock",
        "        lock_organization(target.organization_id, actor)\n"
        "        target = reload_target(target, AuditAction.INVITATION_SENT)",
        "        target = reload_target(target, AuditAction.INVITATION_SENT)",
        "the actor is read again under the lock",
    ),
    service(
        "resend_invitation_without_reload",
        "        target = reload_target(target, AuditAction.INVITATION_SENT)\n",
        "",
        "the target is read again under the lock",
    ),
    service(
        "resend_invitation_without_rules",
        "        audit.require(rules.can_resend_invitation(actor, target)",
        "        (lambda *args, **kwargs: None)(rules.can_resend_invitation(actor, target)",
        "who may resend, and to whom",
    ),
    service(
        "resend_invitation_old_links_work",
        '        target.set_unusable_password()\n        target.save(update_fields=["password"])',
        "        pass",
        "a resent invitation's earlier links stop working",
    ),
    service(
        "resend_invitation_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "every invitation sent is audited",
        within="def resend_invitation(",
    ),
    service(
        "resend_invitation_sends_nothing",
        "        _invite(target, actor, base_url, replacing=True)\n    return target",
        "        pass\n    return target",
        "a resent invitation is emailed",
    ),
    service(
        "link_user_deleted_crashes",
        "        except RuleRefused:  # the user was deleted meanwhile\n",
        "        except ZeroDivisionError:  # the user was deleted meanwhile\n",
        "a link of a user deleted meanwhile does not work, and is no crash",
    ),
    service(
        "link_of_deactivated_user",
        "if user is None or not user.is_active or not token_generator.check_token(user, token):",
        "if user is None or not token_generator.check_token(user, token):",
        "rule 7: a deactivated user's links do not work",
    ),
    service(
        "link_without_token",
        "if user is None or not user.is_active or not token_generator.check_token(user, token):",
        "if user is None or not user.is_active:",
        "a link works only with its token",
    ),
    service(
        "invitation_after_password_set",
        "        if audit_action == AuditAction.INVITATION_ACCEPTED and user.has_usable_password():",
        "        if False:",
        "an invitation is for a user who has no password yet",
    ),
    service(
        "link_password_must_change",
        "        user.must_change_password = False\n"
        '        user.save(update_fields=["password", "must_change_password"])\n'
        "        end_sessions(user)\n        audit.record(user, audit_action",
        '        user.save(update_fields=["password", "must_change_password"])\n'
        "        end_sessions(user)\n        audit.record(user, audit_action",
        "a password chosen from a link need not be changed again",
    ),
    service(
        "link_keeps_sessions",
        "        end_sessions(user)\n        audit.record(user, audit_action",
        "        audit.record(user, audit_action",
        "rule 11: a password set from a link ends every session",
    ),
    service(
        "link_unaudited",
        "        audit.record(user, audit_action,",
        "        " + SKIP + "user, audit_action,",
        "every password set from a link is audited",
    ),
    service(
        "own_password_keeps_sessions",
        "        end_sessions(user)\n        audit.record(\n            user,\n"
        "            AuditAction.PASSWORD_CHANGED,",
        "        audit.record(\n            user,\n            AuditAction.PASSWORD_CHANGED,",
        "rule 11: a password change ends the other sessions",
    ),
    service(
        "own_password_must_change_again",
        "        user.must_change_password = False\n"
        '        user.save(update_fields=["password", "must_change_password"])\n'
        "        end_sessions(user)\n        audit.record(\n            user,\n"
        "            AuditAction.PASSWORD_CHANGED,",
        '        user.save(update_fields=["password", "must_change_password"])\n'
        "        end_sessions(user)\n        audit.record(\n            user,\n"
        "            AuditAction.PASSWORD_CHANGED,",
        "the forced change of a temporary password is done once",
    ),
    service(
        "own_password_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "an own password change is audited",
        within="def change_own_password(",
    ),
    service(
        "sign_out_everywhere_ends_nothing",
        "        end_sessions(user)\n        audit.record(\n            user,\n"
        "            AuditAction.SIGNED_OUT_EVERYWHERE,",
        "        audit.record(\n            user,\n            AuditAction.SIGNED_OUT_EVERYWHERE,",
        "Sign out everywhere ends the other sessions",
    ),
    service(
        "sign_out_everywhere_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "Sign out everywhere is audited",
        within="def sign_out_everywhere(",
    ),
    service(
        "end_sessions_same_generation",
        "    user.session_generation = secrets.token_hex(16)",
        '    user.session_generation = "ended"',
        "rule 11: each ending ends the sessions opened since the last one",
    ),
    service(
        "end_sessions_unsaved",
        '    user.save(update_fields=["session_generation"])',
        "    pass",
        "rule 11: an ending is kept",
    ),
]

CHANGES = [
    service(
        "update_details_without_lock",
        "        lock_organization(target.organization_id, actor)\n"
        "        target = reload_target(target, AuditAction.USER_EDITED)",
        "        target = reload_target(target, AuditAction.USER_EDITED)",
        "the actor is read again under the lock",
    ),
    service(
        "update_details_without_reload",
        "        target = reload_target(target, AuditAction.USER_EDITED)\n",
        "",
        "the target is read again under the lock",
    ),
    service(
        "update_details_without_rules",
        "        audit.require(\n            rules.can_manage_user(actor, target, Action.EDIT_USER)",
        "        (lambda *args, **kwargs: None)(\n"
        "            rules.can_manage_user(actor, target, Action.EDIT_USER)",
        "who may edit whom",
    ),
    service(
        "update_details_without_email_precheck",
        "            if existing is not None:\n                raise EmailInUse(existing)\n"
        "        target.first_name",
        "        target.first_name",
        "an email in use is found before anything is written",
    ),
    service(
        "update_details_without_full_clean",
        '        target.full_clean(exclude=["password"], validate_constraints=False)\n'
        "        after = snapshot(target)",
        "        after = snapshot(target)",
        "what the service is given is checked, whoever calls it",
    ),
    service(
        "update_details_audits_no_change",
        "        if after == before:\n            return target\n        try:",
        "        try:",
        "an edit that changes nothing writes no event",
    ),
    service(
        "update_details_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "every edit is audited",
        within="def update_user_details(",
    ),
    locked(
        "update_details_race_crashes",
        '                target.save(update_fields=["first_name", "last_name", "email"])\n'
        "        except IntegrityError as error:",
        '                target.save(update_fields=["first_name", "last_name", "email"])\n'
        "        except ZeroDivisionError as error:",
        "an email taken by a racing request gives the ordinary message",
    ),
    service(
        "set_active_without_lock",
        "        lock_organization(target.organization_id, actor)\n"
        "        target = reload_target(target, audit_action)",
        "        target = reload_target(target, audit_action)",
        "the actor is read again under the lock",
    ),
    service(
        "set_active_without_reload",
        "        target = reload_target(target, audit_action)\n",
        "",
        "the target is read again under the lock",
    ),
    service(
        "set_active_without_rules",
        "        audit.require(rules.can_manage_user(actor, target, action), audit_action)",
        "        pass",
        "who may deactivate and reactivate whom, rule 4",
    ),
    service(
        "deactivation_keeps_sessions",
        "        if not active:\n            # Without this",
        "        if False:\n            # Without this",
        "rule 7 and 11: deactivation ends every session",
    ),
    service(
        "set_active_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "every deactivation and reactivation is audited",
        within="def _set_active(",
    ),
    service(
        "delete_without_lock",
        "        organization = lock_organization(target.organization_id, actor)\n"
        "        target = reload_target(target, AuditAction.USER_DELETED)",
        "        organization = target.organization\n"
        "        target = reload_target(target, AuditAction.USER_DELETED)",
        "the actor is read again under the lock",
    ),
    service(
        "delete_without_reload",
        "        target = reload_target(target, AuditAction.USER_DELETED)\n",
        "",
        "the target is read again under the lock",
    ),
    service(
        "delete_without_rules",
        "        audit.require(\n            rules.can_manage_user(actor, target, Action.DELETE_USER)",
        "        (lambda *args, **kwargs: None)(\n"
        "            rules.can_manage_user(actor, target, Action.DELETE_USER)",
        "who may delete whom, rule 4",
    ),
    service(
        "delete_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "every deletion is audited",
        within="def delete_user(",
    ),
    service(
        "delete_deletes_nothing",
        "        target.delete()",
        "        pass",
        "a deletion deletes",
    ),
    service(
        "reset_password_without_lock_and_reload",
        "        lock_organization(target.organization_id, actor)\n"
        "        target = reload_target(target, AuditAction.PASSWORD_RESET)\n",
        "",
        "the actor and the target are read again under the lock",
    ),
    service(
        "reset_password_without_lock",
        "        lock_organization(target.organization_id, actor)\n"
        "        target = reload_target(target, AuditAction.PASSWORD_RESET)",
        "        target = reload_target(target, AuditAction.PASSWORD_RESET)",
        "the actor is read again under the lock",
    ),
    service(
        "reset_password_without_reload",
        "        target = reload_target(target, AuditAction.PASSWORD_RESET)\n",
        "",
        "the target is read again under the lock",
    ),
    service(
        "reset_password_without_rules",
        "        audit.require(\n            rules.can_manage_user(actor, target, Action.RESET_PASSWORD)",
        "        (lambda *args, **kwargs: None)(\n"
        "            rules.can_manage_user(actor, target, Action.RESET_PASSWORD)",
        "rule 6",
    ),
    service(
        "reset_password_kept",
        "        target.must_change_password = True\n",
        "",
        "a reset password is changed at the next sign-in",
    ),
    service(
        "reset_password_keeps_sessions",
        "        end_sessions(target)\n        audit.record(\n            actor,\n"
        "            AuditAction.PASSWORD_RESET,",
        "        audit.record(\n            actor,\n            AuditAction.PASSWORD_RESET,",
        "rule 11: a reset ends every session",
        equivalent=(
            "A reset sets a new password, and the password hash is part of the session hash "
            "too: the sessions end either way; end_sessions says so where it matters."
        ),
    ),
    service(
        "reset_password_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "every reset is audited",
        within="def reset_password(",
    ),
]

ORGANIZATIONS = [
    service(
        "create_organization_without_reread",
        "        lock_organization(None, actor)  # no organization yet; the actor is read again\n",
        "",
        "support staff deactivated a moment ago act no more",
    ),
    service(
        "create_organization_without_rules",
        "        audit.require(rules.can_manage_organizations(actor), AuditAction.ORGANIZATION_CREATED)",
        "        pass",
        "only support staff add organizations",
    ),
    service(
        "create_organization_without_full_clean",
        "        organization.full_clean()\n        organization.save()",
        "        organization.save()",
        "a partner ID has 6 or 7 digits, the name is unique",
    ),
    service(
        "create_organization_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "every new organization is audited",
        within="def create_organization(",
    ),
    service(
        "update_organization_without_lock",
        "        organization = lock_organization(organization.pk, actor)\n"
        "        audit.require(rules.can_manage_organizations(actor), AuditAction.ORGANIZATION_EDITED)",
        "        audit.require(rules.can_manage_organizations(actor), AuditAction.ORGANIZATION_EDITED)",
        "support staff deactivated a moment ago act no more",
    ),
    service(
        "update_organization_without_rules",
        "        audit.require(rules.can_manage_organizations(actor), AuditAction.ORGANIZATION_EDITED)",
        "        pass",
        "only support staff change organizations",
    ),
    service(
        "update_organization_without_full_clean",
        "        organization.full_clean()\n        after = _organization_snapshot(organization)",
        "        after = _organization_snapshot(organization)",
        "a partner ID has 6 or 7 digits",
    ),
    service(
        "update_organization_audits_no_change",
        "        if after == before:\n            return organization\n",
        "",
        "an edit that changes nothing writes no event",
    ),
    service(
        "update_organization_unaudited",
        "        audit.record(",
        "        " + SKIP,
        "every change of an organization is audited",
        within="def update_organization(",
    ),
]

# Rule 13: API clients (roles/rules.py), noticed by the API's own tests first.
API_TESTS = (
    "tests/test_api.py",
    "tests/test_api_clients_page.py",
    "tests/test_scim.py",
    "tests/test_rules.py",
)

API_CLIENTS = [
    rule(
        "table_user_admins_manage_api_clients",
        "Action.MANAGE_API_CLIENTS: frozenset({GA}),",
        "Action.MANAGE_API_CLIENTS: frozenset({GA, UMA}),",
        "only a Global admin, who may grant every role, creates API clients",
        tests=API_TESTS,
    ),
    rule(
        "held_roles_of_a_client_ignored",
        'client_roles = getattr(user, "api_client_roles", None)',
        "client_roles = None",
        "a client acts with the roles it was given",
        tests=API_TESTS,
    ),
    rule(
        "client_given_roles_its_creator_may_not_grant",
        "        grant = can_grant_role(actor, newcomer, key)\n        if not grant:",
        "        grant = can_grant_role(actor, newcomer, key)\n        if False:",
        "rule 13: never more than the creating admin may grant",
        tests=API_TESTS,
    ),
    rule(
        "client_outlives_its_creator",
        "    if creator is None or not creator.is_active or creator.organization_id != "
        "organization_id:\n        return refused(CLIENT_CREATOR_GONE)",
        "    if False:\n        return refused(CLIENT_CREATOR_GONE)",
        "a client stops when its creator leaves or is deactivated",
        tests=API_TESTS,
    ),
    rule(
        "client_outlives_its_creators_powers",
        "    if not can_give_client_roles(creator, role_keys):\n        return refused(",
        "    if False:\n        return refused(",
        "a client stops when its creator can no longer give its roles",
        tests=API_TESTS,
    ),
    rule(
        "support_staff_cannot_revoke_api_clients",
        "    if is_support_staff(actor):\n        return ALLOWED\n    return can(actor, "
        "Action.MANAGE_API_CLIENTS, organization)",
        "    return can(actor, Action.MANAGE_API_CLIENTS, organization)",
        "support staff revoke clients in the support admin",
        tests=API_TESTS,
    ),
]

MUTATIONS: list[Mutation] = [
    *TABLE,
    *WHO,
    *ORGANIZATION_WIDE,
    *ON_A_USER,
    *ROLES,
    *SECOND_APPROVAL,
    *WORKSPACES,
    *ROLE_SERVICES_MUTATIONS,
    *LOCKS,
    *CREATE,
    *LINKS,
    *CHANGES,
    *ORGANIZATIONS,
    *API_CLIENTS,
]
