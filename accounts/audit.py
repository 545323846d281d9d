"""Writing the audit trail: every change and every refused attempt (DOMAIN.md, "Audit").

Service functions call record() inside their transaction, so a change without its record
cannot happen, and wrap themselves in refusals_recorded() so a refusal is recorded too.

Each organization's events form a hash chain: AuditEvent.save() appends every new event under
the organization's row lock. verify_chains() walks the chains and finds where one was tampered
with, behind the ORM's back, in the database.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, AuditOutcome, PartnerOrganization, User
from roles.rules import Action, Decision, RuleRefused

if TYPE_CHECKING:
    from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind PARTNERHUB_TRUSTED_PROXIES proxies the
    address the outermost one saw, taken from X-Forwarded-For counting from the right (the
    left part is whatever the client wrote)."""
    address = request.META.get("REMOTE_ADDR") or None
    proxies = getattr(settings, "PARTNERHUB_TRUSTED_PROXIES", 0)
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        # Fewer addresses than proxies: the request did not come through them all; keep ours.
        if len(forwarded) >= proxies and _is_ip_address(forwarded[-proxies]):
            address = forwarded[-proxies]
    return address


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the audit trail."""

    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> Origin:
        return cls(
            ip_address=client_address(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
        )


NOWHERE = Origin()


def _label(user: User | None) -> str:
    return str(user) if user is not None else ""


def _fit(label: str) -> str:
    # A label may be what someone typed (a refused CSV row's email): no NUL byte, which
    # PostgreSQL refuses in text, and no longer than the column.
    return label.replace("\x00", "")[:500]


def record(actor: User | None, action: str, **fields: Any) -> AuditEvent:
    """Write one audit event: who did what to whom, before and after, from where (the fields
    of unsaved_event).

    Saving appends it to its organization's hash chain (AuditEvent.save), taking the
    organization's row lock: services hold it already; refusals, recorded after the rollback,
    take it again.
    """
    event = unsaved_event(actor, action, **fields)
    event.save(force_insert=True)
    return event


def unsaved_event(
    actor: User | None,
    action: str,
    *,
    organization: PartnerOrganization | None,
    target: User | None = None,
    target_label: str = "",
    **fields: Any,
) -> AuditEvent:
    """The event record() writes, not yet written. `fields` as event_values takes them."""
    target_label = target_label or _label(target)
    target = target if target is not None and target.pk else None
    event = AuditEvent(
        **event_values(
            actor,
            action,
            organization=organization,
            target_id=target.pk if target is not None else None,
            target_label=target_label,
            **fields,
        )
    )
    # The related objects the caller has, kept on the event as its arguments were before.
    event.organization = organization
    event.actor = actor if actor is not None and actor.pk else None
    event.target = target
    return event


def event_values(
    actor: User | None,
    action: str,
    *,
    organization: PartnerOrganization | None,
    target_id: int | None = None,
    target_label: str = "",
    before: dict | None = None,
    after: dict | None = None,
    origin: Origin = NOWHERE,
    outcome: str = AuditOutcome.DONE,
    reason: str = "",
    actor_label: str = "",
    public_id: uuid.UUID | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """A new event's fields as plain values (by attname): who did what to whom, before and
    after, from where. unsaved_event() makes an event of them; record_batch_values() writes
    many without a model instance each. `target_label` is what str() of the target says (an
    import's new users are known by their values, not instances); public_id and created_at,
    when not given, are new."""
    return {
        "public_id": public_id or uuid.uuid4(),
        "created_at": created_at or timezone.now(),
        "organization_id": organization.pk if organization is not None else None,
        "action": action,
        "outcome": outcome,
        "reason": reason,
        "actor_id": actor.pk if actor is not None and actor.pk else None,
        "actor_label": _fit(actor_label or _label(actor)),
        "target_id": target_id,
        "target_label": _fit(target_label),
        "before": before or {},
        "after": after or {},
        "ip_address": origin.ip_address,
        "user_agent": origin.user_agent,
    }


def record_batch_values(events: list[dict[str, Any]]) -> list[int]:
    """Many new events of one organization, given as event_values() (a CSV import's chunk),
    appended to its hash chain in a few queries (AuditEventQuerySet.append_values_to_chain,
    under the organization's row lock): the chain and the rows record() would write, without
    a model instance per event. Returns their ids."""
    return AuditEvent.objects.append_values_to_chain(events)


@contextmanager
def refusals_recorded(
    actor: User,
    *,
    action: str,
    organization: PartnerOrganization | None,
    target: User | None = None,
    target_label: str = "",
    origin: Origin = NOWHERE,
) -> Iterator[None]:
    """Record a RuleRefused raised inside as a refused attempt, then let it go on.

    `action` is what the service attempts: a refusal that names no action of its own (the
    actor's account gone under the lock) is recorded as an attempt at it. Put it outside the
    service's transaction: the refusal is recorded after the rollback, in the caller's
    transaction or in autocommit.
    """
    try:
        yield
    except RuleRefused as refusal:
        refusal.action = refusal.action or action
        refusal.audit_context = {
            "actor": actor,
            "organization": organization,
            "target": target,
            "target_label": target_label,
            "origin": origin,
        }
        record_refusal(refusal)
        raise


def record_refusal(refusal: RuleRefused) -> AuditEvent | None:
    """Record a refused attempt raised by a service (refusals_recorded). Callers that rolled
    back the first record (the Django admin wraps its views in a transaction) record it again
    with this."""
    context = refusal.audit_context
    actor, target = context["actor"], context["target"]
    # Either may have been deleted by a concurrent request; the labels still say who it was.
    existing = set(
        User.objects.filter(
            pk__in=[u.pk for u in (actor, target) if u is not None and u.pk]
        ).values_list("pk", flat=True)
    )
    return record_refused_attempt(
        actor if actor.pk in existing else None,
        refusal.action,
        refusal.reason,
        organization=context["organization"],
        target=target if target is not None and target.pk in existing else None,
        target_label=context["target_label"] or _label(target),
        actor_label=_label(actor),
        detail=refusal.detail,
        origin=context["origin"],
    )


# Identical refused attempts by one person within this window are one event with a count, so a
# script repeating a refused request cannot flood the trail (docs/security.md).
REPEAT_WINDOW = timedelta(minutes=1)


def _repeat_key(
    actor_label: str,
    action: str,
    organization: PartnerOrganization | None,
    target_label: str,
    reason: str,
    detail: dict,
) -> str:
    attempt = json.dumps(
        [
            actor_label,
            action,
            organization.pk if organization else None,
            target_label,
            reason,
            detail,
        ],
        sort_keys=True,
        default=str,
    )
    return "audit-refusal:" + hashlib.sha256(attempt.encode("utf-8")).hexdigest()


def record_refused_attempt(
    actor: User | None,
    action: str,
    reason: str,
    *,
    organization: PartnerOrganization | None,
    target: User | None = None,
    target_label: str = "",
    actor_label: str = "",
    detail: dict | None = None,
    origin: Origin = NOWHERE,
) -> AuditEvent | None:
    """Record a refused attempt: every refusal, from a service, a page, a form or the CSV
    check, is written here. The first of identical attempts within REPEAT_WINDOW is an event;
    the others count on it (AuditEvent.repeats), shared by every app server through the cache.
    Past REFUSALS_PER_WINDOW events by one person within the window, the rest count on one
    event that says so. Returns the new event, or None when the attempt was counted on an
    earlier one."""
    if not action:
        raise ValueError("A refused attempt names the action that was attempted.")
    detail = detail or {}
    actor_label, target_label = (
        _fit(actor_label or _label(actor)),
        _fit(target_label or _label(target)),
    )
    key = _repeat_key(actor_label, action, organization, target_label, reason, detail)
    if _counted_on_earlier(key):
        return None
    # A person's budget is theirs across organizations (support staff act in all of them); an
    # API client's label ("API client <name>") is unique only in its organization, so its
    # budget is its organization's: another organization's client of the same name must
    # neither spend it nor absorb these refusals.
    person = actor is not None and getattr(actor, "pk", None) is not None
    scope = None if person else organization
    if not _within_budget(actor_label, scope):
        # A script walking the directory, one refusal per user: one event for the rest.
        detail = {"first": {"action": action, "target": target_label, "reason": reason}}
        target, target_label, reason = None, "", TOO_MANY_REFUSALS
        key = _repeat_key(actor_label, "", scope, "", reason, {})
        if _counted_on_earlier(key):
            return None
    event = record(
        actor,
        action,
        organization=organization,
        target=target,
        target_label=target_label,
        actor_label=actor_label,
        after=detail,
        origin=origin,
        outcome=AuditOutcome.REFUSED,
        reason=reason,
    )
    cache.set(key, str(event.public_id), timeout=int(REPEAT_WINDOW.total_seconds()))
    return event


# How many refused attempts of one person are events of their own within REPEAT_WINDOW.
REFUSALS_PER_WINDOW = 60
TOO_MANY_REFUSALS = (
    "More refused attempts within a minute than are recorded one by one: the others of this "
    "minute are counted on this event."
)


def _counted_on_earlier(key: str) -> bool:
    earlier = cache.get(key)
    # The earlier event may have been rolled back with its transaction: then this is the first.
    return earlier is not None and AuditEvent.objects.count_repeat(earlier) > 0


def _within_budget(actor_label: str, scope: PartnerOrganization | None) -> bool:
    who = json.dumps([actor_label, scope.pk if scope else None])
    key = "audit-refusal-budget:" + hashlib.sha256(who.encode("utf-8")).hexdigest()
    cache.add(key, 0, timeout=int(REPEAT_WINDOW.total_seconds()))
    try:
        used = cache.incr(key)  # atomic in Redis: every app server draws on one budget
    except ValueError:  # the window ended between add and incr
        used = 1
    return used <= REFUSALS_PER_WINDOW


# What a page refused by the rulebook's permission was an attempt at, in the audit trail's words.
AUDIT_ACTION_FOR_PERMISSION: dict[Action, str] = {
    Action.SEE_DIRECTORY: AuditAction.DIRECTORY_OPENED,
    Action.SEARCH_DIRECTORY: AuditAction.DIRECTORY_OPENED,
    Action.ADD_USER: AuditAction.USER_CREATED,
    Action.EDIT_USER: AuditAction.USER_EDITED,
    Action.DEACTIVATE_USER: AuditAction.USER_DEACTIVATED,
    Action.REACTIVATE_USER: AuditAction.USER_REACTIVATED,
    Action.DELETE_USER: AuditAction.USER_DELETED,
    Action.RESET_PASSWORD: AuditAction.PASSWORD_RESET,
    Action.RESET_SECOND_FACTOR: AuditAction.SECOND_FACTOR_RESET,
    Action.MANAGE_GLOBAL_ADMIN: AuditAction.ROLES_CHANGED,
    Action.MANAGE_DIRECTORY_ROLES: AuditAction.ROLES_CHANGED,
    Action.MANAGE_MEMBERSHIP_ROLES: AuditAction.ROLES_CHANGED,
    Action.USE_MEMBERSHIP_WORKSPACE: AuditAction.MEMBERSHIP_OPENED,
    Action.PURCHASE_MAPS: AuditAction.MAPS_PURCHASED,
    Action.SEE_AUDIT_LOG: AuditAction.AUDIT_LOG_OPENED,
    Action.MANAGE_API_CLIENTS: AuditAction.API_CLIENTS_OPENED,
}


def record_page_refusal(request: HttpRequest, refusal: RuleRefused) -> AuditEvent | None:
    """Record a page the rulebook refused (accounts.middleware.RefusalAuditMiddleware): who
    asked for what, which page, from where. Nobody signed in is never refused a page (they are
    sent to sign in), so there is always an actor."""
    actor = request.user
    action = refusal.action or AUDIT_ACTION_FOR_PERMISSION[refusal.permission]
    refusal.audit_context = {
        "actor": actor,
        "organization": actor.organization,
        "target": refusal.target,
        "target_label": "",
        "origin": Origin.from_request(request),
    }
    return record_refused_attempt(
        actor,
        action,
        refusal.reason,
        organization=actor.organization,
        target=refusal.target,
        detail={**refusal.detail, "page": page_of(request)},
        origin=Origin.from_request(request),
    )


ADMIN_REFUSED = "The support admin does not allow this."


def record_admin_refusal(request: HttpRequest, refusal: PermissionDenied) -> AuditEvent | None:
    """Record what the Django admin itself refused a signed-in person (a model permission it
    lacks: deleting an audit event, an organization): an attempt in the support admin."""
    return record_refused_attempt(
        request.user,
        AuditAction.SUPPORT_ADMIN_USED,
        str(refusal) or ADMIN_REFUSED,
        organization=request.user.organization,
        detail={"page": page_of(request)},
        origin=Origin.from_request(request),
    )


def page_of(request: HttpRequest) -> str:
    """The page asked for, as an event's detail records it: without NUL (an address may hold
    %00, which PostgreSQL cannot store in the event's JSON), no longer than 300 characters."""
    return f"{request.method} {request.path}".replace("\x00", "")[:300]


def record_form_refusals(form: forms.BaseForm, actor: User | None, origin: Origin) -> None:
    """Record the rulebook's refusals a form found among its errors (FieldRefused), once the
    form is validated: a refused role ticked in a crafted request, say."""
    for errors in form.errors.as_data().values():
        for error in errors:
            if isinstance(error, FieldRefused):
                if actor is None:
                    raise TypeError(f"{type(form).__name__} refused, but knows no actor.")
                record_refused_attempt(
                    actor,
                    error.action,
                    error.message,
                    organization=error.organization,
                    target=error.target,
                    target_label=error.target_label,
                    detail=error.detail,
                    origin=origin,
                )


class FieldRefused(ValidationError):
    """A form field's value that the rulebook refuses: an error next to the field, and a refused
    attempt for the audit trail (record_form_refusals, run by RefusalsRecordedForm)."""

    def __init__(
        self,
        reason: str,
        *,
        action: str,
        organization: PartnerOrganization | None,
        target: User | None = None,
        target_label: str = "",
        **detail: object,
    ) -> None:
        super().__init__(reason, code="refused")
        self.action = action
        self.organization = organization
        self.target = target
        self.target_label = target_label
        self.detail = detail


class RefusalsRecordedForm(forms.BaseForm):
    """A form whose rulebook refusals (FieldRefused) are recorded when it is validated, as
    attempts by `refusals_actor` from `refusals_origin`, which the form sets from what its view
    gives it."""

    refusals_actor: User | None = None
    refusals_origin: Origin = NOWHERE

    def full_clean(self) -> None:
        super().full_clean()
        if self._errors:
            record_form_refusals(self, self.refusals_actor, self.refusals_origin)


def require(decision: Decision, action: str, **detail: object) -> None:
    """Raise RuleRefused, naming the attempted action, unless the rulebook's decision allows."""
    if not decision:
        raise RuleRefused(decision.reason, action=action, detail=detail)


# Checking the hash chains

HASH_MISMATCH = "hash does not match its content"
LINK_MISMATCH = "previous_hash does not match the event before"
SEQUENCE_GAP = "sequence gap"


@dataclass(frozen=True)
class ChainBreak:
    """The first event of a chain that fails a check, and which checks it fails."""

    organization: PartnerOrganization | None
    event: AuditEvent
    problems: tuple[str, ...]

    def __str__(self) -> str:
        where = str(self.organization) if self.organization else "no organization"
        return (
            f"{where}: event {self.event.public_id} (sequence {self.event.sequence}): "
            + "; ".join(self.problems)
        )


@dataclass
class ChainReport:
    events: int = 0
    chains: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks


def _problems(event: AuditEvent, previous: AuditEvent | None) -> tuple[str, ...]:
    problems = []
    if event.content_hash() != event.hash:
        problems.append(HASH_MISMATCH)
    if event.sequence != (previous.sequence + 1 if previous else 1):
        problems.append(SEQUENCE_GAP)
    if event.previous_hash != (previous.hash if previous else ""):
        problems.append(LINK_MISMATCH)
    return tuple(problems)


def verify_chains(
    organization: PartnerOrganization | None = None, *, chunk_size: int = 2000
) -> ChainReport:
    """Recompute every event's hash and link, chain by chain; report the first break of each.

    Without an organization, every chain (the one of events without an organization included).
    Events are streamed in chain order, so memory stays bounded however long the trail.
    """
    events = AuditEvent.objects.select_related("organization").order_by(
        "organization_id", "sequence"
    )
    if organization is not None:
        events = events.filter(organization=organization)
    report = ChainReport()
    previous: AuditEvent | None = None
    broken = False
    for event in events.iterator(chunk_size=chunk_size):
        if previous is None or event.organization_id != previous.organization_id:
            report.chains += 1
            previous, broken = None, False
        report.events += 1
        if not broken:
            problems = _problems(event, previous)
            if problems:
                report.breaks.append(ChainBreak(event.organization, event, problems))
                # Past the first break every link is suspect; one finding per chain.
                broken = True
        previous = event
    return report
