from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError

from accounts.backends import DEACTIVATED_USER
from accounts.models import User
from roles import rules


class SignInNameField(forms.CharField):
    """The email typed at sign-in, unchecked: the backend's lookup (User.objects.
    get_by_natural_key) decides, through accounts.identity, whether it is anyone's."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.validators = []  # not even the NUL check: a NUL byte is a failed sign-in too


class SignInForm(AuthenticationForm):
    # Any text: what cannot be an email is a failed sign-in like any other (and counted by the
    # lockout, accounts.lockout.sign_in_name), never a field error that would skip both.
    username = SignInNameField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True}))
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "The email or password is not right. Check both and try again.",
        "inactive": "This account is deactivated. Ask an admin of your organization.",
    }

    def get_invalid_login_error(self) -> ValidationError:
        """ "Not right", unless the password was right for a deactivated account: then whom to
        ask. Only the account's owner gets that far, and the failure is counted all the same."""
        deactivated = getattr(self.request, DEACTIVATED_USER, None)
        if deactivated is None:
            return super().get_invalid_login_error()
        names = _who_may_reactivate(deactivated)
        ask = (
            f"Ask {', '.join(names)} to reactivate it."
            if names
            else "Ask an admin of your organization to reactivate it."
        )
        return ValidationError(
            f"Your account is deactivated, so you cannot sign in. {ask}", code="inactive"
        )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("sign_in", "Sign in", css_class="w-100"))


def _who_may_reactivate(user: User) -> list[str]:
    """The names (never the emails: the person is no longer in the directory) of up to three
    active people of the user's organization who may reactivate users, and have signed in."""
    holders = (
        User.objects.in_organization(user.organization)
        .filter(
            is_active=True,
            role_assignments__role__key__in=rules.roles_allowed_to(rules.Action.REACTIVATE_USER),
        )
        # A pending invitation (an unusable password) is nobody to ask yet.
        .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .exclude(pk=user.pk)
        .distinct()
        .order_by("last_name", "first_name")[:3]
    )
    return [holder.get_full_name() or holder.email for holder in holders]
