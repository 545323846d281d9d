"""Choosing one's own password from an emailed link (an invitation or "Forgot password?"), and
asking for that link."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm

from accounts.forms.text import EmailAddressField
from accounts.models import AuditAction, AuditEvent, AuditOutcome, User


def email_set_by_someone_else(user: User) -> bool:
    """Did someone other than the user change their email since they last signed in?

    Then a reset link to that address would let whoever set it take the account over, which
    DOMAIN.md rule 6 keeps for Global admins (a User management admin may edit an email, and
    support staff a Global admin's). Until the user signs in again, only an admin's password
    reset helps them in.
    """
    changes = AuditEvent.objects.about(user).filter(
        action=AuditAction.USER_EDITED, outcome=AuditOutcome.DONE, after__has_key="email"
    )
    if user.last_login is not None:
        changes = changes.filter(created_at__gt=user.last_login)
    return changes.exclude(actor=user).exists()


class ForgotPasswordForm(PasswordResetForm):
    """Django's "send me a reset link": the same answer whether or not the email has an
    account; only an active user with a password gets an email, sent to the address stored
    for the canonical form of the one typed, and not when someone else set that email since
    the user last signed in."""

    email = EmailAddressField(
        label="Email",
        max_length=254,
        help_text="The email you sign in with.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "autofocus": True})
        self.helper = FormHelper()
        self.helper.add_input(Submit("send_link", "Send the link", css_class="w-100"))

    def get_users(self, email: str) -> Iterator[User]:
        # Django's compares ignoring case; PartnerHub compares canonical forms (DOMAIN.md rule 8).
        for user in User.objects.with_email(email).filter(is_active=True):
            if user.has_usable_password() and not email_set_by_someone_else(user):
                yield user


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
