"""Organizations whose count of active Global admins is outside DOMAIN.md's guidance (rule 9)."""

from __future__ import annotations

import csv
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count, Q, QuerySet

from accounts.models import PartnerOrganization
from accounts.spreadsheet import FORMULA_STARTS
from roles.catalogue import RoleKey
from roles.rules import RECOMMENDED_MAX_GLOBAL_ADMINS, RECOMMENDED_MIN_GLOBAL_ADMINS

HEADERS = ("partner ID", "name", "program type", "active Global admins")


def organizations_outside_guidance() -> QuerySet[PartnerOrganization]:
    """Every organization with fewer active Global admins than recommended, or more, with the
    count as `active_global_admins`: one query."""
    active_global_admins = Count(
        "users",
        filter=Q(users__is_active=True, users__role_assignments__role__key=RoleKey.GLOBAL_ADMIN),
        distinct=True,
    )
    return (
        PartnerOrganization.objects.annotate(active_global_admins=active_global_admins)
        .filter(
            Q(active_global_admins__lt=RECOMMENDED_MIN_GLOBAL_ADMINS)
            | Q(active_global_admins__gt=RECOMMENDED_MAX_GLOBAL_ADMINS)
        )
        .order_by("active_global_admins", "name", "partner_id")
    )


class Command(BaseCommand):
    help = (
        f"List the organizations with fewer than {RECOMMENDED_MIN_GLOBAL_ADMINS} or more than "
        f"{RECOMMENDED_MAX_GLOBAL_ADMINS} active Global admins (the guidance of DOMAIN.md, "
        "rule 9: never enforced, worth a word with the organization)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format",
            dest="output_format",
            choices=["table", "csv"],
            default="table",
            help="table (default) for reading, csv for a spreadsheet.",
        )

    def handle(self, *args: Any, output_format: str = "table", **options: Any) -> None:
        rows = [
            (
                org.partner_id,
                org.name,
                org.get_program_type_display(),
                str(org.active_global_admins),
            )
            for org in organizations_outside_guidance()
        ]
        if output_format == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(HEADERS)
            # A name is the one cell a partner typed: never let a spreadsheet run it.
            writer.writerows((pid, _cell(name), *rest) for pid, name, *rest in rows)
            return
        if not rows:
            self.stdout.write(
                f"Every organization has {RECOMMENDED_MIN_GLOBAL_ADMINS} to "
                f"{RECOMMENDED_MAX_GLOBAL_ADMINS} active Global admins."
            )
            return
        self.stdout.write(_table([HEADERS, *rows]))
        self.stdout.write(
            f"\n{len(rows)} organization(s) outside the guidance: keep at least "
            f"{RECOMMENDED_MIN_GLOBAL_ADMINS} active Global admins and at most "
            f"{RECOMMENDED_MAX_GLOBAL_ADMINS}."
        )


def _cell(text: str) -> str:
    # A leading apostrophe makes a spreadsheet show the text instead of running it.
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _table(rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell, the count right-aligned, a rule under the headers."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        return "  ".join([*cells, row[-1].rjust(widths[-1])])

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])
