"""Bulk add: `manage.py import_users PARTNER_ID FILE.csv`, timed as an admin would run it."""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import get_commands

from accounts.models import PartnerOrganization, ProgramType, User
from bench.dataset import FIRST_NAMES, SUPPORT_EMAIL, SURNAMES
from roles.catalogue import RoleKey
from roles.models import Role, RoleAssignment

COMMAND = "import_users"
# Role names as an admin types them in the file, separated by semicolons.
ROLE_CHOICES = (
    "Sales agent",
    "Helpdesk agent",
    "Admin agent;Sales agent",
    "Executive report viewer",
    "Billing admin",
    "Referrals admin;Incentives admin",
    "",
)


@dataclass
class ImportTiming:
    """One run of the command: seconds, or why there is none."""

    label: str
    rows: int
    seconds: float | None
    note: str = ""


def available() -> bool:
    return COMMAND in get_commands()


def fresh_organization() -> PartnerOrganization:
    """A new CSP organization with one Global admin, under an unused partner ID."""
    taken = set(PartnerOrganization.objects.values_list("partner_id", flat=True))
    partner_id = next(str(n) for n in range(9_999_999, 999_999, -1) if str(n) not in taken)
    organization = PartnerOrganization.objects.create(
        name=f"Bulk Import Test {partner_id}",
        partner_id=partner_id,
        program_type=ProgramType.CSP_DIRECT,
    )
    admin = User(
        organization=organization,
        email=f"admin@bulk-{partner_id}.example",
        first_name="Bulk",
        last_name="Admin",
    )
    admin.set_unusable_password()
    admin.save()
    RoleAssignment.objects.create(user=admin, role=Role.objects.get(key=RoleKey.GLOBAL_ADMIN))
    return organization


def write_csv(path: Path, rows: int, domain: str, seed: int = 5) -> None:
    """`rows` new people, header `First name,Last name,Email,Roles`."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["First name", "Last name", "Email", "Roles"])
        for n in range(rows):
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            writer.writerow([first, last, f"person{n}@{domain}", rng.choice(ROLE_CHOICES)])


def _run(args: list[str], label: str, rows: int) -> ImportTiming:
    env = {
        **os.environ,
        # Invitations are built and sent, into memory: 10,000 emails on the console would be noise.
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", COMMAND, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        return ImportTiming(label, rows, None, f"failed (exit {done.returncode}): {last[0]}")
    return ImportTiming(label, rows, seconds)


def time_import(rows: int = 10_000) -> list[ImportTiming]:
    """Times the command on a generated file into a fresh organization: a dry run, then for real."""
    labels = (f"Bulk add {rows:,} users (--dry-run)", f"Bulk add {rows:,} users")
    if not available():
        return [ImportTiming(label, rows, None, "not available") for label in labels]
    organization = fresh_organization()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "users.csv"
        write_csv(path, rows, f"bulk-{organization.partner_id}.example")
        # As support staff: the command records who added the users.
        args = [organization.partner_id, str(path), "--actor", SUPPORT_EMAIL]
        dry = _run([*args, "--dry-run"], labels[0], rows)
        real = _run(args, labels[1], rows)
    if real.seconds is not None:
        added = User.objects.in_organization(organization).count() - 1
        if added != rows:
            real.note = f"added {added:,} users, not {rows:,}"
    return [dry, real]
