"""A worker: django-tasks' database worker (db_worker), with a heartbeat and the recovery of
jobs whose worker died (jobs.recovery), and the daily purge of expired results enqueued."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands import db_worker

from jobs import recovery

logger = logging.getLogger("jobs.worker")

PURGE_EVERY_BEATS = 360  # with a 10 s heartbeat: about once an hour


class Heartbeat(threading.Thread):
    """Says every few seconds that this worker is alive, and runs again the jobs of those
    that are not."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self.worker_id = worker_id
        self.stopping = threading.Event()

    def run(self) -> None:
        beats = 0
        while not self.stopping.is_set():
            try:
                recovery.beat(self.worker_id, socket.gethostname(), os.getpid())
                recovery.recover_stale_jobs()
                if beats % PURGE_EVERY_BEATS == 0:
                    from jobs.purge import purge_expired

                    purge_expired()
            except Exception:
                logger.exception("The heartbeat of worker %s failed", self.worker_id)
            finally:
                connection.close()
            beats += 1
            self.stopping.wait(settings.JOBS_HEARTBEAT_SECONDS)


class Command(db_worker.Command):
    help = (
        "Run a background worker: takes jobs from every queue of the database, one at a time. "
        "Run as many as needed, on any machines that reach the database; SIGTERM lets the "
        "current job finish first."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.set_defaults(queue_name="*", reload=False)

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options.get("worker_id") or get_random_string(32)
        options["worker_id"] = worker_id
        # Before the first job: the jobs of a worker that died (this one's predecessor after a
        # crash) run again now, not a heartbeat later.
        recovery.beat(worker_id, socket.gethostname(), os.getpid())
        recovery.recover_stale_jobs()
        heartbeat = Heartbeat(worker_id)
        heartbeat.start()
        try:
            super().handle(*args, **options)
        finally:
            heartbeat.stopping.set()
            heartbeat.join(timeout=5)
            recovery.forget(worker_id)
