"""Sign in and sign out: Django's views, saying what happened and keeping the email."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from accounts.forms.sign_in import SignInForm

# The email to fill in on the next sign-in form (after an invitation was accepted), kept in the
# session rather than the address, where logs and Referer headers would keep it.
SIGN_IN_EMAIL = "_sign_in_email"


def remember_email_for_sign_in(request: HttpRequest, email: str) -> None:
    """Fill the next sign-in form of this browser with the email."""
    request.session[SIGN_IN_EMAIL] = email


class SignInView(auth_views.LoginView):
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        email = self.request.session.pop(SIGN_IN_EMAIL, "")
        if email:
            initial["username"] = email
        return initial

    def get_form(self, form_class: Any = None) -> SignInForm:
        form = super().get_form(form_class)
        if form.initial.get("username"):
            # The email is there: the cursor goes where the person types next.
            form.fields["username"].widget.attrs.pop("autofocus", None)
            form.fields["password"].widget.attrs["autofocus"] = True
        return form


class SignOutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            # After the session was flushed: the message lives in the new, anonymous one.
            messages.info(request, "You are signed out.")
        return response
