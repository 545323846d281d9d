"""The task engine's promises: a job is enqueued in the transaction of the change that needs it,
a job left running by a dead worker runs again, expired results are purged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.services import create_user
from jobs import recovery, tasks
from jobs.models import OutgoingEmail, StoredFile, UserImport, WorkerHeartbeat
from jobs.purge import purge_expired


def invite(csp, email: str = "ada@contoso.example"):
    return create_user(
        csp.global_admin,
        organization=csp.organization,
        first_name="Ada",
        last_name="Lovelace",
        email=email,
        invite=True,
        base_url="https://partnerhub.example",
    ).user


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_job_and_a_committed_one_leaves_its_job(csp):
    def fail_after_the_change() -> None:
        with transaction.atomic():
            invite(csp)
            assert DBTaskResult.objects.filter(task_path="jobs.tasks.send_invitations").exists()
            raise RuntimeError("the change fails after the user and the job were written")

    with pytest.raises(RuntimeError):
        fail_after_the_change()

    assert not DBTaskResult.objects.exists()
    assert not OutgoingEmail.objects.exists()

    user = invite(csp)

    job = DBTaskResult.objects.get(task_path="jobs.tasks.send_invitations")
    assert job.status == TaskResultStatus.READY
    [email_ids] = job.args_kwargs["args"]
    assert email_ids == [OutgoingEmail.objects.get(user=user).pk]


def running_job(worker_id: str, *, runs: int = 1, minutes_ago: int = 5) -> DBTaskResult:
    result = tasks.purge_expired.enqueue()
    job = DBTaskResult.objects.get(pk=result.id)
    job.status = TaskResultStatus.RUNNING
    job.worker_ids = [worker_id] * runs
    job.started_at = timezone.now() - timedelta(minutes=minutes_ago)
    job.save()
    return job


@pytest.mark.django_db
def test_a_job_whose_worker_stopped_beating_runs_again(settings):
    settings.JOBS_STALE_AFTER_SECONDS = 60
    WorkerHeartbeat.objects.create(
        worker_id="dead", hostname="h", pid=1, seen_at=timezone.now() - timedelta(minutes=3)
    )
    orphan = running_job("dead")
    never_seen = running_job("gone-without-a-heartbeat")

    assert recovery.recover_stale_jobs() == 2

    for job in (orphan, never_seen):
        job.refresh_from_db()
        assert job.status == TaskResultStatus.READY
    assert DBTaskResult.objects.ready().count() == 2


@pytest.mark.django_db
def test_a_job_of_a_live_worker_or_just_started_is_left_alone(settings):
    settings.JOBS_STALE_AFTER_SECONDS = 60
    recovery.beat("alive", "h", 1)
    busy = running_job("alive")
    just_started = running_job("unknown", minutes_ago=0)

    assert recovery.recover_stale_jobs() == 0

    for job in (busy, just_started):
        job.refresh_from_db()
        assert job.status == TaskResultStatus.RUNNING


@pytest.mark.django_db
def test_a_job_that_stopped_with_its_worker_too_often_fails(settings):
    settings.JOBS_MAX_RUNS = 3
    job = running_job("dead", runs=3)

    recovery.recover_stale_jobs()

    job.refresh_from_db()
    assert job.status == TaskResultStatus.FAILED
    assert "stopped 3 times" in job.traceback


@pytest.mark.django_db
def test_results_older_than_seven_days_are_purged(csp):
    old = timezone.now() - timedelta(days=8)
    kept = StoredFile.objects.create(name="new.csv", organization=csp.organization)
    StoredFile.objects.create(name="old.csv", organization=csp.organization, expires_at=old)
    for created_at, state in [(old, "added"), (timezone.now(), "added"), (old, "adding")]:
        UserImport.objects.create(
            organization=csp.organization,
            file_name="f.csv",
            content=b"",
            rows_total=0,
            base_url="x",
            created_at=created_at,
            state=state,
        )

    counts = purge_expired()

    assert counts["files"] == 1
    assert counts["imports"] == 1
    assert list(StoredFile.objects.all()) == [kept]
    # An import still working is never purged under its worker.
    assert UserImport.objects.count() == 2
