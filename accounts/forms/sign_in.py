from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.forms import AuthenticationForm


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

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("sign_in", "Sign in", css_class="w-100"))
