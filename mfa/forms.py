"""The second step's forms: one code, typed."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms


class CodeForm(forms.Form):
    """A code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The six digits your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )

    def __init__(self, *args: Any, submit: str = "Verify", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("verify", submit))


class EnrolForm(CodeForm):
    """One code of the new authenticator app, confirming it holds the secret."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, submit="Confirm", **kwargs)
        self.fields["code"].max_length = 16
        self.fields["code"].help_text = "The six digits the app shows now for PartnerHub."
        self.fields["code"].widget.attrs.update({"inputmode": "numeric", "autofocus": False})
