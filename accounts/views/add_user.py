"""Settings > User management > Add user: details, roles, review, then Add (DOMAIN.md, "The
add-user flow").

A session wizard: each step is validated on the server when it is sent, and all of them again
when Add is selected, before accounts.services.create_user (which asks the rulebook once more,
under the organization's lock) adds the user. The review asks how the new user signs in the
first time: an emailed invitation (the default: nobody but them ever knows their password), or a
temporary password that the next page shows once.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from formtools.wizard.views import SessionWizardView

from accounts.audit import Origin
from accounts.forms.add_user import DetailsForm, ReviewForm, RolesForm, SignIn
from accounts.invitations import base_url_for_email, invitation_status
from accounts.models import AuditAction, User
from accounts.reauth import ask_for_password, password_recently_confirmed
from accounts.services import EmailInUse, create_user
from accounts.views.common import show_temporary_password, user_in_directory
from roles import rules
from roles.catalogue import SPECS, RoleKey
from roles.rules import Action, RuleRefused

DETAILS, ROLES, REVIEW = "details", "roles", "review"
STEP_TITLES = {DETAILS: "Details", ROLES: "Roles", REVIEW: "Review"}
# ?resume=review shows the review step kept in the session instead of starting over.
RESUME = "resume"

NOT_CURRENT = (
    "Nothing was added: this Add user form was already sent, or is no longer current. Check "
    "User management before you add the user again."
)


class _NotAdded(Exception):
    """create_user refused: carries the page that says why. Raised out of done() so that the
    wizard keeps what the admin entered (formtools resets its storage only after done returns)."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__("The user was not added.")
        self.response = response


def _new_user(request: HttpRequest) -> User:
    # Unsaved: the rulebook answers "may they grant this role to a user of this organization?".
    return User(organization=request.user.organization)


@method_decorator([never_cache, login_required], name="dispatch")
class AddUserWizard(SessionWizardView):
    """Adds a user to the acting admin's organization, in three steps."""

    form_list = [(DETAILS, DetailsForm), (ROLES, RolesForm), (REVIEW, ReviewForm)]
    # HEAD would reset the wizard like GET does; nothing else is needed.
    http_method_names = ["get", "post"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Every step and method: a hidden link is a courtesy, this is the control.
        rules.require(rules.can(request.user, Action.ADD_USER), Action.ADD_USER)
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def new_user(self) -> User:
        return _new_user(self.request)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Back from "Confirm your password": the review again, with what was entered. Any other
        # GET starts over, as formtools does.
        if request.GET.get(RESUME) == REVIEW and self.storage.current_step == REVIEW:
            # With the sign-in choice made before the password was asked for.
            return self.render(self.get_form(data=self.storage.get_step_data(REVIEW)))
        return super().get(request, *args, **kwargs)

    def get_template_names(self) -> list[str]:
        return [f"accounts/add_user/{self.steps.current}.html"]

    def get_form_kwargs(self, step: str | None = None) -> dict[str, Any]:
        if step == DETAILS:
            return {"organization": self.request.user.organization}
        if step == ROLES:
            details = self.storage.get_step_data(DETAILS) or {}
            return {
                "actor": self.request.user,
                "new_user": self.new_user,
                # Who a refused role was meant for, in the audit trail: the email as entered.
                "new_user_label": details.get(f"{DETAILS}-email", ""),
                "origin": Origin.from_request(self.request),
            }
        return {}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        sent_step = request.POST.get(f"{self.prefix}-current_step")
        if sent_step is not None and sent_step not in self.get_form_list():
            # formtools would look the unknown step up and fail with a server error.
            raise SuspiciousOperation("Add user: the step sent does not exist.")
        posted_step = request.POST.get("wizard_goto_step") or sent_step
        # Nothing in progress, yet a later step is sent: the browser sent Add again after the
        # user was added (formtools then forgot the steps), or the session expired. Start over
        # rather than take a lone step for a whole flow.
        if self.storage.current_step is None and posted_step != self.steps.first:
            messages.warning(request, NOT_CURRENT)
            return redirect("add_user")
        return super().post(request, *args, **kwargs)

    def render_goto_step(self, goto_step: str, **kwargs: Any) -> HttpResponse:
        # Back keeps what the page being left holds as well (when it is valid): roles ticked
        # before going back to the details are still ticked on the way forward.
        leaving = self.steps.current
        if self.request.POST.get(f"{self.prefix}-current_step") == leaving:
            form = self.get_form(leaving, data=self.request.POST, files=self.request.FILES)
            if form.is_valid():
                self.storage.set_step_data(leaving, self.process_step(form))
        return super().render_goto_step(goto_step, **kwargs)

    def render(self, form: Form | None = None, **kwargs: Any) -> HttpResponse:
        # The review shows what the earlier steps hold, so they must still be valid: an email
        # may have been taken meanwhile, or the review asked for without them.
        if self.steps.current == REVIEW:
            for step in (DETAILS, ROLES):
                if self.get_cleaned_data_for_step(step) is None:
                    earlier = self.get_form(step, data=self.storage.get_step_data(step))
                    return self.render_revalidation_failure(step, earlier, **kwargs)
        return super().render(form, **kwargs)

    def get_context_data(self, form: Form, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(form=form, **kwargs)
        context["step_title"] = STEP_TITLES[self.steps.current]
        if self.steps.current == ROLES:
            context["access"] = form.access()
            context["live_preview"] = True
        elif self.steps.current == REVIEW:
            details = self.get_cleaned_data_for_step(DETAILS)
            role_keys = self.get_cleaned_data_for_step(ROLES)["roles"]
            context["details"] = details
            context["role_names"] = [SPECS[key].name for key in role_keys]
            context["access"] = rules.access_for_roles(role_keys, self.request.user.organization)
        return context

    def render_done(self, form: Form, **kwargs: Any) -> HttpResponse:
        try:
            return super().render_done(form, **kwargs)
        except _NotAdded as not_added:
            return not_added.response

    def done(
        self, form_list: list[Form], form_dict: dict[str, Form], **kwargs: Any
    ) -> HttpResponse:
        """Adds the user, then says where their invitation went, or shows their temporary
        password once."""
        details = form_dict[DETAILS].cleaned_data
        invite = form_dict[REVIEW].cleaned_data["sign_in"] == SignIn.INVITATION
        # Granting Global admin asks for the password again (accounts.reauth); nothing is added,
        # and the review comes back after, with what was entered.
        granting_ga = RoleKey.GLOBAL_ADMIN in form_dict[ROLES].cleaned_data["roles"]
        if granting_ga and not password_recently_confirmed(self.request):
            back = reverse("add_user") + "?" + urlencode({RESUME: REVIEW})
            raise _NotAdded(ask_for_password(self.request, back))
        try:
            new = create_user(
                self.request.user,
                organization=self.request.user.organization,
                first_name=details["first_name"],
                last_name=details["last_name"],
                email=details["email"],
                role_keys=form_dict[ROLES].cleaned_data["roles"],
                origin=Origin.from_request(self.request),
                invite=invite,
                base_url=base_url_for_email(self.request),
            )
        except EmailInUse:
            # Someone added the same email since the details were checked.
            raise _NotAdded(self._back_to(DETAILS, "email", EmailInUse.message)) from None
        except RuleRefused as refusal:
            # The rulebook changed its answer since the steps were checked (roles revoked,
            # program type changed): the service recorded the refusal; say it where it applies.
            if refusal.action == AuditAction.ROLE_GRANTED:
                raise _NotAdded(self._back_to(ROLES, "roles", refusal.reason)) from None
            raise _NotAdded(self._back_to(REVIEW, None, refusal.reason)) from None
        if new.temporary_password is None:
            return redirect("user_added", new.user.public_id)
        return show_temporary_password(
            self.request, new.user, new.temporary_password, new_user=True
        )

    def _back_to(self, step: str, field: str | None, message: str) -> HttpResponse:
        """The step's page again, with what it holds and the message at the field."""
        form = self.get_form(step, data=self.storage.get_step_data(step))
        if form.is_valid() or message not in form.errors.get(field or "__all__", []):
            form.add_error(field, message)
        self.storage.current_step = step
        return self.render(form)


@never_cache
@require_GET
@login_required
def access_preview(request: HttpRequest) -> HttpResponse:
    """The access preview of the roles step for ?roles=key&roles=key, as an HTML fragment.

    The roles step's script asks it as boxes are ticked; the page itself includes the same
    template, so the server alone says what roles give. Unknown keys and roles the admin may
    not grant are left out.
    """
    rules.require(rules.can(request.user, Action.ADD_USER), Action.ADD_USER)
    form = RolesForm(request.GET, actor=request.user, new_user=_new_user(request))
    return render(request, "accounts/add_user/access_preview.html", {"access": form.access()})


@never_cache
@require_GET
@login_required
def user_added(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """After Add with an invitation: who was added, where the invitation went, until when."""
    user = user_in_directory(request, public_id)
    return render(
        request,
        "accounts/add_user/added.html",
        {"shown_user": user, "invitation": invitation_status(user)},
    )
