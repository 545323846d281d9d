"""Directory search: partial, case- and accent-insensitive, on name and email."""

from datetime import date

import pytest

from accounts.models import User, membership_year
from accounts.search import fold
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Zoë  Müller", "zoe muller"),
        ("JOSÉ ÁLVAREZ", "jose alvarez"),
        ("Søren Madsen", "soren madsen"),
        ("Małgorzata Wiśniewska", "malgorzata wisniewska"),
        ("Ömer Y\u0131lmaz", "omer yilmaz"),
        ("Straße", "strasse"),
        ("".join(chr(ord(c) + 0xFEE0) for c in "Wide"), "wide"),  # full-width letters
        ("  spaced\tout\n", "spaced out"),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


@pytest.fixture
def people(csp):
    return {
        "zoe": UserFactory(
            organization=csp.organization,
            first_name="Zoë",
            last_name="Müller",
            email="zoe.muller@contoso.example",
        ),
        "jose": UserFactory(
            organization=csp.organization,
            first_name="José",
            last_name="Álvarez",
            email="j.alvarez@contoso.example",
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zoe", {"zoe"}),
        ("MÜLLER", {"zoe"}),
        ("ller", {"zoe"}),
        ("alvarez jos", {"jose"}),
        ("j.alv", {"jose"}),
        ("@contoso.example zo", {"zoe"}),
        ("nobody", set()),
    ],
)
def test_search_finds_partial_matches_ignoring_case_and_accents(people, query, expected):
    found = set(User.objects.filter(pk__in=[p.pk for p in people.values()]).search(query))

    assert found == {people[name] for name in expected}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ia.garc", {"dotted"}),
        ("maria.garcia@", {"dotted"}),
        ("ia_garc", {"underscored"}),
        ("o'bri", {"apostrophe"}),
        ("obri", {"squeezed", "apostrophe"}),
        ("iagarc", {"squeezed"}),
        ("@fabrikam", {"dotted", "underscored", "squeezed", "apostrophe"}),
        (".ex", set()),
        ("jean-l", {"hyphen"}),
        ("jeanl", set()),
        ("j.p+news@", {"hyphen"}),
        ("o%bri", set()),
        ("ia_garc%", set()),
        ("ia\\garc", set()),
        ("@@", set()),
    ],
)
def test_a_word_with_punctuation_finds_only_those_who_hold_it(csp, query, expected):
    """The squeezed text only narrows (accounts.search.squeeze): "ia.garc" never finds the
    "mariagarcia" that squeezing both would make equal."""
    people = {
        key: UserFactory(
            organization=csp.organization, first_name=first, last_name=last, email=email
        )
        for key, first, last, email in [
            ("dotted", "María", "García", "maria.garcia@fabrikam.test"),
            ("underscored", "Maria", "Garcia", "maria_garcia@fabrikam.test"),
            ("squeezed", "Mariag", "Obrien", "mariagarcia@fabrikam.test"),
            ("apostrophe", "Siobhán", "O'Brien", "s.obrien@fabrikam.test"),
            ("hyphen", "Jean-Luc", "Picard", "j.p+news@starfleet.test"),
        ]
    }
    found = User.objects.in_organization(csp.organization).search(query)

    assert set(found) == {people[name] for name in expected}


def test_an_empty_search_finds_everyone(people):
    assert User.objects.search("  ").count() == User.objects.count()


def test_search_text_follows_edits_saves_and_bulk_writes(csp):
    user = csp.member
    user.first_name = "Åsa"
    user.save(update_fields=["first_name"])
    assert User.objects.search("asa").get() == user

    user.last_name = "Ødegård"
    User.objects.bulk_update([user], ["last_name"])
    assert User.objects.search("odegard").get() == user

    [created] = User.objects.bulk_create(
        [
            User(
                organization=csp.organization,
                first_name="Chloé",
                last_name="Ng",
                email="c@x.example",
            )
        ]
    )
    assert User.objects.search("chloe").get() == created


@pytest.mark.parametrize(
    ("day", "year"),
    [("2026-06-30", 2026), ("2026-07-01", 2027), ("2026-11-23", 2027), ("2027-01-01", 2027)],
)
def test_the_membership_year_runs_from_july_to_june(day, year):
    assert membership_year(date.fromisoformat(day)) == year
