"""Delete the job results older than 7 days: what workers also do about once an hour."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jobs.purge import purge_expired


class Command(BaseCommand):
    help = "Delete imports, exports, result files and finished job rows older than 7 days."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = purge_expired()
        self.stdout.write(", ".join(f"{count} {name}" for name, count in counts.items()))
