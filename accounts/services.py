"""Changing partner users: create, edit, deactivate, reactivate, delete, reset a password.

Each function takes the acting user, asks the rulebook, changes the database in one transaction
and writes the audit record in it. Views, the Django admin and management commands call these;
nothing else changes users. A refusal raises roles.rules.RuleRefused after it is recorded.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import audit
from accounts.audit import NOWHERE, Origin
from accounts.identity import canonical_email
from accounts.models import AuditAction, PartnerOrganization, User
from roles import rules
from roles.catalogue import in_catalogue_order
from roles.models import Role, RoleAssignment
from roles.rules import Action, RuleRefused


class EmailInUse(Exception):
    """The email belongs to another user already (compared ignoring case: rule 8)."""

    message = "A user with this email already exists."

    def __init__(self, existing: User | None) -> None:
        super().__init__(self.message)
        self.existing = existing


@dataclass(frozen=True)
class NewUser:
    user: User
    temporary_password: str | None  # None when the user was invited to set their own


class LinkNotValid(Exception):
    """A set-your-password link (invitation or reset) is malformed, used, expired, or its user
    is deactivated."""


# Unambiguous characters: no 0/O, 1/l/I.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105 (an alphabet, not a password)


def generate_temporary_password() -> str:
    """A one-time password such as 'Xk7p-Qm4t-Zr9w-Hb3n': 20 random characters' worth of entropy."""
    groups = ["".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4)]
    return "-".join(groups)


def person(actor: User) -> User | None:
    """The actor as a user to name in a foreign key (created_by, granted_by): None for an API
    client, which is no user (api.actors.ClientActor); the audit trail names it by its label."""
    return actor if isinstance(actor, User) else None


def lock_organization(organization_id: int | None, actor: User) -> PartnerOrganization | None:
    """Take the organization's row lock for the rest of the transaction.

    Every change inside one organization takes it first, so checks such as "is this the last
    active Global admin" see every change committed before them (PostgreSQL; SQLite serializes
    writers by itself). The actor's roles and active flag are read again under the lock, for the
    same reason: an admin deactivated or demoted a moment ago acts no more.
    """
    # Support staff belong to no organization: nothing to lock, and the rulebook refuses them
    # as targets.
    organization = (
        PartnerOrganization.objects.select_for_update().get(pk=organization_id)
        if organization_id is not None
        else None
    )
    try:
        actor.refresh_from_db(fields=["is_active"])
    except User.DoesNotExist:
        raise RuleRefused("Your account no longer exists.") from None
    rules.forget_held_roles(actor)
    return organization


def reload_target(target: User, audit_action: str) -> User:
    """The target as it is now, read after taking the organization's lock."""
    fresh = User.objects.select_related("organization").filter(pk=target.pk).first()
    if fresh is None:
        raise RuleRefused("This user no longer exists.", action=audit_action)
    return fresh


def role_names(user: User) -> list[str]:
    return list(
        RoleAssignment.objects.filter(user=user)
        .order_by("role__position")
        .values_list("role__name", flat=True)
    )


def _canonical_email_field(email: str) -> str:
    """The email's canonical form, or a ValidationError naming the email field, as the model's
    own validation would (accounts.identity)."""
    try:
        return canonical_email(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from None


def snapshot(user: User) -> dict:
    """What the audit trail keeps of a user, before and after a change."""
    return snapshot_of(user.first_name, user.last_name, user.email, is_active=user.is_active)


def snapshot_of(first_name: str, last_name: str, email: str, *, is_active: bool) -> dict:
    """snapshot() of a user with these values: for the rows an import writes without a User
    instance each."""
    return {
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "is_active": is_active,
    }


def create_user(
    actor: User,
    *,
    organization: PartnerOrganization,
    first_name: str,
    last_name: str,
    email: str,
    role_keys: Iterable[str] = (),
    origin: Origin = NOWHERE,
    invite: bool = False,
    base_url: str = "",
) -> NewUser:
    """Add a user with roles and a temporary password, which the caller shows once; or, with
    invite, with no password and an emailed invitation to set one (a job enqueued in the same
    transaction; base_url starts its link)."""
    email = _canonical_email_field(email)  # a form's cleaned email is canonical already
    role_keys = in_catalogue_order(role_keys)
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.USER_CREATED,
            organization=organization,
            target_label=email,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        organization = lock_organization(organization.pk, actor)
        audit.require(rules.can(actor, Action.ADD_USER, organization), AuditAction.USER_CREATED)
        user = User(
            organization=organization,
            email=email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            created_by=person(actor),
            must_change_password=not invite,
        )
        for key in role_keys:
            audit.require(
                rules.can_grant_role(actor, user, key), AuditAction.ROLE_GRANTED, role=key
            )
            # Rule 12: support staff ask for Global admin (roles.services.request_global_admin).
            audit.require(
                rules.can_grant_without_approval(actor, key), AuditAction.ROLE_GRANTED, role=key
            )
        # Kept on purpose beside the unique index (docs/architecture.md): an email taken
        # before this request is found by a read, so nothing is inserted, no password hashed
        # and no database error translated; the index answers only two requests at once.
        existing = User.objects.with_email(email).first()
        if existing is not None:
            raise EmailInUse(existing)
        user.full_clean(exclude=["password"], validate_constraints=False)
        password = None if invite else generate_temporary_password()
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as error:
            # Another request added the same email between our check and our insert.
            raise EmailInUse(User.objects.with_email(email).first()) from error
        roles = {role.key: role for role in Role.objects.filter(key__in=role_keys)}
        RoleAssignment.objects.bulk_create(
            [
                RoleAssignment(user=user, role=roles[key], granted_by=person(actor))
                for key in role_keys
            ]
        )
        names = [roles[key].name for key in role_keys]
        audit.record(
            actor,
            AuditAction.USER_CREATED,
            organization=organization,
            target=user,
            # Only an invitation is written down: a creation without "sign_in" (every one
            # before invitations existed, too) gave a temporary password.
            after={
                **snapshot(user),
                "roles": names,
                **({"sign_in": "invitation"} if invite else {}),
            },
            origin=origin,
        )
        for name in names:
            audit.record(
                actor,
                AuditAction.ROLE_GRANTED,
                organization=organization,
                target=user,
                after={"role": name},
                origin=origin,
            )
        if invite:
            _invite(user, actor, base_url)
    return NewUser(user=user, temporary_password=password)


def _invite(user: User, actor: User, base_url: str, *, replacing: bool = False) -> None:
    # A job enqueued in this transaction (jobs.emails): never an email for a user who was
    # rolled back, never a lost one for a user who was committed; a worker sends it, retrying
    # a mail server that fails for a while, and the user's page says where it stands.
    from accounts.invitations import base_url_for_commands
    from jobs.emails import queue_invitations, replace_waiting_invitations

    if replacing:
        replace_waiting_invitations(user)
    queue_invitations([user], invited_by=actor, base_url=base_url or base_url_for_commands())


def resend_invitation(
    actor: User, target: User, *, origin: Origin = NOWHERE, base_url: str = ""
) -> User:
    """Email the user a new invitation; the links sent before stop working.

    A new unusable password changes what the links are signed over, so only the newest works.
    """
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.INVITATION_SENT,
            organization=target.organization,
            target=target,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        lock_organization(target.organization_id, actor)
        target = reload_target(target, AuditAction.INVITATION_SENT)
        audit.require(rules.can_resend_invitation(actor, target), AuditAction.INVITATION_SENT)
        target.set_unusable_password()
        target.save(update_fields=["password"])
        audit.record(
            actor,
            AuditAction.INVITATION_SENT,
            organization=target.organization,
            target=target,
            after={"email": target.email},
            origin=origin,
        )
        _invite(target, actor, base_url, replacing=True)
    return target


def set_password_from_link(
    user: User,
    token: str,
    password: str,
    *,
    token_generator: PasswordResetTokenGenerator,
    audit_action: str,
    origin: Origin = NOWHERE,
) -> User:
    """The user sets their own password with an emailed link: an invitation or a reset.

    The link is checked again under the organization's lock, so the same link used twice at
    once sets one password and refuses the other. The password is the user's own choice, so
    they need not change it at sign-in. Raises LinkNotValid.
    """
    with transaction.atomic():
        try:
            lock_organization(user.organization_id, user)
        except RuleRefused:  # the user was deleted meanwhile
            raise LinkNotValid from None
        user = User.objects.select_related("organization").filter(pk=user.pk).first()
        if user is None or not user.is_active or not token_generator.check_token(user, token):
            raise LinkNotValid
        if audit_action == AuditAction.INVITATION_ACCEPTED and user.has_usable_password():
            raise LinkNotValid  # an invitation is for a user who has no password yet
        user.set_password(password)
        user.must_change_password = False
        user.save(update_fields=["password", "must_change_password"])
        end_sessions(user)
        audit.record(user, audit_action, organization=user.organization, target=user, origin=origin)
    return user


def change_own_password(user: User, password: str, *, origin: Origin = NOWHERE) -> User:
    """The signed-in user changes their own password (also the forced change of a temporary
    one): every session of theirs ends; the caller keeps the current one with
    update_session_auth_hash. Audited, without the password."""
    user.set_password(password)  # hashed before the lock is taken: hashing is slow on purpose
    with transaction.atomic():
        lock_organization(user.organization_id, user)
        user.must_change_password = False
        user.save(update_fields=["password", "must_change_password"])
        end_sessions(user)
        audit.record(
            user,
            AuditAction.PASSWORD_CHANGED,
            organization=user.organization,
            target=user,
            origin=origin,
        )
    return user


def sign_out_everywhere(user: User, *, origin: Origin = NOWHERE) -> User:
    """End every session of the user's own, on every server; the caller keeps the current one
    with update_session_auth_hash. Audited."""
    with transaction.atomic():
        lock_organization(user.organization_id, user)
        end_sessions(user)
        audit.record(
            user,
            AuditAction.SIGNED_OUT_EVERYWHERE,
            organization=user.organization,
            target=user,
            origin=origin,
        )
    return user


def end_sessions(user: User) -> None:
    """End every session of the user at its next request, on every server.

    Sessions are not listed or deleted (they live in the database, cached in Redis): a new
    session generation changes the hash that User.get_session_auth_hash gives, and Django
    flushes a session whose stored hash differs, on every request. Call it inside the
    transaction of the change that ends the user's access.
    """
    user.session_generation = secrets.token_hex(16)
    user.save(update_fields=["session_generation"])


# The fields of a user that update_user_details does not write.
_NOT_EDITED = [
    field.name
    for field in User._meta.concrete_fields
    if field.name not in {"first_name", "last_name", "email"}
]


def update_user_details(
    actor: User,
    target: User,
    *,
    first_name: str,
    last_name: str,
    email: str,
    origin: Origin = NOWHERE,
) -> User:
    """Change a user's name or email."""
    email = _canonical_email_field(email)  # a form's cleaned email is canonical already
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.USER_EDITED,
            organization=target.organization,
            target=target,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        lock_organization(target.organization_id, actor)
        target = reload_target(target, AuditAction.USER_EDITED)
        audit.require(
            rules.can_manage_user(actor, target, Action.EDIT_USER), AuditAction.USER_EDITED
        )
        before = snapshot(target)
        if email != target.email:
            audit.require(rules.can_change_email(actor, target), AuditAction.USER_EDITED)
            existing = User.objects.with_email(email).exclude(pk=target.pk).first()
            if existing is not None:
                raise EmailInUse(existing)
        target.first_name, target.last_name, target.email = (
            first_name.strip(),
            last_name.strip(),
            email,
        )
        # Only what this change writes: the other fields are as stored, and checking them again
        # asked the database whether the organization, the creator and the public id exist.
        target.full_clean(exclude=_NOT_EDITED, validate_constraints=False)
        after = snapshot(target)
        if after == before:
            return target
        try:
            with transaction.atomic():
                target.save(update_fields=["first_name", "last_name", "email"])
        except IntegrityError as error:
            raise EmailInUse(User.objects.with_email(email).first()) from error
        changed = [field for field in after if after[field] != before[field]]
        audit.record(
            actor,
            AuditAction.USER_EDITED,
            organization=target.organization,
            target=target,
            before={field: before[field] for field in changed},
            after={field: after[field] for field in changed},
            origin=origin,
        )
    return target


def _set_active(
    actor: User, target: User, active: bool, action: Action, audit_action: str, origin: Origin
) -> User:
    with (
        audit.refusals_recorded(
            actor,
            action=audit_action,
            organization=target.organization,
            target=target,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        lock_organization(target.organization_id, actor)
        target = reload_target(target, audit_action)
        audit.require(rules.can_manage_user(actor, target, action), audit_action)
        target.is_active = active
        target.save(update_fields=["is_active"])
        if not active:
            # Without this, a session that deactivation suspended would resume on reactivation.
            end_sessions(target)
        audit.record(
            actor,
            audit_action,
            organization=target.organization,
            target=target,
            before={"is_active": not active},
            after={"is_active": active},
            origin=origin,
        )
    return target


def deactivate_user(actor: User, target: User, *, origin: Origin = NOWHERE) -> User:
    """Stop the user signing in and end every session they hold, for good: reactivation lets
    them sign in again, but brings no session back."""
    return _set_active(
        actor, target, False, Action.DEACTIVATE_USER, AuditAction.USER_DEACTIVATED, origin
    )


def reactivate_user(actor: User, target: User, *, origin: Origin = NOWHERE) -> User:
    """Let a deactivated user sign in again, with the roles they had."""
    return _set_active(
        actor, target, True, Action.REACTIVATE_USER, AuditAction.USER_REACTIVATED, origin
    )


def delete_user(actor: User, target: User, *, origin: Origin = NOWHERE) -> None:
    """Delete the user and their role assignments; the audit trail keeps their name.

    Their sessions end with the row: a session names its user by a primary key that is never
    given out again.
    """
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.USER_DELETED,
            organization=target.organization,
            target=target,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        organization = lock_organization(target.organization_id, actor)
        target = reload_target(target, AuditAction.USER_DELETED)
        audit.require(
            rules.can_manage_user(actor, target, Action.DELETE_USER), AuditAction.USER_DELETED
        )
        audit.record(
            actor,
            AuditAction.USER_DELETED,
            organization=organization,
            target=target,
            before={**snapshot(target), "roles": role_names(target)},
            origin=origin,
        )
        target.delete()


def reset_password(actor: User, target: User, *, origin: Origin = NOWHERE) -> str:
    """Give the user a new temporary password, returned to be shown once; end their sessions."""
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.PASSWORD_RESET,
            organization=target.organization,
            target=target,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        lock_organization(target.organization_id, actor)
        target = reload_target(target, AuditAction.PASSWORD_RESET)
        audit.require(
            rules.can_manage_user(actor, target, Action.RESET_PASSWORD),
            AuditAction.PASSWORD_RESET,
        )
        password = generate_temporary_password()
        target.set_password(password)
        target.must_change_password = True
        target.save(update_fields=["password", "must_change_password"])
        end_sessions(target)
        audit.record(
            actor,
            AuditAction.PASSWORD_RESET,
            organization=target.organization,
            target=target,
            origin=origin,
        )
    return password


# Partner organizations (support staff, through the Django admin)


def _organization_snapshot(organization: PartnerOrganization) -> dict:
    return {
        "name": organization.name,
        "partner_id": organization.partner_id,
        "program_type": organization.program_type,
    }


def create_organization(
    actor: User, *, name: str, partner_id: str, program_type: str, origin: Origin = NOWHERE
) -> PartnerOrganization:
    """Add a partner organization (it has no users yet: support adds its first Global admin)."""
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.ORGANIZATION_CREATED,
            organization=None,
            target_label=name,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        lock_organization(None, actor)  # no organization yet; the actor is read again
        audit.require(rules.can_manage_organizations(actor), AuditAction.ORGANIZATION_CREATED)
        organization = PartnerOrganization(
            name=name.strip(), partner_id=partner_id.strip(), program_type=program_type
        )
        organization.full_clean()
        organization.save()
        audit.record(
            actor,
            AuditAction.ORGANIZATION_CREATED,
            organization=organization,
            target_label=str(organization),
            after=_organization_snapshot(organization),
            origin=origin,
        )
    return organization


def update_organization(
    actor: User,
    organization: PartnerOrganization,
    *,
    name: str,
    partner_id: str,
    program_type: str,
    origin: Origin = NOWHERE,
) -> PartnerOrganization:
    """Change an organization's name, partner ID or program type, recording before and after."""
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.ORGANIZATION_EDITED,
            organization=organization,
            target_label=str(organization),
            origin=origin,
        ),
        transaction.atomic(),
    ):
        organization = lock_organization(organization.pk, actor)
        audit.require(rules.can_manage_organizations(actor), AuditAction.ORGANIZATION_EDITED)
        before = _organization_snapshot(organization)
        organization.name = name.strip()
        organization.partner_id = partner_id.strip()
        organization.program_type = program_type
        organization.full_clean()
        after = _organization_snapshot(organization)
        if after == before:
            return organization
        organization.save(update_fields=list(after))
        changed = [field for field in after if after[field] != before[field]]
        audit.record(
            actor,
            AuditAction.ORGANIZATION_EDITED,
            organization=organization,
            target_label=str(organization),
            before={field: before[field] for field in changed},
            after={field: after[field] for field in changed},
            origin=origin,
        )
    return organization


def add_support_staff(
    *, email: str, first_name: str, last_name: str, password: str, origin: Origin = NOWHERE
) -> User:
    """Add a member of the partner network's support staff: staff, in no organization, in the
    Support group, with the password their operator set. Operators only (manage.py
    add_support_staff): support staff never add support staff, or one could approve their own
    Global admin requests through a second account (rule 12). Audited, the operator named by
    the origin. Raises ValidationError for a bad email, EmailInUse for one in use."""
    from accounts.support import ensure_support_group

    email = _canonical_email_field(email)
    with transaction.atomic():
        existing = User.objects.with_email(email).first()
        if existing is not None:
            raise EmailInUse(existing)
        user = User(email=email, first_name=first_name, last_name=last_name, is_staff=True)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        user.groups.add(ensure_support_group())
        audit.record(
            None,
            AuditAction.USER_CREATED,
            organization=None,
            target=user,
            actor_label=origin.user_agent or "an operator",
            after={**snapshot(user), "support_staff": True},
            origin=origin,
        )
    return user
