"""What background jobs work on and leave behind: imports with their chunks, emails waiting for a
worker, exports, the files they produce, and the workers' heartbeats.

Everything a job needs is in the database, never in a session or on one server's disk: any app
server shows any job's progress and result, any worker on any machine runs it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import models
from django.utils import timezone

from accounts.models import PartnerOrganization, User

RESULT_DAYS = 7  # a job's file (an import's result, an audit export) stays downloadable this long


def result_expiry() -> timezone.datetime:
    return timezone.now() + timedelta(days=RESULT_DAYS)


class StoredFileQuerySet(models.QuerySet["StoredFile"]):
    def in_organization(self, organization: PartnerOrganization | None) -> StoredFileQuerySet:
        return self.filter(organization=organization)

    def current(self) -> StoredFileQuerySet:
        return self.filter(expires_at__gt=timezone.now())

    def expired(self) -> StoredFileQuerySet:
        return self.filter(expires_at__lte=timezone.now())


class StoredFile(models.Model):
    """A file a job wrote (CSV), kept in parts so that neither writing nor reading it holds the
    whole file in memory; downloadable by its organization's admins until expires_at."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        PartnerOrganization, null=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=result_expiry, db_index=True)

    objects = StoredFileQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class StoredFilePart(models.Model):
    """One piece of a StoredFile's text, in order of index."""

    file = models.ForeignKey(StoredFile, on_delete=models.CASCADE, related_name="parts")
    index = models.IntegerField()
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["file", "index"], name="stored_file_part_unique")
        ]

    def __str__(self) -> str:
        return f"{self.file_id} part {self.index}"


class UserImportQuerySet(models.QuerySet["UserImport"]):
    def in_organization(self, organization: PartnerOrganization | None) -> UserImportQuerySet:
        return self.filter(organization=organization)


class UserImport(models.Model):
    """One CSV file of users to add: its text, where its check and its addition stand, and
    their results. The file is kept until the import is purged with its result."""

    class State(models.TextChoices):
        CHECKING = "checking", "Checking"
        CHECKED = "checked", "Checked"
        ADDING = "adding", "Adding"
        ADDED = "added", "Added"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        PartnerOrganization, on_delete=models.CASCADE, related_name="user_imports"
    )
    # Who checks and adds: the rulebook decides with their powers, the audit trail names them.
    # None: support staff's dry run from the command line, which names nobody and adds nobody.
    created_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="user_imports"
    )
    file_name = models.CharField(max_length=200)
    # The file as uploaded (UTF-8): bytes, since a row may hold a NUL, which a text column
    # refuses and the row check must see (and refuse, at its row).
    content = models.BinaryField()
    rows_total = models.IntegerField()
    names_global_admin = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.CHECKING)
    error = models.TextField(blank=True)  # why it failed, in the admin's words
    rows_checked = models.IntegerField(default=0)
    rows_added_done = models.IntegerField(default=0)  # rows the addition has gone through
    # Rows per chunk of the addition, fixed by the addition when it starts: every job of it reads
    # the file's chunks alike (jobs.user_imports._addition_chunk_size).
    add_chunk_size = models.IntegerField(null=True, blank=True)
    check_summary = models.JSONField(null=True)
    result_summary = models.JSONField(null=True)
    check_file = models.ForeignKey(
        StoredFile, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    result_file = models.ForeignKey(
        StoredFile, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where the upload came from and where links in its invitations point.
    ip_address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=500, blank=True)
    base_url = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True)

    objects = UserImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return self.file_name

    @property
    def text(self) -> str:
        # Decoded straight from the stored buffer (a memoryview on PostgreSQL): no bytes copy.
        return str(self.content, "utf-8")

    @property
    def working(self) -> bool:
        return self.state in {self.State.CHECKING, self.State.ADDING}

    @property
    def rows_done(self) -> int:
        """Rows through the current step: checked, or gone through the addition."""
        return (
            self.rows_added_done
            if self.state in {self.State.ADDING, self.State.ADDED}
            else (self.rows_checked)
        )

    @property
    def percent(self) -> int:
        return 100 * self.rows_done // max(self.rows_total, 1)


class ImportChunk(models.Model):
    """What one chunk of rows came to, in one step (check or add). Written in the transaction
    that did the chunk's work, so a job that runs again skips exactly the chunks done."""

    class Step(models.TextChoices):
        CHECK = "check", "Check"
        ADD = "add", "Add"

    user_import = models.ForeignKey(UserImport, on_delete=models.CASCADE, related_name="chunks")
    step = models.CharField(max_length=8, choices=Step.choices)
    index = models.IntegerField()
    rows = models.IntegerField()
    valid = models.IntegerField()  # a check: ready to add; an addition: added
    invalid = models.IntegerField()
    warned = models.IntegerField()
    refused_roles = models.IntegerField()
    grants_global_admin = models.BooleanField()
    # The first rows of each kind to show on the page (the result file has them all).
    shown = models.JSONField()
    # A check's rows whose email an earlier line of the file has, {line: that earlier line}:
    # what the file alone decides, so the addition's jobs (jobs.user_imports) read it here
    # instead of checking every chunk before theirs. Null: a check before this was recorded.
    repeated_emails = models.JSONField(null=True, blank=True, default=None)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user_import", "step", "index"], name="import_chunk_unique"
            )
        ]
        ordering = ["index"]

    def __str__(self) -> str:
        return f"{self.user_import_id} {self.step} chunk {self.index}"


class OutgoingEmail(models.Model):
    """An email a worker sends (an invitation): waiting, sent, or failed and why. The user's
    page shows where their invitation stands from it."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", "Invitation"

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="outgoing_emails")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.WAITING)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    # Who the email says added the person, as they were named when it was queued: a user's
    # name, or "API client <name>" (a client is no user, so invited_by stays empty for it).
    inviter_name = models.CharField(max_length=300, blank=True)
    base_url = models.CharField(max_length=200)
    attempts = models.IntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "kind", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to user {self.user_id}: {self.state}"


class AuditExportQuerySet(models.QuerySet["AuditExport"]):
    def in_organization(self, organization: PartnerOrganization | None) -> AuditExportQuerySet:
        return self.filter(organization=organization)


class AuditExport(models.Model):
    """The audit log as CSV, written by a job: whatever its size, the request only asks."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        WRITING = "writing", "Writing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        PartnerOrganization, on_delete=models.CASCADE, related_name="audit_exports"
    )
    requested_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    query = models.CharField(max_length=2000, blank=True)  # the audit log's filters, as asked
    time_zone = models.CharField(max_length=64, blank=True)  # the days of the date filters
    state = models.CharField(max_length=8, choices=State.choices, default=State.WAITING)
    rows = models.IntegerField(default=0)
    error = models.TextField(blank=True)
    file = models.ForeignKey(StoredFile, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True)

    objects = AuditExportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Audit export {self.pk}: {self.state}"


class WorkerHeartbeat(models.Model):
    """A running worker, seen_at refreshed every few seconds: a job whose worker is no longer
    seen was left by a worker that died, and runs again (jobs.recovery)."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"worker {self.worker_id} on {self.hostname} ({self.pid})"
