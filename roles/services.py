"""Granting and revoking roles. Like accounts.services: the acting user, the rulebook, one
transaction, the audit record inside it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction

from accounts import audit
from accounts.audit import NOWHERE, Origin
from accounts.models import AuditAction, User
from accounts.services import lock_organization, reload_target
from roles import rules
from roles.catalogue import SPECS, in_catalogue_order
from roles.models import Role, RoleAssignment


@dataclass(frozen=True)
class RoleChange:
    granted: list[str]
    revoked: list[str]

    def __bool__(self) -> bool:
        return bool(self.granted or self.revoked)


def change_roles(
    actor: User, target: User, role_keys: Iterable[str], *, origin: Origin = NOWHERE
) -> RoleChange:
    """Make the target hold exactly these roles: all the grants and revocations, or none."""
    wanted = set(role_keys)
    return _change_roles(actor, target, lambda held: wanted, origin)


def grant_role(actor: User, target: User, role_key: str, *, origin: Origin = NOWHERE) -> RoleChange:
    """Add one role to those the target holds."""
    return _change_roles(actor, target, lambda held: held | {role_key}, origin)


def revoke_role(
    actor: User, target: User, role_key: str, *, origin: Origin = NOWHERE
) -> RoleChange:
    """Take one role away from the target."""
    return _change_roles(actor, target, lambda held: held - {role_key}, origin)


def _change_roles(
    actor: User, target: User, wanted_given: Callable[[set[str]], set[str]], origin: Origin
) -> RoleChange:
    # The roles wanted are worked out from those held under the lock, so that two requests
    # changing one user's roles at once cannot undo each other.
    callers_target = target
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.ROLES_CHANGED,
            organization=target.organization,
            target=target,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        organization = lock_organization(target.organization_id, actor)
        target = reload_target(target, AuditAction.ROLE_GRANTED)
        assignments = {
            assignment.role.key: assignment
            for assignment in RoleAssignment.objects.filter(user=target).select_related("role")
        }
        wanted = wanted_given(set(assignments))
        to_grant = in_catalogue_order(wanted - assignments.keys())
        to_revoke = in_catalogue_order(assignments.keys() - wanted)
        for key in to_grant:
            audit.require(
                rules.can_grant_role(actor, target, key), AuditAction.ROLE_GRANTED, role=key
            )
        for key in to_revoke:
            audit.require(
                rules.can_revoke_role(actor, target, key), AuditAction.ROLE_REVOKED, role=key
            )
        roles = {role.key: role for role in Role.objects.filter(key__in=to_grant)}
        RoleAssignment.objects.bulk_create(
            [RoleAssignment(user=target, role=roles[key], granted_by=actor) for key in to_grant]
        )
        RoleAssignment.objects.filter(pk__in=[assignments[key].pk for key in to_revoke]).delete()
        changes = [(AuditAction.ROLE_GRANTED, key) for key in to_grant] + [
            (AuditAction.ROLE_REVOKED, key) for key in to_revoke
        ]
        for action, key in changes:
            audit.record(
                actor,
                action,
                organization=organization,
                target=target,
                after={"role": SPECS[key].name},
                origin=origin,
            )
    rules.forget_held_roles(callers_target)
    return RoleChange(granted=to_grant, revoked=to_revoke)
