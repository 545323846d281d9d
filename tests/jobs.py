"""Tests of what workers do: run the jobs waiting now, as a worker would, then look."""

from __future__ import annotations

from django.core import mail

from accounts.audit import NOWHERE
from accounts.models import User
from jobs import user_imports
from jobs.models import UserImport
from jobs.testing import run_ready_jobs


def sent_mail() -> list:
    """The emails sent once the jobs waiting now have run (invitations, password resets)."""
    run_ready_jobs()
    return mail.outbox


def uploaded_and_checked(text: str, actor: User, file_name: str = "people.csv") -> UserImport:
    """A CSV file uploaded by the actor, once its check job has run (whatever it found)."""
    user_import = user_imports.start(
        text,
        file_name=file_name,
        actor=actor,
        organization=actor.organization,
        origin=NOWHERE,
        base_url="https://partnerhub.example",
    )
    run_ready_jobs(only="jobs.tasks.check_import")
    user_import.refresh_from_db()
    return user_import


def checked_import(text: str, actor: User) -> UserImport:
    """A CSV file uploaded by the actor and checked by its job, ready to be confirmed."""
    user_import = uploaded_and_checked(text, actor)
    assert user_import.state == UserImport.State.CHECKED, user_import.error
    return user_import
