"""The header's search (/users/find/?q=): one match goes to the user's page, several to the
directory searching for them, and only the viewer's organization is ever searched."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from accounts.models import AuditEvent
from tests.factories import OrganizationFactory, UserFactory

FIND = reverse("find_user")
DIRECTORY = reverse("directory")


def user_page(user) -> str:
    return reverse("user_detail", args=[user.public_id])


def searched_for(response) -> str | None:
    """The directory's q the response sends to, or None when it sends elsewhere."""
    parts = urlsplit(response["Location"])
    if parts.path != DIRECTORY:
        return None
    return parse_qs(parts.query).get("q", [""])[0]


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def people(csp):
    return {
        "ines": UserFactory(
            organization=csp.organization,
            first_name="Inès",
            last_name="Quintero",
            email="ines.quintero@contoso.example",
        ),
        "ian": UserFactory(
            organization=csp.organization,
            first_name="Ian",
            last_name="Quill",
            email="ian.quill@contoso.example",
        ),
    }


def test_it_goes_to_the_page_of_the_one_user_found_by_name(client, csp, people):
    client.force_login(csp.user_admin)

    response = client.get(FIND, {"q": "ines quintero"})

    assert response.status_code == 302
    assert response["Location"] == user_page(people["ines"])


def test_it_finds_a_name_without_its_accents_as_the_directory_does(client, csp, people):
    client.force_login(csp.mpn_admin)

    response = client.get(FIND, {"q": "INES"})

    assert response["Location"] == user_page(people["ines"])


def test_an_exact_email_goes_to_its_user_even_when_it_is_part_of_others(client, csp, people):
    UserFactory(organization=csp.organization, email="xian.quill@contoso.example")
    client.force_login(csp.global_admin)

    response = client.get(FIND, {"q": " Ian.Quill@Contoso.example "})

    assert response["Location"] == user_page(people["ian"])


def test_several_matches_go_to_the_directory_searching_with_how_many(client, csp, people):
    client.force_login(csp.global_admin)

    response = client.get(FIND, {"q": "qu"})

    assert searched_for(response) == "qu"
    assert said(response) == ["2 users match “qu”: choose one below."]
    page = client.get(response["Location"])
    assertContains(page, "Quintero")
    assertContains(page, "Quill")


def test_no_match_goes_to_the_directory_saying_so(client, csp, people):
    client.force_login(csp.global_admin)

    response = client.get(FIND, {"q": "nobody-by-this-name"})

    assert searched_for(response) == "nobody-by-this-name"
    assert said(response) == ["No user matches “nobody-by-this-name”."]


def test_an_empty_search_goes_back_to_the_directory(client, csp):
    client.force_login(csp.global_admin)

    for query in ({}, {"q": ""}, {"q": "   "}):
        response = client.get(FIND, query)
        assert response["Location"] == DIRECTORY
        assert said(response) == []


def test_a_too_long_search_is_the_directorys_to_refuse_at_its_field(client, csp):
    client.force_login(csp.global_admin)

    response = client.get(FIND, {"q": "x" * 201}, follow=True)

    assert response.redirect_chain[-1][0].startswith(DIRECTORY + "?q=xxx")
    assertContains(response, "Ensure this value has at most 200 characters")


def test_a_search_the_directory_refuses_is_the_directorys_to_explain(client, csp, people):
    client.force_login(csp.global_admin)

    response = client.get(FIND, {"q": "ines\x00"})

    assert searched_for(response) == "ines\x00"
    assert said(response) == []


def test_a_word_every_user_holds_is_counted_as_the_directory_counts(client, csp, monkeypatch):
    """Walked, not looked up (accounts.views.directory.match_ids), and counted the same."""
    from accounts.views import directory, find

    monkeypatch.setattr(directory, "DENSE_PROBE", 10)
    monkeypatch.setattr(directory, "DENSE_MATCHES", 2)
    monkeypatch.setattr(directory, "MATCH_COUNT_CAP", 5)
    monkeypatch.setattr(find, "MATCH_COUNT_CAP", 5)
    for number in range(8):
        UserFactory(organization=csp.organization, email=f"u{number}@everyone.test")
    client.force_login(csp.global_admin)

    response = client.get(FIND, {"q": "everyone"})

    assert searched_for(response) == "everyone"
    assert said(response) == ["5+ users match “everyone”: choose one below."]


def test_another_organizations_users_are_never_found(client, csp, people):
    elsewhere = OrganizationFactory(name="Elsewhere")
    stranger = UserFactory(
        organization=elsewhere, first_name="Zebedee", email="zebedee@elsewhere.example"
    )
    client.force_login(csp.global_admin)

    for text in ("Zebedee", "zebedee@elsewhere.example"):
        response = client.get(FIND, {"q": text})
        assert response["Location"] != user_page(stranger)
        assert searched_for(response) == text
        assert said(response)[-1] == f"No user matches “{text}”."


def test_a_viewer_who_may_not_see_the_directory_is_refused_and_it_is_recorded(client, csp, people):
    client.force_login(csp.billing_admin)
    refused_before = AuditEvent.objects.refused().count()

    response = client.get(FIND, {"q": "ines"}, follow=False)

    assert response.status_code == 403
    assert AuditEvent.objects.refused().count() == refused_before + 1
    assertNotContains(response, "Quintero", status_code=403)


def test_it_rejects_post(client, csp):
    client.force_login(csp.global_admin)

    assert client.post(FIND, {"q": "ines"}).status_code == 405


def test_the_header_offers_the_search_only_to_those_who_may_search(client, csp):
    client.force_login(csp.mpn_admin)
    assertContains(client.get(reverse("home")), 'role="search"')

    client.force_login(csp.billing_admin)
    assertNotContains(client.get(reverse("home")), 'role="search"')
