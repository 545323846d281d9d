"""Waiting, in a test, for another connection to wait for a lock (PostgreSQL)."""

from __future__ import annotations

import time

from django.db import connection


def wait_until_a_query_waits_for_a_lock(timeout: float = 10) -> None:
    """Return once another connection to this database is waiting for a lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction PostgreSQL keeps showing its first look at the activity.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("no query waited for a lock")
