"""My profile: changing one's own password, also the forced change of a temporary password;
signing out everywhere else; the theme."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse

from accounts.lockout import password_is_right
from accounts.models import ThemePreference


class ChangePasswordForm(PasswordChangeForm):
    """Django's password change (current password, new one twice, the password validators).

    For a user holding a temporary password, the new password must be another one: the
    temporary password was seen by the admin who set it, so it works only once. A wrong old
    password counts toward the sign-in lockout. The view saves through
    accounts.services.change_own_password.
    """

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_incorrect": "This is not your old password. Enter it again.",
        "password_mismatch": "The two new passwords do not match.",
        "password_reused": "Choose a password other than your temporary password.",
    }

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(request.user, *args, **kwargs)
        self.request = request
        self.temporary = self.user.must_change_password
        # Django's labels (Old password, New password, New password confirmation) stay.
        if self.temporary:
            self.fields["old_password"].help_text = "The temporary password you were given."
        self.fields["new_password2"].help_text = "Enter the new password again."
        self.helper = FormHelper()
        self.helper.add_input(Submit("change_password", "Change password"))

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        if not password_is_right(self.request, self.user, old_password):
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password

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


class SignOutEverywhereForm(forms.Form):
    """No fields: a button that posts, with its CSRF token, to sign_out_everywhere."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_action = reverse("sign_out_everywhere")
        button = Submit("sign_out_everywhere", "Sign out everywhere")
        button.field_classes = "btn btn-outline-primary"  # not the page's main action
        self.helper.add_input(button)


class ThemeForm(forms.Form):
    """Light or dark pages, or as the system says: a radio group that saves with its button."""

    theme_preference = forms.ChoiceField(
        label="Theme",
        choices=ThemePreference.choices,
        widget=forms.RadioSelect,
        help_text="System follows your device's light or dark setting.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_action = reverse("profile_theme")
        self.helper.form_id = "theme-form"
        button = Submit("save_theme", "Save theme")
        button.field_classes = "btn btn-outline-primary"  # not the page's main action
        self.helper.add_input(button)
