"""The rulebook: who may do what in a partner organization (DOMAIN.md, "Who may do what").

Every view, form, template and admin action asks these functions; nothing else decides. Each
answers a Decision, truthy when allowed and otherwise carrying the reason to show the person.
Deny by default: an action the table below does not grant is refused.

Decisions written down here (DOMAIN.md is silent on them):
- Support staff (is_staff, no organization) act through the Django admin in every organization
  with the user-management powers of a Global admin, except resetting passwords and second
  factors (rules 6 and 10 keep those to Global admins) and the membership workspace (the
  partner's own business). The numbered rules that protect an organization (last Global admin,
  CSP-only roles) hold for them too.
- Nobody deactivates or deletes themselves, and nobody resets their own password with the admin
  action (they change it from their profile): the same self-lockout reasoning as rule 3.
- A CSP-only role held in a non-CSP organization (say, after the organization's program type
  changed) unlocks nothing there (rule 5), and may still be revoked.
- Resending an invitation (a new link to set a password) is for those who may add users and may
  edit the user, while the user has not set a password and is active.
- Rule 12's second approval: support staff's grant of Global admin is a request, which another
  active support staff member approves or rejects (never the one who asked, who may withdraw
  it). An approval asks the grant's rules again, for the approver, and is refused when the user
  was deleted or deactivated meanwhile, or when the one who asked can no longer act.
- Rule 13, API clients: a client acts as an actor that is not a User (api.actors.ClientActor):
  held_roles answers its own roles (with rule 5 applied), it has no primary key (so it is never
  "self" to anyone, and never a Global admin that rule 4 counts), and it acts only while the
  admin who created it could still grant every one of its roles (can_client_act).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import connection, models

from roles.catalogue import CATALOGUE, SPECS, RoleGroup, RoleKey

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import PartnerOrganization, User
    from roles.models import GlobalAdminGrantRequest

    Actor = User | AnonymousUser


class Action(models.TextChoices):
    SEE_DIRECTORY = "see_directory", "see the directory"
    SEARCH_DIRECTORY = "search_directory", "search the directory"
    ADD_USER = "add_user", "add users"
    EDIT_USER = "edit_user", "edit a user's name or email"
    DEACTIVATE_USER = "deactivate_user", "deactivate users"
    REACTIVATE_USER = "reactivate_user", "reactivate users"
    DELETE_USER = "delete_user", "delete users"
    RESET_PASSWORD = "reset_password", "reset passwords"
    RESET_SECOND_FACTOR = "reset_second_factor", "reset a user's second factor"
    MANAGE_GLOBAL_ADMIN = "manage_global_admin", "grant or revoke Global admin"
    MANAGE_DIRECTORY_ROLES = "manage_directory_roles", "grant or revoke directory roles"
    MANAGE_MEMBERSHIP_ROLES = "manage_membership_roles", "grant or revoke membership roles"
    USE_MEMBERSHIP_WORKSPACE = "use_membership_workspace", "use the membership workspace"
    PURCHASE_MAPS = "purchase_maps", "purchase MAPS"
    SEE_AUDIT_LOG = "see_audit_log", "see the audit log"
    MANAGE_API_CLIENTS = "manage_api_clients", "create or revoke API clients"


GA = RoleKey.GLOBAL_ADMIN
UMA = RoleKey.USER_MANAGEMENT_ADMIN
AA = RoleKey.ACCOUNT_ADMIN
MPN = RoleKey.MPN_PARTNER_ADMIN

# DOMAIN.md's table: the roles whose holders may take each action. Anything absent is refused.
GRANTED_TO: dict[Action, frozenset[str]] = {
    Action.SEE_DIRECTORY: frozenset({GA, UMA, AA, MPN}),
    Action.SEARCH_DIRECTORY: frozenset({GA, UMA, AA, MPN}),
    Action.ADD_USER: frozenset({GA, UMA}),
    Action.EDIT_USER: frozenset({GA, UMA}),
    Action.DEACTIVATE_USER: frozenset({GA, UMA}),
    Action.REACTIVATE_USER: frozenset({GA, UMA}),
    Action.DELETE_USER: frozenset({GA, UMA}),
    Action.RESET_PASSWORD: frozenset({GA}),
    # Rule 10: like a password (rule 6), only a Global admin; support staff are not given it.
    Action.RESET_SECOND_FACTOR: frozenset({GA}),
    Action.MANAGE_GLOBAL_ADMIN: frozenset({GA}),
    Action.MANAGE_DIRECTORY_ROLES: frozenset({GA, UMA}),
    Action.MANAGE_MEMBERSHIP_ROLES: frozenset({GA, UMA, AA}),
    Action.USE_MEMBERSHIP_WORKSPACE: frozenset({GA, MPN}),
    Action.PURCHASE_MAPS: frozenset({GA, MPN}),
    Action.SEE_AUDIT_LOG: frozenset({GA, UMA}),
    # Decision: a client may hold any role, Global admin included, so only those who may grant
    # every role create them; support staff revoke them in the support admin
    # (can_revoke_api_client).
    Action.MANAGE_API_CLIENTS: frozenset({GA}),
}

SUPPORT_STAFF_ACTIONS: frozenset[Action] = frozenset(
    {
        Action.SEE_DIRECTORY,
        Action.SEARCH_DIRECTORY,
        Action.ADD_USER,
        Action.EDIT_USER,
        Action.DEACTIVATE_USER,
        Action.REACTIVATE_USER,
        Action.DELETE_USER,
        Action.MANAGE_GLOBAL_ADMIN,
        Action.MANAGE_DIRECTORY_ROLES,
        Action.MANAGE_MEMBERSHIP_ROLES,
        Action.SEE_AUDIT_LOG,
    }
)

USER_ACTIONS: frozenset[Action] = frozenset(
    {
        Action.EDIT_USER,
        Action.DEACTIVATE_USER,
        Action.REACTIVATE_USER,
        Action.DELETE_USER,
        Action.RESET_PASSWORD,
        Action.RESET_SECOND_FACTOR,
    }
)


class Workspace(models.TextChoices):
    USER_MANAGEMENT = "user_management", "User management"
    ACCOUNT_SETTINGS = "account_settings", "Account settings"
    MEMBERSHIP = "membership", "Membership"
    BILLING = "billing", "Billing"
    CUSTOMERS = "customers", "Customers"
    LEADS = "leads", "Leads"
    SUPPORT_REQUESTS = "support_requests", "Customer support requests"
    REFERRALS = "referrals", "Referrals"
    INCENTIVES = "incentives", "Incentives"
    BUSINESS_PROFILE = "business_profile", "Business profile"
    ANALYTICS = "analytics", "Analytics"


# Global admin unlocks everything in the organization; every other role its own workspaces.
UNLOCKED_BY: dict[Workspace, frozenset[str]] = {
    Workspace.USER_MANAGEMENT: GRANTED_TO[Action.SEE_DIRECTORY],
    Workspace.ACCOUNT_SETTINGS: frozenset({GA, AA}),
    Workspace.MEMBERSHIP: GRANTED_TO[Action.USE_MEMBERSHIP_WORKSPACE],
    Workspace.BILLING: frozenset({GA, RoleKey.BILLING_ADMIN}),
    Workspace.CUSTOMERS: frozenset({GA, RoleKey.ADMIN_AGENT, RoleKey.SALES_AGENT}),
    Workspace.LEADS: frozenset({GA, RoleKey.SALES_AGENT}),
    Workspace.SUPPORT_REQUESTS: frozenset({GA, RoleKey.HELPDESK_AGENT}),
    Workspace.REFERRALS: frozenset({GA, RoleKey.REFERRALS_ADMIN}),
    Workspace.INCENTIVES: frozenset({GA, RoleKey.INCENTIVES_ADMIN}),
    Workspace.BUSINESS_PROFILE: frozenset({GA, RoleKey.BUSINESS_PROFILE_ADMIN}),
    Workspace.ANALYTICS: frozenset({GA, RoleKey.EXECUTIVE_REPORT_VIEWER}),
}

# The cloud solution provider business exists only in a CSP organization.
CSP_WORKSPACES = frozenset(
    {Workspace.BILLING, Workspace.CUSTOMERS, Workspace.LEADS, Workspace.SUPPORT_REQUESTS}
)


@dataclass(frozen=True)
class Decision:
    """The answer to "may they?": truthy when allowed, else falsy with the reason why not."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def refused(reason: str) -> Decision:
    return Decision(False, reason)


class RuleRefused(PermissionDenied):
    """Something the rulebook refuses was asked for, and every refusal is recorded in the audit
    trail as an attempt at something: services record it before it leaves them (`action` and
    `detail` say what was attempted); a view that refuses a page names the rulebook's
    `permission` (and the `target` user, if any), so the 403 page can say who may, and
    accounts.middleware.RefusalAuditMiddleware records it."""

    def __init__(
        self,
        reason: str,
        *,
        action: str = "",
        detail: dict | None = None,
        permission: Action | None = None,
        target: User | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.action = action
        self.detail = detail or {}
        self.permission = permission  # the rulebook's action, for "who could do this?"
        self.target = target
        self.audit_context: dict = {}  # filled in once recorded (accounts.audit)


# Who the actor is


def is_support_staff(user: Actor) -> bool:
    return bool(
        user.is_authenticated and user.is_active and user.is_staff and user.organization_id is None
    )


def _organization_is_csp(user: User) -> bool:
    return user.organization is not None and user.organization.is_csp


def held_roles(user: Actor) -> frozenset[str]:
    """The keys of the roles the user holds that count in their organization.

    CSP-only roles count only in a CSP organization (rule 5). Uses the user's prefetched
    `role_assignments__role` when present, else one query, remembered on the instance.
    """
    if not user.is_authenticated or user.organization_id is None:
        return frozenset()
    client_roles = getattr(user, "api_client_roles", None)
    if client_roles is not None:  # an API client acting (rule 13): the roles it was given
        return _counting_in(set(client_roles), user)
    if user.pk is None:
        return frozenset()
    cached = user.__dict__.get("_held_roles")
    if cached is not None:
        return cached
    prefetched = getattr(user, "_prefetched_objects_cache", {}).get("role_assignments")
    if prefetched is not None:
        keys = {assignment.role.key for assignment in prefetched}
    else:
        from roles.models import RoleAssignment

        keys = set(
            RoleAssignment.objects.filter(user_id=user.pk).values_list("role__key", flat=True)
        )
    user.__dict__["_held_roles"] = _counting_in(keys, user)
    return user.__dict__["_held_roles"]


def _counting_in(keys: set[str], user: Actor) -> frozenset[str]:
    if not _organization_is_csp(user):
        keys = {key for key in keys if key in SPECS and not SPECS[key].csp_only}
    return frozenset(keys)


def remember_held_roles(user: User, keys: set[str]) -> None:
    """What held_roles answers for the user, from their role keys read by the caller in a query
    of its own (accounts.page_cache reads them with the organization's version): the same keys
    held_roles would read, counted the same way."""
    user.__dict__["_held_roles"] = _counting_in(set(keys), user)


def forget_held_roles(user: User) -> None:
    """Drop what held_roles (and is_last_active_global_admin) remembered, after the user's
    roles changed."""
    user.__dict__.pop("_held_roles", None)
    user.__dict__.pop("_last_active_global_admin", None)
    getattr(user, "_prefetched_objects_cache", {}).pop("role_assignments", None)


def _may(actor: Actor, action: Action) -> bool:
    if not actor.is_authenticated or not actor.is_active:
        return False
    if is_support_staff(actor):
        return action in SUPPORT_STAFF_ACTIONS
    return bool(held_roles(actor) & GRANTED_TO.get(action, frozenset()))


def _ranks_as_global_admin(actor: Actor) -> bool:
    return is_support_staff(actor) or GA in held_roles(actor)


def roles_allowed_to(action: Action) -> list[RoleKey]:
    """The roles whose holders may take the action, in the catalogue's order."""
    granted = GRANTED_TO.get(action, frozenset())
    return [spec.key for spec in CATALOGUE if spec.key in granted]


def _names(keys: Iterable[str]) -> str:
    names = [SPECS[key].name for key in keys]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _not_allowed(action: Action) -> Decision:
    holders = roles_allowed_to(action)
    if not holders:
        return refused(f"Nobody in a partner organization may {action.label}.")
    return refused(f"Only a {_names(holders)} can {action.label}.")


# Organization-wide actions


def _signed_out(actor: Actor) -> Decision:
    """Why an actor who may not act now is refused: a person is asked to sign in; an API
    client stopped while its call waited (revoked, expired, its creator demoted) says which."""
    stopped = getattr(actor, "refusal", None)  # api.actors.ClientActor
    if isinstance(stopped, Decision) and not stopped:
        return stopped
    return refused("Sign in to continue.")


def can(actor: Actor, action: Action, organization: PartnerOrganization | None = None) -> Decision:
    """May the actor take an action that concerns their organization as a whole?

    For the directory, adding users, the membership workspace, MAPS and the audit log. Pass the
    organization when acting on a particular one; partner users act only in their own.
    """
    if not actor.is_authenticated or not actor.is_active:
        return _signed_out(actor)
    if action in USER_ACTIONS:
        raise ValueError(f"{action} concerns a user: ask can_manage_user.")
    if is_support_staff(actor) and organization is None:
        return refused("Support staff work in the support admin, not in an organization's pages.")
    if (
        organization is not None
        and not is_support_staff(actor)
        and organization.pk != actor.organization_id
    ):
        return refused("This belongs to another organization.")
    if not _may(actor, action):
        return _not_allowed(action)
    return ALLOWED


def can_manage_organizations(actor: Actor) -> Decision:
    """May the actor create partner organizations or change their name, partner ID or program
    type? Support staff only: an organization never changes itself (its program type decides
    which roles count there, rule 5)."""
    if is_support_staff(actor):
        return ALLOWED
    return refused("Only the partner network's support staff manage partner organizations.")


# Actions on one user


def _reach(actor: Actor, target: User) -> Decision:
    if not actor.is_authenticated or not actor.is_active:
        return _signed_out(actor)
    if target.organization_id is None:
        return refused("Support staff accounts are not managed here.")
    if not is_support_staff(actor) and actor.organization_id != target.organization_id:
        return refused("This user is not in your organization.")
    return ALLOWED


def _target_organization(actor: Actor, target: User) -> PartnerOrganization:
    # Same organization: reuse the actor's, already loaded with the request.
    if actor.organization_id == target.organization_id and actor.organization is not None:
        return actor.organization
    return target.organization


def _is_self(actor: Actor, target: User) -> bool:
    return target.pk is not None and actor.pk == target.pk


def holds_global_admin(user: User) -> bool:
    return GA in held_roles(user)


def other_active_global_admins(organization_id: object, user_id: object) -> models.QuerySet:
    """The organization's other active Global admins (ids, or OuterRefs for a subquery)."""
    from roles.models import RoleAssignment

    # On the assignments' own organization: one range of the (organization, role) INCLUDE (user)
    # index (roles migration 0007), then each of the few Global admins' rows, not a walk of
    # the organization's users.
    return RoleAssignment.objects.filter(
        role__key=GA, organization_id=organization_id, user__is_active=True
    ).exclude(user_id=user_id)


def another_active_global_admin_exists(organization_id: int, user_id: int) -> bool:
    """Whether other_active_global_admins(organization_id, user_id) finds anyone: the same
    question, written as SQL. Rule 4 asks it of every change to a Global admin, under the
    organization's lock, and the ORM took longer to build the query each time than the database
    to answer it (bench/README.md: about 1.2 ms against 0.4). tests/test_rules_last_admin.py
    holds it to the queryset's answer."""
    from roles.models import Role, RoleAssignment

    assignments, roles = RoleAssignment._meta.db_table, Role._meta.db_table
    users = RoleAssignment._meta.get_field("user").related_model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {assignments} JOIN {users}"  # noqa: S608 (table names from the models)
            f" ON {users}.id = {assignments}.user_id"
            f" WHERE {assignments}.organization_id = %s"
            f" AND {assignments}.role_id = (SELECT id FROM {roles} WHERE key = %s)"
            f" AND {users}.is_active = %s AND {assignments}.user_id <> %s LIMIT 1",
            [organization_id, GA.value, True, user_id],
        )
        return cursor.fetchone() is not None


# The name of the annotation (another_active_global_admin_expression) with which a view may load
# a user: is_last_active_global_admin then asks nothing more (accounts.views.common).
ANOTHER_ACTIVE_GLOBAL_ADMIN = "another_active_global_admin"


def another_active_global_admin_expression() -> models.Expression:
    """For a user who holds Global admin, whether another active one remains; NULL (not asked)
    for anyone else, so loading other users costs nothing more."""
    from roles.models import RoleAssignment

    holds_it = RoleAssignment.objects.filter(user_id=models.OuterRef("pk"), role__key=GA)
    others = other_active_global_admins(models.OuterRef("organization_id"), models.OuterRef("pk"))
    return models.Case(
        models.When(models.Exists(holds_it), then=models.Exists(others)),
        default=None,
        output_field=models.BooleanField(null=True),
    )


def is_last_active_global_admin(user: User) -> bool:
    """Rule 4: would the organization lose its last active Global admin without this user?

    One query, remembered on the instance like held_roles (a user's page asks it for several
    buttons), or none when the user was loaded with the ANOTHER_ACTIVE_GLOBAL_ADMIN annotation.
    Services ask it of a target they read again under the organization's lock.
    """
    if not user.is_active or user.pk is None or not holds_global_admin(user):
        return False
    cached = user.__dict__.get("_last_active_global_admin")
    if cached is not None:
        return cached
    others = user.__dict__.get(ANOTHER_ACTIVE_GLOBAL_ADMIN)
    if others is None:
        others = another_active_global_admin_exists(user.organization_id, user.pk)
    user.__dict__["_last_active_global_admin"] = not others
    return not others


# DOMAIN.md rule 9, guidance shown to admins and reported to support, never enforced: keep at
# least two active Global admins (one can be away or lose access) and fewer than five.
RECOMMENDED_MIN_GLOBAL_ADMINS = 2
RECOMMENDED_MAX_GLOBAL_ADMINS = 4

LAST_GLOBAL_ADMIN = (
    "An organization always keeps at least one active Global admin: make someone else a "
    "Global admin first."
)


def can_manage_user(actor: Actor, target: User, action: Action) -> Decision:
    """May the actor edit, deactivate, reactivate, delete, reset the password or reset the second
    factor of the target?"""
    if action not in USER_ACTIONS:
        raise ValueError(f"{action} is not an action on a user.")
    reach = _reach(actor, target)
    if not reach:
        return reach
    if not _may(actor, action):
        return _not_allowed(action)
    if holds_global_admin(target) and not _ranks_as_global_admin(actor):
        return refused("Only a Global admin can change a user who holds Global admin.")
    if _is_self(actor, target):
        if action == Action.RESET_PASSWORD:
            return refused("Change your own password from My profile.")
        if action == Action.RESET_SECOND_FACTOR:
            return refused("Manage your own sign-in methods from My profile.")
        if action in {Action.DEACTIVATE_USER, Action.DELETE_USER}:
            return refused("You cannot deactivate or delete your own account.")
    if action == Action.DEACTIVATE_USER and not target.is_active:
        return refused("This user is already deactivated.")
    if action == Action.REACTIVATE_USER and target.is_active:
        return refused("This user is already active.")
    if action in {Action.DEACTIVATE_USER, Action.DELETE_USER} and is_last_active_global_admin(
        target
    ):
        return refused(LAST_GLOBAL_ADMIN)
    return ALLOWED


def can_resend_invitation(actor: Actor, target: User) -> Decision:
    """May the actor email the target a new invitation to set their password?

    Those who may add users and may edit this user (so not a Global admin, below Global
    admin), while the target has not set a password yet and is active (a deactivated user's
    link does not work).
    """
    decision = can_manage_user(actor, target, Action.EDIT_USER)
    if not decision:
        return decision
    if not _may(actor, Action.ADD_USER):
        return _not_allowed(Action.ADD_USER)
    if target.has_usable_password():
        return refused("This user has already set a password.")
    if not target.is_active:
        return refused("This user is deactivated: reactivate them before resending the invitation.")
    return ALLOWED


def can_act_on_users(actor: Actor, action: Action) -> Decision:
    """May the actor take this action on some users of their organization? What the directory's
    bulk actions offer; each user is then decided on its own (can_manage_user and the others)."""
    if not actor.is_authenticated or not actor.is_active:
        return _signed_out(actor)
    if is_support_staff(actor):
        return refused("Support staff work in the support admin, not in an organization's pages.")
    if not _may(actor, action):
        return _not_allowed(action)
    return ALLOWED


# Granting and revoking roles


def action_for_role(role_key: str) -> Action:
    """Which permission governs granting or revoking this role."""
    if role_key == GA:
        return Action.MANAGE_GLOBAL_ADMIN
    if SPECS[role_key].group == RoleGroup.DIRECTORY:
        return Action.MANAGE_DIRECTORY_ROLES
    return Action.MANAGE_MEMBERSHIP_ROLES


def _can_change_role(actor: Actor, target: User, role_key: str) -> Decision:
    reach = _reach(actor, target)
    if not reach:
        return reach
    if role_key not in SPECS:
        return refused("There is no such role.")
    if _is_self(actor, target):
        return refused("Nobody changes their own roles: ask another admin.")
    if holds_global_admin(target) and not _ranks_as_global_admin(actor):
        return refused("Only a Global admin can change the roles of a Global admin.")
    action = action_for_role(role_key)
    if not _may(actor, action):
        holders = roles_allowed_to(action)
        return refused(f"Only a {_names(holders)} can grant or revoke {SPECS[role_key].name}.")
    return ALLOWED


def can_grant_role(actor: Actor, target: User, role_key: str) -> Decision:
    """May the actor give the role to the target (an unsaved user for one being added)?"""
    decision = _can_change_role(actor, target, role_key)
    if not decision:
        return decision
    if SPECS[role_key].csp_only and not _target_organization(actor, target).is_csp:
        return refused(
            f"{SPECS[role_key].name} is a CSP role: a non-CSP organization cannot grant it."
        )
    return ALLOWED


def can_revoke_role(actor: Actor, target: User, role_key: str) -> Decision:
    """May the actor take the role away from the target?"""
    decision = _can_change_role(actor, target, role_key)
    if not decision:
        return decision
    if role_key == GA and is_last_active_global_admin(target):
        return refused(LAST_GLOBAL_ADMIN)
    return ALLOWED


def grantable_roles(actor: Actor, target: User) -> dict[str, Decision]:
    """For each role of the catalogue, whether the actor's grant to the target would take effect
    now, and why not (support staff's Global admin waits for a second approval, rule 12)."""
    return {
        spec.key.value: can_grant_role(actor, target, spec.key)
        and can_grant_without_approval(actor, spec.key)
        for spec in CATALOGUE
    }


# Rule 12: support staff's Global admin grants take effect when a second staff member approves

SECOND_APPROVAL_NEEDED = (
    "A Global admin grant made by support staff takes effect only when a second support staff "
    "member approves it."
)


def can_grant_without_approval(actor: Actor, role_key: str) -> Decision:
    """Does the actor's grant of the role take effect at once? Not support staff's grant of
    Global admin: that is a request (can_request_global_admin), approved by another."""
    if role_key == GA and is_support_staff(actor):
        return refused(SECOND_APPROVAL_NEEDED)
    return ALLOWED


def can_request_global_admin(actor: Actor, target: User) -> Decision:
    """May the actor ask that the target be made a Global admin (an unsaved user for one being
    added)? Support staff only, when they could grant it but for the second approval."""
    if not is_support_staff(actor):
        return refused("Only support staff request Global admin; a Global admin grants it.")
    decision = can_grant_role(actor, target, GA)
    if not decision:
        return decision
    if target.pk is None:
        return ALLOWED  # a user being added: active, no roles, no request yet
    if not target.is_active:
        return refused("This user is deactivated: reactivate them before asking for Global admin.")
    if holds_global_admin(target):
        return refused("This user holds Global admin already.")
    from roles.models import GrantRequestStatus

    if target.global_admin_requests.filter(status=GrantRequestStatus.PENDING).exists():
        return refused("A request to make this user a Global admin is waiting for approval.")
    return ALLOWED


def can_decide_global_admin_grant(actor: Actor, grant_request: GlobalAdminGrantRequest) -> Decision:
    """May the actor approve or reject the request? Another active support staff member than
    the one who asked, while it waits."""
    if not is_support_staff(actor):
        return refused("Only support staff decide Global admin requests.")
    if grant_request.requested_by_id == actor.pk:
        return refused("A second support staff member decides this request, not the one who asked.")
    if not grant_request.is_pending:
        return refused(f"This request is {grant_request.get_status_display().lower()} already.")
    return ALLOWED


def can_approve_global_admin_grant(
    actor: Actor, grant_request: GlobalAdminGrantRequest
) -> Decision:
    """May the actor approve the request, making the user a Global admin now? As deciding,
    and the grant's own rules allow it to the approver now (the user may have changed)."""
    decision = can_decide_global_admin_grant(actor, grant_request)
    if not decision:
        return decision
    if not is_support_staff(grant_request.requested_by):
        return refused(
            "The support staff member who asked can no longer act: reject this request, and "
            "ask again if it is still needed."
        )
    user = grant_request.user
    if user is None:
        return refused("This user no longer exists: reject the request.")
    if not user.is_active:
        return refused("This user is deactivated: reject the request, or reactivate them first.")
    if holds_global_admin(user):
        return refused("This user holds Global admin already: reject the request.")
    if user.email != grant_request.user_email:
        return refused(
            f"This user's email changed since the request (it was {grant_request.user_email}): "
            "reject the request, and ask again if it is still needed."
        )
    return can_grant_role(actor, user, GA)


def has_pending_global_admin_request(user: User) -> bool:
    """Is a request to make the user a Global admin waiting for a second approval?"""
    if user.pk is None:
        return False
    from roles.models import GrantRequestStatus

    return user.global_admin_requests.filter(status=GrantRequestStatus.PENDING).exists()


def can_change_email(actor: Actor, target: User) -> Decision:
    """May the actor give the target another email? Whoever controls a user's email can choose
    their password (an invitation, Forgot password?), so a Global admin's email, or that of
    someone waiting to become one, is changed only by a Global admin of the organization: not by
    support staff, whose Global admin grants need a second approval (rule 12), nor by anyone
    below Global admin. Asked on top of can_manage_user(EDIT_USER)."""
    decision = can_manage_user(actor, target, Action.EDIT_USER)
    if not decision:
        return decision
    if is_support_staff(actor) and holds_global_admin(target):
        return refused(
            "Support staff do not change a Global admin's email: a Global admin of the "
            "organization can."
        )
    if GA not in held_roles(actor) and has_pending_global_admin_request(target):
        return refused(
            "This user is waiting for approval as a Global admin: only a Global admin of the "
            "organization can change their email now."
        )
    return ALLOWED


def can_cancel_global_admin_grant(actor: Actor, grant_request: GlobalAdminGrantRequest) -> Decision:
    """May the actor withdraw the request? The support staff member who asked, while it waits."""
    if not is_support_staff(actor) or grant_request.requested_by_id != actor.pk:
        return refused("Only the support staff member who asked withdraws a request.")
    if not grant_request.is_pending:
        return refused(f"This request is {grant_request.get_status_display().lower()} already.")
    return ALLOWED


# API clients (rule 13)


def can_give_client_roles(actor: Actor, role_keys: Iterable[str]) -> Decision:
    """May the actor create an API client that acts with these roles? Those who manage API
    clients, and only roles they could grant a new user of their organization now."""
    decision = can(actor, Action.MANAGE_API_CLIENTS)
    if not decision:
        return decision
    from accounts.models import User

    newcomer = User(organization=actor.organization)
    for key in role_keys:
        grant = can_grant_role(actor, newcomer, key)
        if not grant:
            return grant
    return ALLOWED


def can_revoke_api_client(actor: Actor, organization: PartnerOrganization) -> Decision:
    """May the actor revoke an API client of the organization? Its Global admins, and support
    staff (in the support admin)."""
    if is_support_staff(actor):
        return ALLOWED
    return can(actor, Action.MANAGE_API_CLIENTS, organization)


CLIENT_CREATOR_GONE = (
    "The admin who created this API client can no longer give it its roles (they left, were "
    "deactivated or lost a role): a Global admin creates a new client."
)


def can_client_act(
    creator: User | None, organization_id: object, role_keys: Iterable[str]
) -> Decision:
    """May an API client act now? Only while the admin who created it is active in its
    organization and could still give it every one of its roles (as Okta deactivates the tokens
    of a deactivated admin): a client never outlasts its creator's powers."""
    if creator is None or not creator.is_active or creator.organization_id != organization_id:
        return refused(CLIENT_CREATOR_GONE)
    if not can_give_client_roles(creator, role_keys):
        return refused(CLIENT_CREATOR_GONE)
    return ALLOWED


# Workspaces


def workspaces_for_roles(
    role_keys: Iterable[str], organization: PartnerOrganization
) -> list[Workspace]:
    """The workspaces a set of roles unlocks in an organization, in display order."""
    keys = {key for key in role_keys if key in SPECS}
    if not organization.is_csp:
        keys = {key for key in keys if not SPECS[key].csp_only}
    return [
        workspace
        for workspace in Workspace
        if keys & UNLOCKED_BY[workspace]
        and (organization.is_csp or workspace not in CSP_WORKSPACES)
    ]


def roles_unlocking(workspace: Workspace, organization: PartnerOrganization) -> list[RoleKey]:
    """The roles that unlock a workspace in an organization, in the catalogue's order; none when
    the workspace does not exist there (the CSP business in a non-CSP organization)."""
    if not organization.is_csp and workspace in CSP_WORKSPACES:
        return []
    return [
        spec.key
        for spec in CATALOGUE
        if spec.key in UNLOCKED_BY[workspace] and (organization.is_csp or not spec.csp_only)
    ]


def workspaces_for(user: Actor) -> list[Workspace]:
    """The workspaces the user's roles unlock: all that they see on their dashboard."""
    if not user.is_authenticated or not user.is_active or user.organization is None:
        return []
    return workspaces_for_roles(held_roles(user), user.organization)


def require(decision: Decision, permission: Action, target: User | None = None) -> None:
    """Raise RuleRefused (a 403 for a view, recorded as a refused attempt) unless the decision
    allows."""
    if not decision:
        raise RuleRefused(decision.reason, permission=permission, target=target)


# What a set of roles gives: the access preview of the add-user flow


# The actions shown in an access preview, in the order an admin reads them.
PREVIEWED_ACTIONS = (
    Action.SEE_DIRECTORY,
    Action.ADD_USER,
    Action.EDIT_USER,
    Action.DEACTIVATE_USER,
    Action.RESET_PASSWORD,
    Action.MANAGE_GLOBAL_ADMIN,
    Action.MANAGE_DIRECTORY_ROLES,
    Action.MANAGE_MEMBERSHIP_ROLES,
    Action.PURCHASE_MAPS,
    Action.SEE_AUDIT_LOG,
)


@dataclass(frozen=True)
class Access:
    workspaces: list[Workspace]
    actions: list[Action]


def access_for_roles(role_keys: Iterable[str], organization: PartnerOrganization) -> Access:
    """What a person holding these roles in the organization would see and may do."""
    keys = {key for key in role_keys if key in SPECS}
    if not organization.is_csp:
        keys = {key for key in keys if not SPECS[key].csp_only}
    return Access(
        workspaces=workspaces_for_roles(keys, organization),
        actions=[action for action in PREVIEWED_ACTIONS if keys & GRANTED_TO[action]],
    )


# The audit log


# The audit actions about users and their roles: a User management admin's part of the log.
USER_MANAGEMENT_AUDIT_PREFIXES = ("user.", "role.")


def audit_actions_visible_to(actor: Actor) -> frozenset[str] | None:
    """The audit actions whose events the actor may read in their organization's audit log.

    None means every action (a Global admin); a User management admin reads the user-management
    ones (user.*, role.*), never membership or organization events; anyone else, support staff
    included (they read it in the support admin), reads none.
    """
    if not can(actor, Action.SEE_AUDIT_LOG):
        return frozenset()
    roles = held_roles(actor)
    if GA in roles:
        return None
    if UMA in roles:
        # Imported here, as in held_roles: the rulebook is loaded before the apps' models.
        from accounts.models import AuditAction

        return frozenset(
            action
            for action in AuditAction.values
            if action.startswith(USER_MANAGEMENT_AUDIT_PREFIXES)
        )
    return frozenset()
