"""The Roles page: each role, what it unlocks, how many hold it and who, with a link to the
directory filtered by that role."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from roles.catalogue import CATALOGUE, RoleKey
from tests.factories import UserFactory

URL = reverse("roles_overview")


def summary(response, key: str):
    return next(item for item in response.context["summaries"] if item.spec.key == key)


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
def test_it_is_for_those_who_see_the_directory(client, csp, who, status):
    client.force_login(getattr(csp, who))

    assert client.get(URL).status_code == status


def test_it_lists_every_role_with_what_it_unlocks(client, csp):
    client.force_login(csp.global_admin)

    response = client.get(URL)
    page = response.content.decode()

    assert [item.spec.key for item in response.context["summaries"]] == [s.key for s in CATALOGUE]
    for spec in CATALOGUE:
        assert spec.name in page
        assert spec.unlocks.replace("'", "&#x27;") in page


def test_it_counts_the_holders_and_names_them(client, csp, outsider):
    UserFactory(organization=outsider.organization, roles=[RoleKey.GLOBAL_ADMIN])
    client.force_login(csp.mpn_admin)

    response = client.get(URL)

    admins = summary(response, RoleKey.GLOBAL_ADMIN)
    assert admins.count == 2
    assert sorted(admins.holders) == sorted(
        [csp.global_admin.get_full_name(), csp.second_global_admin.get_full_name()]
    )
    assert summary(response, RoleKey.EXECUTIVE_REPORT_VIEWER).count == 0
    assert "Nobody" in response.content.decode()


def test_a_role_many_hold_is_a_count_that_leads_to_them(client, csp):
    for number in range(6):
        UserFactory(
            organization=csp.organization,
            first_name=f"Agent{number}",
            last_name="Sales",
            roles=[RoleKey.SALES_AGENT],
        )
    for number in range(5):
        UserFactory(
            organization=csp.organization,
            first_name=f"Desk{number}",
            last_name="Help",
            roles=[RoleKey.HELPDESK_AGENT],
        )
    client.force_login(csp.global_admin)

    response = client.get(URL)
    agents = summary(response, RoleKey.SALES_AGENT)
    helpdesk = summary(response, RoleKey.HELPDESK_AGENT)

    assert agents.count == 6
    assert agents.holders == []
    assert "See the 6 users" in response.content.decode()
    assert helpdesk.holders == [f"Desk{number} Help" for number in range(5)]


def test_a_count_stops_at_the_directorys_cap(client, csp, monkeypatch):
    # As the directory filtered by the role counts its matches: "1,000+" beyond 1,000.
    monkeypatch.setattr("accounts.views.roles_overview.MATCH_COUNT_CAP", 3)
    for _ in range(4):
        UserFactory(organization=csp.organization, roles=[RoleKey.SALES_AGENT])
    for _ in range(3):
        UserFactory(organization=csp.organization, roles=[RoleKey.HELPDESK_AGENT])
    client.force_login(csp.global_admin)

    response = client.get(URL)
    page = response.content.decode()

    assert summary(response, RoleKey.SALES_AGENT).count == "3+"
    assert summary(response, RoleKey.SALES_AGENT).holders == []
    assert "3+ users" in page
    assert "See the 3+ users" in page
    assert summary(response, RoleKey.HELPDESK_AGENT).count == 3
    assert "3 users" in page


def test_each_role_links_to_the_directory_filtered_by_it(client, csp):
    client.force_login(csp.global_admin)

    page = client.get(URL).content.decode()
    link = re.search(r'href="([^"]*role=global_admin)"', page).group(1)
    listed = client.get(link.replace("&amp;", "&")).context["page"]

    assert {member.email for member in listed} == {
        csp.global_admin.email,
        csp.second_global_admin.email,
    }
    assert f'href="{reverse("directory")}?role=none"' in page


def test_csp_only_roles_say_they_do_not_exist_in_a_non_csp_organization(client, non_csp):
    client.force_login(non_csp.global_admin)

    response = client.get(URL)

    assert not summary(response, RoleKey.USER_MANAGEMENT_ADMIN).available
    assert summary(response, RoleKey.ACCOUNT_ADMIN).available
    assert "Not available in a non-CSP organization." in response.content.decode()


@pytest.mark.parametrize("holders", [3, 60])
def test_it_costs_a_few_queries_however_many_hold_each_role(client, csp, holders):
    every_role = [RoleKey.SALES_AGENT, RoleKey.HELPDESK_AGENT, RoleKey.REFERRALS_ADMIN]
    for _ in range(holders):
        UserFactory(organization=csp.organization, roles=every_role)
    client.force_login(csp.global_admin)
    client.get(URL)  # the session is warm

    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200

    # Session, the signed-in user, their roles; the holders counted, the few named.
    assert len(queries) <= 5
