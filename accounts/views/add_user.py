"""Settings > User management > Add user: details, roles, review, then Add (DOMAIN.md, "The
add-user flow").

A session wizard: each step is validated on the server when it is sent, and all of them again
when Add is selected, before accounts.services.create_user (which asks the rulebook once more,
under the organization's lock) adds the user. The review asks how the new user signs in the
first time: an emailed invitation (the default: nobody but them ever knows their password), or a
temporary password that the next page shows once.

Each run of the wizard has its own id in its address (users/add/<run>/<step>/) and its own
storage in the session, so two Add user tabs never mix their details or roles. Every POST
between steps answers with a redirect to the step's address, so the browser's Back and Forward
move between steps without "Confirm form resubmission". The one exception is the answer to Add
with a temporary password: it shows the password, which is kept nowhere, so it cannot be a
redirect; sending it again (a reload) leads to the "User added" page without the password.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from uuid import UUID, uuid4

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from formtools.wizard.storage import get_storage
from formtools.wizard.views import SessionWizardView, StepsHelper

from accounts.audit import Origin
from accounts.forms.add_user import DetailsForm, ReviewForm, RolesForm, SignIn
from accounts.invitations import base_url_for_email, invitation_status
from accounts.models import AuditAction, User
from accounts.reauth import ask_for_password, password_recently_confirmed
from accounts.services import EmailInUse, create_user
from accounts.views.common import show_temporary_password, user_in_directory, with_roles
from roles import rules
from roles.catalogue import SPECS, RoleKey
from roles.rules import Action, RuleRefused

DETAILS, ROLES, REVIEW = "details", "roles", "review"
STEP_TITLES = {DETAILS: "Details", ROLES: "Roles", REVIEW: "Review"}

# The session lists the runs begun (oldest first) and the users the finished ones added; an
# abandoned run's storage is dropped when more than RUNS_KEPT were begun after it.
RUNS = "add_user_runs"
ADDED = "add_user_added"
RUNS_KEPT = 10

NOT_CURRENT = (
    "Nothing was added: this Add user form was already sent, or is no longer current. Check "
    "User management before you add the user again."
)
ALREADY_ADDED = "{name} was already added with this Add user form: nothing was added again."


def _storage_prefix(run: UUID) -> str:
    return f"add_user_wizard_{run.hex}"


def _begin_run(request: HttpRequest) -> UUID:
    """A new run of the wizard, listed in the session; the oldest runs beyond RUNS_KEPT go."""
    run = uuid4()
    runs = [*request.session.get(RUNS, []), run.hex]
    for old in runs[:-RUNS_KEPT]:
        request.session.pop(f"wizard_{_storage_prefix(UUID(old))}", None)
    request.session[RUNS] = runs[-RUNS_KEPT:]
    return run


def _run_added(request: HttpRequest, run: UUID, user: User) -> None:
    """Remember which user the run added, so that sending it again shows them instead."""
    added = dict(list(request.session.get(ADDED, {}).items())[-(RUNS_KEPT - 1) :])
    added[run.hex] = str(user.public_id)
    request.session[ADDED] = added


def step_url(run: UUID, step: str) -> str:
    return reverse("add_user_step", kwargs={"run": run, "step": step})


class _NotAdded(Exception):
    """create_user refused: carries the page that says why. Raised out of done() so that the
    wizard keeps what the admin entered (formtools resets its storage only after done returns)."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__("The user was not added.")
        self.response = response


def _new_user(request: HttpRequest) -> User:
    # Unsaved: the rulebook answers "may they grant this role to a user of this organization?".
    return User(organization=request.user.organization)


@never_cache
@require_GET
@login_required
def add_user(request: HttpRequest) -> HttpResponse:
    """Begins a new run of Add user, in its own address: another tab's run is left alone."""
    rules.require(rules.can(request.user, Action.ADD_USER), Action.ADD_USER)
    return redirect(step_url(_begin_run(request), DETAILS))


@method_decorator([never_cache, login_required], name="dispatch")
class AddUserWizard(SessionWizardView):
    """Adds a user to the acting admin's organization, in three steps, one address each."""

    form_list = [(DETAILS, DetailsForm), (ROLES, RolesForm), (REVIEW, ReviewForm)]
    # HEAD would be a GET; nothing else is needed.
    http_method_names = ["get", "post"]

    def get_prefix(self, request: HttpRequest, *args: Any, **kwargs: Any) -> str:
        # The management form's prefix: the same for every run (the run is in the address).
        return "add_user_wizard"

    def dispatch(
        self, request: HttpRequest, *args: Any, run: UUID, step: str, **kwargs: Any
    ) -> HttpResponse:
        # Every step and method: a hidden link is a courtesy, this is the control.
        rules.require(rules.can(request.user, Action.ADD_USER), Action.ADD_USER)
        if step not in self.form_list:
            raise Http404("Add user has no such step.")
        self.run, self.url_step = run, step
        added = request.session.get(ADDED, {}).get(run.hex)
        if added is not None:
            return self._already_added(UUID(added))
        if run.hex not in request.session.get(RUNS, []):
            # Begun in another session (signed out since, or expired), or made up.
            messages.warning(request, NOT_CURRENT)
            return redirect("add_user")
        # WizardView.dispatch, with this run's own storage: formtools keys its storage by the
        # prefix alone, which would make every tab's run one and the same.
        self.prefix = self.get_prefix(request)
        self.storage = get_storage(self.storage_name, _storage_prefix(run), request)
        self.steps = StepsHelper(self)
        response = View.dispatch(self, request, *args, **kwargs)
        self.storage.update_response(response)
        return response

    def _already_added(self, public_id: UUID) -> HttpResponseRedirect:
        """The run finished: its form sent again (a reload of the page after Add, or Back and
        Add) adds nobody and shows who was added, without any password."""
        user = User.objects.in_organization(self.request.user.organization).filter(
            public_id=public_id
        )
        if not user.exists():
            messages.warning(self.request, NOT_CURRENT)
            return redirect("add_user")
        messages.info(self.request, ALREADY_ADDED.format(name=user.get().get_full_name()))
        return redirect("user_added", public_id)

    @cached_property
    def new_user(self) -> User:
        return _new_user(self.request)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """The step of the address, with what it holds; a step whose earlier steps are not
        done yet sends to the first of them."""
        for earlier in list(self.form_list)[: list(self.form_list).index(self.url_step)]:
            if self.get_cleaned_data_for_step(earlier) is None:
                return redirect(step_url(self.run, earlier))
        self.storage.current_step = self.url_step
        # Data kept for the step is shown again, with its errors if it was refused.
        return self.render(self.get_form(data=self.storage.current_step_data))

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
        # Nothing in progress, yet a later step is sent: the session lost the steps. Start over
        # rather than take a lone step for a whole flow.
        if self.storage.current_step is None and posted_step != self.steps.first:
            messages.warning(request, NOT_CURRENT)
            return redirect("add_user")
        return super().post(request, *args, **kwargs)

    def render_next_step(self, form: Form, **kwargs: Any) -> HttpResponse:
        self.storage.current_step = self.steps.next
        return redirect(step_url(self.run, self.steps.current))

    def render_goto_step(self, goto_step: str, **kwargs: Any) -> HttpResponse:
        # Back keeps what the page being left holds as well (when it is valid): roles ticked
        # before going back to the details are still ticked on the way forward.
        leaving = self.steps.current
        if self.request.POST.get(f"{self.prefix}-current_step") == leaving:
            form = self.get_form(leaving, data=self.request.POST, files=self.request.FILES)
            if form.is_valid():
                self.storage.set_step_data(leaving, self.process_step(form))
        self.storage.current_step = goto_step
        return redirect(step_url(self.run, goto_step))

    def render_revalidation_failure(self, step: str, form: Form, **kwargs: Any) -> HttpResponse:
        # The step's address shows its data again, with the errors.
        self.storage.current_step = step
        return redirect(step_url(self.run, step))

    def render(self, form: Form | None = None, **kwargs: Any) -> HttpResponse:
        if self.request.method == "POST":
            # A refused step: kept, and shown with its errors by the step's address.
            self.storage.set_step_data(self.steps.current, self.process_step(form))
            return redirect(step_url(self.run, self.steps.current))
        # The review shows what the earlier steps hold, so they must still be valid: an email
        # may have been taken meanwhile.
        if self.steps.current == REVIEW:
            for step in (DETAILS, ROLES):
                if self.get_cleaned_data_for_step(step) is None:
                    return redirect(step_url(self.run, step))
        return super().render(form, **kwargs)

    def get_context_data(self, form: Form, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(form=form, **kwargs)
        context["step_title"] = STEP_TITLES[self.steps.current]
        context["step_titles"] = list(STEP_TITLES.values())
        context["step_url"] = step_url(self.run, self.steps.current)
        if self.steps.current == ROLES:
            context["access"] = form.access()
            context["preview_url"] = reverse("access_preview")
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
            raise _NotAdded(ask_for_password(self.request, step_url(self.run, REVIEW)))
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
        _run_added(self.request, self.run, new.user)
        if new.temporary_password is None:
            return redirect("user_added", new.user.public_id)
        # The one answer to a POST that is no redirect: the password is kept nowhere.
        return show_temporary_password(
            self.request, with_roles(new.user), new.temporary_password, new_user=True
        )

    def _back_to(self, step: str, field: str | None, message: str) -> HttpResponse:
        """The step's address again; the message at its field when the step's own checks find
        it there, above the step otherwise."""
        form = self.get_form(step, data=self.storage.get_step_data(step))
        if form.is_valid() or message not in form.errors.get(field or "__all__", []):
            messages.error(self.request, message)
        self.storage.current_step = step
        return redirect(step_url(self.run, step))


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
    user = with_roles(user_in_directory(request, public_id))
    return render(
        request,
        "accounts/add_user/added.html",
        {
            "shown_user": user,
            "invitation": invitation_status(user),
            "may_add_users": bool(rules.can(request.user, Action.ADD_USER)),
        },
    )
