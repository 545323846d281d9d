"""Add a member of the partner network's support staff (operators only)."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.audit import Origin
from accounts.models import User

COMMAND_ORIGIN = Origin(user_agent="manage.py add_support_staff")


class Command(BaseCommand):
    help = (
        "Add a support staff member (staff, no organization, the Support group) who signs in to "
        "the support admin. Asks for their password twice. Support staff cannot add each other."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--first-name", required=True)
        parser.add_argument("--last-name", required=True)

    def handle(self, *args: Any, email: str, first_name: str, last_name: str, **options: Any):
        person = User(email=email, first_name=first_name, last_name=last_name, is_staff=True)
        password = self._ask_password(person)
        try:
            user = services.add_support_staff(
                email=email,
                first_name=first_name,
                last_name=last_name,
                password=password,
                origin=COMMAND_ORIGIN,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except services.EmailInUse as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Added support staff: {user}. They sign in to the support admin.")

    def _ask_password(self, person: User) -> str:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        try:
            validate_password(password, person)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        return password
