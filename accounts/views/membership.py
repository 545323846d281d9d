"""The membership workspace: benefits, competencies and the partner action pack (MAPS)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts import membership as membership_service
from accounts.audit import Origin
from accounts.forms.membership import MapsPurchaseForm
from accounts.membership import MapsAlreadyPurchased
from accounts.models import Benefit, Competency, MapsPurchase, membership_year
from roles import rules
from roles.rules import Action, RuleRefused


def _current_year() -> int:
    return membership_year(timezone.localdate())


def _workspace_page(request: HttpRequest, form: MapsPurchaseForm) -> HttpResponse:
    """The workspace, for those the rulebook lets in; every list scoped to their organization."""
    rules.require(
        rules.can(request.user, Action.USE_MEMBERSHIP_WORKSPACE), Action.USE_MEMBERSHIP_WORKSPACE
    )
    organization = request.user.organization
    year = form.year
    purchase = (
        MapsPurchase.objects.in_organization(organization)
        .filter(membership_year=year)
        .select_related("purchased_by")
        .first()
    )
    return render(
        request,
        "membership/workspace.html",
        {
            "organization": organization,
            "benefits": Benefit.objects.in_organization(organization),
            "competencies": Competency.objects.in_organization(organization),
            "year": year,
            # The membership year runs from 1 July to 30 June and is named by the year it ends.
            "year_starts": date(year - 1, 7, 1),
            "year_ends": date(year, 6, 30),
            "purchase": purchase,
            "may_purchase": rules.can(request.user, Action.PURCHASE_MAPS, organization),
            "form": form,
        },
    )


@require_GET
@login_required
def membership(request: HttpRequest) -> HttpResponse:
    """Shows the organization's benefits, competencies, and MAPS for this membership year."""
    return _workspace_page(request, MapsPurchaseForm(year=_current_year()))


@login_required
@require_POST
def purchase_maps(request: HttpRequest) -> HttpResponse:
    """Buys MAPS for the current membership year, once the purchase is confirmed.

    The rulebook is asked by the service, which records a refused attempt in the audit trail;
    a form sent without confirmation attempted nothing, and the page it comes back to asks the
    rulebook before showing anything.
    """
    form = MapsPurchaseForm(request.POST, year=_current_year())
    if not form.is_valid():
        return _workspace_page(request, form)
    try:
        purchase = membership_service.purchase_maps(
            request.user, origin=Origin.from_request(request)
        )
    except RuleRefused as refusal:
        refusal.permission = Action.PURCHASE_MAPS  # so the 403 page says who may
        raise
    except MapsAlreadyPurchased as error:
        form.add_error(None, str(error))
        return _workspace_page(request, form)
    messages.success(request, f"MAPS is purchased for membership year {purchase.membership_year}.")
    return redirect("membership")
