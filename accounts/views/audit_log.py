"""Settings > Audit log: the organization's audit trail, filtered, paged, and exported as CSV.

A Global admin reads every event of the organization; a User management admin only the
user-management ones. The rulebook (roles.rules.audit_actions_visible_to) says which, and both
views start from the same scoped, filtered queryset, so the export never shows more than the page.

At a million events (decisions, also in docs/architecture.md):
- Keyset paging: Older and Newer links name the last (or first) event shown, and the next page
  is the events past it in the log's order (created_at, id), read from the (organization,
  created_at, id) index: page 10,000 costs what page 1 does. No OFFSET, no page numbers.
- The count is capped: up to COUNT_CAP events are counted exactly, more read "10,000+"; a
  filter's matches up to MATCH_COUNT_CAP, more read "1,000+", as the directory counts them.
- The person filter takes an email and matches that user's id, as actor or as target; a text
  search in every event's labels read the whole log. On PostgreSQL a page of a person's events
  is the union of two ordered, limited ranges, one of the (organization, actor, created_at, id)
  index and one of the (organization, target, created_at, id) one, so a busy Global admin's
  page costs what a quiet person's does.
- The count rides on the page's query (a scalar subquery): the page costs one query less.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Q, Subquery
from django.db.models.expressions import RawSQL
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
from accounts.identity import canonical_email
from accounts.models import AuditAction, AuditEvent, AuditEventQuerySet, AuditOutcome, User
from accounts.spreadsheet import spreadsheet_cell
from jobs.files import download_response
from jobs.models import RESULT_DAYS, AuditExport
from roles import rules
from roles.rules import Action

PAGE_SIZE = 50
# Events counted exactly; beyond, the page says "10,000+" (counting a million costs 180 ms).
COUNT_CAP = 10_000
# A filter's matches (a person, an action, dates), as the directory counts a filter's: up to
# this many; beyond, "1,000+". A person who did a third of the log has ten thousand events on
# each of the two indexes the count merges: 11 ms to count 10,001 of each, 1.6 ms for 1,001.
MATCH_COUNT_CAP = 1_000
# The paging links: the public id of the event the next page starts after.
OLDER, NEWER = "before", "after"


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
        max_length=254,
        strip=True,
        help_text="Who acted, or to whom: their email address.",
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

    def __init__(
        self,
        data: QueryDict,
        *,
        visible_actions: frozenset[str] | None,
        organization_users: models.QuerySet[User],
    ) -> None:
        super().__init__(data)
        self.organization_users = organization_users
        self.fields["action"].choices = [
            ("", "Any action"),
            *(
                (value, label)
                for value, label in AuditAction.choices
                if visible_actions is None or value in visible_actions
            ),
        ]

    def clean_person(self) -> User | None:
        """The user of the organization with this email (any case), by one index lookup."""
        text = self.cleaned_data["person"]
        if not text:
            return None
        try:
            email = canonical_email(text)
        except ValidationError:
            raise ValidationError("Enter the person's email address.") from None
        person = self.organization_users.filter(email=email).only("pk").first()
        if person is None:
            # Events about a deleted user keep their name and email: the date filter and the
            # export find them.
            raise ValidationError(
                "No user of your organization has this email. For someone deleted since, "
                "filter by date or export the log."
            )
        return person

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The To date is before the From date.")
        return cleaned

    def filter(self, events: AuditEventQuerySet, side: str | None = None) -> AuditEventQuerySet:
        """The events that match the (valid) filters, newest first. With a person, `side`
        ("actor" or "target") keeps only the events where they are that one."""
        person, action = self.cleaned_data["person"], self.cleaned_data["action"]
        start, end = self.cleaned_data["date_from"], self.cleaned_data["date_to"]
        if person is not None and side is not None:
            events = events.filter(**{f"{side}_id": person.pk})
        elif person is not None:
            events = events.filter(Q(actor_id=person.pk) | Q(target_id=person.pk))
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


def _valid_form(request: HttpRequest) -> AuditLogFilterForm:
    """The filter form, validated (its errors say what is wrong with the filters)."""
    # Asked first: support staff have no organization, so the lookup below would not be scoped.
    rules.require(rules.can(request.user, Action.SEE_AUDIT_LOG), Action.SEE_AUDIT_LOG)
    form = AuditLogFilterForm(
        request.GET,
        visible_actions=rules.audit_actions_visible_to(request.user),
        organization_users=User.objects.in_organization(request.user.organization),
    )
    form.is_valid()
    return form


def _filtered_events(request: HttpRequest) -> tuple[AuditLogFilterForm, AuditEventQuerySet | None]:
    """The filter form, and the events it selects (None while the filters are invalid)."""
    form = _valid_form(request)
    if form.errors:
        return form, None
    return form, form.filter(AuditEvent.objects.visible_to(request.user))


def _sides(form: AuditLogFilterForm, visible: AuditEventQuerySet) -> list[AuditEventQuerySet]:
    """The filtered events as ranges each read in the log's order from one index, to be merged:
    a person's events as actor and as target (on PostgreSQL), or the events themselves.

    With actor OR target in one query, PostgreSQL found every event of the person on the two
    id indexes, scattered over the table, and sorted them all for one page (56 ms for a Global
    admin who did a third of the log). SQLite takes no ordered, limited parts in a union.
    """
    if (
        form.cleaned_data["person"] is None
        or not connection.features.supports_slicing_ordering_in_compound
    ):
        return [form.filter(visible)]
    return [form.filter(visible, side="actor"), form.filter(visible, side="target")]


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


@dataclass(frozen=True)
class LogPage:
    """One page of the log: its events, newest first, and whether there are more either way."""

    events: list[AuditEvent]
    has_newer: bool
    has_older: bool


def _cursor(request: HttpRequest, name: str) -> UUID | None:
    try:
        return UUID(request.GET[name]) if request.GET.get(name) else None
    except ValueError:
        return None  # a hand-made link: the newest events


def _past(
    events: AuditEventQuerySet, visible: AuditEventQuerySet, cursor: UUID, older: bool
) -> AuditEventQuerySet:
    """The events after (older) or before (newer) the cursor event in the log's order.

    (created_at, id) past the cursor's, written so that the (organization, created_at, id)
    index answers it as one range starting at the cursor: created_at up to the cursor's, and
    the few events of the same instant cut by id. The cursor event is read in the same query,
    and only among the events the actor may read (another organization's id finds nothing).
    """
    cursor_event = visible.filter(public_id=cursor).order_by()
    at = Subquery(cursor_event.values("created_at")[:1])
    pk = Subquery(cursor_event.values("pk")[:1])
    if older:
        return events.filter(created_at__lte=at).filter(Q(created_at__lt=at) | Q(pk__lt=pk))
    return events.filter(created_at__gte=at).filter(Q(created_at__gt=at) | Q(pk__gt=pk))


def _union(parts: list[AuditEventQuerySet]) -> AuditEventQuerySet:
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])


def _capped_count(sides: list[AuditEventQuerySet], cap: int) -> tuple[str, tuple]:
    """How many events match, counting no more than cap + 1: SQL and its parameters.

    Each side is cut at cap + 1 ids (read from its index alone) and the union drops the events
    in both (a person acting on themselves): more than cap in the union exactly when more than
    cap match.
    """
    ids = _union([side.order_by().values("pk")[: cap + 1] for side in sides])
    sql, params = ids.query.sql_with_params()
    # Django's own SQL for the queryset, its values passed as parameters.
    return f"SELECT COUNT(*) FROM ({sql}) AS capped", params  # noqa: S608


def _first(
    sides: list[AuditEventQuerySet], counted: list[AuditEventQuerySet], cap: int, *ordering: str
) -> list[AuditEvent]:
    """The first PAGE_SIZE + 1 events in this order, in one query: their ids picked first, and
    each row carries the capped count of the `counted` events as `matching`.

    Picking ids alone, PostgreSQL reads them from the organization's (created_at, id) index
    without touching the table; asked for whole rows, it preferred the log-wide time index and
    filtered out other organizations' events one by one (20 to 50 ms after another
    organization's burst of events). Each side's first ids come from its own index range.
    """
    ids = _union([side.order_by(*ordering).values("pk")[: PAGE_SIZE + 1] for side in sides])
    return list(
        AuditEvent.objects.filter(pk__in=ids)
        .annotate(matching=RawSQL(*_capped_count(counted, cap)))  # noqa: S611 (Django's SQL)
        .order_by(*ordering)[: PAGE_SIZE + 1]
    )


def log_page(
    request: HttpRequest, sides: list[AuditEventQuerySet], visible: AuditEventQuerySet, cap: int
) -> tuple[LogPage, int | None]:
    """The page the address asks for (the newest events, or those past a cursor) and how many
    events match, counted up to cap (None when the page is empty past a cursor: not counted)."""
    older, newer = _cursor(request, OLDER), _cursor(request, NEWER)
    if newer is not None:
        past = [_past(side, visible, newer, older=False) for side in sides]
        rows = _first(past, sides, cap, "created_at", "id")
        page = LogPage(rows[:PAGE_SIZE][::-1], has_newer=len(rows) > PAGE_SIZE, has_older=True)
    else:
        past = sides if older is None else [_past(side, visible, older, True) for side in sides]
        rows = _first(past, sides, cap, "-created_at", "-id")
        page = LogPage(
            rows[:PAGE_SIZE], has_newer=older is not None, has_older=len(rows) > PAGE_SIZE
        )
    if rows:
        return page, rows[0].matching
    # No event at all, or none past a cursor (a hand-made link, or the events it was past are
    # filtered out since).
    return page, 0 if older is None and newer is None else None


def count_text(sides: list[AuditEventQuerySet], cap: int, counted: int | None = None) -> str:
    """How many events match: exact up to cap, the cap and a "+" beyond ("10,000+ events"):
    the count the page's query brought, or one bounded query."""
    if counted is None:
        with connection.cursor() as cursor:
            cursor.execute(*_capped_count(sides, cap))
            (counted,) = cursor.fetchone()
    if counted > cap:
        return f"{cap:,}+ events"
    return f"{counted:,} event{'' if counted == 1 else 's'}"


def _page_link(filters: QueryDict, name: str, event: AuditEvent) -> str:
    query = filters.copy()
    query[name] = str(event.public_id)
    return f"?{query.urlencode()}"


@never_cache
@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The organization's audit events the actor may read, newest first, filtered and paged."""
    form = _valid_form(request)
    filters = _filter_query(form)
    filtered = any(form.data.get(name) for name in FILTER_FIELDS)
    page, counted = LogPage([], False, False), None
    if not form.errors:
        visible = AuditEvent.objects.visible_to(request.user)
        sides = _sides(form, visible)
        cap = MATCH_COUNT_CAP if filtered else COUNT_CAP
        page, counted = log_page(request, sides, visible, cap)
        count = count_text(sides, cap, counted)
    return render(
        request,
        "accounts/audit_log.html",
        {
            "form": form,
            "filters": filters,
            "filtered": filtered,
            "count_text": "" if form.errors else count,
            "entries": [LogEntry(event, describe_changes(event)) for event in page.events],
            # Past the newest page (or on a cursor that found nothing): a way back to the top.
            "newest_url": f"?{filters.urlencode()}" if page.has_newer else "",
            "newer_url": (
                _page_link(filters, NEWER, page.events[0]) if page.has_newer and page.events else ""
            ),
            "older_url": _page_link(filters, OLDER, page.events[-1]) if page.has_older else "",
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
