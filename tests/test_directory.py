"""Settings > User management: the directory, its search, sorting and paging."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.views.directory import PAGE_SIZE
from roles.catalogue import CATALOGUE, RoleKey
from tests.factories import OrganizationFactory, UserFactory

URL = reverse("directory")


def emails_listed(response) -> list[str]:
    return [member.email for member in response.context["page"]]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("global_admin", 200),
        ("user_admin", 200),
        ("account_admin", 200),
        ("mpn_admin", 200),
        ("billing_admin", 403),
        ("member", 403),
    ],
)
def test_it_is_for_the_roles_that_see_the_directory(client, csp, who, status):
    client.force_login(getattr(csp, who))

    assert client.get(URL).status_code == status


def test_a_refusal_names_the_roles_that_may_and_who_holds_them(client, csp):
    client.force_login(csp.member)

    page = client.get(URL).content.decode()

    assert "Only a Global admin, User management admin, Account admin or MPN Partner Admin" in page
    # Whom to ask, by name and role; a member, who may not see the directory, is not handed
    # the admins' email addresses.
    assert f"<bdi>{csp.global_admin.get_full_name()}</bdi></span> (Global admin)" in page
    assert f"<bdi>{csp.mpn_admin.get_full_name()}</bdi></span> (MPN Partner Admin)" in page
    assert csp.global_admin.email not in page
    assert csp.mpn_admin.email not in page


def test_a_refusal_shows_emails_to_those_who_see_the_directory(client, csp):
    # An MPN Partner Admin sees the directory (and so every email) but may not add users.
    client.force_login(csp.mpn_admin)

    page = client.get(reverse("add_user")).content.decode()

    admin = csp.global_admin
    assert f"<bdi>{admin.get_full_name()}</bdi> &lt;<bdi>{admin.email}</bdi>&gt;" in page


def test_support_staff_use_the_support_admin_instead(client, support):
    client.force_login(support)

    assert client.get(URL).status_code == 403


def test_it_needs_sign_in(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_lists_only_the_organizations_users(client, csp, outsider):
    client.force_login(csp.global_admin)

    listed = emails_listed(client.get(URL))

    assert csp.member.email in listed
    assert outsider.email not in listed
    assert len(listed) == 7


@pytest.mark.parametrize(
    ("who", "sees_add_user"),
    [("global_admin", True), ("user_admin", True), ("account_admin", False), ("mpn_admin", False)],
)
def test_add_user_is_offered_only_to_those_who_may_add_users(client, csp, who, sees_add_user):
    client.force_login(getattr(csp, who))

    page = client.get(URL).content.decode()

    assert (reverse("add_user") in page) is sees_add_user


def test_in_a_non_csp_organization_only_global_admins_add_users(client, non_csp):
    client.force_login(non_csp.account_admin)
    assert reverse("add_user") not in client.get(URL).content.decode()

    client.force_login(non_csp.global_admin)
    assert reverse("add_user") in client.get(URL).content.decode()


@pytest.fixture
def named(csp):
    people = [
        ("Zoë", "Müller", "zoe.muller@named.example"),
        ("John", "Smithers", "john.smithers@named.example"),
        ("Jon", "Smithers", "jon.smithers@named.example"),
        ("Ana", "Lopez", "ana@fabrikam-partner.example"),
    ]
    return {
        email: UserFactory(
            organization=csp.organization, first_name=first, last_name=last, email=email
        )
        for first, last, email in people
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zoe", ["zoe.muller@named.example"]),
        ("MULLER", ["zoe.muller@named.example"]),
        ("smithers", ["john.smithers@named.example", "jon.smithers@named.example"]),
        ("jo smithe", ["john.smithers@named.example", "jon.smithers@named.example"]),
        ("fabrikam-part", ["ana@fabrikam-partner.example"]),
        ("nobody-at-all", []),
    ],
)
def test_search_finds_partial_case_and_accent_insensitive_matches(
    client, csp, named, query, expected
):
    client.force_login(csp.mpn_admin)

    response = client.get(URL, {"q": query})

    assert sorted(emails_listed(response)) == expected


def test_a_search_without_matches_says_so(client, csp):
    client.force_login(csp.global_admin)

    page = client.get(URL, {"q": "nobody-at-all"}).content.decode()

    assert "No user matches “<bdi>nobody-at-all</bdi>”." in page


def test_hostile_search_text_is_shown_escaped(client, csp):
    client.force_login(csp.global_admin)

    page = client.get(URL, {"q": '<script>alert("x")</script>'}).content.decode()

    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page


def test_a_search_too_long_is_refused_at_the_field(client, csp):
    client.force_login(csp.global_admin)

    response = client.get(URL, {"q": "x" * 201})

    assert response.status_code == 200
    assert response.context["filter"].form.errors["q"]


@pytest.mark.parametrize(
    ("sort", "first_email"),
    [
        ("name", "ana@fabrikam-partner.example"),  # Ana, John, Jon, Zoë: first names first
        ("-email", "zoe.muller@named.example"),
        ("email", "ana@fabrikam-partner.example"),
    ],
)
def test_sorting(client, csp, named, sort, first_email):
    client.force_login(csp.global_admin)

    response = client.get(URL, {"q": "a", "sort": sort})
    listed = [email for email in emails_listed(response) if email in named]

    assert listed[0] == first_email


def test_an_unknown_sort_falls_back_to_the_name(client, csp):
    client.force_login(csp.global_admin)

    response = client.get(URL, {"sort": "password"})

    assert response.status_code == 200
    assert response.context["sort"] == "name"


def test_paging_keeps_the_search_and_the_sort(client, csp):
    for number in range(PAGE_SIZE + 5):
        UserFactory(organization=csp.organization, last_name=f"Paged{number:02}")
    client.force_login(csp.global_admin)

    response = client.get(URL, {"q": "paged", "sort": "-name"})
    page = response.content.decode()

    assert response.context["page"].paginator.count == PAGE_SIZE + 5
    next_link = re.search(r'href="\?([^"]*page=2)"', page).group(1).replace("&amp;", "&")
    assert next_link == "q=paged&sort=-name&page=2"
    second = client.get(f"{URL}?{next_link}")
    assert len(emails_listed(second)) == 5


def test_a_page_number_out_of_range_shows_the_last_page(client, csp):
    client.force_login(csp.global_admin)

    response = client.get(URL, {"page": "999"})

    assert response.status_code == 200
    assert response.context["page"].number == 1


def test_the_query_count_does_not_grow_with_users_or_roles(client, db):
    def queries_for(users: int, roles: list[str]) -> int:
        organization = OrganizationFactory()
        admin = UserFactory(organization=organization, roles=[RoleKey.GLOBAL_ADMIN])
        for _ in range(users):
            UserFactory(organization=organization, roles=roles)
        client.force_login(admin)
        client.get(URL)  # the session is warm
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        return len(queries)

    few = queries_for(3, [RoleKey.REFERRALS_ADMIN])
    many = queries_for(40, [spec.key for spec in CATALOGUE if not spec.csp_only])

    assert few == many
    assert many <= 6


def test_a_search_counts_its_matches_and_pages_them(client, csp):
    for number in range(PAGE_SIZE * 2 + 3):
        UserFactory(organization=csp.organization, last_name=f"Counted{number:02}")
    client.force_login(csp.global_admin)

    last = client.get(URL, {"q": "counted", "page": "3"})
    beyond = client.get(URL, {"q": "counted", "page": "7"})

    assert last.context["page"].paginator.count == PAGE_SIZE * 2 + 3
    assert emails_listed(last) == emails_listed(beyond)
    assert len(emails_listed(last)) == 3
    assert "Page 3 of 3" in last.content.decode()


@pytest.mark.parametrize("query", ["", "a"])
@pytest.mark.parametrize("number", ["-3", "0", "abc", "9" * 30])
def test_any_page_number_shows_a_page(client, csp, query, number):
    client.force_login(csp.global_admin)

    response = client.get(URL, {"q": query, "page": number})

    assert response.status_code == 200
    assert response.context["page"].number == 1


def test_every_sort_lists_every_user_once(client, csp):
    for number in range(PAGE_SIZE + 5):
        UserFactory(organization=csp.organization, last_name=f"Sorted{number:02}")
    client.force_login(csp.global_admin)

    for sort in ("name", "-name", "email", "-email", "status", "-status", "created", "-created"):
        listed = [
            email
            for page in ("1", "2")
            for email in emails_listed(client.get(URL, {"sort": sort, "page": page}))
        ]
        assert len(listed) == len(set(listed)) == PAGE_SIZE + 5 + 7, sort


def test_a_large_organization_is_counted_up_to_the_cap_and_pages_on(client, csp, monkeypatch):
    # Counting 80,000 users on every view cost more than the page: past the cap, "N+ users",
    # Next while there is more, and no Last page.
    monkeypatch.setattr("accounts.views.directory.COUNT_CAP", 5)
    for number in range(30):
        UserFactory(organization=csp.organization, first_name="Zed", last_name=f"Many {number:02}")
    client.force_login(csp.global_admin)

    first = client.get(reverse("directory"))
    page = first.content.decode()
    assert "5+ users." in page
    assert "Page 1<" in page
    assert ">Last<" not in page
    assert ">Next<" in page
    assert len(first.context["rows"]) == 25
    # The second page is the last: it has rows and no Next.
    second = client.get(reverse("directory"), {"page": 2})
    total = User.objects.filter(organization=csp.organization).count()
    assert len(second.context["rows"]) == total - 25
    assert ">Next<" not in second.content.decode()
    assert ">Previous<" in second.content.decode()


def test_a_search_counts_its_matches_up_to_the_cap(client, csp, monkeypatch):
    monkeypatch.setattr("accounts.views.directory.MATCH_COUNT_CAP", 3)
    for number in range(30):
        UserFactory(organization=csp.organization, first_name="Capped", last_name=f"M{number:02}")
    client.force_login(csp.global_admin)

    first = client.get(reverse("directory"), {"q": "capped"})
    page = first.content.decode()
    assert "3+ users match" in page
    assert [row.member.last_name for row in first.context["rows"]][:2] == ["M00", "M01"]
    assert len(first.context["rows"]) == 25
    second = client.get(reverse("directory"), {"q": "capped", "page": 2})
    assert [row.member.last_name for row in second.context["rows"]] == [
        f"M{number:02}" for number in range(25, 30)
    ]
    assert ">Next<" not in second.content.decode()
    # Under the cap the count is exact.
    assert "1 user matches" in client.get(reverse("directory"), {"q": "M07"}).content.decode()


@pytest.mark.parametrize("cap", [3, 30, 100])
def test_pages_of_matches_are_the_same_whatever_the_cap(client, csp, monkeypatch, cap):
    # The first pages come from the ids read for the count, later ones from the index again.
    monkeypatch.setattr("accounts.views.directory.MATCH_COUNT_CAP", cap)
    for number in range(60):
        UserFactory(organization=csp.organization, first_name="Paged", last_name=f"P{number:02}")
    client.force_login(csp.global_admin)

    shown = []
    for number in (1, 2, 3):
        response = client.get(reverse("directory"), {"q": "paged", "page": number})
        shown += [row.member.last_name for row in response.context["rows"]]
        assert (">Next<" in response.content.decode()) == (number < 3)

    assert shown == [f"P{number:02}" for number in range(60)]
