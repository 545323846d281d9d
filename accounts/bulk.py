"""Bulk actions of the directory: one action for many users, each decided on its own.

The selection is either the users ticked on a page (their public ids) or every user the
directory's filters match (the filters themselves, never a list of ids). Both are read as
primary keys first, at most MAX_BULK_USERS of them, then the users are loaded and decided in
chunks of CHUNK_SIZE: a request holds one chunk of users, whatever the selection.

Each user is decided by the rulebook (can_grant_role, can_revoke_role, can_manage_user,
can_resend_invitation) and changed by the same service as the one-by-one action, which asks
the rulebook again under the organization's lock and writes one audit event per user changed.
A user with nothing to do (already deactivated, already holds the role) is skipped without a
refusal; a user the rulebook refuses is skipped and, when the admin goes ahead, recorded as a
refused attempt.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import models
from django.db.models import prefetch_related_objects

from accounts import services
from accounts.audit import NOWHERE, Origin, record_refused_attempt
from accounts.models import AuditAction, User, UserQuerySet
from roles import rules
from roles import services as role_services
from roles.catalogue import SPECS, RoleKey
from roles.rules import Action, Decision, RuleRefused

# The most users one bulk action changes. The action runs in the request (there are no
# background jobs yet), one transaction per user: 14 to 22 ms each on PostgreSQL on a busy
# two-core machine, so 500 users take about 10 seconds, a third of gunicorn's 30-second timeout.
# Narrow the filters for more (docs/architecture.md, "Bulk actions").
MAX_BULK_USERS = 500
# Users loaded and decided at once.
CHUNK_SIZE = 200
# How many users the confirmation names in each list (the counts cover all of them).
SHOWN_ON_CONFIRMATION = 50


class BulkAction(models.TextChoices):
    ASSIGN_ROLE = "assign_role", "Assign a role"
    REMOVE_ROLE = "remove_role", "Remove a role"
    DEACTIVATE = "deactivate", "Deactivate"
    REACTIVATE = "reactivate", "Reactivate"
    RESEND_INVITATION = "resend_invitation", "Resend invitation"
    DELETE = "delete", "Delete"


ROLE_ACTIONS = frozenset({BulkAction.ASSIGN_ROLE, BulkAction.REMOVE_ROLE})

# The rulebook's permissions an admin needs to be offered the action at all.
NEEDS: dict[BulkAction, tuple[Action, ...]] = {
    BulkAction.DEACTIVATE: (Action.DEACTIVATE_USER,),
    BulkAction.REACTIVATE: (Action.REACTIVATE_USER,),
    BulkAction.RESEND_INVITATION: (Action.ADD_USER, Action.EDIT_USER),
    BulkAction.DELETE: (Action.DELETE_USER,),
}

# What a refusal is recorded as, for a user skipped at confirmation.
AUDIT_ACTION = {
    BulkAction.ASSIGN_ROLE: AuditAction.ROLE_GRANTED,
    BulkAction.REMOVE_ROLE: AuditAction.ROLE_REVOKED,
    BulkAction.DEACTIVATE: AuditAction.USER_DEACTIVATED,
    BulkAction.REACTIVATE: AuditAction.USER_REACTIVATED,
    BulkAction.RESEND_INVITATION: AuditAction.INVITATION_SENT,
    BulkAction.DELETE: AuditAction.USER_DELETED,
}

DONE = {
    BulkAction.ASSIGN_ROLE: "{role} assigned.",
    BulkAction.REMOVE_ROLE: "{role} removed.",
    BulkAction.DEACTIVATE: "Deactivated: can no longer sign in.",
    BulkAction.REACTIVATE: "Reactivated: can sign in again.",
    BulkAction.RESEND_INVITATION: "A new invitation is on its way.",
    BulkAction.DELETE: "Deleted.",
}


def roles_offered(actor: User) -> list[str]:
    """The roles the actor may grant or revoke to someone, in the catalogue's order."""
    return [
        key
        for key, spec in SPECS.items()
        if rules.can_act_on_users(actor, rules.action_for_role(key))
    ]


def actions_offered(actor: User) -> list[BulkAction]:
    """The bulk actions the actor may take on some users (the rulebook decides each user)."""
    offered = []
    for action in BulkAction:
        if action in ROLE_ACTIONS:
            if roles_offered(actor):
                offered.append(action)
        elif all(rules.can_act_on_users(actor, need) for need in NEEDS[action]):
            offered.append(action)
    return offered


def needs_password(action: str, role_key: str) -> bool:
    """Deactivate, delete and granting Global admin ask for the password again, as one by one."""
    return action in {BulkAction.DEACTIVATE, BulkAction.DELETE} or (
        action == BulkAction.ASSIGN_ROLE and role_key == RoleKey.GLOBAL_ADMIN
    )


@dataclass(frozen=True)
class Verdict:
    """What the action would do to one user: change them, or skip them and why."""

    user: User
    change: bool
    reason: str = ""
    refused: bool = False  # the rulebook refused (recorded), rather than nothing to do


def _held(user: User) -> set[str]:
    # Every role held, also a CSP-only one that counts for nothing in a non-CSP organization.
    return {assignment.role.key for assignment in user.role_assignments.all()}


def _decision(actor: User, action: BulkAction, role_key: str, user: User) -> Decision | str:
    """The rulebook's answer, or a string when there is nothing to do."""
    role = SPECS[role_key].name if role_key in SPECS else ""
    if action == BulkAction.ASSIGN_ROLE:
        if role_key in _held(user):
            return f"Holds {role} already."
        decision = rules.can_grant_role(actor, user, role_key)
        return decision and rules.can_grant_without_approval(actor, role_key)
    if action == BulkAction.REMOVE_ROLE:
        if role_key not in _held(user):
            return f"Does not hold {role}."
        return rules.can_revoke_role(actor, user, role_key)
    if action == BulkAction.DEACTIVATE:
        if not user.is_active:
            return "Deactivated already."
        return rules.can_manage_user(actor, user, Action.DEACTIVATE_USER)
    if action == BulkAction.REACTIVATE:
        if user.is_active:
            return "Active already."
        return rules.can_manage_user(actor, user, Action.REACTIVATE_USER)
    if action == BulkAction.RESEND_INVITATION:
        if user.has_usable_password():
            return "Has set a password already: no invitation to resend."
        return rules.can_resend_invitation(actor, user)
    return rules.can_manage_user(actor, user, Action.DELETE_USER)


def decide(actor: User, action: BulkAction, role_key: str, user: User) -> Verdict:
    """Would the action change this user? Asked of each selected user on its own."""
    answer = _decision(actor, action, role_key, user)
    if isinstance(answer, str):
        return Verdict(user, change=False, reason=answer)
    if not answer:
        return Verdict(user, change=False, reason=answer.reason, refused=True)
    return Verdict(user, change=True)


def selected_ids(selection: UserQuerySet) -> list[int]:
    """The selection's primary keys in the directory's name order, at most MAX_BULK_USERS + 1
    (one more says there are too many)."""
    ordered = selection.order_by("first_name", "last_name", "pk")
    return list(ordered.values_list("pk", flat=True)[: MAX_BULK_USERS + 1])


def _another_active_global_admin() -> models.Expression:
    return rules.another_active_global_admin_expression()


def users_in_chunks(users: UserQuerySet, ids: list[int]) -> Iterator[list[User]]:
    """The users of these ids, a chunk at a time, loaded with what the rulebook asks of them
    (their roles, whether another Global admin remains) in a few queries per chunk."""
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = ids[start : start + CHUNK_SIZE]
        loaded = list(
            users.filter(pk__in=chunk)
            .select_related("organization")
            .annotate(**{rules.ANOTHER_ACTIVE_GLOBAL_ADMIN: _another_active_global_admin()})
            .with_status()
            .order_by("first_name", "last_name", "pk")
        )
        prefetch_related_objects(loaded, "role_assignments__role")
        yield loaded


@dataclass
class Plan:
    """What the confirmation says: how many users change and are skipped, and the first few
    of each, with the reasons."""

    selected: int = 0
    changing: int = 0
    skipping: int = 0
    changes: list[Verdict] = field(default_factory=list)
    skips: list[Verdict] = field(default_factory=list)

    @property
    def more_changes(self) -> int:
        return self.changing - len(self.changes)

    @property
    def more_skips(self) -> int:
        return self.skipping - len(self.skips)


def plan(
    actor: User, action: BulkAction, role_key: str, users: UserQuerySet, ids: list[int]
) -> Plan:
    """Decide every selected user, keeping only counts and the first SHOWN_ON_CONFIRMATION."""
    result = Plan(selected=len(ids))
    for chunk in users_in_chunks(users, ids):
        for user in chunk:
            verdict = decide(actor, action, role_key, user)
            if verdict.change:
                result.changing += 1
                if len(result.changes) < SHOWN_ON_CONFIRMATION:
                    result.changes.append(verdict)
            else:
                result.skipping += 1
                if len(result.skips) < SHOWN_ON_CONFIRMATION:
                    result.skips.append(verdict)
    return result


def applicable(
    actor: User, users: UserQuerySet, ids: list[int]
) -> tuple[list[BulkAction], list[str]]:
    """The actions, and the roles, that would change at least one selected user: what the
    confirmation offers instead when the action chosen changes nobody. Stops reading users once
    every offered action and role has found one."""
    actions, roles = set(), set()
    offered, offered_roles = actions_offered(actor), roles_offered(actor)
    for chunk in users_in_chunks(users, ids):
        for user in chunk:
            for action in offered:
                if action in ROLE_ACTIONS:
                    for role_key in offered_roles:
                        if decide(actor, action, role_key, user).change:
                            actions.add(action)
                            roles.add(role_key)
                elif action not in actions and decide(actor, action, "", user).change:
                    actions.add(action)
        if actions == set(offered) and roles == set(offered_roles):
            break
    return [a for a in offered if a in actions], [r for r in offered_roles if r in roles]


@dataclass(frozen=True)
class Outcome:
    """What happened to one user."""

    name: str
    email: str
    done: bool
    text: str

    def as_dict(self) -> dict:
        return {"name": self.name, "email": self.email, "done": self.done, "text": self.text}


def _change(
    actor: User, action: BulkAction, role_key: str, user: User, origin: Origin, base_url: str
) -> None:
    if action == BulkAction.ASSIGN_ROLE:
        role_services.grant_role(actor, user, role_key, origin=origin)
    elif action == BulkAction.REMOVE_ROLE:
        role_services.revoke_role(actor, user, role_key, origin=origin)
    elif action == BulkAction.DEACTIVATE:
        services.deactivate_user(actor, user, origin=origin)
    elif action == BulkAction.REACTIVATE:
        services.reactivate_user(actor, user, origin=origin)
    elif action == BulkAction.RESEND_INVITATION:
        services.resend_invitation(actor, user, origin=origin, base_url=base_url)
    else:
        services.delete_user(actor, user, origin=origin)


def run(
    actor: User,
    action: BulkAction,
    role_key: str,
    users: UserQuerySet,
    ids: list[int],
    *,
    origin: Origin = NOWHERE,
    base_url: str = "",
) -> list[Outcome]:
    """Take the action on every selected user the rulebook allows, each in its own transaction
    through the one-by-one service; record the others' refusals. What happened to each."""
    outcomes = []
    role = SPECS[role_key].name if role_key in SPECS else ""
    for chunk in users_in_chunks(users, ids):
        for user in chunk:
            name, email = user.get_full_name(), user.email
            verdict = decide(actor, action, role_key, user)
            if not verdict.change:
                if verdict.refused:
                    record_refused_attempt(
                        actor,
                        AUDIT_ACTION[action],
                        verdict.reason,
                        organization=actor.organization,
                        target=user,
                        detail={"role": role_key} if role_key else None,
                        origin=origin,
                    )
                outcomes.append(Outcome(name, email, False, f"Skipped: {verdict.reason}"))
                continue
            try:
                _change(actor, action, role_key, user, origin, base_url)
            except RuleRefused as refusal:
                # Allowed at confirmation, refused now under the lock (the service recorded it).
                outcomes.append(Outcome(name, email, False, f"Refused: {refusal.reason}"))
            else:
                outcomes.append(Outcome(name, email, True, DONE[action].format(role=role)))
    return outcomes
