"""Forgot password?: Django's password-reset views with PartnerHub's pages, emails and audit.

The answer is the same whether or not the email belongs to an account, and only an active user
with a password gets an email (Django's PasswordResetForm), sent by a worker: the request only
enqueues the job, whatever the email. The link works once, for
PASSWORD_RESET_TIMEOUT (Django's default: three days); its token moves from the address into
the session before the form is shown, so it never leaks in a Referer header.

Decision: no throttle of our own on "send the link". The page says the same to everyone, so it
tells a guesser nothing, and the cost of abuse is email to the address's owner, which only the
owner can act on; a mail relay or load balancer limit is the place for a volume limit.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.forms import Form
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse_lazy

from accounts import services
from accounts.audit import Origin
from accounts.forms.password_reset import ChooseOwnPasswordForm, ForgotPasswordForm
from accounts.invitations import base_url_for_email
from accounts.lockout import clear_lockout
from accounts.models import AuditAction, User
from accounts.services import LinkNotValid


def _link_days() -> int:
    """How many days a reset link works, for the email and the page that says it is sent."""
    return max(1, settings.PASSWORD_RESET_TIMEOUT // (24 * 60 * 60))


class ForgotPasswordView(auth_views.PasswordResetView):
    """Asks for the email and sends a one-time link to set a new password."""

    form_class = ForgotPasswordForm
    template_name = "registration/password_reset_form.html"
    subject_template_name = "emails/password_reset_subject.txt"
    email_template_name = "emails/password_reset.txt"
    success_url = reverse_lazy("password_reset_done")

    @classmethod
    def email_context(cls) -> dict[str, Any]:
        """What the email says besides the link (the worker adds base_url)."""
        return {"timeout_days": _link_days()}

    def form_valid(self, form: Form) -> HttpResponse:
        # A worker looks the account up and sends the email (jobs.emails): this request does
        # the same work, in the same time, whether or not the email has an account. The link
        # starts with PARTNERHUB_BASE_URL, not the Host this request names (Django's default):
        # a forged Host would otherwise receive the owner's token.
        from jobs.emails import queue_password_reset

        queue_password_reset(form.cleaned_data["email"], base_url=base_url_for_email(self.request))
        return HttpResponseRedirect(self.get_success_url())


class ForgotPasswordSentView(auth_views.PasswordResetDoneView):
    """The same answer for every email: if it has an account, a link is on its way."""

    template_name = "registration/password_reset_done.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "timeout_days": _link_days()}


class ResetPasswordFromLinkView(auth_views.PasswordResetConfirmView):
    """Sets the new password chosen from the emailed link, audited; clears the sign-in lockout."""

    form_class = ChooseOwnPasswordForm
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def get_user(self, uidb64: str) -> User | None:
        # A deactivated user's link stops working (DOMAIN.md rule 7), even one sent before.
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form: Form) -> HttpResponse:
        try:
            services.set_password_from_link(
                self.user,
                self.request.session.get(INTERNAL_RESET_SESSION_TOKEN, ""),
                form.cleaned_data["new_password1"],
                token_generator=self.token_generator,
                audit_action=AuditAction.PASSWORD_RESET_BY_EMAIL,
                origin=Origin.from_request(self.request),
            )
        except LinkNotValid:  # used in another tab, or deactivated meanwhile
            self.validlink = False
            return self.render_to_response(self.get_context_data())
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        # The lockout page tells its owner to reset the password: the new one works at once.
        clear_lockout(self.user.email)
        return HttpResponseRedirect(self.get_success_url())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["reset_user"] = self.user if self.validlink else None
        return context


class PasswordChangedView(auth_views.PasswordResetCompleteView):
    """The password is set: sign in with it."""

    template_name = "registration/password_reset_complete.html"
