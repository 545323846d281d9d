"""Confirm your password: the password again, before a sensitive action."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.lockout import password_is_right
from accounts.models import User


class ConfirmPasswordForm(forms.Form):
    """The signed-in user's own password, checked against their account."""

    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.user: User = request.user
        self.helper = FormHelper()
        self.helper.add_input(Submit("confirm", "Confirm"))

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        # A wrong password counts toward the sign-in lockout.
        if not password_is_right(self.request, self.user, password):
            raise ValidationError("This is not your password. Enter it again.", code="incorrect")
        return password
