"""Jobs left running by a worker that died.

django-tasks' database worker marks a job RUNNING when it claims it and SUCCESSFUL or FAILED
when the job returns; a worker killed in between (SIGKILL, out of memory, its machine gone)
leaves it RUNNING for ever, since the worker is the only one that would change it. So each of
our workers (manage.py run_worker) writes a heartbeat every JOBS_HEARTBEAT_SECONDS, and at start
and after each heartbeat looks for RUNNING jobs whose last worker has not been seen for
JOBS_STALE_AFTER_SECONDS: those are set READY again and the next free worker runs them. Every
job of ours may run again (jobs.tasks). A job that stopped JOBS_MAX_RUNS times with its worker
is failed instead, so a job that kills its worker cannot loop for ever.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from jobs.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


class WorkerDied(Exception):
    """Set as a job's failure when it stopped with its worker too many times."""


def beat(worker_id: str, hostname: str, pid: int) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id, defaults={"hostname": hostname, "pid": pid, "seen_at": now}
    )


def forget(worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def recover_stale_jobs() -> int:
    """Run again the jobs whose worker died; returns how many."""
    stale_after = timedelta(seconds=settings.JOBS_STALE_AFTER_SECONDS)
    alive = set(
        WorkerHeartbeat.objects.filter(seen_at__gt=timezone.now() - stale_after).values_list(
            "worker_id", flat=True
        )
    )
    recovered = 0
    with transaction.atomic():
        running = DBTaskResult.objects.select_for_update(skip_locked=True).filter(
            status=TaskResultStatus.RUNNING, started_at__lt=timezone.now() - stale_after
        )
        for job in running:
            if job.worker_ids and job.worker_ids[-1] in alive:
                continue
            if len(job.worker_ids) >= settings.JOBS_MAX_RUNS:
                logger.error(
                    "Job %s (%s) stopped with its worker %s times: failed.",
                    job.pk,
                    job.task_path,
                    len(job.worker_ids),
                )
                job.set_failed(WorkerDied(f"Its worker stopped {len(job.worker_ids)} times."))
                _fail_its_work(job)
                continue
            logger.warning(
                "Job %s (%s) was left running by worker %s, which is gone: it runs again.",
                job.pk,
                job.task_path,
                job.worker_ids[-1] if job.worker_ids else "?",
            )
            job.status = TaskResultStatus.READY
            job.save(update_fields=["status"])
            recovered += 1
    # Workers not seen for a long time are gone: forget them.
    WorkerHeartbeat.objects.filter(seen_at__lt=timezone.now() - 10 * stale_after).delete()
    return recovered


WORKER_KEPT_STOPPING = (
    "Stopped: the worker running it stopped {runs} times, so it is not tried again. "
    "Tell your administrator (the workers' log says more)."
)


def _fail_its_work(job: DBTaskResult) -> None:
    """An import, export or invitation whose job is failed here says so on its page (otherwise
    it would show "Checking..." or "Waiting to be sent" for ever, and the purge, which keeps
    work in progress, never remove it)."""
    from jobs.models import AuditExport, OutgoingEmail, UserImport

    args = (job.args_kwargs or {}).get("args") or []
    if not args:
        return
    reason = WORKER_KEPT_STOPPING.format(runs=len(job.worker_ids))
    now = timezone.now()
    if job.task_path in {"jobs.tasks.check_import", "jobs.tasks.add_import"}:
        UserImport.objects.filter(
            pk=args[0], state__in=[UserImport.State.CHECKING, UserImport.State.ADDING]
        ).update(state=UserImport.State.FAILED, error=reason, finished_at=now)
    elif job.task_path == "jobs.tasks.send_invitations":
        OutgoingEmail.objects.filter(pk__in=args[0], state=OutgoingEmail.State.WAITING).update(
            state=OutgoingEmail.State.FAILED, error=reason
        )
    elif job.task_path == "jobs.tasks.export_audit_log":
        AuditExport.objects.filter(
            pk=args[0], state__in=[AuditExport.State.WAITING, AuditExport.State.WRITING]
        ).update(state=AuditExport.State.FAILED, error=reason, finished_at=now)
