"""Edit details: a user's first name, last name and email."""

from __future__ import annotations

from django import forms

from accounts.forms.text import EmailAddressField, OneLineField
from accounts.models import User


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
    email = EmailAddressField(
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
