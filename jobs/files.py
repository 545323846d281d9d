"""Files written by jobs, kept in the database in parts (StoredFile, StoredFilePart): written a
part at a time by a job, streamed a part at a time to the browser, on whichever server."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

from accounts.models import PartnerOrganization
from jobs.models import StoredFile, StoredFilePart

BYTE_ORDER_MARK = "\ufeff"  # tells spreadsheets the file is UTF-8 (names with accents)


def new_file(name: str, organization: PartnerOrganization | None, header: list[str]) -> StoredFile:
    """A file whose part 0 is the CSV header row."""
    stored = StoredFile.objects.create(name=name, organization=organization)
    StoredFilePart.objects.create(file=stored, index=0, text=BYTE_ORDER_MARK + csv_rows([header]))
    return stored


def csv_rows(rows: Iterable[list[object]]) -> str:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return text.getvalue()


def add_part(stored: StoredFile, index: int, text: str) -> None:
    StoredFilePart.objects.create(file=stored, index=index, text=text)


def read(stored: StoredFile) -> str:
    """The whole text: for tests and small files. Downloads stream (download_response)."""
    return "".join(_parts(stored))


def _parts(stored: StoredFile) -> Iterator[str]:
    indexes = list(stored.parts.order_by("index").values_list("index", flat=True))
    for index in indexes:
        # One part in memory at a time, whatever the file's size.
        yield StoredFilePart.objects.values_list("text", flat=True).get(file=stored, index=index)


def download_response(stored: StoredFile) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (part.encode("utf-8") for part in _parts(stored)), content_type="text/csv; charset=utf-8"
    )
    safe_name = "".join(c for c in stored.name if c.isalnum() or c in "-_.") or "file.csv"
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    return response
