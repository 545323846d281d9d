"""Adding users from a CSV file, as two jobs: the check (a dry run) and the addition.

The file waits in the database (UserImport.content). Each job reads it a chunk of CHUNK_SIZE rows
at a time and writes each chunk's outcome in one short transaction: for the addition, the
chunk's users, their roles, their audit events, their invitation jobs, the chunk's part of the
result file and its ImportChunk row, under the organization's lock for that chunk only (a
fraction of a second), so other admins are never held up for long. A job that runs again (its
worker was killed: jobs.recovery) skips the chunks that have their ImportChunk row, so every row
is added exactly once. Rows are checked (accounts.imports) exactly as the add-user flow checks
one user, and checked again when added: the directory and the admin's roles may have changed.

On PostgreSQL the addition has helpers (JOBS_IMPORT_PARTS), and the jobs add one file's chunks
side by side, each chunk's users written before the organization's lock and only its audit
events under it (docs/architecture.md, "The addition side by side").
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import nullcontext
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts import audit, imports
from accounts.audit import Origin
from accounts.models import AuditAction, PartnerOrganization, User
from accounts.services import lock_organization
from jobs import files
from jobs.emails import queue_invitations_for_ids
from jobs.models import ImportChunk, StoredFile, UserImport
from roles import rules
from roles.rules import RuleRefused

logger = logging.getLogger(__name__)

CHUNK_SIZE: int | None = None  # None: settings.JOBS_IMPORT_CHUNK_SIZE (tests set a smaller one)


class Step(StrEnum):
    CHECK = "check"
    ADD = "add"


NOT_CURRENT = "This import is not waiting for that: reload the page to see where it stands."
ONLY_THE_UPLOADER = (
    "Only the admin who checked this file may add its users: their powers decided the check. "
    "Check the file yourself to add it."
)


def start(
    text: str,
    *,
    file_name: str,
    actor: User | None,
    organization: PartnerOrganization,
    origin: Origin,
    base_url: str,
) -> UserImport:
    """Keep the file and enqueue its check, in one transaction. The file was decoded and its
    header checked (accounts.forms.import_users); the rows, their count included, are the
    check job's: the request does not read past the first lines."""
    with transaction.atomic():
        user_import = UserImport.objects.create(
            organization=organization,
            created_by=actor if actor is not None and actor.pk else None,
            file_name=file_name[:200],
            content=text.encode("utf-8"),
            rows_total=0,  # counted by the check (_count)
            ip_address=origin.ip_address,
            user_agent=origin.user_agent,
            base_url=base_url,
        )
        from jobs import tasks

        tasks.check_import.enqueue(str(user_import.pk))
    return user_import


def confirm(user_import: UserImport, actor: User) -> UserImport:
    """Enqueue the addition of a checked file; RuleRefused unless the actor is its uploader and
    it waits for confirmation (a second click, another tab: nothing happens twice)."""
    with transaction.atomic():
        locked = UserImport.objects.select_for_update().defer("content").get(pk=user_import.pk)
        if locked.created_by_id != actor.pk:
            raise RuleRefused(ONLY_THE_UPLOADER)
        if locked.state != UserImport.State.CHECKED:
            raise RuleRefused(NOT_CURRENT)
        locked.state = UserImport.State.ADDING
        locked.save(update_fields=["state", "updated_at"])
        from jobs import tasks

        # The addition, which adds every chunk nobody else has (its arguments as they have ever
        # been: a worker of the release before runs it alike), and its helpers side by side.
        tasks.add_import.enqueue(str(locked.pk))
        parts = _parts(locked)
        for part in range(1, parts):
            tasks.add_import.enqueue(str(locked.pk), part, parts)
    return locked


def _parts(user_import: UserImport) -> int:
    """How many jobs add the file's chunks side by side (settings.JOBS_IMPORT_PARTS): one on
    SQLite, which writes one transaction at a time, and for a check recorded before the
    repeated emails were (each job needs them: ImportChunk.repeated_emails)."""
    if connection.vendor != "postgresql":
        return 1
    unrecorded = ImportChunk.objects.filter(
        user_import=user_import, step=Step.CHECK, repeated_emails__isnull=True
    )
    return 1 if unrecorded.exists() else max(1, settings.JOBS_IMPORT_PARTS)


def _actor(user_import: UserImport, step: Step) -> User:
    if user_import.created_by is not None:
        return user_import.created_by
    if step is Step.ADD:
        # Confirmed by an admin deleted since (the link is SET_NULL): nobody adds it, least of
        # all the stand-in below.
        raise RuleRefused("The admin who confirmed this import no longer exists.")
    # Support staff's dry run from the command line: checked with support staff's powers,
    # never saved, never allowed to add (confirm needs a saved actor).
    return User(email="dry-run", is_staff=True, is_active=True)


def _origin(user_import: UserImport) -> Origin:
    return Origin(ip_address=user_import.ip_address, user_agent=user_import.user_agent)


def run_step(
    import_id: str, step: Step, chunk_size: int | None = None, *, part: int = 0, parts: int = 1
) -> dict[str, Any]:
    """The job: check or add every chunk not done yet, then finish once every chunk is (a
    helper of the addition, part `part` of `parts`, from its share of the file on: _run). A
    failure is written on the import, in words for the page, and logged; it never stops
    silently."""
    # The file is read once, by _run (_text), and let go with it: not kept on the instance.
    user_import = (
        UserImport.objects.select_related("organization", "created_by")
        .defer("content")
        .get(pk=import_id)
    )
    working = UserImport.State.CHECKING if step is Step.CHECK else UserImport.State.ADDING
    if user_import.state != working:
        return {"state": user_import.state}  # finished already, by an earlier run
    try:
        chunk_size = chunk_size or CHUNK_SIZE or settings.JOBS_IMPORT_CHUNK_SIZE
        if step is Step.ADD:
            chunk_size = _addition_chunk_size(user_import, chunk_size, helper=part > 0)
            if chunk_size is None:
                return {"state": user_import.state}  # nothing for a helper to share
        _run(user_import, step, chunk_size, part=part, parts=parts)
    except imports.BadFile as bad:
        _fail(user_import, str(bad))
    except RuleRefused as refusal:
        _fail(user_import, f"Stopped: {refusal.reason}")
    except Exception as error:
        logger.exception("Import %s stopped at its %s step", user_import.pk, step)
        done = _rows_done(user_import, step)
        _fail(
            user_import,
            f"An unexpected error stopped it after {done:,} rows ({type(error).__name__}). "
            + (
                "The rows before were added; check the file again to add the others."
                if step is Step.ADD
                else "Nothing was added; choose the file again."
            ),
        )
        raise
    user_import.refresh_from_db()
    return {"state": user_import.state, "rows": user_import.rows_total}


def _text(user_import: UserImport) -> str:
    """The file's text, decoded from the stored bytes without another copy of them."""
    content = UserImport.objects.filter(pk=user_import.pk).values_list("content", flat=True).get()
    return str(content, "utf-8")


def _rows_done(user_import: UserImport, step: Step) -> int:
    return (
        ImportChunk.objects.filter(user_import=user_import, step=step).aggregate(n=Sum("rows"))["n"]
        or 0
    )


def _fail(user_import: UserImport, reason: str) -> None:
    logger.warning("Import %s failed: %s", user_import.pk, reason)
    UserImport.objects.filter(pk=user_import.pk).update(
        state=UserImport.State.FAILED, error=reason, finished_at=timezone.now()
    )


# How long a helper waits for the addition to start (and fix the chunk size) before leaving it
# to add the file alone: an addition of the release before never says it started.
HELPER_PATIENCE = 10.0


def _addition_chunk_size(user_import: UserImport, chunk_size: int, *, helper: bool) -> int | None:
    """The addition's chunk size, fixed on the import by the addition when it starts (every job
    of it then reads the same chunks, whatever its worker's setting), which is also how a helper
    knows the addition runs this release's code: a helper waits for it up to HELPER_PATIENCE,
    then None (it adds nothing). Beside an addition of the release before, which takes turns on
    the import's row and not on the chunks' claims, a helper would add chunks twice over."""
    if not helper:
        UserImport.objects.filter(pk=user_import.pk, add_chunk_size__isnull=True).update(
            add_chunk_size=chunk_size
        )
    deadline = time.monotonic() + HELPER_PATIENCE
    while True:
        fixed, state = (
            UserImport.objects.filter(pk=user_import.pk)
            .values_list("add_chunk_size", "state")
            .get()
        )
        if fixed is not None or state != UserImport.State.ADDING:
            return fixed
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)


class _Stopped(Exception):
    """The import is no longer at this step (another job failed it): this run stops."""


def _run(user_import: UserImport, step: Step, chunk_size: int, *, part: int, parts: int) -> None:
    actor = _actor(user_import, step)
    organization = user_import.organization
    origin = _origin(user_import)
    adding = step is Step.ADD
    repeats = _repeated_emails(user_import) if adding else None
    if repeats is None and part:
        return  # a helper, for a check recorded without them: the addition adds every chunk
    done = set(
        ImportChunk.objects.filter(user_import=user_import, step=step).values_list(
            "index", flat=True
        )
    )
    stored = _result_file(user_import, step)
    if adding:
        writer = imports.Writer(actor, organization, origin)
        checker = writer.checker
    else:
        imports.refuse_unless_may_add(actor, organization)
        checker = imports.Checker(actor, organization)
    checker.repeats = repeats
    text = _text(user_import)
    if not adding:
        _count(user_import, text)

    def refusals() -> Any:
        if not adding:
            return nullcontext()
        return audit.refusals_recorded(
            actor,
            action=AuditAction.USER_CREATED,
            organization=organization,
            target_label=f"{user_import.rows_total} users from a CSV file",
            origin=origin,
        )

    # Adding with the check's record of repeated emails, every job of the addition goes through
    # every chunk, each from its own place in the file (a helper from its share's start), and
    # adds those nobody has added or is adding: two jobs add one file side by side, and one
    # alone (the other failed, or never ran) still adds all of it. Otherwise (a check, or a
    # check recorded before the record) one job reads every chunk in order.
    shared = adding and repeats is not None
    start = part * -(-user_import.rows_total // chunk_size) // parts if shared else 0
    chunks: list[int] = []  # how many the file has, once read to its end
    passed: list[int] = []  # chunks another job was adding when this one came to them

    def take(index: int, chunk: list[imports.ImportRow], *, wait: bool) -> None:
        if not shared:
            # The file's earlier emails are remembered by checking every chunk in order, those
            # done too, so a row repeating an earlier one's email is found whichever run reads
            # it (and a chunk checked again finds what it found the first time).
            checker.check(chunk, lookalikes=not adding)
        repeated = checker.take_repeated()
        if index in done or (shared and _recorded(user_import, step, index)):
            return
        if shared:
            # Adding needs no look-alike warnings: the check showed them. The check's queries
            # run before any lock is taken, to keep it short.
            checker.check(chunk, lookalikes=False)
        if adding and _adds_before_locking():
            try:
                with refusals():
                    attempt = [row.copy() for row in chunk]
                    if _do_chunk(
                        user_import,
                        step,
                        index,
                        attempt,
                        stored,
                        writer,
                        actor,
                        lock_first=False,
                        wait=wait,
                    ):
                        passed.append(index)
                return
            except _Redo as redo:
                logger.info("Import %s chunk %s: %s; added again", user_import.pk, index, redo)
            except OperationalError as error:
                if not _gave_up_waiting(error):
                    raise
                logger.info(
                    "Import %s chunk %s waited too long for a lock; added again",
                    user_import.pk,
                    index,
                )
        with refusals():
            if _do_chunk(
                user_import,
                step,
                index,
                chunk,
                stored,
                writer if adding else None,
                actor,
                repeated=repeated if not adding else None,
                wait=wait,
            ):
                passed.append(index)

    try:
        for index, chunk in _chunks_from(text, chunk_size, start, chunks):
            take(index, chunk, wait=False)
        if passed:
            # The chunks another job had: waited for now, holding nothing, and added here
            # unless that job recorded them (its worker may have died with them).
            waiting_for = set(passed)
            for index, chunk in _chunks_from(text, chunk_size, 0, []):
                if index in waiting_for:
                    take(index, chunk, wait=True)
    except _Stopped:
        return
    _finish(user_import, step, actor, origin, chunks[0])


def _chunks_from(
    text: str, chunk_size: int, start: int, count: list[int]
) -> Iterator[tuple[int, list[imports.ImportRow]]]:
    """The file's chunks with their indexes, from chunk `start` to the end, then from the first
    up to `start`: the file is read again for the second stretch, rather than kept in rows.
    Appends to `count` how many chunks the file has, once read to its end."""
    index = -1
    for index, chunk in enumerate(imports.chunks(text, chunk_size)):
        if index >= start:
            yield index, chunk
    count.append(index + 1)
    if start:
        for index, chunk in enumerate(imports.chunks(text, chunk_size)):
            if index >= start:
                return
            yield index, chunk


def _recorded(user_import: UserImport, step: Step, index: int) -> bool:
    """Whether the chunk is done (asked before checking its rows, which another job may have
    added since this one started)."""
    return ImportChunk.objects.filter(user_import=user_import, step=step, index=index).exists()


def _do_chunk(
    user_import: UserImport,
    step: Step,
    index: int,
    chunk: list[imports.ImportRow],
    stored: StoredFile,
    writer: imports.Writer | None,
    actor: User,
    *,
    lock_first: bool = True,
    repeated: dict[int, int] | None = None,
    wait: bool = False,
) -> bool:
    """One chunk in one transaction: its rows added (a writer given) and its record saved, or
    neither. _Redo or a lock waited for too long (lock_first=False only) roll it back. True when
    another job has the chunk (without `wait`: this one passes it, to come back to it)."""
    report = imports.ImportReport(dry_run=writer is None, header=False)
    with transaction.atomic():
        _refuse_unless_still(user_import, step)
        # Two jobs at one chunk (the addition and its helper meeting, a stalled worker thought
        # dead): the one that has it adds it; the other goes on and comes back to it.
        claimed = _claim(user_import, step, index, wait=wait)
        if claimed is None:
            return True
        if not claimed:
            return False  # recorded
        _commit_without_waiting_for_the_disk()
        if writer is not None and lock_first:
            _add_chunk(user_import, writer, chunk, actor)
        elif writer is not None:
            _bound_lock_waits()
            _add_chunk_then_lock(user_import, writer, chunk, actor)
        report.add(chunk)
        # The chunk's record in the same transaction: added and recorded, or neither.
        _save_chunk(user_import, step, index, report, stored, repeated)
    return False


def _count(user_import: UserImport, text: str) -> None:
    """The check's first pass, with csv alone (a second for 200,000 rows): the rows, for the
    progress, and whether any names Global admin (valid or not: a row invalid at the check may
    be valid on Add, so the confirmation asks for the password for any such row). BadFile, for
    the check's page, when the file cannot be imported at all (too many rows, no rows, a line
    that is not CSV)."""
    found = imports.scan(text)
    if found.rows == 0:
        raise imports.BadFile(f"{imports.NO_ROWS} Choose the file again after fixing it.")
    user_import.rows_total = found.rows
    user_import.names_global_admin = found.names_global_admin
    UserImport.objects.filter(pk=user_import.pk).update(
        rows_total=found.rows, names_global_admin=found.names_global_admin
    )


def _commit_without_waiting_for_the_disk() -> None:
    """PostgreSQL: this chunk's commit returns before its WAL reaches the disk (a few hundred
    milliseconds later; commits are written in order). A 100,000-row import commits 200
    chunks, and waiting for each flush was seconds of its time on a busy disk.

    What it costs: only a crash of the database server itself within that moment can lose the
    last chunks, whole (users, roles, audit events, invitation jobs and the chunk's record
    together), so the job's next run adds them again, exactly once as ever. A worker killed
    mid-chunk loses nothing more than before: its transaction never committed. The job's own
    end (the import marked added) commits as usual, which flushes every chunk before it. An
    invitation a worker sent in that moment names a user the next run adds, and invites, again:
    the first link then opens nothing."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _refuse_unless_still(user_import: UserImport, step: Step) -> None:
    """Stop this run when the import left the step meanwhile (another job of it failed)."""
    working = UserImport.State.CHECKING if step is Step.CHECK else UserImport.State.ADDING
    state = UserImport.objects.filter(pk=user_import.pk).values_list("state", flat=True).get()
    if state != working:
        raise _Stopped


def _claim(user_import: UserImport, step: Step, index: int, *, wait: bool) -> bool | None:
    """Take the chunk for this transaction: True, or False when it is recorded done, or None
    when another job has it (only without `wait`; with it, this waits until that job is done).

    PostgreSQL: an advisory lock on (import and step, chunk), so jobs pass each other's chunks
    instead of waiting; then the import's row FOR KEY SHARE, which jobs of this release share
    (and their counters' updates with it), but which a job of the release before, taking the
    row FOR UPDATE for each chunk, excludes, and is excluded by. SQLite: the import's row (one
    writer at a time there)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = [f"{user_import.pk}:{step}", index]
            if wait:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s), %s)", key)
            else:
                cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s), %s)", key)
                if not cursor.fetchone()[0]:
                    return None
            cursor.execute(
                f"SELECT 1 FROM {UserImport._meta.db_table} WHERE id = %s FOR KEY SHARE",  # noqa: S608
                [str(user_import.pk)],
            )
    else:
        UserImport.objects.select_for_update().filter(pk=user_import.pk).values_list("pk").first()
    return not _recorded(user_import, step, index)


def _repeated_emails(user_import: UserImport) -> dict[int, int] | None:
    """The check's record of the rows repeating an earlier line's email, {line: that line}, for
    the whole file; None when a chunk of the check has none (checked by a release before)."""
    found: dict[int, int] = {}
    for recorded in ImportChunk.objects.filter(
        user_import=user_import, step=Step.CHECK
    ).values_list("repeated_emails", flat=True):
        if recorded is None:
            return None
        found.update((int(line), first) for line, first in recorded.items())
    return found


class _Redo(Exception):
    """The rulebook answered otherwise under the lock than before it: the chunk's transaction
    is rolled back and the chunk added again, its lock taken first."""


def _adds_before_locking() -> bool:
    """PostgreSQL: a chunk's users, roles and invitations are written before the organization's
    lock is taken, and only its audit events after (_add_chunk_then_lock). SQLite writes one
    transaction at a time: the lock first, as ever."""
    return connection.vendor == "postgresql"


# PostgreSQL's codes for a lock not granted in lock_timeout, and for a deadlock broken.
_GAVE_UP_WAITING = {"55P03", "40P01"}


def _gave_up_waiting(error: OperationalError) -> bool:
    return getattr(error.__cause__, "pgcode", None) in _GAVE_UP_WAITING


def _bound_lock_waits() -> None:
    """Any other lock the chunk waits for (an email another organization's transaction is
    writing, the import's row), it waits for at most half the server's deadlock_timeout, then
    gives up and is added again, its lock taken first: a chunk written before the organization's
    lock never waits long while it holds rows others may wait for. (The organization's own lock
    it never waits for: _take_the_organizations_lock_without_waiting.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', (GREATEST(1, EXTRACT(EPOCH FROM"
            " current_setting('deadlock_timeout')::interval) * 500))::int::text, true)"
        )


def _grant_answers(decisions: dict[str, Any]) -> dict[str, bool]:
    return {key: bool(decision) for key, decision in decisions.items()}


def _add_chunk_then_lock(
    user_import: UserImport, writer: imports.Writer, chunk: list[imports.ImportRow], actor: User
) -> None:
    """_add_chunk with the users, roles and invitations written before the organization's lock
    is taken, and the audit events after: two jobs of one import write side by side, and take
    turns only on the chain. Under the lock the rulebook is asked again, as _add_chunk asks it;
    _Redo when its answers differ from those the rows were checked with."""
    checked_with = _grant_answers(writer.checker.decisions)
    user_ids = _insert_rows(writer, chunk)
    _queue_invitations(user_import, user_ids, actor)
    _take_the_organizations_lock_without_waiting(user_import.organization_id)
    organization = lock_organization(user_import.organization_id, actor)
    imports.refuse_unless_may_add(actor, organization)
    now = rules.grantable_roles(actor, User(organization=organization))
    if _grant_answers(now) != checked_with:
        writer.checker.decisions = now  # the next chunks' checks too
        raise _Redo("the roles the admin may grant changed")
    writer.organization = organization
    writer.now = timezone.now()  # the events' time, after those the chain has before them
    writer.record(chunk, user_ids)


# How long a chunk written before the organization's lock tries for it, in steps of LOCK_RETRY.
LOCK_PATIENCE = 0.5
LOCK_RETRY = 0.01


def _take_the_organizations_lock_without_waiting(organization_id: int) -> None:
    """The organization's row lock, asked for without waiting (NOWAIT) every LOCK_RETRY seconds
    for LOCK_PATIENCE; then OperationalError (lock not available), and the chunk is rolled back
    and added again, its lock taken first.

    Why never wait: the chunk's users are written. An admin holding the lock who adds a user
    with one of their emails waits for the chunk's transaction; a chunk then waiting for the
    lock would close a cycle, which PostgreSQL breaks after deadlock_timeout by failing one of
    the two, perhaps the admin's request. A chunk between two tries waits for nothing, so there
    is no cycle: the admin waits at most LOCK_PATIENCE, for the chunk to give up."""
    deadline = time.monotonic() + LOCK_PATIENCE
    while True:
        try:
            with transaction.atomic():  # a refusal aborts this savepoint only
                PartnerOrganization.objects.select_for_update(nowait=True).filter(
                    pk=organization_id
                ).values_list("pk").first()
            return
        except OperationalError as error:
            if not _gave_up_waiting(error) or time.monotonic() >= deadline:
                raise
        time.sleep(LOCK_RETRY)


def _queue_invitations(user_import: UserImport, user_ids: list[int], actor: User) -> None:
    from jobs import tasks

    queue_invitations_for_ids(
        user_ids,
        invited_by=actor,
        base_url=user_import.base_url,
        priority=tasks.BULK_EMAIL_PRIORITY,
    )


def _insert_rows(writer: imports.Writer, chunk: list[imports.ImportRow]) -> list[int]:
    try:
        with transaction.atomic():
            return writer.insert(chunk)
    except IntegrityError:
        # An email taken in another organization since the check (our lock does not cover
        # theirs): check the chunk's emails again and add the others.
        for row in chunk:
            row.added = False
        imports.Checker.mark_emails_in_use([row for row in chunk if row.valid])
        return writer.insert(chunk)


def _add_chunk(
    user_import: UserImport, writer: imports.Writer, chunk: list[imports.ImportRow], actor: User
) -> None:
    """The chunk's users, roles, audit events and invitation jobs, under the organization's
    lock (held until the caller's transaction commits: one chunk's worth of inserts)."""
    organization = lock_organization(user_import.organization_id, actor)
    # Asked again under the lock, for every chunk: an admin demoted mid-import adds no more,
    # and grants only the roles they may grant now (the check before the lock used the
    # decisions of the job's start: a Global admin demoted mid-file granted Global admin on).
    imports.refuse_unless_may_add(actor, organization)
    _refuse_roles_not_grantable_now(writer, chunk, actor, organization)
    writer.organization = organization
    user_ids = _insert_rows(writer, chunk)
    writer.record(chunk, user_ids)
    _queue_invitations(user_import, user_ids, actor)


def _refuse_roles_not_grantable_now(
    writer: imports.Writer,
    chunk: list[imports.ImportRow],
    actor: User,
    organization: PartnerOrganization,
) -> None:
    """The rulebook's grant decisions as the actor is now (read again under the lock): a row
    naming a role no longer grantable is refused at its row, as the check refuses it."""
    decisions = rules.grantable_roles(actor, User(organization=organization))
    writer.checker.decisions = decisions  # the next chunks' checks too
    for row in chunk:
        if not row.valid:
            continue
        for key in row.role_keys:
            if not decisions[key]:
                row.refused.append((key, decisions[key].reason))
                row.errors.append(f"Roles: {decisions[key].reason}")


def _without_nul(value: Any) -> Any:
    """What a row said, storable: PostgreSQL refuses NUL in text and JSON, so a NUL a hostile
    file holds (its row is refused for it) is kept as U+FFFD, the replacement character."""
    return json.loads(json.dumps(value).replace("\\u0000", "\\ufffd"))


def _save_chunk(
    user_import: UserImport,
    step: Step,
    index: int,
    report: imports.ImportReport,
    stored: StoredFile,
    repeated: dict[int, int] | None,
) -> None:
    ImportChunk.objects.create(
        user_import=user_import,
        step=step,
        index=index,
        repeated_emails=repeated,
        rows=report.rows,
        valid=report.valid,
        invalid=report.invalid,
        warned=report.warned,
        refused_roles=report.refused_roles,
        grants_global_admin=report.grants_global_admin,
        shown=_without_nul(
            {
                "problems": report.problems,
                "ready": report.ready,
                "lookalikes": report.lookalikes,
                "refused": report.refused_shown,
            }
        ),
    )
    files.add_part(stored, index + 1, report.result_csv.replace("\x00", "\ufffd"))
    counter = "rows_added_done" if step is Step.ADD else "rows_checked"
    UserImport.objects.filter(pk=user_import.pk).update(
        **{counter: F(counter) + report.rows}, updated_at=timezone.now()
    )


def summary(user_import: UserImport, step: Step) -> imports.ImportReport:
    """The report of a step, from its chunks: counts of every row, the first rows to show."""
    report = imports.ImportReport(dry_run=step is Step.CHECK, header=False)
    limits = {
        "problems": imports.SHOWN_ROWS,
        "ready": imports.SHOWN_READY if step is Step.CHECK else imports.SHOWN_ADDED,
        "lookalikes": imports.SHOWN_ROWS,
        "refused": imports.REFUSALS_RECORDED,
    }
    lists = {
        "problems": report.problems,
        "ready": report.ready,
        "lookalikes": report.lookalikes,
        "refused": report.refused_shown,
    }
    for chunk in ImportChunk.objects.filter(user_import=user_import, step=step).iterator():
        report.rows += chunk.rows
        report.valid += chunk.valid
        report.invalid += chunk.invalid
        report.warned += chunk.warned
        report.refused_roles += chunk.refused_roles
        report.grants_global_admin |= chunk.grants_global_admin
        for name, shown in lists.items():
            shown.extend(chunk.shown[name][: max(0, limits[name] - len(shown))])
    if step is Step.ADD:
        report.invitations_sent = report.valid  # each one queued with its user (jobs.emails)
    return report


def _finish(user_import: UserImport, step: Step, actor: User, origin: Origin, chunks: int) -> None:
    """Record the file's refused roles (one event per step) and say the step is done: once
    every one of its `chunks` is, however many runs get here (the last job to finish does)."""
    recorded = ImportChunk.objects.filter(user_import=user_import, step=step)
    if recorded.count() < chunks:
        # Another job is still adding (or was stopped, and runs again: jobs.recovery). Asked
        # before any lock: a chunk holds the organization's lock, then the import's row.
        return
    with transaction.atomic():
        locked = UserImport.objects.select_for_update().defer("content").get(pk=user_import.pk)
        working = UserImport.State.CHECKING if step is Step.CHECK else UserImport.State.ADDING
        if locked.state != working or recorded.count() < chunks:
            return
        report = summary(locked, step)
        imports.record_refused_roles(
            report, actor=actor, organization=locked.organization, origin=origin
        )
        data = report.summary()
        if step is Step.CHECK:
            locked.state, locked.check_summary = UserImport.State.CHECKED, data
        else:
            locked.state, locked.result_summary = UserImport.State.ADDED, data
            locked.finished_at = timezone.now()
        locked.save()


def _result_file(user_import: UserImport, step: Step) -> StoredFile:
    field = "check_file" if step is Step.CHECK else "result_file"
    if getattr(user_import, field) is not None:
        return getattr(user_import, field)
    with transaction.atomic():
        # Under the import's row lock: two runs at once write their parts to one file.
        locked = UserImport.objects.select_for_update().defer("content").get(pk=user_import.pk)
        stored = getattr(locked, field)
        if stored is None:
            stem = user_import.file_name.rsplit(".", 1)[0] or "users"
            suffix = "check" if step is Step.CHECK else "result"
            stored = files.new_file(
                f"{stem}-{suffix}.csv", user_import.organization, imports.RESULT_FILE_HEADER
            )
            UserImport.objects.filter(pk=user_import.pk).update(
                **{field: stored}, updated_at=timezone.now()
            )
        setattr(user_import, field, stored)
    return stored
