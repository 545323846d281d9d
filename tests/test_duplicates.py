"""Possible duplicates of the user being added: same name, a typo away, a +tag email."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import duplicates
from accounts.duplicates import (
    SAME_EMAIL_APART_FROM_TAG,
    SAME_NAME,
    SIMILAR_NAME,
    edit_distance,
    possible_duplicates,
)
from tests.factories import OrganizationFactory, UserFactory


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("john smith", "john smith", 0),
        ("jon smith", "john smith", 1),  # a letter dropped
        ("sara connor", "sarah connor", 1),  # a letter added
        ("jhon smith", "john smith", 1),  # two neighbours swapped
        ("jane smith", "john smith", 3),
        ("", "abc", 3),
        ("abc", "", 3),
        ("kitten", "sitting", 3),
        ("ca", "abc", 3),  # optimal string alignment: no edit of a swapped pair
    ],
)
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


@pytest.mark.parametrize(("a", "b"), [("jane smith", "john smith"), ("ab", "abcdef")])
def test_edit_distance_stops_past_the_limit(a, b):
    assert edit_distance(a, b, limit=2) == 3


def test_edit_distance_within_the_limit_is_exact():
    assert edit_distance("jhon smtih", "john smith", limit=2) == 2


@pytest.fixture
def organization(db):
    return OrganizationFactory(name="Contoso Ltd")


def person(organization, first_name: str, last_name: str, email: str | None = None):
    return UserFactory(
        organization=organization,
        first_name=first_name,
        last_name=last_name,
        **({"email": email} if email else {}),
    )


def found(organization, first_name: str, last_name: str, email: str = "new@contoso.example"):
    """{email: reasons} of the possible duplicates."""
    return {
        duplicate.user.email: duplicate.reasons
        for duplicate in possible_duplicates(organization, first_name, last_name, email)
    }


@pytest.mark.parametrize(
    ("existing", "typed", "reason"),
    [
        (("John", "Smith"), ("John", "Smith"), SAME_NAME),
        (("John", "Smith"), ("john", "SMITH"), SAME_NAME),
        (("Zoë", "Müller"), ("Zoe", "Muller"), SAME_NAME),
        (("Zoe", "Muller"), ("Zoë", "Müller"), SAME_NAME),
        (("John", "Smith"), ("Jon", "Smith"), SIMILAR_NAME),
        (("Sarah", "Connor"), ("Sara", "Connor"), SIMILAR_NAME),
        (("John", "Smith"), ("Jhon", "Smith"), SIMILAR_NAME),
        (("John", "Smith"), ("John", "Smyth"), SIMILAR_NAME),
    ],
)
def test_it_finds_the_same_or_a_similar_name(organization, existing, typed, reason):
    twin = person(organization, *existing)

    assert found(organization, *typed) == {twin.email: (reason,)}


@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        ("john.smith@contoso.example", "john.smith+partner@contoso.example"),
        ("john.smith+partner@contoso.example", "john.smith@contoso.example"),
        ("john.smith+old@contoso.example", "John.Smith+new@Contoso.EXAMPLE"),
    ],
)
def test_it_finds_the_same_email_apart_from_a_tag(organization, existing, typed):
    twin = person(organization, "Jack", "Smithers", email=existing)

    assert found(organization, "Grace", "Hopper", typed) == {
        twin.email: (SAME_EMAIL_APART_FROM_TAG,)
    }


def test_a_name_and_an_email_both_close_give_both_reasons(organization):
    twin = person(organization, "John", "Smith", email="john.smith@contoso.example")

    assert found(organization, "Jon", "Smith", "john.smith+sales@contoso.example") == {
        twin.email: (SIMILAR_NAME, SAME_EMAIL_APART_FROM_TAG)
    }


def test_the_same_email_is_left_to_the_form(organization):
    # An existing email stops the add-user flow outright; it is not a "possible" duplicate.
    person(organization, "Jack", "Smithers", email="john.smith@contoso.example")

    assert found(organization, "Grace", "Hopper", "John.Smith@contoso.example") == {}


@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        (("Jane", "Smith"), ("John", "Smith")),  # three edits
        (("John", "Smithson"), ("John", "Smith")),
        (("Grace", "Hopper"), ("John", "Smith")),
    ],
)
def test_different_names_are_not_duplicates(organization, existing, typed):
    person(organization, *existing)

    assert found(organization, *typed) == {}


@pytest.mark.parametrize(
    "typed",
    [
        "john.smith@fabrikam.example",  # another domain
        "john.smithers@contoso.example",  # another person's address
        "+sales@contoso.example",  # nothing before the tag
    ],
)
def test_other_emails_are_not_duplicates(organization, typed):
    person(organization, "Jack", "Jones", email="john.smith@contoso.example")

    assert found(organization, "Grace", "Hopper", typed) == {}


def test_only_the_organizations_users_are_compared(organization):
    elsewhere = OrganizationFactory(name="Elsewhere")
    person(elsewhere, "John", "Smith", email="john.smith@contoso.example")

    assert found(organization, "John", "Smith", "john.smith+x@contoso.example") == {}


def test_the_likeliest_come_first(organization):
    similar = person(organization, "Jon", "Smith")
    same = person(organization, "John", "Smith")
    tagged = person(organization, "Jack", "Jones", email="john.smith+old@contoso.example")

    listed = possible_duplicates(organization, "John", "Smith", "john.smith@contoso.example")

    assert [duplicate.user for duplicate in listed] == [same, tagged, similar]
    assert listed[0].reasons == (SAME_NAME,)


def test_it_costs_one_query_and_at_most_max_candidates(organization, monkeypatch):
    monkeypatch.setattr(duplicates, "MAX_CANDIDATES", 5)
    for number in range(12):
        person(organization, f"Person{number:02}", "Smith")
    twin = person(organization, "Zed", "Smith")

    with CaptureQueriesContext(connection) as queries:
        listed = possible_duplicates(organization, "Zed", "Smith", "zed@contoso.example")

    assert len(queries) == 1
    assert "LIMIT 5" in queries[0]["sql"]
    # The cap never hides the same name behind a crowd of namesakes.
    assert [duplicate.user for duplicate in listed] == [twin]
