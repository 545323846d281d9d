"""Running the jobs waiting in the database, in this process: for tests and for commands that
wait for their job (import_users --wait without a worker). The jobs run exactly as a worker
runs them (django-tasks' db_worker Worker.run_task), one at a time, oldest first."""

from __future__ import annotations

from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

WORKER_ID = "in-process"


def run_ready_jobs(
    *, limit: int = 10_000, include_later: bool = False, only: str | None = None
) -> int:
    """Run the jobs ready now (and those scheduled for later with include_later, as if their
    time had come), and those they enqueue; only: the jobs of that task (its dotted path).
    Returns how many ran."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=WORKER_ID,
        excluded_queue_names=[],
    )
    ran = 0
    while ran < limit:
        waiting = DBTaskResult.objects.filter(status="READY")
        if not include_later:
            waiting = waiting.ready()
        if only:
            waiting = waiting.filter(task_path=only)
        job = waiting.order_by("-priority", "run_after", "enqueued_at").first()
        if job is None:
            break
        if include_later and job.run_after > timezone.now():
            job.run_after = timezone.now()
            job.save(update_fields=["run_after"])
        job.claim(WORKER_ID)
        worker.run_task(job)
        ran += 1
    return ran
