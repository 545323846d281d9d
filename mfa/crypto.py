"""Encryption of second-factor secrets at rest: a database dump alone does not give them away.

Fernet (cryptography) with the keys of PARTNERHUB_MFA_KEYS: the first encrypts, every one
decrypts (MultiFernet), so a key is rotated by putting a new one first and, once every secret is
encrypted again (`manage.py rotate_mfa_key`), removing the old one. With debug on and no key set,
the settings derive a development key from SECRET_KEY, so a laptop needs no variable.

Recovery codes are not encrypted but digested: an HMAC keyed the same way, so a dump cannot
be used to try codes offline either.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _raw_keys() -> list[str]:
    keys = list(getattr(settings, "PARTNERHUB_MFA_KEYS", []))
    if not keys:
        # The settings refuse to start without one; this guards a settings module that forgot.
        raise ImproperlyConfigured("PARTNERHUB_MFA_KEYS is not set.")
    return keys


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in _raw_keys()])
    except ValueError as error:
        raise ImproperlyConfigured(
            "Each key of PARTNERHUB_MFA_KEYS must be a Fernet key (32 url-safe base64 bytes)."
        ) from error


def encrypt(secret: bytes) -> str:
    """The secret encrypted with the current key, as text for the database."""
    return _fernet().encrypt(secret).decode()


def decrypt(token: str) -> bytes:
    """The secret back; ImproperlyConfigured when no configured key opens it (a key removed
    before every secret was encrypted again)."""
    try:
        return _fernet().decrypt(token.encode())
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A second-factor secret cannot be decrypted with PARTNERHUB_MFA_KEYS: was a key "
            "removed before `manage.py rotate_mfa_key` ran?"
        ) from error


def reencrypt(token: str) -> str:
    """The same secret encrypted with the current (first) key."""
    return _fernet().rotate(token.encode()).decode()


def digests(code: str) -> list[str]:
    """The recovery code's digest under each key, the current key's first."""
    return [
        hmac.new(key.encode(), code.encode(), hashlib.sha256).hexdigest() for key in _raw_keys()
    ]
