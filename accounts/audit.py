"""Writing the audit trail: every change and every refused attempt (DOMAIN.md, "Audit").

Service functions call record() inside their transaction, so a change without its record
cannot happen, and wrap themselves in refusals_recorded() so a refusal is recorded too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accounts.models import AuditEvent, AuditOutcome, PartnerOrganization, User
from roles.rules import Decision, RuleRefused

if TYPE_CHECKING:
    from django.http import HttpRequest


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the audit trail."""

    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> Origin:
        return cls(
            ip_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
        )


NOWHERE = Origin()


def _label(user: User | None) -> str:
    return str(user)[:500] if user is not None else ""


def record(
    actor: User | None,
    action: str,
    *,
    organization: PartnerOrganization | None,
    target: User | None = None,
    target_label: str = "",
    before: dict | None = None,
    after: dict | None = None,
    origin: Origin = NOWHERE,
    outcome: str = AuditOutcome.DONE,
    reason: str = "",
    actor_label: str = "",
) -> AuditEvent:
    """Write one audit event: who did what to whom, before and after, from where."""
    return AuditEvent.objects.create(
        organization=organization,
        action=action,
        outcome=outcome,
        reason=reason,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor_label or _label(actor),
        target=target if target is not None and target.pk else None,
        target_label=target_label or _label(target),
        before=before or {},
        after=after or {},
        ip_address=origin.ip_address,
        user_agent=origin.user_agent,
    )


@contextmanager
def refusals_recorded(
    actor: User,
    *,
    organization: PartnerOrganization | None,
    target: User | None = None,
    target_label: str = "",
    origin: Origin = NOWHERE,
) -> Iterator[None]:
    """Record a RuleRefused raised inside as a refused attempt, then let it go on.

    Put it outside the service's transaction: the refusal is recorded after the rollback, in the
    caller's transaction or in autocommit.
    """
    try:
        yield
    except RuleRefused as refusal:
        refusal.audit_context = {
            "actor": actor,
            "organization": organization,
            "target": target,
            "target_label": target_label,
            "origin": origin,
        }
        record_refusal(refusal)
        raise


def record_refusal(refusal: RuleRefused) -> AuditEvent:
    """Record a refused attempt. Callers that rolled back the first record (the Django admin
    wraps its views in a transaction) record it again with this."""
    context = refusal.audit_context
    actor, target = context["actor"], context["target"]
    # Either may have been deleted by a concurrent request; the labels still say who it was.
    existing = set(
        User.objects.filter(
            pk__in=[u.pk for u in (actor, target) if u is not None and u.pk]
        ).values_list("pk", flat=True)
    )
    return record(
        actor if actor.pk in existing else None,
        refusal.action,
        organization=context["organization"],
        target=target if target is not None and target.pk in existing else None,
        target_label=context["target_label"] or _label(target),
        actor_label=_label(actor),
        after=refusal.detail,
        origin=context["origin"],
        outcome=AuditOutcome.REFUSED,
        reason=refusal.reason,
    )


def require(decision: Decision, action: str, **detail: object) -> None:
    """Raise RuleRefused, naming the attempted action, unless the rulebook's decision allows."""
    if not decision:
        raise RuleRefused(decision.reason, action=action, detail=detail)
