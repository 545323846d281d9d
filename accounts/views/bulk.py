"""The directory's bulk actions: confirm (what will happen, to whom, who is skipped and why),
apply, and the result (what happened to each user).

The confirmation is a GET page: the selection and the action are in its address, so "Confirm
your password" can come back to it. Applying is a POST of the same fields; the result is kept
in the session and shown after a redirect, so a reload applies nothing twice. Each user is
decided by the rulebook on its own (accounts.bulk), at confirmation and again when applying.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import bulk
from accounts.audit import Origin
from accounts.filters import DirectoryFilter
from accounts.forms.bulk import MATCHING, BulkActionForm
from accounts.invitations import base_url_for_email
from accounts.models import UserQuerySet
from accounts.reauth import ask_for_password, password_recently_confirmed
from accounts.views.common import organization_users
from roles import rules
from roles.catalogue import SPECS
from roles.rules import Action

RESULT_KEY = "bulk-action-result"
FILTER_WITH_ERROR = (
    "A filter of the directory has an error: correct it there before acting on all that match."
)


def _require_may_act(request: HttpRequest) -> None:
    rules.require(rules.can(request.user, Action.SEE_DIRECTORY), Action.SEE_DIRECTORY)
    # Every admin who may take any bulk action may at least grant membership roles.
    rules.require(
        rules.can_act_on_users(request.user, Action.MANAGE_MEMBERSHIP_ROLES),
        Action.MANAGE_MEMBERSHIP_ROLES,
    )


def _selection(request: HttpRequest, form: BulkActionForm, data: QueryDict) -> UserQuerySet | None:
    """The users selected, scoped to the organization; None (with the error on the form) when
    the filters of "all that match" cannot be read."""
    users = organization_users(request)
    if form.cleaned_data["scope"] != MATCHING:
        return users.filter(public_id__in=form.cleaned_data["user"])
    filterset = DirectoryFilter(data, queryset=users)
    if filterset.form.errors:
        # A filter left out would widen the selection: refuse rather than act on more users.
        form.add_error("scope", FILTER_WITH_ERROR)
        return None
    return filterset.qs


def _carried(data: QueryDict) -> QueryDict:
    """The fields that say what to do to whom, as sent (the CSRF token left out)."""
    kept = data.copy()
    kept.pop("csrfmiddlewaretoken", None)
    return kept


def _directory_url(request: HttpRequest, data: QueryDict) -> str:
    """The directory as filtered when the action was chosen."""
    filterset = DirectoryFilter(data, queryset=organization_users(request))
    kept = QueryDict(mutable=True)
    kept.update(filterset.applied())
    return reverse("directory") + (f"?{kept.urlencode()}" if kept else "")


def _hidden_fields(data: QueryDict, leave_out: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, values in _carried(data).lists()
        if name not in leave_out
        for value in values
    ]


@never_cache
@require_GET
@login_required
def bulk_confirm(request: HttpRequest) -> HttpResponse:
    """What the action will do and to whom, which selected users are skipped and why."""
    _require_may_act(request)
    form = BulkActionForm(request.GET, actor=request.user)
    context = {
        "form": form,
        "directory_url": _directory_url(request, request.GET),
        "max_users": bulk.MAX_BULK_USERS,
    }
    selection = _selection(request, form, request.GET) if form.is_valid() else None
    if selection is None:
        context["choice_fields"] = _hidden_fields(request.GET, ("action", "target_role", "scope"))
        return render(request, "accounts/bulk/confirm.html", context)
    action, role_key = bulk.BulkAction(form.cleaned_data["action"]), form.role_key
    ids = bulk.selected_ids(selection)
    context.update(
        {
            "action": action,
            "role_name": SPECS[role_key].name if role_key else "",
            "apply_fields": _hidden_fields(request.GET),
        }
    )
    if len(ids) > bulk.MAX_BULK_USERS:
        context["too_many"] = selection.count()
        return render(request, "accounts/bulk/confirm.html", context)
    if bulk.needs_password(action, role_key) and not password_recently_confirmed(request):
        return ask_for_password(request, request.get_full_path())
    context["plan"] = bulk.plan(request.user, action, role_key, selection, ids)
    if not context["plan"].changing:
        # Offer instead what would change someone selected, if anything would.
        only = bulk.applicable(request.user, selection, ids)
        if only[0]:
            context["other_actions"] = BulkActionForm(
                initial={"scope": form.cleaned_data["scope"]}, actor=request.user, only=only
            )
            context["choice_fields"] = _hidden_fields(
                request.GET, ("action", "target_role", "scope")
            )
    return render(request, "accounts/bulk/confirm.html", context)


@require_POST
@login_required
def bulk_apply(request: HttpRequest) -> HttpResponse:
    """Take the action on each selected user the rulebook allows; then show what happened."""
    _require_may_act(request)
    confirm_url = f"{reverse('bulk_confirm')}?{_carried(request.POST).urlencode()}"
    form = BulkActionForm(request.POST, actor=request.user)
    selection = _selection(request, form, request.POST) if form.is_valid() else None
    if selection is None:
        return redirect(confirm_url)  # which says what is wrong, at the field
    action, role_key = bulk.BulkAction(form.cleaned_data["action"]), form.role_key
    if bulk.needs_password(action, role_key) and not password_recently_confirmed(request):
        return ask_for_password(request, confirm_url)
    ids = bulk.selected_ids(selection)
    if len(ids) > bulk.MAX_BULK_USERS:
        return redirect(confirm_url)
    outcomes = bulk.run(
        request.user,
        action,
        role_key,
        selection,
        ids,
        origin=Origin.from_request(request),
        base_url=base_url_for_email(request),
    )
    request.session[RESULT_KEY] = {
        "action": action.label,
        "role": SPECS[role_key].name if role_key else "",
        "directory_url": _directory_url(request, request.POST),
        "outcomes": [outcome.as_dict() for outcome in outcomes],
    }
    return redirect("bulk_result")


@never_cache
@require_GET
@login_required
def bulk_result(request: HttpRequest) -> HttpResponse:
    """What the last bulk action did to each user."""
    _require_may_act(request)
    result = request.session.get(RESULT_KEY)
    if not result:
        messages.info(request, "No bulk action to show: choose users in the directory first.")
        return redirect("directory")
    outcomes = result["outcomes"]
    done = sum(1 for outcome in outcomes if outcome["done"])
    return render(
        request,
        "accounts/bulk/result.html",
        {**result, "done": done, "not_done": len(outcomes) - done},
    )
