"""Second-factor devices of our own, on django-otp's base classes.

Passkeys and security keys are django-otp-webauthn's WebAuthnCredential (a public key: nothing
secret is stored). The two kinds here keep their secrets out of a database dump: the
authenticator app's key is encrypted, recovery codes are kept as keyed digests (mfa.crypto).
"""

from __future__ import annotations

import secrets
import time

from django.db import models, transaction
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from mfa import crypto

# RFC 6238 as every authenticator app reads an otpauth:// address without options.
STEP_SECONDS = 30
DIGITS = 6
# One step of clock drift either way: the code before and after the current one work too.
TOLERANCE = 1
KEY_BYTES = 20

# Recovery codes: ten of them, ten characters of an alphabet without look-alikes (0/O, 1/I/L),
# 50 bits each; shown as two groups of five.
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECOVERY_CODE_LENGTH = 10


def new_authenticator_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def totp_matches(key: bytes, code: str, *, after_t: int = -1) -> int | None:
    """The time step the code belongs to, within one step of now and after `after_t`;
    None when it does not match (or is not six digits)."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = TOTP(key, STEP_SECONDS, 0, DIGITS, 0)
    totp.time = time.time()
    if not totp.verify(int(code), TOLERANCE, after_t + 1):
        return None
    return totp.t()


class AuthenticatorApp(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (TOTP). The key is encrypted with PARTNERHUB_MFA_KEYS; last_t is
    the time step of the last code accepted, so a code works once."""

    encrypted_key = models.TextField(editable=False)
    last_t = models.BigIntegerField(default=-1, editable=False)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    @property
    def bin_key(self) -> bytes:
        return crypto.decrypt(self.encrypted_key)

    def set_key(self, key: bytes) -> None:
        self.encrypted_key = crypto.encrypt(key)

    def verify_token(self, token: str) -> bool:
        """Whether the code is this app's, now, and not used before. The row is locked while
        it is checked: two requests with one code cannot both pass."""
        with transaction.atomic():
            device = type(self).objects.select_for_update().get(pk=self.pk)
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                return False
            step = totp_matches(device.bin_key, str(token), after_t=device.last_t)
            if step is None:
                device.throttle_increment(commit=True)
                return False
            device.last_t = step
            device.throttle_reset(commit=False)
            device.set_last_used_timestamp(commit=False)
            device.save()
        self.refresh_from_db()
        return True

    def get_throttle_factor(self) -> int:
        return 1


def normalize_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def format_recovery_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


class RecoveryCodes(TimestampMixin, ThrottlingMixin, Device):
    """A user's set of one-time recovery codes, for a lost device. Made anew, the old set goes."""

    class Meta(Device.Meta):
        verbose_name = "recovery codes"

    def remaining(self) -> int:
        return self.codes.count()

    def verify_token(self, token: str) -> bool:
        code = normalize_recovery_code(str(token))
        if len(code) != RECOVERY_CODE_LENGTH:
            return False
        with transaction.atomic():
            device = type(self).objects.select_for_update().get(pk=self.pk)
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                return False
            used = device.codes.filter(digest__in=crypto.digests(code)).first()
            if used is None:
                device.throttle_increment(commit=True)
                return False
            used.delete()  # one time only
            device.throttle_reset(commit=False)
            device.set_last_used_timestamp(commit=False)
            device.save()
        self.refresh_from_db()
        return True

    def get_throttle_factor(self) -> int:
        return 1


class RecoveryCode(models.Model):
    """One unused recovery code, as its digest."""

    codes = models.ForeignKey(RecoveryCodes, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, db_index=True)

    def __str__(self) -> str:
        return "recovery code"


def new_recovery_codes() -> list[str]:
    return [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
