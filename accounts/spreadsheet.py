"""CSV files a spreadsheet opens safely, written a line at a time (the exports stream)."""

from __future__ import annotations

# A cell starting with one of these is run as a formula by Excel, LibreOffice or Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Echo:
    """A file that hands back what csv.writer writes, so each row can be streamed."""

    def write(self, text: str) -> str:
        return text


def spreadsheet_cell(value: object) -> str:
    """The value as text that a spreadsheet shows rather than runs."""
    text = "" if value is None else str(value)
    # A leading apostrophe makes a spreadsheet show the text instead of running it.
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
