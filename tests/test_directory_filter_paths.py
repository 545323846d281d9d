"""The directory's filtered pages read the same rows and counts whichever way the matches are
found: all of them known from the capped read (sparse: at most the cap match) or the page walked
on the ordering's index (dense: more than the cap). Each page is compared with the plain
definition, every match sorted and cut into pages, on a small organization with the cap lowered
so that both ways are taken. Runs on SQLite and on PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

from datetime import timedelta
from math import ceil

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.filters import DirectoryFilter
from accounts.models import User
from accounts.views.directory import _ordering
from roles.catalogue import RoleKey
from tests.factories import UserFactory

URL = reverse("directory")
CAP = 20


@pytest.fixture
def crowd(csp):
    """70 more users of the organization: Sales agents most of them (dense), a few Helpdesk
    agents (sparse), some with no role; some invited, some deactivated, some signed in; a
    "Smith" among every kind."""
    now = timezone.now()
    for number in range(70):
        roles = (
            [RoleKey.SALES_AGENT]
            if number % 3
            else [RoleKey.HELPDESK_AGENT]
            if number % 9 == 0
            else []
        )
        user = UserFactory(
            organization=csp.organization,
            first_name=("Ann", "Bob", "Cy", "Dee")[number % 4],
            last_name=f"Smith{number:02}" if number % 5 == 0 else f"Jones{number:02}",
            is_active=number % 11 != 0,
            last_login=None if number % 4 else now - timedelta(days=40 + number),
            roles=roles,
        )
        if number % 7 == 0:
            user.set_unusable_password()
            user.save(update_fields=["password"])


def expected_pages(csp, filters: dict[str, str], sort: str) -> list[list[str]]:
    """Every match in the page's order, cut into pages of 25: what the page must show."""
    filterset = DirectoryFilter(filters, queryset=User.objects.in_organization(csp.organization))
    emails = list(filterset.qs.order_by(*_ordering(sort)).values_list("email", flat=True))
    return [emails[start : start + 25] for start in range(0, len(emails), 25)] or [[]]


FILTERS = [
    {"role": RoleKey.SALES_AGENT, "last_sign_in": "never"},
    {"role": RoleKey.SALES_AGENT},
    {"role": RoleKey.HELPDESK_AGENT},
    {"role": RoleKey.GLOBAL_ADMIN},
    {"role": "none", "q": "smith"},
    {"role": "none"},
    {"status": "pending"},
    {"status": "active", "last_sign_in": "30"},
    {"q": "smith"},
    {"q": "nobody-by-this-name"},
    {"role": RoleKey.SALES_AGENT, "status": "deactivated", "q": "jones"},
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda filters: "&".join(filters.values()))
@pytest.mark.parametrize("sort", ["name", "-name", "email", "-status", "created"])
# With the cap at 20, more matches than it are paged on the ordering's index; at 1,000, every
# filter's matches are all known from the first read and each page is cut from them.
@pytest.mark.parametrize("cap", [CAP, 1000])
def test_every_page_of_the_matches_is_the_plain_sorted_list_cut_in_pages(
    client, csp, crowd, monkeypatch, filters, sort, cap
):
    monkeypatch.setattr("accounts.views.directory.MATCH_COUNT_CAP", cap)
    client.force_login(csp.global_admin)
    pages = expected_pages(csp, filters, sort)
    matches = sum(len(page) for page in pages)

    for number, expected in enumerate(pages, start=1):
        response = client.get(URL, {**filters, "sort": sort, "page": number})

        assert response.status_code == 200
        assert [row.member.email for row in response.context["rows"]] == expected
        page = response.context["page"]
        assert page.has_next() == (number < len(pages))
        if matches > cap:
            assert response.context["count_capped"] == f"{cap:,}"
        else:
            assert response.context["count_capped"] == ""
            assert page.paginator.count == matches
            assert page.paginator.num_pages == max(ceil(matches / 25), 1)


def test_both_ways_are_taken(csp, crowd):
    """The table above covers a dense filter (more matches than the cap) and a sparse one."""
    counts = {
        filters.get("role", "") + filters.get("q", ""): sum(
            len(page) for page in expected_pages(csp, filters, "name")
        )
        for filters in FILTERS
    }
    assert counts[RoleKey.SALES_AGENT] > 25 + CAP
    assert 0 < counts[RoleKey.HELPDESK_AGENT] <= CAP
    assert counts["nonesmith"] > 0


def test_a_page_past_the_last_shows_the_last_under_the_cap(client, csp, crowd, monkeypatch):
    monkeypatch.setattr("accounts.views.directory.MATCH_COUNT_CAP", 1000)
    client.force_login(csp.global_admin)
    last = expected_pages(csp, {"role": RoleKey.SALES_AGENT}, "name")[-1]

    response = client.get(URL, {"role": RoleKey.SALES_AGENT, "page": 99})

    assert [row.member.email for row in response.context["rows"]] == last
