"""Who runs jobs: whether a worker is alive, and running one import's job in this process when
none is (manage.py import_users on a laptop without a worker)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from jobs.models import UserImport, WorkerHeartbeat

HERE = "this-command"


def any_alive() -> bool:
    since = timezone.now() - timedelta(seconds=settings.JOBS_STALE_AFTER_SECONDS)
    return WorkerHeartbeat.objects.filter(seen_at__gt=since).exists()


def run_import_job_here(user_import: UserImport) -> bool:
    """Claim and run a waiting job of the import (the check, or a part of the addition),
    exactly as a worker would; False when workers took them all first."""
    path = (
        "jobs.tasks.check_import"
        if user_import.state == UserImport.State.CHECKING
        else "jobs.tasks.add_import"
    )
    with transaction.atomic():
        job = (
            DBTaskResult.objects.select_for_update(skip_locked=True)
            .filter(
                status=TaskResultStatus.READY,
                task_path=path,
                args_kwargs__args__0=str(user_import.pk),
            )
            .order_by("enqueued_at")
            .first()
        )
        if job is None:
            return False
        job.claim(HERE)
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=job.backend_name,
        startup_delay=False,
        max_tasks=None,
        worker_id=HERE,
        excluded_queue_names=[],
    ).run_task(job)
    return True
