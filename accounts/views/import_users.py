"""Settings > User management > Add users from CSV: choose a file, read the dry run, confirm,
download the outcome of every row.

App servers are stateless (several behind a load balancer, no shared disk): the uploaded text
waits in the session between the dry run and the confirmation (at most imports.MAX_BYTES), and
is checked again on confirmation, since the directory and the admin's roles may have changed.
The result file waits in the session too, until the next upload replaces it.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import imports
from accounts.audit import Origin
from accounts.forms.import_users import ConfirmForm, UploadForm
from accounts.invitations import base_url_for_email
from accounts.reauth import ask_for_password, password_recently_confirmed
from partnerhub.request_size import MULTIPART_ENVELOPE_BYTES, accepts_body_up_to
from roles import rules
from roles.rules import Action

UPLOAD = "user-import"  # the checked file: id, name, text, the dry run's summary
RESULT = "user-import-result"  # the last outcome file: name and CSV text
DONE = "user-import-done"  # the import's summary, for the page after it

NO_UPLOAD = "There is no checked file to add: choose a CSV file first."
NOT_CURRENT = (
    "Nothing was added: that check is no longer current (a newer file was checked, perhaps in "
    "another tab). Read this check, then confirm it."
)
RACE = (
    "Nothing was added: some of these emails were taken while the users were being added. "
    "Check the file again."
)


def _require_may_add(request: HttpRequest) -> None:
    # Every view and method: the hidden link is a courtesy, this is the control.
    rules.require(rules.can(request.user, Action.ADD_USER), Action.ADD_USER)


def _keep_result(request: HttpRequest, name: str, report: imports.ImportReport) -> None:
    stem = name.rsplit(".", 1)[0] or "users"
    suffix = "check" if report.dry_run else "result"
    request.session[RESULT] = {"name": f"{stem}-{suffix}.csv", "csv": report.result_csv}


# The file's limit, checked from the request's length before the body is read; the form then
# checks the file's own size (the envelope's few bytes) and says so next to the field.
@accepts_body_up_to(imports.MAX_BYTES + MULTIPART_ENVELOPE_BYTES)
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def import_users(request: HttpRequest) -> HttpResponse:
    """Choose a CSV file; sending it checks every row (the dry run) and writes nothing."""
    _require_may_add(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["file"]
        report = imports.dry_run(
            text,
            actor=request.user,
            organization=request.user.organization,
            origin=Origin.from_request(request),
        )
        request.session[UPLOAD] = {
            "id": uuid.uuid4().hex,
            "name": form.file_name,
            "text": text,
            "summary": report.summary(),
        }
        _keep_result(request, form.file_name, report)
        return redirect("import_users_review")
    return render(
        request,
        "accounts/import_users/upload.html",
        {
            "form": form,
            "max_rows": f"{imports.MAX_ROWS:,}",
            "header": ",".join(imports.HEADER),
            "roles": imports.role_names_for(request.user, request.user.organization),
        },
    )


@never_cache
@login_required
@require_GET
def import_users_review(request: HttpRequest) -> HttpResponse:
    """The dry run: every row ready to add or with its errors; Add confirms."""
    _require_may_add(request)
    upload = request.session.get(UPLOAD)
    if not upload:
        messages.info(request, NO_UPLOAD)
        return redirect("import_users")
    summary = upload["summary"]
    form = ConfirmForm(initial={"upload": upload["id"]}, rows=summary["valid"])
    form.helper.form_action = reverse("import_users_confirm")
    return render(
        request,
        "accounts/import_users/review.html",
        {"form": form, "summary": summary, "file_name": upload["name"]},
    )


@never_cache
@login_required
@require_POST
def import_users_confirm(request: HttpRequest) -> HttpResponse:
    """Checks the kept file again and adds its valid rows, in one transaction."""
    _require_may_add(request)
    upload = request.session.get(UPLOAD)
    if not upload:
        messages.info(request, NO_UPLOAD)
        return redirect("import_users")
    form = ConfirmForm(request.POST)
    if not form.is_valid() or form.cleaned_data["upload"] != upload["id"]:
        messages.warning(request, NOT_CURRENT)
        return redirect("import_users_review")
    # Granting Global admin asks for the password again, as in Add user; nothing is added yet.
    if imports.names_global_admin(upload["text"]) and not password_recently_confirmed(request):
        return ask_for_password(request, reverse("import_users_review"))
    try:
        report = imports.import_users(
            upload["text"],
            actor=request.user,
            organization=request.user.organization,
            base_url=base_url_for_email(request),
            origin=Origin.from_request(request),
        )
    except IntegrityError:
        messages.error(request, RACE)
        return redirect("import_users_review")
    except imports.BadFile as bad:
        # Checked at upload; only a change of the limits since then (a deploy) gets here.
        del request.session[UPLOAD]
        messages.error(request, f"Nothing was added: {bad}")
        return redirect("import_users")
    del request.session[UPLOAD]
    _keep_result(request, upload["name"], report)
    request.session[DONE] = {**report.summary(), "file_name": upload["name"]}
    return redirect("import_users_result")


@never_cache
@login_required
@require_GET
def import_users_result(request: HttpRequest) -> HttpResponse:
    """What the import did: how many users were added and invited, the rows not added."""
    _require_may_add(request)
    summary = request.session.get(DONE)
    if not summary:
        return redirect("import_users")
    return render(request, "accounts/import_users/result.html", {"summary": summary})


def _csv_download(text: str, name: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    safe_name = "".join(c for c in name if c.isalnum() or c in "-_.") or "users.csv"
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    return response


@never_cache
@login_required
@require_GET
def import_users_result_csv(request: HttpRequest) -> HttpResponse:
    """The outcome of every row of the last check or import, as CSV."""
    _require_may_add(request)
    result: dict[str, Any] | None = request.session.get(RESULT)
    if not result:
        messages.info(request, NO_UPLOAD)
        return redirect("import_users")
    # The byte-order mark tells spreadsheets the file is UTF-8 (names with accents).
    return _csv_download("\ufeff" + result["csv"], result["name"])


@login_required
@require_GET
def import_users_template(request: HttpRequest) -> HttpResponse:
    """An empty file to fill in: the header and one example row."""
    _require_may_add(request)
    return _csv_download("\ufeff" + imports.template_csv(), "add-users-template.csv")
