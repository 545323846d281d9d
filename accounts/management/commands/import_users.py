"""Add users from a CSV file to an organization, for support staff: the page's importer, the
same jobs (jobs.user_imports). The command waits for them with a progress bar; when no worker
is running it runs its own import's jobs itself, so it works on a laptop without one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from accounts import imports
from accounts.audit import Origin
from accounts.invitations import base_url_for_commands
from accounts.models import PartnerOrganization, User
from jobs import files, user_imports, workers
from jobs.models import UserImport
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
        self.move_to(self.done + rows)

    def move_to(self, done: int) -> None:
        if done == self.done and 0 < done < self.total:
            return
        self.done = done
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
        "with this partner ID, exactly as the 'Add users from CSV' page does, by the same "
        "background jobs: every row is checked, the valid rows are added a chunk at a time, "
        "each new user is emailed a one-time link to set their password. --dry-run checks and "
        "adds nobody. The audit trail names the support staff member given with --actor EMAIL "
        "as the one who added the users (and the rulebook decides with their powers); without "
        "--actor only --dry-run runs, checked with support staff's powers. The command waits "
        "for the jobs, with progress (a worker runs them, or this command when none runs); "
        "--no-wait only starts them and prints the import's id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("partner_id", metavar="PARTNER_ID")
        parser.add_argument("file", metavar="FILE.csv")
        parser.add_argument("--dry-run", action="store_true", help="Check every row; add nobody.")
        parser.add_argument(
            "--actor",
            metavar="EMAIL",
            help="The support staff member adding the users: the audit trail names them. "
            "Required unless --dry-run.",
        )
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="Start the check and return (workers run it); follow it on the page, where "
            "the uploader confirms. Support staff confirm by running without --no-wait.",
        )
        parser.add_argument(
            "--result",
            metavar="OUT.csv",
            help="Write the outcome of every row (the page's result file) to this file.",
        )

    def handle(
        self,
        *args: Any,
        partner_id: str,
        file: str,
        dry_run: bool,
        actor: str | None,
        no_wait: bool,
        result: str | None,
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
        if acting is not None:
            # Asked before anything is kept: a refusal names the reason at once.
            try:
                imports.refuse_unless_may_add(acting, organization)
            except RuleRefused as refusal:
                raise CommandError(f"Refused: {refusal.reason}") from None
        user_import = user_imports.start(
            text,
            file_name=Path(file).name,
            actor=acting,
            organization=organization,
            origin=COMMAND_ORIGIN,
            base_url=base_url_for_commands(),
        )
        if no_wait:
            self.stdout.write(f"Import {user_import.pk} started: {total} rows to check.")
            return
        user_import = self._wait(user_import, "Checking", total)
        if user_import.state == UserImport.State.CHECKED and not dry_run:
            user_imports.confirm(user_import, acting)
            user_import = self._wait(user_import, "Adding", total)
        if user_import.state == UserImport.State.FAILED:
            raise CommandError(user_import.error)
        adding = user_import.state == UserImport.State.ADDED
        summary = user_import.result_summary if adding else user_import.check_summary
        problems = [
            f"line {row['line']} ({row['email'] or 'no email'}): {error}"
            for row in summary["problems"]
            for error in row["errors"]
        ]
        if problems:
            self.stdout.write("\n".join(problems))
        if summary["more_problems"]:
            self.stdout.write(f"... and {summary['more_problems']} more rows with errors.")
        stored = user_import.result_file if adding else user_import.check_file
        if result:
            Path(result).write_text(files.read(stored).lstrip(files.BYTE_ORDER_MARK))
        if dry_run:
            self.stdout.write(
                f"Dry run, no user added: {summary['rows']} rows, {summary['valid']} ready to "
                f"add, {summary['invalid']} with errors."
            )
        else:
            self.stdout.write(
                f"{summary['valid']} users added to {organization}, {summary['invalid']} rows "
                f"not added; {summary['invitations_sent']} invitations on their way (each "
                "user's page says whether theirs was sent)."
            )

    def _wait(self, user_import: UserImport, verb: str, total: int) -> UserImport:
        """Follow the import's current step to its end, with a progress bar of the file's
        total rows (counted here: the check job counts them again for the pages); run its job
        here when no worker is running."""
        bar = ProgressBar(self.stderr, total, verb)
        while True:
            user_import.refresh_from_db()
            bar.move_to(user_import.rows_done)
            if not user_import.working:
                bar.move_to(total)
                return user_import
            if not workers.any_alive():
                workers.run_import_job_here(user_import)
                continue
            time.sleep(0.5)

    def _actor(self, email: str | None, dry_run: bool) -> User | None:
        if email is None:
            if not dry_run:
                raise CommandError(
                    "Name the support staff member adding the users with --actor EMAIL: the "
                    "audit trail records who added them. (--dry-run needs no --actor.)"
                )
            # Checked with support staff's powers; a dry run adds nobody.
            return None
        actor = User.objects.with_email(email.strip()).first()
        if actor is None or not is_support_staff(actor):
            raise CommandError(f"{email} is not an active support staff member.")
        return actor
