"""Settings > User management > Add users from CSV: choose a file, follow its check, confirm,
follow the addition, download the outcome of every row.

The file is kept in the database (jobs.models.UserImport) and checked and added by workers
(jobs.user_imports): the upload answers at once whatever the file's size, any app server shows
any import, and the admin may leave and come back (the upload page lists the organization's
imports of the last 7 days). The progress page refreshes its counts with a small script
(static/js/import_progress.js polling import_users_progress); without it the page says where
the import stands and offers a Refresh link.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import imports
from accounts.audit import Origin
from accounts.forms.import_users import ConfirmForm, UploadForm
from accounts.invitations import base_url_for_email
from accounts.reauth import ask_for_password, password_recently_confirmed
from jobs import files, user_imports
from jobs.models import RESULT_DAYS, UserImport
from partnerhub.request_size import MULTIPART_ENVELOPE_BYTES, accepts_body_up_to
from roles import rules
from roles.rules import Action, RuleRefused

LISTED = 20  # imports listed on the upload page


def _require_may_add(request: HttpRequest) -> None:
    # Every view and method: the hidden link is a courtesy, this is the control.
    rules.require(rules.can(request.user, Action.ADD_USER), Action.ADD_USER)


def _get_import(request: HttpRequest, import_id: object) -> UserImport:
    """The organization's import, or 404 (another organization's answers as one that does
    not exist)."""
    _require_may_add(request)
    return get_object_or_404(
        UserImport.objects.in_organization(request.user.organization).select_related(
            "created_by", "check_file", "result_file"
        ),
        pk=import_id,
    )


# The file's limit, checked from the request's length before the body is read; the form then
# checks the file's own size (the envelope's few bytes) and says so next to the field.
@accepts_body_up_to(imports.MAX_BYTES + MULTIPART_ENVELOPE_BYTES)
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def import_users(request: HttpRequest) -> HttpResponse:
    """Choose a CSV file; sending it keeps it and starts its check (a job), which writes no
    user. The page lists the organization's recent imports."""
    _require_may_add(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        user_import = user_imports.start(
            form.cleaned_data["file"],
            file_name=form.file_name,
            actor=request.user,
            organization=request.user.organization,
            origin=Origin.from_request(request),
            base_url=base_url_for_email(request),
        )
        return redirect("import_users_detail", import_id=user_import.pk)
    recent = UserImport.objects.in_organization(request.user.organization).filter(
        created_at__gt=timezone.now() - timedelta(days=RESULT_DAYS)
    )
    return render(
        request,
        "accounts/import_users/upload.html",
        {
            "form": form,
            "max_rows": f"{imports.MAX_ROWS:,}",
            "header": ",".join(imports.HEADER),
            "roles": imports.role_names_for(request.user, request.user.organization),
            "recent": recent.select_related("created_by").defer("content")[:LISTED],
            "result_days": RESULT_DAYS,
        },
    )


@never_cache
@login_required
@require_GET
def import_users_detail(request: HttpRequest, import_id: object) -> HttpResponse:
    """Where the import stands: its progress, its check with Add, its result, or why it
    failed."""
    user_import = _get_import(request, import_id)
    context = {"import": user_import, "result_days": RESULT_DAYS}
    if user_import.state == UserImport.State.CHECKED:
        summary = user_import.check_summary
        form = ConfirmForm(initial={"upload": str(user_import.pk)}, rows=summary["valid"])
        form.helper.form_action = reverse("import_users_confirm", args=[user_import.pk])
        context |= {
            "form": form,
            "summary": summary,
            "file_name": user_import.file_name,
            "may_confirm": user_import.created_by_id == request.user.pk,
        }
        return render(request, "accounts/import_users/review.html", context)
    if user_import.state == UserImport.State.ADDED:
        context["summary"] = {**user_import.result_summary, "file_name": user_import.file_name}
        return render(request, "accounts/import_users/result.html", context)
    context["progress_text"] = progress_text(user_import)
    return render(request, "accounts/import_users/progress.html", context)


@never_cache
@login_required
@require_GET
def import_users_progress(request: HttpRequest, import_id: object) -> HttpResponse:
    """Where the import stands, as JSON, for the progress page's script."""
    user_import = _get_import(request, import_id)
    return JsonResponse(
        {
            "state": user_import.state,
            "working": user_import.working,
            "rows_total": user_import.rows_total,
            "rows_done": user_import.rows_done,
            "percent": user_import.percent,
            "text": progress_text(user_import),
        }
    )


def progress_text(user_import: UserImport) -> str:
    """The progress in words, the same on the page and from the script."""
    total = f"{user_import.rows_total:,}"
    if user_import.state == UserImport.State.CHECKING and not user_import.rows_total:
        # Counted by the check job before its first chunk (a second for 200,000 rows).
        return "Checking: counting the rows."
    if user_import.state == UserImport.State.CHECKING:
        return f"Checking: {user_import.rows_checked:,} of {total} rows checked."
    if user_import.state == UserImport.State.ADDING:
        return f"Adding: {user_import.rows_added_done:,} of {total} rows done."
    if user_import.state == UserImport.State.FAILED:
        return f"Failed: {user_import.error}"
    return user_import.get_state_display() + "."


@never_cache
@login_required
@require_POST
def import_users_confirm(request: HttpRequest, import_id: object) -> HttpResponse:
    """Starts the addition of a checked file (a job): every row is checked again."""
    user_import = _get_import(request, import_id)
    form = ConfirmForm(request.POST)
    if not form.is_valid() or form.cleaned_data["upload"] != str(user_import.pk):
        messages.warning(request, user_imports.NOT_CURRENT)
        return redirect("import_users_detail", import_id=user_import.pk)
    # Granting Global admin asks for the password again, as in Add user; nothing is added yet.
    if user_import.names_global_admin and not password_recently_confirmed(request):
        return ask_for_password(request, reverse("import_users_detail", args=[user_import.pk]))
    try:
        user_imports.confirm(user_import, request.user)
    except RuleRefused as refusal:
        messages.warning(request, refusal.reason)
    return redirect("import_users_detail", import_id=user_import.pk)


@never_cache
@login_required
@require_GET
def import_users_file(request: HttpRequest, import_id: object, step: str) -> HttpResponse:
    """The outcome of every row of the check or the addition, as CSV (kept 7 days)."""
    user_import = _get_import(request, import_id)
    if step not in {"check", "result"}:
        raise Http404
    stored = user_import.check_file if step == "check" else user_import.result_file
    ready = (
        user_import.state != UserImport.State.CHECKING
        if step == "check"
        else user_import.state == UserImport.State.ADDED
    )
    if stored is None or not ready or stored.expires_at <= timezone.now():
        messages.info(request, "That file is not ready, or no longer kept.")
        return redirect("import_users_detail", import_id=user_import.pk)
    return files.download_response(stored)


@login_required
@require_GET
def import_users_template(request: HttpRequest) -> HttpResponse:
    """An empty file to fill in: the header and one example row."""
    _require_may_add(request)
    response = HttpResponse(
        files.BYTE_ORDER_MARK + imports.template_csv(), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="add-users-template.csv"'
    return response
