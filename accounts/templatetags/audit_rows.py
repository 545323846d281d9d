"""The audit log's rows and a change in words, written from Python.

`{% change_line change %}` is one change of an event (accounts.history.Change) as a person
reads it, each value in its own <bdi> (a right-to-left name must not reorder the sentence):
"Roles: + Sales agent, (minus) Billing admin", "Email: from a@x to b@x". A user's history and the
audit log show it; `{% audit_rows entries %}` is the log's table rows. A page of the log shows
fifty events with their changes: drawn by the template engine, that loop was half the page's
time (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django import template
from django.utils.safestring import SafeString, mark_safe

from accounts.history import Change
from accounts.models import AuditAction, AuditOutcome
from partnerhub.markup import fill, joined
from partnerhub.templatetags.when import when

if TYPE_CHECKING:
    from accounts.views.audit_log import LogEntry

register = template.Library()

NOTHING = mark_safe('<span class="text-body-secondary">—</span>')


@register.simple_tag
def change_line(change: Change) -> SafeString:
    if change.is_difference:
        items = [fill("+&nbsp;<bdi>{}</bdi>", item) for item in change.added] + [
            fill("&minus;&nbsp;<bdi>{}</bdi>", item) for item in change.removed
        ]
        words = joined(", ", items)
    elif change.before is not None and change.after is not None:
        words = fill("from <bdi>{}</bdi> to <bdi>{}</bdi>", change.before, change.after)
    elif change.after is not None:
        words = fill("<bdi>{}</bdi>", change.after)
    else:
        words = fill("was <bdi>{}</bdi>", change.before)
    return fill("{}: {}", change.label, words)


def _label(choices: type[AuditAction | AuditOutcome], value: str) -> str:
    """What get_FOO_display() says, from the choices' enum: Django's method builds a dict of
    every choice on each call, twice a row."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


ROW = (
    '<tr role="row" data-testid="audit-event">'
    '<td role="cell" class="text-nowrap tabular" data-label="Time">{}</td>'
    '<td role="cell" class="list-title" data-label="Action">{}</td>'
    '<td role="cell" data-label="Outcome">{}</td>'
    '<td role="cell" data-label="Who"><bdi>{}</bdi></td>'
    '<td role="cell" data-label="To whom">{}</td>'
    '<td role="cell" data-label="Change">{}</td>'
    '<td role="cell" class="text-nowrap" data-label="IP address">{}</td></tr>'
)


def _outcome(entry: LogEntry) -> SafeString:
    event = entry.event
    if not entry.refused:
        return fill(
            '<span class="badge text-bg-secondary">{}</span>', _label(AuditOutcome, event.outcome)
        )
    repeats = reason = ""
    if event.repeats:
        repeats = fill(
            '<div class="small" data-testid="repeats">and {} more time{} within a minute,'
            " until {}</div>",
            event.repeats,
            "" if event.repeats == 1 else "s",
            when(event.last_repeated_at),
        )
    if event.reason:
        reason = fill('<div class="small">Why: <bdi>{}</bdi></div>', event.reason)
    return fill('<span class="badge text-bg-danger">Refused</span>{}{}', repeats, reason)


def _row(entry: LogEntry) -> SafeString:
    event = entry.event
    changes = (
        fill(
            '<ul class="list-unstyled small mb-0">{}</ul>',
            joined("", (fill("<li>{}</li>", change_line(c)) for c in entry.changes)),
        )
        if entry.changes
        else NOTHING
    )
    return fill(
        ROW,
        when(event.created_at),
        _label(AuditAction, event.action),
        _outcome(entry),
        event.actor_label,
        fill("<bdi>{}</bdi>", event.target_label) if event.target_label else NOTHING,
        changes,
        event.ip_address or "—",
    )


@register.simple_tag
def audit_rows(entries: Iterable[LogEntry]) -> SafeString:
    return joined("\n", (_row(entry) for entry in entries))
