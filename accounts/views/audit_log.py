"""Settings > Audit log: the organization's audit trail, filtered, paged, and exported as CSV.

A Global admin reads every event of the organization; a User management admin only the
user-management ones. The rulebook (roles.rules.audit_actions_visible_to) says which, and both
views start from the same scoped, filtered queryset, so the export never shows more than the page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.history import Change, describe_changes, sentences
from accounts.models import AuditAction, AuditEvent, AuditEventQuerySet, AuditOutcome
from accounts.spreadsheet import spreadsheet_cell
from jobs.files import download_response
from jobs.models import RESULT_DAYS, AuditExport
from roles import rules
from roles.rules import Action

PAGE_SIZE = 50


FILTER_FIELDS = ("person", "action", "date_from", "date_to")

# The one date format the filter states (and a date input sends): 05/01 is no guess at a month.
DATE_FORMATS = ["%Y-%m-%d"]

CSV_HEADER = (
    "Time (UTC)",
    "Action",
    "Outcome",
    "Reason",
    "Actor",
    "Target",
    "Before",
    "After",
    "IP address",
    "User agent",
    "Repeated within a minute",
    # Last, so the columns that scripts read keep their places; Before and After stay JSON.
    "Change",
)


class AuditLogFilterForm(forms.Form):
    person = forms.CharField(
        label="Person",
        required=False,
        max_length=200,
        strip=True,
        help_text="Who acted, or to whom: part of a name or email.",
    )
    action = forms.ChoiceField(
        label="Action",
        required=False,
        # Never repeat the value: it may name an action this admin may not see.
        error_messages={"invalid_choice": "Choose one of the listed actions."},
    )
    date_from = forms.DateField(
        label="From",
        required=False,
        input_formats=DATE_FORMATS,
        error_messages={"invalid": "Enter a date as YYYY-MM-DD, such as 2025-07-01."},
    )
    date_to = forms.DateField(
        label="To",
        required=False,
        input_formats=DATE_FORMATS,
        error_messages={"invalid": "Enter a date as YYYY-MM-DD, such as 2025-07-31."},
    )

    def __init__(self, data: QueryDict, *, visible_actions: frozenset[str] | None) -> None:
        super().__init__(data)
        self.fields["action"].choices = [
            ("", "Any action"),
            *(
                (value, label)
                for value, label in AuditAction.choices
                if visible_actions is None or value in visible_actions
            ),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The To date is before the From date.")
        return cleaned

    def filter(self, events: AuditEventQuerySet) -> AuditEventQuerySet:
        """The events that match the (valid) filters, newest first."""
        person, action = self.cleaned_data["person"], self.cleaned_data["action"]
        start, end = self.cleaned_data["date_from"], self.cleaned_data["date_to"]
        if person:
            events = events.filter(
                Q(actor_label__icontains=person) | Q(target_label__icontains=person)
            )
        if action:
            events = events.filter(action=action)
        # Dates are whole days in the viewer's time zone (the page says which), both ends
        # included. The first and last days of the calendar filter nothing: their midnights
        # may not exist in UTC.
        zone = timezone.get_current_timezone()
        if start and start > date.min:
            events = events.filter(created_at__gte=datetime.combine(start, time.min, tzinfo=zone))
        if end and end < date.max - timedelta(days=1):
            next_day = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
            events = events.filter(created_at__lt=next_day)
        return events.order_by("-created_at", "-id")


def _filtered_events(request: HttpRequest) -> tuple[AuditLogFilterForm, AuditEventQuerySet | None]:
    """The filter form, and the events it selects (None while the filters are invalid)."""
    # Asked first: support staff have no organization, so the lookup below would not be scoped.
    rules.require(rules.can(request.user, Action.SEE_AUDIT_LOG), Action.SEE_AUDIT_LOG)
    events = AuditEvent.objects.visible_to(request.user)
    form = AuditLogFilterForm(
        request.GET, visible_actions=rules.audit_actions_visible_to(request.user)
    )
    if not form.is_valid():
        return form, None
    return form, form.filter(events)


def _filter_query(form: AuditLogFilterForm) -> QueryDict:
    """The filters as typed, for the paging and export links (nothing else of the URL)."""
    query = QueryDict(mutable=True)
    for name in FILTER_FIELDS:
        value = form.data.get(name, "")
        if value:
            query[name] = value
    return query


@dataclass(frozen=True)
class LogEntry:
    """One row of the audit log page: the event, and what it changed in words."""

    event: AuditEvent
    changes: list[Change]

    @property
    def refused(self) -> bool:
        return self.event.outcome == AuditOutcome.REFUSED


@never_cache
@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The organization's audit events the actor may read, newest first, filtered and paged."""
    form, events = _filtered_events(request)
    page = Paginator(
        events if events is not None else AuditEvent.objects.none(), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/audit_log.html",
        {
            "form": form,
            "filters": _filter_query(form),
            "filtered": any(form.data.get(name) for name in FILTER_FIELDS),
            "page": page,
            "entries": [LogEntry(event, describe_changes(event)) for event in page],
            "exports": recent_exports(request.user),
        },
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def csv_row(event: AuditEvent) -> list[str]:
    """One audit event as a row of the export, every cell safe to open in a spreadsheet."""
    return [
        spreadsheet_cell(value)
        for value in (
            event.created_at.astimezone(UTC).isoformat(timespec="seconds"),
            event.get_action_display(),
            event.get_outcome_display(),
            event.reason,
            event.actor_label,
            event.target_label,
            _json(event.before),
            _json(event.after),
            event.ip_address,
            event.user_agent,
            event.repeats or "",
            sentences(event),
        )
    ]


@never_cache
@login_required
@require_POST
def audit_log_export(request: HttpRequest) -> HttpResponse:
    """Ask for every event the page shows with the same filters, as CSV: a job writes the file
    (any size), and the page links to it when it is ready."""
    form, events = _filtered_events(request)
    if events is None:
        # The page says what is wrong with the filters, at the field.
        return HttpResponseRedirect(f"{reverse('audit_log')}?{request.GET.urlencode()}")
    from jobs.exports import request_export

    request_export(request.user, _filter_query(form), timezone.get_current_timezone_name())
    messages.success(
        request,
        "The export is being written. It is listed under Your exports when it is ready: "
        "use Refresh.",
    )
    return HttpResponseRedirect(f"{reverse('audit_log')}?{_filter_query(form).urlencode()}")


def _get_export(request: HttpRequest, export_id: object) -> AuditExport:
    """The viewer's own export, or 404: what it holds was decided by their role."""
    rules.require(rules.can(request.user, Action.SEE_AUDIT_LOG), Action.SEE_AUDIT_LOG)
    return get_object_or_404(
        AuditExport.objects.in_organization(request.user.organization).filter(
            requested_by=request.user
        ),
        pk=export_id,
    )


@never_cache
@login_required
@require_GET
def audit_log_export_file(request: HttpRequest, export_id: object) -> HttpResponse:
    """Download a finished export (kept 7 days)."""
    export = _get_export(request, export_id)
    if export.state != AuditExport.State.READY or export.file is None:
        messages.info(request, "That export is not ready, or no longer kept.")
        return HttpResponseRedirect(reverse("audit_log"))
    return download_response(export.file)


def recent_exports(user: object) -> list[AuditExport]:
    return list(
        AuditExport.objects.in_organization(user.organization)
        .filter(requested_by=user, created_at__gt=timezone.now() - timedelta(days=RESULT_DAYS))
        .select_related("file")[:10]
    )
