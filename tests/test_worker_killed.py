"""A worker killed with SIGKILL in the middle of an import loses nothing and duplicates nothing:
another worker runs the job again (jobs.recovery) and every row ends up added exactly once,
with its roles, its audit event and its invitation, and the audit chain verifies. Real worker
processes (manage.py run_worker) on the test database: PostgreSQL only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count
from django_tasks_db.models import DBTaskResult

from accounts import audit, services
from accounts.models import AuditAction, AuditEvent, User
from jobs import user_imports
from jobs.models import ImportChunk, OutgoingEmail, UserImport
from roles.models import RoleAssignment
from tests.jobs import checked_import

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
ROWS = 3000
CHUNK = 100


def start_worker(name: str) -> subprocess.Popen:
    settings = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/"
            f"{settings['NAME']}"
        ),
        "JOBS_IMPORT_CHUNK_SIZE": str(CHUNK),
        "JOBS_STALE_AFTER_SECONDS": "2",
        "JOBS_HEARTBEAT_SECONDS": "1",
        "EMAIL_URL": "dummy:",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--no-startup-delay", "--worker-id", name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not reached in {seconds} s")


def test_a_worker_killed_mid_import_loses_and_duplicates_nothing(csp, settings):
    settings.JOBS_IMPORT_CHUNK_SIZE = CHUNK  # the addition's: its job fixes it for its helper
    # One job, so that only its run again can add the rest (two side by side: the test below).
    settings.JOBS_IMPORT_PARTS = 1
    text = "First name,Last name,Email,Roles\n" + "".join(
        f"First{n},Last{n},person{n}@import.example,Referrals admin;Sales agent\n"
        for n in range(ROWS)
    )
    user_import = checked_import(text, csp.global_admin)
    user_imports.confirm(user_import, csp.global_admin)

    first = start_worker("first")
    try:
        wait_for(
            lambda: UserImport.objects.get(pk=user_import.pk).rows_added_done >= 5 * CHUNK, 120
        )
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    killed_at = UserImport.objects.get(pk=user_import.pk)
    assert killed_at.state == UserImport.State.ADDING
    assert 0 < killed_at.rows_added_done < ROWS
    # What the kill left behind is whole chunks only: the chunk it interrupted (chunks run back
    # to back, so the kill nearly always lands inside one) was rolled back entirely, users,
    # counters and records alike.
    assert killed_at.rows_added_done % CHUNK == 0
    left = User.objects.filter(email__endswith="@import.example")
    assert left.count() == killed_at.rows_added_done
    assert ImportChunk.objects.filter(user_import=user_import, step="add").count() == (
        killed_at.rows_added_done // CHUNK
    )
    assert OutgoingEmail.objects.filter(user__in=left).count() == left.count()

    second = start_worker("second")
    try:
        wait_for(lambda: UserImport.objects.get(pk=user_import.pk).state != "adding", 180)
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    finally:
        if second.poll() is None:
            second.kill()

    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.ADDED, user_import.error
    assert user_import.result_summary["valid"] == ROWS
    added = User.objects.filter(email__endswith="@import.example")
    assert added.count() == ROWS
    assert RoleAssignment.objects.filter(user__in=added).count() == 2 * ROWS
    created = (
        AuditEvent.objects.filter(action=AuditAction.USER_CREATED, target__in=added)
        .values("target")
        .annotate(n=Count("id"))
    )
    assert len(created) == ROWS
    assert {row["n"] for row in created} == {1}
    granted = AuditEvent.objects.filter(action=AuditAction.ROLE_GRANTED, target__in=added)
    assert granted.count() == 2 * ROWS
    invitations = OutgoingEmail.objects.filter(user__in=added)
    assert invitations.count() == ROWS
    assert invitations.values("user").distinct().count() == ROWS  # one each, none twice
    assert ImportChunk.objects.filter(user_import=user_import, step="add").count() == ROWS // CHUNK
    assert audit.verify_chains().intact
    # The one job, claimed by the killed worker, then run again by the other.
    job = DBTaskResult.objects.get(task_path="jobs.tasks.add_import")
    assert job.worker_ids == ["first", "second"]
    assert job.status == "SUCCESSFUL"


def test_two_workers_add_one_file_side_by_side(csp, settings):
    settings.JOBS_IMPORT_CHUNK_SIZE = CHUNK  # the addition's: its job fixes it for its helper
    text = (
        "First name,Last name,Email,Roles\n"
        + "".join(f"First{n},Last{n},person{n}@import.example,Sales agent\n" for n in range(ROWS))
        + "Again,Repeated,person7@import.example,\n"
    )  # refused at the check: line 9 has it
    user_import = checked_import(text, csp.global_admin)
    user_imports.confirm(user_import, csp.global_admin)
    workers = [start_worker("left"), start_worker("right")]
    admin_won = 0
    try:
        # Meanwhile an admin adds users one at a time in the same organization, taking its lock
        # between the import's chunks; every other one with an email of the file, which the
        # import may be writing at that moment (bounded lock waits: never a database error).
        number = 0
        while UserImport.objects.get(pk=user_import.pk).state == "adding" and number < 60:
            email = (
                f"person{ROWS - 1 - number}@import.example"
                if number % 2
                else f"added{number}@contoso.example"
            )
            try:
                services.create_user(
                    csp.global_admin,
                    organization=csp.organization,
                    first_name="Added",
                    last_name=f"Meanwhile{number}",
                    email=email,
                    invite=True,
                    base_url="https://partnerhub.example",
                )
                admin_won += email.endswith("@import.example")
            except services.EmailInUse:
                pass
            number += 1
            time.sleep(0.02)
        wait_for(lambda: UserImport.objects.get(pk=user_import.pk).state != "adding", 180)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()

    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.ADDED, user_import.error
    # The file's rows whose email the admin added first are refused, the others added.
    assert user_import.result_summary["valid"] == ROWS - admin_won
    assert user_import.result_summary["invalid"] == 1 + admin_won
    assert User.objects.filter(email__endswith="@import.example").count() == ROWS
    added = User.objects.filter(email__endswith="@import.example", created_by=csp.global_admin)
    added = added.exclude(last_name__startswith="Meanwhile")
    assert added.count() == ROWS - admin_won
    assert RoleAssignment.objects.filter(user__in=added).count() == ROWS - admin_won
    created = AuditEvent.objects.filter(action=AuditAction.USER_CREATED, target__in=added)
    assert created.count() == ROWS - admin_won
    assert OutgoingEmail.objects.filter(user__in=added).count() == ROWS - admin_won
    chunks = ImportChunk.objects.filter(user_import=user_import, step="add")
    assert sorted(chunks.values_list("index", flat=True)) == list(range(ROWS // CHUNK + 1))
    assert audit.verify_chains().intact
    jobs = DBTaskResult.objects.filter(task_path="jobs.tasks.add_import")
    assert {job.status for job in jobs} == {"SUCCESSFUL"}
    # Each worker took one of the two jobs (which chunks each added, the claims decided).
    assert sorted(worker for job in jobs for worker in job.worker_ids) == ["left", "right"]
