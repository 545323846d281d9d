"""A directory search finds its matches the way their share of the organization calls for
(accounts.views.directory.match_ids): a word few hold is looked up on its trigram index, one
most hold is walked on an index; a page of a looked-up search with more matches than are
counted is sorted from all of them. Whichever way, the same users on the same pages.

The thresholds are lowered so that a few dozen users make a word "most of the organization".
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import QueryDict
from django.urls import reverse

from accounts.filters import DirectoryFilter
from accounts.models import User
from accounts.search import fold
from accounts.views import directory
from accounts.views.directory import SORTS, Found, match_ids, match_ids_sql
from tests.factories import OrganizationFactory, UserFactory

URL = reverse("directory")


@pytest.fixture
def crowd(csp, monkeypatch):
    """40 users whose email holds "crowd" (named from A on), 60 named Zelda late in the
    alphabet, and the cast: "crowd" is held by most of the first names, "zelda" by none.
    Another organization's 30 users hold both words, and are never found."""
    monkeypatch.setattr(directory, "DENSE_PROBE", 20)
    monkeypatch.setattr(directory, "DENSE_MATCHES", 5)
    monkeypatch.setattr(directory, "MATCH_COUNT_CAP", 10)
    for number in range(40):
        UserFactory(
            organization=csp.organization,
            first_name=f"A{number:02d}",
            last_name="Crowd",
            email=f"a{number:02d}@crowd.test",
        )
    elsewhere = OrganizationFactory(name="Elsewhere")
    for number in range(30):
        UserFactory(
            organization=elsewhere,
            first_name=f"A{number:02d}",
            last_name="Zelda",
            email=f"crowd.zelda{number:02d}@crowd.test",
        )
    for number in range(60):
        UserFactory(
            organization=csp.organization,
            first_name="Zelda",
            last_name=f"Z{number:02d}",
            email=f"zelda.{number:02d}@fabrikam.test",
        )
    return csp


def _filterset(csp, query: str) -> DirectoryFilter:
    users = User.objects.in_organization(csp.organization)
    return DirectoryFilter(QueryDict(query), queryset=users)


def _expected(csp, words: str, key) -> list[str]:
    folded = fold(words).split()
    users = User.objects.in_organization(csp.organization)
    held = [user for user in users if all(word in user.search_text for word in folded)]
    return [user.email for user in sorted(held, key=key)]


def _by_name(user: User):
    return (user.first_name, user.last_name, user.pk)


@pytest.mark.postgresql
@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("q=crowd", Found.WALKED),
        ("q=zelda", Found.SORTED),
        ("q=zelda.0", Found.SORTED),
        ("q=ze", Found.LOOKED_UP),
    ],
)
def test_a_word_most_hold_is_walked_and_one_few_hold_is_looked_up(crowd, query, found):
    ids, how = match_ids(_filterset(crowd, query))

    assert how is found
    expected = set(_filterset(crowd, query).qs.values_list("pk", flat=True))
    assert set(ids) <= expected
    assert len(ids) == min(len(expected), directory.MATCH_COUNT_CAP + 1)


@pytest.mark.postgresql
@pytest.mark.parametrize(("sort", "reverse"), [("name", False), ("-email", True)])
def test_a_looked_up_search_keeps_its_first_matches_in_the_pages_order(crowd, sort, reverse):
    """Sorted, each with its rank: the first matches, in order, from which a page is cut."""
    ordering = directory._ordering(sort)
    ids, how = match_ids(_filterset(crowd, "q=zelda"), ordering)

    assert how is Found.SORTED
    zeldas = User.objects.in_organization(crowd.organization).filter(first_name="Zelda")
    expected = list(zeldas.order_by(*ordering).values_list("pk", flat=True))
    assert ids == expected[: directory.MATCH_COUNT_CAP + 1]


def test_without_a_search_the_planner_chooses(crowd):
    ids, how = match_ids(_filterset(crowd, "status=active"))

    assert how is Found.PLANNED
    assert len(ids) == directory.MATCH_COUNT_CAP + 1


@pytest.mark.postgresql
@pytest.mark.parametrize("query", ["crowd", "zelda"])
def test_only_one_way_is_run(crowd, query):
    """The branch not chosen is never executed: a word most hold builds no trigram bitmap, a
    word few hold walks no index."""
    sql, params = match_ids_sql(_filterset(crowd, f"q={query}"), [query], SORTS["name"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}", params)
        plan = "\n".join(line for (line,) in cursor.fetchall())

    _probe, walked, looked_up = plan.split("One-Time Filter")
    run, skipped = (walked, looked_up) if query == "crowd" else (looked_up, walked)
    assert "(never executed)" in skipped
    assert "(never executed)" not in run
    assert "trgm" not in walked


@pytest.mark.parametrize(
    ("query", "sort", "reverse"),
    [
        ("crowd", "name", False),
        ("zelda", "name", False),
        ("zelda", "-name", True),
        ("zelda", "-email", True),
        ("zelda", "created", False),
        ("fabrikam zelda", "status", False),
        ("zelda", "-status", True),
        ("zelda", "-created", True),
        ("crowd", "-email", True),
        ("ze", "name", False),
    ],
)
@pytest.mark.parametrize("cap", [10, 30, 1000])
def test_every_page_lists_the_matches_in_the_pages_order(
    client, crowd, monkeypatch, query, sort, reverse, cap
):
    """Counted to 10, every page past the first matches (read again); to 30, the first page is
    among them and the others are not; to 1,000, every match is counted."""
    monkeypatch.setattr(directory, "MATCH_COUNT_CAP", cap)
    keys = {
        "name": _by_name,
        "email": lambda user: (user.email, user.pk),
        "created": lambda user: (user.created_at, user.pk),
        # Every match is active: the status sorts as the name.
        "status": _by_name,
    }
    expected = _expected(crowd, query, keys[sort.removeprefix("-")])
    if reverse:
        expected.reverse()
    client.force_login(crowd.global_admin)

    listed = []
    for number in (1, 2, 3):
        response = client.get(URL, {"q": query, "sort": sort, "page": number})
        assert response.status_code == 200
        listed += [member.email for member in response.context["page"]]
        if not response.context["page"].has_next():
            break

    assert listed == expected


@pytest.mark.parametrize(
    "more",
    [
        {},
        {"sort": "-name", "page": "2"},
        {"per_page": "100", "role": "none"},
        {"status": "active", "last_sign_in": "never", "sort": "-created"},
    ],
)
@pytest.mark.parametrize("query", ["crowd", "zelda", "zelda.0", "ze"])
def test_a_search_page_stays_within_six_queries(
    client, crowd, django_assert_max_num_queries, query, more
):
    client.force_login(crowd.global_admin)
    client.get(URL, {"q": "zelda"})

    with django_assert_max_num_queries(6):
        assert client.get(URL, {"q": query, **more}).status_code == 200
