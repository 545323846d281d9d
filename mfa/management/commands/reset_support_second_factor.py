"""Reset a support staff member's second factor after a lost device (operators only)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import Origin
from mfa import services

COMMAND_ORIGIN = Origin(user_agent="manage.py reset_support_second_factor")


class Command(BaseCommand):
    help = (
        "Remove every second factor of a support staff member (a lost device): they set up an "
        "authenticator app at their next sign-in. Partner users are reset by their Global admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        try:
            user = services.reset_support_staff_second_factor(email, origin=COMMAND_ORIGIN)
        except services.RuleRefused as refusal:
            raise CommandError(refusal.reason) from None
        self.stdout.write(
            f"The second factor of {user} is reset: they set one up at their next sign-in."
        )
