"""My profile: changing one's own password, also the forced change of a temporary password."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError

from accounts.models import User


class ChangePasswordForm(PasswordChangeForm):
    """Django's password change (current password, new one twice, the password validators).

    For a user holding a temporary password, the new password must be another one: the
    temporary password was seen by the admin who set it, so it works only once.
    """

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_incorrect": "This is not your old password. Enter it again.",
        "password_mismatch": "The two new passwords do not match.",
        "password_reused": "Choose a password other than your temporary password.",
    }

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.temporary = user.must_change_password
        # Django's labels (Old password, New password, New password confirmation) stay.
        if self.temporary:
            self.fields["old_password"].help_text = "The temporary password you were given."
        self.fields["new_password2"].help_text = "Enter the new password again."
        self.helper = FormHelper()
        self.helper.add_input(Submit("change_password", "Change password"))

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        old, new = cleaned_data.get("old_password"), cleaned_data.get("new_password1")
        # old_password is in cleaned_data only when it was right.
        if self.temporary and old and new and old == new:
            self.add_error(
                "new_password2",
                ValidationError(self.error_messages["password_reused"], code="password_reused"),
            )
        return cleaned_data

    def save(self, commit: bool = True) -> User:
        """Set the new password; the user no longer has to change it."""
        user = super().save(commit=False)
        user.must_change_password = False
        if commit:
            user.save(update_fields=["password", "must_change_password"])
        return user
