"""Changes to a person's second factor: each in one transaction with its audit record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django_otp.models import Device
from django_otp_webauthn.models import WebAuthnCredential

from accounts import audit
from accounts.audit import NOWHERE, Origin
from accounts.models import AuditAction, User
from accounts.services import end_sessions, lock_organization, reload_target
from mfa import crypto
from mfa.models import (
    DIGITS,
    AuthenticatorApp,
    RecoveryCode,
    RecoveryCodes,
    new_recovery_codes,
    normalize_recovery_code,
    totp_matches,
)
from roles import rules
from roles.rules import Action, RuleRefused

AUTHENTICATOR_APP = "Authenticator app"
PASSKEY = "Passkey or security key"
RECOVERY_CODES = "Recovery codes"

# The kinds of device that count as a sign-in method; recovery codes are the spare key, never
# the only one (a person cannot remove their last app or passkey and keep only codes).
METHOD_MODELS: tuple[type[Device], ...] = (AuthenticatorApp, WebAuthnCredential)


def kind_of(device: Device) -> str:
    if isinstance(device, AuthenticatorApp):
        return AUTHENTICATOR_APP
    if isinstance(device, WebAuthnCredential):
        return PASSKEY
    return RECOVERY_CODES


def methods_of(user: User) -> list[Device]:
    """The user's confirmed authenticator apps and passkeys, oldest first."""
    devices: list[Device] = []
    for model in METHOD_MODELS:
        devices.extend(model.objects.filter(user=user, confirmed=True))
    return sorted(devices, key=lambda device: (device.created_at or 0, device.pk))


def has_method(user: User) -> bool:
    return any(model.objects.filter(user=user, confirmed=True).exists() for model in METHOD_MODELS)


def recovery_codes_of(user: User) -> RecoveryCodes | None:
    return RecoveryCodes.objects.filter(user=user).first()


def _record(user: User, action: str, origin: Origin, actor: User | None = None, **after: str):
    audit.record(
        actor or user,
        action,
        organization=user.organization,
        target=user,
        after=after,
        origin=origin,
    )


def enrol_authenticator_app(
    user: User, key: bytes, code: str, *, origin: Origin = NOWHERE
) -> AuthenticatorApp | None:
    """Add the authenticator app holding `key`, confirmed by one of its codes (the code is then
    used: it does not work again). None when the code is not the app's."""
    step = totp_matches(key, code)
    if step is None:
        return None
    with transaction.atomic():
        count = AuthenticatorApp.objects.filter(user=user).count()
        device = AuthenticatorApp(
            user=user, name=AUTHENTICATOR_APP if not count else f"{AUTHENTICATOR_APP} {count + 1}"
        )
        device.set_key(key)
        device.last_t = step
        device.confirmed = True
        device.set_last_used_timestamp(commit=False)
        device.save()
        _record(user, AuditAction.SECOND_FACTOR_ENROLLED, origin, method=AUTHENTICATOR_APP)
    return device


def record_passkey_added(user: User, device: WebAuthnCredential, *, origin: Origin) -> None:
    """A passkey was registered (django-otp-webauthn saved it): the audit record."""
    _record(user, AuditAction.SECOND_FACTOR_ENROLLED, origin, method=PASSKEY)


def make_recovery_codes(user: User, *, origin: Origin = NOWHERE) -> list[str]:
    """Ten new one-time recovery codes, returned to be shown once; the old ones stop working
    and, when there were old ones, every session of the person ends."""
    codes = new_recovery_codes()
    with transaction.atomic():
        # The organization first, as every change in it: the audit record below takes it, and
        # a change to the person's roles meanwhile holds it and then locks the person's row.
        lock_organization(user.organization_id, user)
        replaced, _ = RecoveryCodes.objects.filter(user=user).delete()
        if replaced:
            # Whoever got in with one of the old codes (a sheet found) is out with them: the
            # sessions are answered from the session alone (mfa.middleware), so they end here.
            # The view keeps the person's own session (update_session_auth_hash).
            end_sessions(user)
        device = RecoveryCodes.objects.create(user=user, name=RECOVERY_CODES, confirmed=True)
        RecoveryCode.objects.bulk_create(
            RecoveryCode(codes=device, digest=crypto.digests(code)[0]) for code in codes
        )
        _record(user, AuditAction.RECOVERY_CODES_CREATED, origin)
    return codes


def is_app_code(code: str) -> bool:
    """Six digits: an authenticator app's code; anything else is tried as a recovery code."""
    normalized = "".join(code.split())
    return normalized.isdigit() and len(normalized) == DIGITS


@dataclass(frozen=True)
class Verified:
    device: Device
    recovery_codes_left: int | None = None  # set when a recovery code was used


def verify_code(user: User, code: str, *, origin: Origin = NOWHERE) -> Verified | None:
    """The device that accepts the code: one of the user's authenticator apps (six digits) or,
    for anything else, their recovery codes (one is used up; one made of digits only, which
    happens, is ten of them). A refusal is recorded."""
    normalized = "".join(code.split())
    if is_app_code(normalized):
        for device in AuthenticatorApp.objects.filter(user=user, confirmed=True):
            if device.verify_token(normalized):
                return Verified(device)
    elif normalize_recovery_code(code):
        codes = recovery_codes_of(user)
        if codes is not None and codes.verify_token(code):
            left = codes.remaining()
            _record(user, AuditAction.RECOVERY_CODE_USED, origin, recovery_codes_left=str(left))
            return Verified(codes, recovery_codes_left=left)
    audit.record_refused_attempt(
        user,
        AuditAction.SECOND_FACTOR_FAILED,
        "The code was not right, or was used before.",
        organization=user.organization,
        target=user,
        origin=origin,
    )
    return None


def waiting_until(user: User, code: str, *, origin: Origin = NOWHERE) -> datetime | None:
    """When the devices the code is for take a code again, while they wait after wrong ones
    (django-otp's throttle: the wait doubles with each wrong code, and only a right code ends
    it); None when one of them takes a code now. A code typed meanwhile is not checked at all:
    the view says how long to wait instead of "not right" (someone holding the password alone
    can make the app wait; its owner must learn why their right code is refused, and that a
    recovery code or a passkey works meanwhile). Recorded as refused."""
    if is_app_code(code):
        devices: list[Device] = list(AuthenticatorApp.objects.filter(user=user, confirmed=True))
    else:
        devices = [codes for codes in [recovery_codes_of(user)] if codes is not None]
    until = []
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if allowed or not (data or {}).get("locked_until"):
            return None
        until.append(data["locked_until"])
    if not until:
        return None
    audit.record_refused_attempt(
        user,
        AuditAction.SECOND_FACTOR_FAILED,
        "The code was not checked: too many wrong codes, the wait is not over.",
        organization=user.organization,
        target=user,
        origin=origin,
    )
    return min(until)


def remove_method(user: User, device: Device, *, origin: Origin = NOWHERE) -> None:
    """Remove one of the user's own sign-in methods; never the last one (RuleRefused). Every
    session of the user ends (the caller keeps its own with update_session_auth_hash)."""
    with (
        audit.refusals_recorded(
            user,
            action=AuditAction.SECOND_FACTOR_REMOVED,
            organization=user.organization,
            target=user,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        # The organization first, as every change in it (see make_recovery_codes); then one
        # removal at a time per person: two at once must not remove both last methods.
        lock_organization(user.organization_id, user)
        User.objects.select_for_update().filter(pk=user.pk).first()
        if device.user_id != user.pk:
            raise RuleRefused("This sign-in method is not yours.")
        if not any(m.pk != device.pk or type(m) is not type(device) for m in methods_of(user)):
            raise RuleRefused(
                "This is your only sign-in method: add another before removing it.",
                action=AuditAction.SECOND_FACTOR_REMOVED,
            )
        kind = kind_of(device)
        device.delete()
        # The sessions it let in end with it (a stolen phone removed must not stay signed in):
        # every session of the person ends, the view keeps the one that removed it.
        end_sessions(user)
        _record(user, AuditAction.SECOND_FACTOR_REMOVED, origin, method=kind)


def reset_second_factor(actor: User, target: User, *, origin: Origin = NOWHERE) -> None:
    """Remove every second factor of the target (a lost device): they enrol again at their next
    sign-in, and every session they have ends (rule 11). Only a Global admin (rule 10)."""
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.SECOND_FACTOR_RESET,
            organization=target.organization,
            target=target,
            origin=origin,
        ),
        transaction.atomic(),
    ):
        lock_organization(target.organization_id, actor)
        target = reload_target(target, AuditAction.SECOND_FACTOR_RESET)
        audit.require(
            rules.can_manage_user(actor, target, Action.RESET_SECOND_FACTOR),
            AuditAction.SECOND_FACTOR_RESET,
        )
        removed = [kind_of(device) for device in methods_of(target)]
        for model in (*METHOD_MODELS, RecoveryCodes):
            model.objects.filter(user=target).delete()
        end_sessions(target)
        audit.record(
            actor,
            AuditAction.SECOND_FACTOR_RESET,
            organization=target.organization,
            target=target,
            before={"methods": removed},
            after={"methods": []},
            origin=origin,
        )


def reset_support_staff_second_factor(email: str, *, origin: Origin = NOWHERE) -> User:
    """An operator resets a support staff member's second factor (manage.py
    reset_support_second_factor): support staff belong to no organization, so no Global admin
    can, and support staff never reset each other's (as they never add each other). Partner
    users are refused: their Global admin resets theirs (rule 10). Audited, the operator named
    by the origin; every session of theirs ends."""
    with transaction.atomic():
        user = User.objects.with_email(email).select_for_update().first()
        if user is None or not rules.is_support_staff(user):
            raise RuleRefused(
                "Only a support staff account is reset here: a partner user's second factor is "
                "reset by a Global admin of their organization."
            )
        removed = [kind_of(device) for device in methods_of(user)]
        for model in (*METHOD_MODELS, RecoveryCodes):
            model.objects.filter(user=user).delete()
        end_sessions(user)
        audit.record(
            None,
            AuditAction.SECOND_FACTOR_RESET,
            organization=None,
            target=user,
            actor_label=origin.user_agent or "an operator",
            before={"methods": removed},
            after={"methods": []},
            origin=origin,
        )
    return user
