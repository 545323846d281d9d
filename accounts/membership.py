"""The membership workspace's one change: buying the partner action pack (MAPS).

Written like accounts.services: the acting user, the rulebook, one transaction under the
organization's lock, and the audit record in it. A refusal raises roles.rules.RuleRefused after
it is recorded.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.audit import NOWHERE, Origin
from accounts.models import AuditAction, MapsPurchase, User, membership_year
from accounts.services import lock_organization
from roles import rules
from roles.rules import Action


class MapsAlreadyPurchased(Exception):
    """The organization bought MAPS for this membership year already: one purchase a year."""

    def __init__(self, year: int) -> None:
        super().__init__(f"MAPS is already purchased for membership year {year}.")
        self.membership_year = year


def purchase_maps(actor: User, *, origin: Origin = NOWHERE) -> MapsPurchase:
    """Buy MAPS for the actor's organization for the current membership year, once."""
    year = membership_year(timezone.localdate())
    with (
        audit.refusals_recorded(
            actor, action=AuditAction.MAPS_PURCHASED, organization=actor.organization, origin=origin
        ),
        transaction.atomic(),
    ):
        organization = lock_organization(actor.organization_id, actor)
        audit.require(
            rules.can(actor, Action.PURCHASE_MAPS, organization),
            AuditAction.MAPS_PURCHASED,
            membership_year=year,
        )
        purchases = MapsPurchase.objects.in_organization(organization)
        if purchases.filter(membership_year=year).exists():
            raise MapsAlreadyPurchased(year)
        try:
            # In a savepoint: the unique constraint settles a race that the row lock does not
            # prevent (SQLite takes no row locks).
            with transaction.atomic():
                purchase = MapsPurchase.objects.create(
                    organization=organization, membership_year=year, purchased_by=actor
                )
        except IntegrityError as error:
            raise MapsAlreadyPurchased(year) from error
        audit.record(
            actor,
            AuditAction.MAPS_PURCHASED,
            organization=organization,
            after={"membership_year": year},
            origin=origin,
        )
    return purchase
