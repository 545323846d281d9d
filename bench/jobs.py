"""Background jobs, measured on PostgreSQL with real workers (`manage.py run_worker` processes):

- a CSV import of N valid rows (some with roles) end to end: the upload request, the check and
  the addition by a worker (users, roles, audit events and invitation jobs included): rows/s;
- N invitation emails delivered by two workers to a real SMTP server on this machine (aiosmtpd):
  emails/s;
- an audit export of N events by a worker: events/s and the worker's peak memory (VmHWM).

`python -m bench --jobs` (what `make bench BENCH_ARGS=--jobs` runs) calls run(); see README.md.
Rates and ratios only: nothing here is a pass/fail timing.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROLE_CHOICES = ("Sales agent", "Referrals admin;Billing admin", "", "", "Executive report viewer")


@dataclass
class Row:
    what: str
    value: str
    note: str = ""


def _worker(name: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 (our own command, fixed arguments)
        [sys.executable, "manage.py", "run_worker", "--no-startup-delay", "--worker-id", name],
        cwd=ROOT,
        # The product's settings, as a deployed worker has them: bench.settings keeps every
        # email in memory (its page walk must never deliver), so a worker run with them sent
        # nothing to the bench's SMTP server, whatever EMAIL_URL said.
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "partnerhub.settings",
            "DJANGO_LOG_LEVEL": "WARNING",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(*workers: subprocess.Popen) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait(condition, seconds: float = 3600) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > seconds:
            raise TimeoutError(f"not done in {seconds} s")
        time.sleep(0.2)
    return time.perf_counter() - started


def _organization(label: str):
    from accounts.models import PartnerOrganization, ProgramType, User
    from roles.catalogue import RoleKey
    from roles.models import Role, RoleAssignment

    taken = set(PartnerOrganization.objects.values_list("partner_id", flat=True))
    partner_id = next(str(n) for n in range(8_999_999, 999_999, -1) if str(n) not in taken)
    organization = PartnerOrganization.objects.create(
        name=f"Jobs bench {label} {partner_id}",
        partner_id=partner_id,
        program_type=ProgramType.CSP_DIRECT,
    )
    admin = User(
        organization=organization,
        email=f"admin@jobs-{partner_id}.example",
        first_name="Jobs",
        last_name="Admin",
    )
    admin.set_unusable_password()
    admin.save()
    RoleAssignment.objects.create(user=admin, role=Role.objects.get(key=RoleKey.GLOBAL_ADMIN))
    return organization, admin


def bench_import(rows: int) -> list[Row]:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from bench.measure import signed_in_client
    from jobs.models import UserImport

    organization, admin = _organization("import")
    rng = random.Random(7)  # noqa: S311 (test data)
    domain = f"import-{organization.partner_id}.example"
    text = "First name,Last name,Email,Roles\n" + "".join(
        f"First{n},Last{n},person{n}@{domain},{rng.choice(ROLE_CHOICES)}\n" for n in range(rows)
    )
    # Past the second factor, as every real session is (bench.measure.signed_in_client).
    client = signed_in_client(admin)
    client.defaults["HTTP_X_FORWARDED_PROTO"] = "https"
    started = time.perf_counter()
    response = client.post(
        reverse("import_users"),
        {"file": SimpleUploadedFile("bench.csv", text.encode(), "text/csv")},
    )
    upload_seconds = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    user_import = UserImport.objects.filter(organization=organization).latest("created_at")

    # Two workers, as for the emails below: the check is one job, the addition
    # JOBS_IMPORT_PARTS jobs side by side (jobs.user_imports); the invitations it queues are
    # sent to a dummy mail backend by a worker done with its part.
    workers = [_worker(f"bench-import-{n}", {"EMAIL_URL": "dummy:"}) for n in (1, 2)]
    try:

        def state_is(state: str):
            return lambda: UserImport.objects.filter(pk=user_import.pk, state=state).exists()

        check_seconds = _wait(lambda: state_is("checked")() or state_is("failed")())
        confirm = client.post(
            reverse("import_users_confirm", args=[user_import.pk]),
            {"upload": str(user_import.pk)},
        )
        assert confirm.status_code == 302
        add_seconds = _wait(lambda: state_is("added")() or state_is("failed")())
    finally:
        _stop(*workers)
    user_import.refresh_from_db()
    assert user_import.state == "added", user_import.error
    # The invitations stay unsent: the email measurement below counts its own only.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path="jobs.tasks.send_invitations", status="READY").delete()
    added = user_import.result_summary["valid"]
    from accounts.models import AuditEvent
    from jobs.models import OutgoingEmail

    events = AuditEvent.objects.filter(organization=organization).count()
    invitations = OutgoingEmail.objects.filter(user__organization=organization).count()
    total = check_seconds + add_seconds
    chunk = user_import.rows_total / max(1, user_import.chunks.filter(step="add").count())
    return [
        Row(f"Import of {rows:,} rows: the upload request", f"{upload_seconds:.2f} s"),
        Row("Import: the check by a worker", f"{rows / check_seconds:,.0f} rows/s"),
        Row(
            "Import: the addition by two workers",
            f"{added / add_seconds:,.0f} rows/s",
            f"{added:,} users, {events:,} audit events, {invitations:,} invitations queued; "
            f"a chunk of {chunk:,.0f} rows every {chunk / (added / add_seconds):.2f} s (the "
            "organization's lock is held for its writes only)",
        ),
        Row("Import end to end (check + add)", f"{rows / total:,.0f} rows/s", f"{total:.1f} s"),
    ]


def bench_emails(count: int) -> list[Row]:
    from aiosmtpd.controller import Controller
    from django.db import transaction

    from accounts.models import User
    from jobs.emails import queue_invitations
    from jobs.models import OutgoingEmail
    from tests.smtp_server import Handler, free_port

    organization, admin = _organization("emails")
    users = []
    for n in range(count):
        user = User(
            organization=organization,
            email=f"invitee{n}@emails-{organization.partner_id}.example",
            first_name=f"Invitee{n}",
            last_name="Bench",
            created_by=admin,
        )
        user.set_unusable_password()
        users.append(user)
    User.objects.bulk_create(users, batch_size=2000)
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    with transaction.atomic():
        queue_invitations(
            User.objects.filter(organization=organization).exclude(pk=admin.pk),
            invited_by=admin,
            base_url="https://partnerhub.example",
        )
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{controller.port}"}
    workers = [_worker("bench-mail-1", env), _worker("bench-mail-2", env)]
    try:
        waiting = OutgoingEmail.objects.filter(user__organization=organization, state="waiting")
        seconds = _wait(lambda: not waiting.exists())
    finally:
        _stop(*workers)
        controller.stop()
    sent = OutgoingEmail.objects.filter(user__organization=organization, state="sent").count()
    # The rate counts what the SMTP server received, not what the workers say they sent.
    received = len({to for to, _ in handler.delivered})
    return [
        Row(
            f"{count:,} invitation emails by two workers to aiosmtpd",
            f"{received / seconds:,.0f} emails/s",
            f"{received:,} received by the server ({sent:,} marked sent), {seconds:.1f} s",
        )
    ]


def bench_export(events: int) -> list[Row]:
    from django.db import connection
    from django.http import QueryDict

    from accounts.models import AuditEvent
    from jobs.exports import request_export
    from jobs.models import AuditExport

    organization, admin = _organization("export")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_auditevent (public_id, created_at, action, outcome, reason,
                actor_label, target_label, before, after, ip_address, user_agent, actor_id,
                organization_id, hash, previous_hash, sequence, repeats)
            SELECT gen_random_uuid(), now() - make_interval(secs => n), 'user.edited', 'done',
                '', 'Jobs Admin <admin@example.com>', 'Person ' || n || ' <p' || n || '@x.example>',
                '{"last_name": "Before"}', '{"last_name": "After"}', '203.0.113.7', 'bench',
                %s, %s, md5(n::text) || md5(n::text), '', n, 0
            FROM generate_series(1, %s) AS n
            """,
            [admin.pk, organization.pk, events],
        )
    assert AuditEvent.objects.filter(organization=organization).count() == events
    worker = _worker("bench-export", {"EMAIL_URL": "dummy:"})
    try:
        time.sleep(2)  # the worker's own start, not the export's
        baseline = _peak_rss_mb(worker.pid)
        export = request_export(admin, QueryDict(), "UTC")
        finished = AuditExport.objects.filter(pk=export.pk, state__in=["ready", "failed"])
        seconds = _wait(finished.exists)
        peak = _peak_rss_mb(worker.pid)
    finally:
        _stop(worker)
    export.refresh_from_db()
    assert export.state == "ready", export.error
    return [
        Row(
            f"Audit export of {events:,} events by a worker",
            f"{export.rows / seconds:,.0f} events/s",
            f"{seconds:.1f} s; the worker's peak memory {peak:.0f} MB "
            f"({baseline:.0f} MB before the export)",
        )
    ]


def run(import_rows: int, emails: int, audit_events: int, results: Path) -> int:
    """Measure, print the table, write it to results/<date>-jobs.md."""
    from datetime import UTC, datetime

    rows: list[Row] = []
    for label, step in (
        ("import", lambda: bench_import(import_rows)),
        ("emails", lambda: bench_emails(emails)),
        ("export", lambda: bench_export(audit_events)),
    ):
        print(f"Jobs bench: {label}...", flush=True)
        rows.extend(step())
    table = ["| measured | rate | note |", "| --- | --- | --- |"]
    table += [f"| {row.what} | {row.value} | {row.note} |" for row in rows]
    text = "\n".join(table)
    print(text)
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{datetime.now(UTC):%Y-%m-%d}-jobs.md"
    path.write_text(
        f"# Background jobs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"{os.cpu_count()} cores; PostgreSQL; workers are `manage.py run_worker` processes.\n\n"
        + text
        + "\n"
    )
    print(f"Written to {path}")
    return 0
