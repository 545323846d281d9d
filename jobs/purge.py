"""Results kept RESULT_DAYS (jobs.models): the files, the imports with their text, the exports,
and django-tasks' finished job rows, deleted once expired."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from jobs.models import RESULT_DAYS, AuditExport, StoredFile, UserImport


def purge_expired() -> dict[str, int]:
    cutoff = timezone.now() - timedelta(days=RESULT_DAYS)
    imports, _ = (
        UserImport.objects.filter(created_at__lt=cutoff)
        .exclude(state__in=[UserImport.State.CHECKING, UserImport.State.ADDING])
        .delete()
    )
    exports, _ = AuditExport.objects.filter(created_at__lt=cutoff).delete()
    stored, _ = StoredFile.objects.expired().delete()
    finished, _ = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED], finished_at__lt=cutoff
    ).delete()
    return {"imports": imports, "exports": exports, "files": stored, "jobs": finished}
