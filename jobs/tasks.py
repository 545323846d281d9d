"""The background jobs, as Django tasks (django-tasks' @task). Each takes ids, never objects,
and may run more than once (a worker killed mid-job: jobs.recovery runs it again), so each
picks up where the last run stopped and does nothing twice."""

from __future__ import annotations

import logging

from django.db import transaction
from django_tasks import task

from jobs import emails

logger = logging.getLogger(__name__)

# Emails first: a password reset or one user's invitation waits behind nothing but other
# emails. Then imports (the check, the addition and its helpers, which take the free workers
# side by side), then an import's own invitations: a 100,000-row file's invitations wait for its
# users, never a password reset for them, nor the helper for the addition's first invitations.
EMAIL_PRIORITY = 10
IMPORT_PRIORITY = 5
BULK_EMAIL_PRIORITY = 0


@task(priority=EMAIL_PRIORITY)
def send_invitations(email_ids: list[int], attempt: int = 1) -> dict[str, int]:
    later = emails.send_invitation_batch(email_ids)
    if later:
        with transaction.atomic():
            send_invitations.using(run_after=emails.retry_at(attempt)).enqueue(later, attempt + 1)
    return {"emails": len(email_ids), "to_try_again": len(later)}


@task(priority=EMAIL_PRIORITY)
def send_password_reset(email: str, base_url: str, attempt: int = 1) -> None:
    try:
        emails.send_password_reset(email, base_url)
    except emails.Temporary as error:
        if attempt >= emails.MAX_ATTEMPTS:
            logger.warning("A password-reset email failed %s times: %s", attempt, error)
            return
        logger.info("A password-reset email to try again: %s", error)
        send_password_reset.using(run_after=emails.retry_at(attempt)).enqueue(
            email, base_url, attempt + 1
        )


@task(priority=IMPORT_PRIORITY)
def check_import(import_id: str) -> dict[str, object]:
    from jobs import user_imports

    return user_imports.run_step(import_id, user_imports.Step.CHECK)


@task(priority=IMPORT_PRIORITY)
def add_import(import_id: str, part: int = 0, parts: int = 1) -> dict[str, object]:
    """The addition of a checked file (part 0), or one of its helpers (jobs.user_imports)."""
    from jobs import user_imports

    return user_imports.run_step(import_id, user_imports.Step.ADD, part=part, parts=parts)


@task()
def export_audit_log(export_id: str) -> dict[str, object]:
    from jobs import exports

    return exports.run(export_id)


@task()
def purge_expired() -> dict[str, int]:
    from jobs import purge

    return purge.purge_expired()
