"""Encrypt every authenticator app's secret with the first key of PARTNERHUB_MFA_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from mfa import crypto
from mfa.models import AuthenticatorApp


class Command(BaseCommand):
    help = (
        "After a new key is put first in PARTNERHUB_MFA_KEYS: encrypt every authenticator app's "
        "secret with it, so that the old key can then be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        with transaction.atomic():
            for app in AuthenticatorApp.objects.select_for_update().only("pk", "encrypted_key"):
                app.encrypted_key = crypto.reencrypt(app.encrypted_key)
                app.save(update_fields=["encrypted_key"])
                count += 1
        self.stdout.write(
            f"{count} authenticator app secret(s) encrypted with the first key. Recovery codes "
            "are digests under the key of the day they were made: remove an old key only when "
            "you accept that codes made before the rotation stop working (people make new ones "
            "on My profile > Sign-in methods)."
        )
