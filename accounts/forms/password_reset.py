"""Choosing one's own password from an emailed link (an invitation or "Forgot password?"), and
asking for that link."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm

from accounts.forms.text import OneLineEmailField


class ForgotPasswordForm(PasswordResetForm):
    """Django's "send me a reset link": the same answer whether or not the email has an
    account; only an active user with a password gets an email (PasswordResetForm.get_users)."""

    email = OneLineEmailField(
        label="Email",
        max_length=254,
        help_text="The email you sign in with.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "autofocus": True})
        self.helper = FormHelper()
        self.helper.add_input(Submit("send_link", "Send the link", css_class="w-100"))


class ChooseOwnPasswordForm(SetPasswordForm):
    """Django's set-password form (the new password twice, checked by the password validators),
    with PartnerHub's words."""

    error_messages = {
        **SetPasswordForm.error_messages,
        "password_mismatch": "The two passwords do not match.",
    }

    def __init__(self, *args: Any, submit_label: str = "Set password", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "New password"
        self.fields["new_password2"].label = "New password again"
        self.fields["new_password2"].help_text = "Enter the new password again."
        self.helper = FormHelper()
        self.helper.add_input(Submit("set_password", submit_label, css_class="w-100"))
