"""The Roles page: each role, what it unlocks, how many in the organization hold it, and who.

Partner Center's "filter on Global admin", for every role: each role links to the directory
filtered by it. Two queries whatever the organization's size: the holders counted per role (up
to the directory's cap for a filter's matches, "1,000+" beyond), and the first few holders of
each role by name (a window numbering each role's holders).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from accounts.filters import NO_ROLE
from accounts.views.directory import MATCH_COUNT_CAP
from roles import rules
from roles.catalogue import CATALOGUE, RoleSpec
from roles.models import Role, RoleAssignment
from roles.rules import Action

# A role held by at most this many is shown with their names; the directory lists them all.
NAMED_HOLDERS = 5


class CappedCount(str):
    """How many hold a role when more than the cap do: "1,000+", plural to the template's
    pluralize (which asks float())."""

    def __new__(cls, cap: int) -> CappedCount:
        count = super().__new__(cls, f"{cap:,}+")
        count.at_least = cap + 1
        return count

    def __float__(self) -> float:
        return float(self.at_least)


@dataclass
class RoleSummary:
    spec: RoleSpec
    available: bool
    count: int | CappedCount = 0
    holders: list[str] = field(default_factory=list)
    directory_url: str = ""


@require_GET
@login_required
def roles_overview(request: HttpRequest) -> HttpResponse:
    """Every role of the catalogue with its holders in the acting user's organization."""
    rules.require(rules.can(request.user, Action.SEE_DIRECTORY), Action.SEE_DIRECTORY)
    organization = request.user.organization
    # The assignments' own organization: each role's holders counted on its range of the
    # (organization, role) index alone, without reading the table, up to the directory's cap
    # for a filter's matches (where the count leads). Counting the ids joined to the roles read
    # every assignment of the organization in the table (130,000 in an organization of 100,000:
    # 150 ms on a busy machine); every holder on the index alone, 30 ms.
    assignments = RoleAssignment.objects.in_organization(organization)
    capped_count = RawSQL(
        "SELECT COUNT(*) FROM (SELECT 1 FROM roles_roleassignment held"
        " WHERE held.organization_id = %s AND held.role_id = roles_role.id LIMIT %s) AS capped",
        (organization.pk, MATCH_COUNT_CAP + 1),
    )
    counts = Counter(
        {
            key: holders if holders <= MATCH_COUNT_CAP else CappedCount(MATCH_COUNT_CAP)
            for key, holders in Role.objects.annotate(holders=capped_count)
            .order_by()
            .values_list("key", "holders")
            if holders
        }
    )
    # Names only for the roles a few people hold (who are the Global admins?); a role held by
    # many is a count that leads to the directory. Sorting every holder of every role by name
    # to name the first few costs half a second in an organization of 80,000.
    few = [
        key
        for key, count in counts.items()
        if not isinstance(count, CappedCount) and count <= NAMED_HOLDERS
    ]
    holders: dict[str, list[str]] = defaultdict(list)
    named = (
        assignments.filter(role__key__in=few)
        .order_by("role__position", "user__first_name", "user__last_name", "user")
        .values_list("role__key", "user__first_name", "user__last_name")
    )
    for key, first_name, last_name in named if few else ():
        holders[key].append(f"{first_name} {last_name}".strip())
    directory = reverse("directory")
    summaries = [
        RoleSummary(
            spec=spec,
            available=organization.is_csp or not spec.csp_only,
            count=counts[spec.key],
            holders=holders[spec.key],
            directory_url=f"{directory}?{urlencode({'role': spec.key})}",
        )
        for spec in CATALOGUE
    ]
    return render(
        request,
        "accounts/roles.html",
        {
            "summaries": summaries,
            "no_role_url": f"{directory}?{urlencode({'role': NO_ROLE})}",
        },
    )
