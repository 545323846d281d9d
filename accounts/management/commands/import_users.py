"""Add users from a CSV file to an organization, for support staff: the page's importer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from accounts import imports
from accounts.audit import Origin
from accounts.invitations import base_url_for_commands
from accounts.models import PartnerOrganization, User
from roles.rules import RuleRefused, is_support_staff

# The audit trail says the change came from this command, not from a browser.
COMMAND_ORIGIN = Origin(user_agent="manage.py import_users")


class ProgressBar:
    """One line, redrawn in place on a terminal; printed once, at the end, otherwise."""

    WIDTH = 30

    def __init__(self, stream: OutputWrapper, total: int, verb: str) -> None:
        self.stream, self.total, self.verb, self.done = stream, total, verb, 0
        self.interactive = stream.isatty()

    def break_line(self) -> None:
        """End the bar's line, so that other output starts on a line of its own."""
        if self.interactive and 0 < self.done < self.total:
            self.stream.write("", ending="\n")

    def advance(self, rows: int) -> None:
        self.done += rows
        if self.interactive or self.done >= self.total:
            filled = self.WIDTH * self.done // max(self.total, 1)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            end = "\n" if self.done >= self.total else ""
            text = f"\r{self.verb} [{bar}] {self.done}/{self.total} rows"
            # Plain: the command's stderr would colour everything as an error.
            self.stream.write(text, style_func=lambda plain: plain, ending=end)
            self.stream.flush()


class Command(BaseCommand):
    help = (
        "Add users from a CSV file (header First name,Last name,Email,Roles) to the organization "
        "with this partner ID, exactly as the 'Add users from CSV' page does: every row is "
        "checked, the valid rows are added in one transaction, each new user is emailed a "
        "one-time link to set their password. --dry-run checks and writes nothing. "
        "The audit trail names the support staff member given with --actor EMAIL as the one "
        "who added the users (and the rulebook decides with their powers); without --actor only "
        "--dry-run runs, checked with support staff's powers, since nothing is written then."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("partner_id", metavar="PARTNER_ID")
        parser.add_argument("file", metavar="FILE.csv")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row; add nobody, write nothing."
        )
        parser.add_argument(
            "--actor",
            metavar="EMAIL",
            help="The support staff member adding the users: the audit trail names them. "
            "Required unless --dry-run.",
        )

    def handle(
        self,
        *args: Any,
        partner_id: str,
        file: str,
        dry_run: bool,
        actor: str | None,
        **options: Any,
    ) -> None:
        organization = PartnerOrganization.objects.filter(partner_id=partner_id.strip()).first()
        if organization is None:
            raise CommandError(f"No organization has the partner ID {partner_id}.")
        acting = self._actor(actor, dry_run)
        try:
            text = imports.decode(Path(file).read_bytes())
            total = imports.count_rows(text)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        except imports.BadFile as bad:
            raise CommandError(f"{file}: {bad}") from None

        bar = ProgressBar(self.stderr, total, "Checking" if dry_run else "Adding")

        def progress(chunk: list[imports.ImportRow], total: int) -> None:
            errors = [
                f"line {row.line} ({row.email or 'no email'}): {error}"
                for row in chunk
                for error in row.errors
            ]
            if errors:
                bar.break_line()
                self.stdout.write("\n".join(errors))
            bar.advance(len(chunk))

        try:
            if dry_run:
                report = imports.dry_run(
                    text,
                    actor=acting,
                    organization=organization,
                    origin=COMMAND_ORIGIN,
                    progress=progress,
                )
            else:
                report = imports.import_users(
                    text,
                    actor=acting,
                    organization=organization,
                    base_url=base_url_for_commands(),
                    origin=COMMAND_ORIGIN,
                    progress=progress,
                )
        except RuleRefused as refusal:
            raise CommandError(f"Refused: {refusal.reason}") from None
        if dry_run:
            self.stdout.write(
                f"Dry run, nothing written: {report.rows} rows, {report.valid} ready to add, "
                f"{report.invalid} with errors."
            )
        else:
            self.stdout.write(
                f"{report.valid} users added to {organization}, {report.invalid} rows not "
                f"added; {report.invitations_sent} invitations sent."
            )
            if report.invitations_sent < report.valid:
                self.stderr.write(
                    f"{report.valid - report.invitations_sent} invitations could not be sent "
                    "(see the log): the users are added; resend their invitations once email "
                    "works again."
                )

    def _actor(self, email: str | None, dry_run: bool) -> User:
        if email is None:
            if not dry_run:
                raise CommandError(
                    "Name the support staff member adding the users with --actor EMAIL: the "
                    "audit trail records who added them. (--dry-run needs no --actor.)"
                )
            # Never saved: stands for "support staff" while checking; a dry run writes nothing.
            return User(email="dry-run", is_staff=True, is_active=True)
        actor = User.objects.with_email(email.strip()).first()
        if actor is None or not is_support_staff(actor):
            raise CommandError(f"{email} is not an active support staff member.")
        return actor
