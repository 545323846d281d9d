"""Add users from CSV: choose the file (checked as a whole here, row by row by accounts.imports),
then confirm the dry run."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ValidationError

from accounts import imports

# A file input cannot be filled in again by the server: every error says to choose it again.
CHOOSE_AGAIN = "Choose the file again after fixing it."


class UploadForm(forms.Form):
    """The CSV file: at most imports.MAX_BYTES, UTF-8, the expected header and a row (the check
    job refuses more than MAX_ROWS)."""

    file = forms.FileField(
        label="CSV file",
        help_text=(
            "Columns First name, Last name, Email, Roles; several roles in one cell separated by "
            f"semicolons. At most {imports.MAX_ROWS:,} rows and "
            f"{imports.MAX_BYTES // (1024 * 1024)} MB."
        ),
        error_messages={"required": "Choose a CSV file to check.", "empty": imports.EMPTY},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        # The page's script refuses a file over the limit before sending it (the server refuses
        # its request unread, with a plain page, partnerhub.request_size): same words as here.
        self.helper.attrs = {
            "data-import-upload": "",
            "data-submit-once": "",
            "data-max-bytes": str(imports.MAX_BYTES),
            "data-too-big": f"{imports.TOO_BIG} {CHOOSE_AGAIN}",
        }
        self.helper.add_input(Submit("check", "Check the file"))

    def clean_file(self) -> str:
        """The file's text, once it is known to be readable: what the request can tell at
        once (its size, UTF-8, the header and a first row). The check job counts and checks
        the rows, and its page says what it found (a file of too many rows, a line that is
        not CSV)."""
        upload = self.cleaned_data["file"]
        # Refused before reading it: the size is known from the request.
        if upload.size > imports.MAX_BYTES:
            raise ValidationError(imports.TOO_BIG, code="too_big")
        try:
            # Decoding 32 MB takes a few hundredths of a second: every byte is known to be
            # UTF-8 before the file is kept.
            text = imports.decode(upload.read())
            imports.glance(text)
        except imports.BadFile as bad:
            raise ValidationError(f"{bad} {CHOOSE_AGAIN}", code="bad_file") from None
        self.file_name = upload.name
        return text


class ConfirmForm(forms.Form):
    """Add the checked rows. Names the upload it confirms, so a page left open over a newer
    upload (another tab) does not add the newer file unseen."""

    upload = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, rows: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.attrs = {"data-import-confirm": "", "data-submit-once": ""}
        noun = "user" if rows == 1 else "users"
        self.helper.add_input(Submit("add", f"Add {rows:,} {noun}"))
