"""The CSV importer as the pages and the command run it: a check job, then an addition job,
run here as a worker would run them."""

from __future__ import annotations

import io

import pytest

from accounts import imports
from accounts.audit import NOWHERE
from accounts.models import PartnerOrganization, User
from jobs import files, user_imports
from jobs.models import UserImport
from jobs.testing import run_ready_jobs

CHECK, ADD = "jobs.tasks.check_import", "jobs.tasks.add_import"


def _start(text: str, actor: User, organization: PartnerOrganization, base_url: str) -> UserImport:
    return user_imports.start(
        text,
        file_name="people.csv",
        actor=actor,
        organization=organization,
        origin=NOWHERE,
        base_url=base_url,
    )


def _report(user_import: UserImport, step: user_imports.Step) -> imports.ImportReport:
    user_import.refresh_from_db()
    if user_import.state == UserImport.State.FAILED:
        raise ImportFailed(user_import.error)
    return user_imports.summary(user_import, step)


class ImportFailed(Exception):
    pass


def check(
    text: str,
    *,
    actor: User,
    organization: PartnerOrganization,
    chunk_size: int | None = None,
    **_: object,
) -> imports.ImportReport:
    """The check of a file (BadFile when it cannot be read at all); what the page shows."""
    with pytest.MonkeyPatch.context() as patch:
        if chunk_size:
            patch.setattr(user_imports, "CHUNK_SIZE", chunk_size)
        user_import = _start(text, actor, organization, "https://partnerhub.example")
        run_ready_jobs(only=CHECK)
    report = _report(user_import, user_imports.Step.CHECK)
    # The check's file, as the page offers it.
    report._result = io.StringIO(files.read(user_import.check_file).lstrip(files.BYTE_ORDER_MARK))
    return report


def add(
    text: str,
    *,
    actor: User,
    organization: PartnerOrganization,
    base_url: str = "https://partnerhub.example",
    chunk_size: int | None = None,
    **_: object,
) -> imports.ImportReport:
    """Check a file, confirm it, add its rows; the addition's report."""
    with pytest.MonkeyPatch.context() as patch:
        if chunk_size:
            patch.setattr(user_imports, "CHUNK_SIZE", chunk_size)
        user_import = _start(text, actor, organization, base_url)
        run_ready_jobs(only=CHECK)
        user_import.refresh_from_db()
        if user_import.state != UserImport.State.CHECKED:
            raise ImportFailed(user_import.error)
        user_imports.confirm(user_import, actor)
        run_ready_jobs(only=ADD)
    return _report(user_import, user_imports.Step.ADD)
