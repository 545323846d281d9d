"""The addition's parts (jobs.user_imports): on PostgreSQL, JOBS_IMPORT_PARTS jobs add one
checked file side by side, each writing its chunks' users before taking the organization's lock
and only their audit events under it. (Two real workers side by side, and one killed:
tests/test_worker_killed.py.)"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from accounts import audit
from accounts.audit import NOWHERE
from accounts.models import PartnerOrganization, User
from jobs import tasks, user_imports
from jobs.models import ImportChunk, UserImport
from jobs.testing import run_ready_jobs

HEADER = "First name,Last name,Email,Roles\r\n"
CHECK, ADD = "jobs.tasks.check_import", "jobs.tasks.add_import"


def _checked(csp, rows: int, *, repeated_at_the_end: bool = True) -> UserImport:
    text = HEADER + "".join(
        f"New,Person{n},new{n}@contoso.example,Sales agent\r\n" for n in range(rows)
    )
    if repeated_at_the_end:
        text += "Again,Person,new2@contoso.example,\r\n"  # line 4 has this email
    user_import = user_imports.start(
        text,
        file_name="people.csv",
        actor=csp.global_admin,
        organization=csp.organization,
        origin=NOWHERE,
        base_url="https://partnerhub.example",
    )
    run_ready_jobs(only=CHECK)
    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.CHECKED, user_import.error
    return user_import


def _add_jobs() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=ADD).order_by("enqueued_at"))


@pytest.mark.django_db
def test_the_check_records_which_rows_repeat_an_earlier_email(csp, settings):
    settings.JOBS_IMPORT_CHUNK_SIZE = 2
    user_import = _checked(csp, 4)

    recorded = ImportChunk.objects.filter(user_import=user_import, step="check")
    # Lines 2 to 5 are the four people; line 6 repeats line 4's email, in the third chunk.
    assert list(recorded.values_list("repeated_emails", flat=True)) == [{}, {}, {"6": 4}]


@pytest.mark.django_db
@pytest.mark.postgresql
def test_each_part_adds_its_share_and_the_last_finishes(csp, settings):
    settings.JOBS_IMPORT_CHUNK_SIZE = 2
    settings.JOBS_IMPORT_PARTS = 2
    user_import = _checked(csp, 8)  # lines 2 to 9, and line 10 repeating line 4's email
    user_imports.confirm(user_import, csp.global_admin)
    first, second = _add_jobs()
    assert first.args_kwargs["args"] == [str(user_import.pk), 0, 2]
    assert second.args_kwargs["args"] == [str(user_import.pk), 1, 2]

    run_ready_jobs(only=ADD, limit=1)  # part 0: chunks 0, 2 and 4 (the repeated row)
    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.ADDING  # part 1's chunks are not added yet
    added = ImportChunk.objects.filter(user_import=user_import, step="add")
    assert sorted(added.values_list("index", flat=True)) == [0, 2, 4]

    run_ready_jobs(only=ADD)
    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.ADDED, user_import.error
    assert user_import.result_summary["valid"] == 8
    # The repeated email is refused in part 0, which never read line 4's chunk (part 1's).
    assert user_import.result_summary["invalid"] == 1
    assert user_import.result_summary["problems"][0]["errors"] == [
        "Email: line 4 of this file has the same email."
    ]
    assert User.objects.filter(email__startswith="new").count() == 8
    assert audit.verify_chains().intact


@pytest.mark.django_db
def test_a_check_recorded_before_the_parts_is_added_by_one_job_in_order(csp, settings):
    settings.JOBS_IMPORT_CHUNK_SIZE = 2
    settings.JOBS_IMPORT_PARTS = 2
    user_import = _checked(csp, 4)
    ImportChunk.objects.filter(user_import=user_import).update(repeated_emails=None)

    user_imports.confirm(user_import, csp.global_admin)
    assert [job.args_kwargs["args"][1:] for job in _add_jobs()] == [[0, 1]]
    run_ready_jobs(only=ADD)

    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.ADDED, user_import.error
    assert user_import.result_summary["valid"] == 4
    assert user_import.result_summary["invalid"] == 1  # the repeated email, found in order


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql
def test_a_chunk_waiting_for_the_lock_gives_up_and_is_added_with_it_taken_first(
    csp, settings, caplog
):
    # Another transaction holds the organization's lock longer than a chunk written before it
    # may wait (half of deadlock_timeout): the chunk gives up, rolls back, and is added again
    # with the lock taken first, once the other transaction is done.
    settings.JOBS_IMPORT_PARTS = 1
    user_import = _checked(csp, 3, repeated_at_the_end=False)
    user_imports.confirm(user_import, csp.global_admin)
    # The result file first: its row names the organization, whose key its commit would wait
    # for (a foreign key's check) before any chunk is reached.
    user_imports._result_file(user_import, user_imports.Step.ADD)
    holding, released = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        try:
            with transaction.atomic():
                PartnerOrganization.objects.select_for_update().get(pk=csp.organization.pk)
                holding.set()
                time.sleep(1.5)
            released.set()
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert holding.wait(10)
    with caplog.at_level(logging.INFO, logger="jobs.user_imports"):
        run_ready_jobs(only=ADD)
    holder.join()

    assert released.is_set()
    assert "waited too long for a lock; added again" in caplog.text
    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.ADDED, user_import.error
    assert user_import.result_summary["valid"] == 3
    assert User.objects.filter(email__startswith="new").count() == 3
    assert audit.verify_chains().intact


@pytest.mark.django_db
@pytest.mark.postgresql
def test_a_free_worker_takes_the_other_part_before_the_first_parts_invitations(csp, settings):
    # Part 0 has queued its users' invitations when a worker comes free: it takes part 1 (both
    # parts side by side), and a password reset asked meanwhile goes before either.
    settings.JOBS_IMPORT_CHUNK_SIZE = 2
    settings.JOBS_IMPORT_PARTS = 2
    user_import = _checked(csp, 4, repeated_at_the_end=False)
    user_imports.confirm(user_import, csp.global_admin)
    first, second = _add_jobs()
    run_ready_jobs(limit=1)
    first.refresh_from_db()
    assert first.status == "SUCCESSFUL"
    invitations = DBTaskResult.objects.filter(task_path="jobs.tasks.send_invitations")
    assert invitations.filter(status="READY").exists()
    tasks.send_password_reset.enqueue(csp.member.email, "https://partnerhub.example")

    run_ready_jobs(limit=1)
    assert DBTaskResult.objects.get(task_path="jobs.tasks.send_password_reset").status == (
        "SUCCESSFUL"
    )
    run_ready_jobs(limit=1)
    second.refresh_from_db()
    assert second.status == "SUCCESSFUL"
    assert not invitations.exclude(status="READY").exists()
    run_ready_jobs()
    assert not invitations.exclude(status="SUCCESSFUL").exists()
