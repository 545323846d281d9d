"""Granting and revoking roles. Like accounts.services: the acting user, the rulebook, one
transaction, the audit record inside it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.audit import NOWHERE, Origin
from accounts.models import AuditAction, PartnerOrganization, User
from accounts.services import lock_organization, person, reload_target
from roles import rules
from roles.catalogue import SPECS, RoleKey, in_catalogue_order
from roles.models import GlobalAdminGrantRequest, GrantRequestStatus, Role, RoleAssignment
from roles.rules import RuleRefused


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
        change = _change_roles_under_lock(actor, target, organization, wanted_given, origin)
    rules.forget_held_roles(callers_target)
    return change


def _change_roles_under_lock(
    actor: User,
    target: User,
    organization: PartnerOrganization | None,
    wanted_given: Callable[[set[str]], set[str]],
    origin: Origin,
    *,
    approved: bool = False,
) -> RoleChange:
    # The roles wanted are worked out from those held under the lock, so that two requests
    # changing one user's roles at once cannot undo each other.
    assignments = {
        assignment.role.key: assignment
        for assignment in RoleAssignment.objects.filter(user=target).select_related("role")
    }
    wanted = wanted_given(set(assignments))
    to_grant = in_catalogue_order(wanted - assignments.keys())
    to_revoke = in_catalogue_order(assignments.keys() - wanted)
    for key in to_grant:
        audit.require(rules.can_grant_role(actor, target, key), AuditAction.ROLE_GRANTED, role=key)
        if not approved:  # rule 12: support staff's Global admin waits for a second approval
            audit.require(
                rules.can_grant_without_approval(actor, key), AuditAction.ROLE_GRANTED, role=key
            )
    for key in to_revoke:
        audit.require(rules.can_revoke_role(actor, target, key), AuditAction.ROLE_REVOKED, role=key)
    roles = {role.key: role for role in Role.objects.filter(key__in=to_grant)}
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(user=target, role=roles[key], granted_by=person(actor)) for key in to_grant]
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
    return RoleChange(granted=to_grant, revoked=to_revoke)


# Global admin requests (DOMAIN.md rule 12): support staff ask, a second staff member decides

GLOBAL_ADMIN = SPECS[RoleKey.GLOBAL_ADMIN].name
NOTE_LENGTH = 1000  # the note of the one who decides


def request_global_admin(
    actor: User, target: User, *, origin: Origin = NOWHERE
) -> GlobalAdminGrantRequest:
    """Ask that the target be made a Global admin; nothing is granted until another support
    staff member approves (approve_global_admin_request)."""
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.GLOBAL_ADMIN_REQUESTED,
            organization=target.organization,
            target=target,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        organization = lock_organization(target.organization_id, actor)
        target = reload_target(target, AuditAction.GLOBAL_ADMIN_REQUESTED)
        audit.require(
            rules.can_request_global_admin(actor, target), AuditAction.GLOBAL_ADMIN_REQUESTED
        )
        grant_request = GlobalAdminGrantRequest.objects.create(
            organization=organization,
            user=target,
            user_label=str(target),
            user_email=target.email,
            requested_by=actor,
        )
        audit.record(
            actor,
            AuditAction.GLOBAL_ADMIN_REQUESTED,
            organization=organization,
            target=target,
            after={"role": GLOBAL_ADMIN, "status": grant_request.get_status_display()},
            origin=origin,
        )
    return grant_request


def approve_global_admin_request(
    actor: User, grant_request: GlobalAdminGrantRequest, *, origin: Origin = NOWHERE
) -> GlobalAdminGrantRequest:
    """Grant the Global admin asked for, as the approver: the grant's rules are asked again
    under the organization's lock (last Global admin, CSP, self, the user's state)."""

    def approve(grant_request: GlobalAdminGrantRequest, organization: PartnerOrganization) -> None:
        audit.require(
            rules.can_approve_global_admin_grant(actor, grant_request),
            AuditAction.GLOBAL_ADMIN_APPROVED,
        )
        _change_roles_under_lock(
            actor,
            grant_request.user,
            organization,
            lambda held: held | {RoleKey.GLOBAL_ADMIN},
            origin,
            approved=True,
        )

    return _decide(
        actor,
        grant_request,
        GrantRequestStatus.APPROVED,
        AuditAction.GLOBAL_ADMIN_APPROVED,
        approve,
        origin=origin,
    )


def reject_global_admin_request(
    actor: User, grant_request: GlobalAdminGrantRequest, *, note: str = "", origin: Origin = NOWHERE
) -> GlobalAdminGrantRequest:
    """Refuse the request: nothing is granted."""

    def reject(grant_request: GlobalAdminGrantRequest, organization: object) -> None:
        audit.require(
            rules.can_decide_global_admin_grant(actor, grant_request),
            AuditAction.GLOBAL_ADMIN_REJECTED,
        )

    return _decide(
        actor,
        grant_request,
        GrantRequestStatus.REJECTED,
        AuditAction.GLOBAL_ADMIN_REJECTED,
        reject,
        note=note,
        origin=origin,
    )


def cancel_global_admin_request(
    actor: User, grant_request: GlobalAdminGrantRequest, *, note: str = "", origin: Origin = NOWHERE
) -> GlobalAdminGrantRequest:
    """The one who asked withdraws the request: nothing is granted."""

    def cancel(grant_request: GlobalAdminGrantRequest, organization: object) -> None:
        audit.require(
            rules.can_cancel_global_admin_grant(actor, grant_request),
            AuditAction.GLOBAL_ADMIN_CANCELLED,
        )

    return _decide(
        actor,
        grant_request,
        GrantRequestStatus.CANCELLED,
        AuditAction.GLOBAL_ADMIN_CANCELLED,
        cancel,
        note=note,
        origin=origin,
    )


def _decide(
    actor: User,
    grant_request: GlobalAdminGrantRequest,
    status: str,
    audit_action: str,
    check_and_apply: Callable[[GlobalAdminGrantRequest, PartnerOrganization | None], None],
    *,
    note: str = "",
    origin: Origin,
) -> GlobalAdminGrantRequest:
    # The request is read again under the organization's lock, so two staff members deciding
    # one request at once decide it once.
    with (
        audit.refusals_recorded(
            actor,
            action=audit_action,
            organization=grant_request.organization,
            target=grant_request.user,
            target_label=grant_request.user_label,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        organization = lock_organization(grant_request.organization_id, actor)
        grant_request = (
            GlobalAdminGrantRequest.objects.select_related(
                "user__organization", "requested_by", "organization"
            )
            .filter(pk=grant_request.pk)
            .first()
        )
        if grant_request is None:
            raise RuleRefused("This request no longer exists.", action=audit_action)
        check_and_apply(grant_request, organization)
        grant_request.status = status
        grant_request.decided_by = actor
        grant_request.decided_at = timezone.now()
        # Typed in the admin: no NUL byte (PostgreSQL refuses it in text), bounded.
        grant_request.reason = note.replace("\x00", "").strip()[:NOTE_LENGTH]
        grant_request.save(update_fields=["status", "decided_by", "decided_at", "reason"])
        audit.record(
            actor,
            audit_action,
            organization=organization,
            target=grant_request.user,
            target_label=grant_request.user_label,
            after={
                "role": GLOBAL_ADMIN,
                "requested_by": str(grant_request.requested_by),
                **({"note": grant_request.reason} if grant_request.reason else {}),
            },
            origin=origin,
        )
    if grant_request.user is not None:
        rules.forget_held_roles(grant_request.user)
    return grant_request
