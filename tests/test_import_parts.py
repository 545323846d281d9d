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

from accounts import audit, services
from accounts.imports import ImportRow
from accounts.models import PartnerOrganization, User
from jobs import tasks, user_imports
from jobs.models import ImportChunk, UserImport
from jobs.testing import run_ready_jobs
from tests.jobs import checked_import

HEADER = "First name,Last name,Email,Roles\r\n"
CHECK, ADD = "jobs.tasks.check_import", "jobs.tasks.add_import"


def _checked(csp, rows: int, *, repeated_at_the_end: bool = True) -> UserImport:
    text = HEADER + "".join(
        f"New,Person{n},new{n}@contoso.example,Sales agent\r\n" for n in range(rows)
    )
    if repeated_at_the_end:
        text += "Again,Person,new2@contoso.example,\r\n"  # line 4 has this email
    return checked_import(text, csp.global_admin)


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
def test_the_addition_keeps_its_arguments_and_a_helper_waits_for_it(csp, settings, monkeypatch):
    settings.JOBS_IMPORT_PARTS = 2
    user_import = _checked(csp, 3)
    user_imports.confirm(user_import, csp.global_admin)
    # The addition as a worker of the release before knows it, and its helper.
    assert [job.args_kwargs["args"] for job in _add_jobs()] == [
        [str(user_import.pk)],
        [str(user_import.pk), 1, 2],
    ]

    # A helper alone, the addition not started (or started by a worker of the release before,
    # which never says so): it adds nothing.
    monkeypatch.setattr(user_imports, "HELPER_PATIENCE", 0.3)
    user_imports.run_step(str(user_import.pk), user_imports.Step.ADD, part=1, parts=2)
    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.ADDING
    assert not ImportChunk.objects.filter(user_import=user_import, step="add").exists()

    run_ready_jobs(only=ADD)  # the addition, then the helper: nothing left for it
    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.ADDED, user_import.error
    assert user_import.result_summary["valid"] == 3
    assert {job.status for job in _add_jobs()} == {"SUCCESSFUL"}


def test_each_job_reads_the_chunks_from_its_share_then_those_before():
    text = HEADER + "".join(f"A,B,p{n}@contoso.example,\r\n" for n in range(9))
    count: list[int] = []

    order = [index for index, _ in user_imports._chunks_from(text, 2, 3, count)]

    assert order == [3, 4, 0, 1, 2]
    assert count == [5]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql
def test_a_job_passes_a_chunk_another_has_then_waits_for_it_and_adds_it_if_left(csp, settings):
    settings.JOBS_IMPORT_CHUNK_SIZE = 2
    settings.JOBS_IMPORT_PARTS = 2
    user_import = _checked(csp, 8)  # lines 2 to 9, and line 10 repeating line 4's email
    user_imports.confirm(user_import, csp.global_admin)
    holding = threading.Event()

    def hold_chunk_1() -> None:  # as a job whose worker dies while adding chunk 1 would
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s), 1)", [f"{user_import.pk}:add"]
                )
                holding.set()
                time.sleep(1)
                raise RuntimeError("the worker died")  # rolled back: nothing recorded
        except RuntimeError:
            pass
        finally:
            connection.close()

    holder = threading.Thread(target=hold_chunk_1)
    holder.start()
    assert holding.wait(10)
    user_imports.run_step(str(user_import.pk), user_imports.Step.ADD)
    holder.join()

    # Chunk 1 passed first, then waited for and added last, by this job.
    added = ImportChunk.objects.filter(user_import=user_import, step="add").order_by("pk")
    assert list(added.values_list("index", flat=True)) == [0, 2, 3, 4, 1]
    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.ADDED, user_import.error
    assert user_import.add_chunk_size == 2
    assert user_import.result_summary["valid"] == 8
    # Line 10's email is refused though line 4's chunk was added after it: the check's record.
    assert user_import.result_summary["invalid"] == 1
    assert user_import.result_summary["problems"][0]["errors"] == [
        "Email: line 4 of this file has the same email."
    ]
    assert User.objects.filter(email__startswith="new").count() == 8
    assert audit.verify_chains().intact
    run_ready_jobs(only=ADD)  # the addition's job itself, and the helper: nothing left
    assert {job.status for job in _add_jobs()} == {"SUCCESSFUL"}
    assert User.objects.filter(email__startswith="new").count() == 8


@pytest.mark.django_db
def test_a_check_recorded_before_the_parts_is_added_by_one_job_in_order(csp, settings):
    settings.JOBS_IMPORT_CHUNK_SIZE = 2
    settings.JOBS_IMPORT_PARTS = 2
    user_import = _checked(csp, 4)
    ImportChunk.objects.filter(user_import=user_import).update(repeated_emails=None)

    user_imports.confirm(user_import, csp.global_admin)
    assert [job.args_kwargs["args"] for job in _add_jobs()] == [[str(user_import.pk)]]
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
    # The addition has queued its users' invitations when a worker comes free: it takes the
    # helper (side by side), and a password reset asked meanwhile goes before either.
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


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql
def test_an_admin_adding_a_user_the_chunk_is_writing_is_never_the_one_failed(csp, settings):
    # The admin holds the organization's lock and adds a user with an email the chunk wrote a
    # moment ago, before taking that lock: the admin waits for the chunk's transaction. Had the
    # chunk waited for the lock, PostgreSQL would break the cycle by failing one of the two,
    # here the admin's request (its deadlock_timeout made short). The chunk never waits for it:
    # it gives up, the admin's user is added, and the chunk, added again, refuses that row.
    settings.JOBS_IMPORT_PARTS = 1
    user_import = _checked(csp, 3, repeated_at_the_end=False)
    user_imports.confirm(user_import, csp.global_admin)
    user_imports._result_file(user_import, user_imports.Step.ADD)  # see the test above
    holding = threading.Event()
    outcome: list[object] = []

    def admin_adds_new1() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET deadlock_timeout = '100ms'")
            with transaction.atomic():
                PartnerOrganization.objects.select_for_update().get(pk=csp.organization.pk)
                holding.set()
                time.sleep(0.3)  # the chunk writes its users meanwhile
                outcome.append(
                    services.create_user(
                        csp.global_admin,
                        organization=csp.organization,
                        first_name="Added",
                        last_name="By hand",
                        email="new1@contoso.example",
                        invite=True,
                        base_url="https://partnerhub.example",
                    )
                )
        except Exception as error:
            outcome.append(error)
        finally:
            connection.close()

    admin = threading.Thread(target=admin_adds_new1)
    admin.start()
    assert holding.wait(10)
    run_ready_jobs(only=ADD)
    admin.join()

    assert len(outcome) == 1
    assert not isinstance(outcome[0], Exception), outcome[0]
    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.ADDED, user_import.error
    assert user_import.result_summary["valid"] == 2
    assert user_import.result_summary["problems"][0]["errors"] == [
        "Email: A user with this email already exists."
    ]
    assert User.objects.get(email="new1@contoso.example").last_name == "By hand"
    assert audit.verify_chains().intact


def test_a_row_copied_for_an_attempt_leaves_the_row_as_it_was():
    row = ImportRow(line=2, email="a@contoso.example", role_keys=["sales_agent"])
    row.warnings.append("Possible duplicate")

    attempt = row.copy()
    attempt.errors.append("Email: A user with this email already exists.")
    attempt.role_keys.append("global_admin")
    attempt.refused.append(("global_admin", "no"))
    attempt.warnings.clear()
    attempt.added = True

    assert row == ImportRow(
        line=2,
        email="a@contoso.example",
        role_keys=["sales_agent"],
        warnings=["Possible duplicate"],
    )
    assert attempt.line == row.line
    assert attempt.email == row.email
