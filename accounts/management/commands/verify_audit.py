"""Check that nobody edited, deleted, inserted or reordered audit events in the database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import audit
from accounts.models import PartnerOrganization


class Command(BaseCommand):
    help = (
        "Walk every organization's chain of audit events, recompute each hash and link, and "
        "report the first broken link of each chain, or 'intact'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--organization",
            metavar="PARTNER_ID",
            help="Check only this organization's chain.",
        )

    def handle(self, *args: Any, organization: str | None = None, **options: Any) -> None:
        chosen = None
        if organization is not None:
            chosen = PartnerOrganization.objects.filter(partner_id=organization).first()
            if chosen is None:
                raise CommandError(f"No organization has the partner ID {organization}.")
        report = audit.verify_chains(chosen)
        if report.intact:
            events, chains = _count(report.events, "event"), _count(report.chains, "chain")
            self.stdout.write(f"intact: {events} in {chains}")
            return
        for chain_break in report.breaks:
            self.stdout.write(f"broken: {chain_break}")
        chains = _count(report.chains, "chain")
        raise CommandError(f"The audit trail is broken in {len(report.breaks)} of {chains}.")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
