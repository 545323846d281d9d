"""The audit log as CSV, written by a job: the events the requester may read with the filters
they chose, in parts of PART_ROWS rows read with a server-side cursor, so memory stays flat
whatever the number of events (1,000,000 included); the file is kept 7 days."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from accounts.models import AuditEvent, User
from jobs import files
from jobs.models import AuditExport
from roles import rules
from roles.rules import Action

logger = logging.getLogger(__name__)

PART_ROWS = 5000


def request_export(user: User, query: QueryDict, time_zone: str) -> AuditExport:
    """Keep the request and enqueue its job, in one transaction."""
    from jobs import tasks

    with transaction.atomic():
        export = AuditExport.objects.create(
            organization=user.organization,
            requested_by=user,
            query=query.urlencode()[:2000],
            time_zone=time_zone,
        )
        tasks.export_audit_log.enqueue(str(export.pk))
    return export


def run(export_id: str) -> dict[str, Any]:
    from accounts.views.audit_log import CSV_HEADER, AuditLogFilterForm, csv_row

    export = AuditExport.objects.select_related("requested_by", "organization").get(pk=export_id)
    if export.state in {AuditExport.State.READY, AuditExport.State.FAILED}:
        return {"state": export.state}
    requester = export.requested_by
    try:
        with timezone.override(export.time_zone or "UTC"):
            # Asked again: the requester may have lost the role since.
            if not rules.can(requester, Action.SEE_AUDIT_LOG):
                return _fail(export, "You may no longer read the audit log: nothing exported.")
            form = AuditLogFilterForm(
                QueryDict(export.query),
                visible_actions=rules.audit_actions_visible_to(requester),
                organization_users=User.objects.in_organization(requester.organization),
            )
            if not form.is_valid():
                return _fail(export, "The filters are no longer valid: nothing exported.")
            events = form.filter(AuditEvent.objects.visible_to(requester))
            # A run again (its worker died) starts the file anew.
            if export.file_id:
                export.file.delete()
            stored = files.new_file(
                f"audit-log-{export.organization.partner_id}-{timezone.now():%Y-%m-%d}.csv",
                export.organization,
                CSV_HEADER,
            )
            AuditExport.objects.filter(pk=export.pk).update(
                state=AuditExport.State.WRITING, file=stored
            )
            rows, part, index = 0, [], 1
            for event in events.iterator(chunk_size=2000):
                part.append(csv_row(event))
                if len(part) == PART_ROWS:
                    files.add_part(stored, index, files.csv_rows(part))
                    rows, part, index = rows + len(part), [], index + 1
                    AuditExport.objects.filter(pk=export.pk).update(rows=rows)
            if part:
                files.add_part(stored, index, files.csv_rows(part))
                rows += len(part)
    except Exception as error:
        logger.exception("Audit export %s failed", export.pk)
        _fail(export, f"An unexpected error stopped the export ({type(error).__name__}).")
        raise
    AuditExport.objects.filter(pk=export.pk).update(
        state=AuditExport.State.READY, rows=rows, finished_at=timezone.now()
    )
    return {"state": AuditExport.State.READY, "rows": rows}


def _fail(export: AuditExport, reason: str) -> dict[str, Any]:
    logger.warning("Audit export %s failed: %s", export.pk, reason)
    AuditExport.objects.filter(pk=export.pk).update(
        state=AuditExport.State.FAILED, error=reason, finished_at=timezone.now()
    )
    return {"state": AuditExport.State.FAILED}
