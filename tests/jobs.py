"""Tests of what workers do: run the jobs waiting now, as a worker would, then look."""

from __future__ import annotations

from django.core import mail

from jobs.testing import run_ready_jobs


def sent_mail() -> list:
    """The emails sent once the jobs waiting now have run (invitations, password resets)."""
    run_ready_jobs()
    return mail.outbox
