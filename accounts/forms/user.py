"""Edit details: a user's first name, last name and email."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

from accounts.models import User

# Control characters (NUL bytes, tabs, line breaks) and the Unicode line and paragraph separators.
# Format characters such as right-to-left marks are text in some names: they stay allowed.
_NOT_ONE_LINE = {"Cc", "Zl", "Zp"}

CONTROL_CHARACTERS = (
    "Remove the control characters (such as NUL bytes, tabs or line breaks): "
    "this must be one line of text."
)


def reject_control_characters(value: str) -> None:
    """Refuse a name or email that is not one line of printable text."""
    if any(unicodedata.category(character) in _NOT_ONE_LINE for character in value):
        raise ValidationError(CONTROL_CHARACTERS, code="control_characters")


class _OneLine:
    """Explains control characters once, before any other check of the field runs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Our message covers NUL bytes, more clearly than Django's "Null characters are not
        # allowed."; keeping both would say it twice.
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(validator, ProhibitNullCharactersValidator)
        ]

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        reject_control_characters(value)
        return value


class OneLineField(_OneLine, forms.CharField):
    """One line of text: a name."""


class OneLineEmailField(_OneLine, forms.EmailField):
    """One line of text that is an email address."""


def _max_length(field_name: str) -> int:
    # The model's limits, so the form refuses exactly what the database would.
    return User._meta.get_field(field_name).max_length


class UserDetailsForm(forms.Form):
    """First name, last name and email, checked as the User model checks them."""

    first_name = OneLineField(
        label="First name",
        max_length=_max_length("first_name"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    last_name = OneLineField(
        label="Last name",
        max_length=_max_length("last_name"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = OneLineEmailField(
        label="Email",
        max_length=_max_length("email"),
        help_text="The user signs in with this address.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    @classmethod
    def for_user(cls, user: User) -> UserDetailsForm:
        """The form filled with the user's details as they are."""
        return cls(
            initial={
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
            }
        )
