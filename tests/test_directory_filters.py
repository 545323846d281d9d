"""The directory's filters (role, status, last sign-in), page size, jumping to a page, the name
as shown, the Pending invitation status and the last sign-in (issue 16, "The directory")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User, UserStatus
from roles.catalogue import RoleKey
from tests.factories import UserFactory

URL = reverse("directory")


def emails_listed(response) -> list[str]:
    return [member.email for member in response.context["page"]]


def invited(organization, **fields) -> User:
    """A user added with an emailed invitation who has not chosen a password yet."""
    user = UserFactory(organization=organization, **fields)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


@pytest.fixture
def people(csp):
    """Beside the cast (all active, never signed in): one of each status and sign-in age."""
    now = timezone.now()
    return {
        "pending": invited(csp.organization, email="pending@filters.example"),
        "deactivated": UserFactory(
            organization=csp.organization, email="gone@filters.example", is_active=False
        ),
        "recent": UserFactory(
            organization=csp.organization,
            email="recent@filters.example",
            last_login=now - timedelta(days=2),
            roles=[RoleKey.SALES_AGENT],
        ),
        "month": UserFactory(
            organization=csp.organization,
            email="month@filters.example",
            last_login=now - timedelta(days=45),
            roles=[RoleKey.SALES_AGENT, RoleKey.HELPDESK_AGENT],
        ),
        "quarter": UserFactory(
            organization=csp.organization,
            email="quarter@filters.example",
            last_login=now - timedelta(days=120),
        ),
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"role": RoleKey.SALES_AGENT}, {"recent", "month"}),
        ({"role": RoleKey.HELPDESK_AGENT}, {"month"}),
        ({"role": "none"}, {"pending", "deactivated", "quarter"}),
        ({"status": "pending"}, {"pending"}),
        ({"status": "deactivated"}, {"deactivated"}),
        ({"last_sign_in": "30"}, {"month", "quarter"}),
        ({"last_sign_in": "90"}, {"quarter"}),
        ({"role": "none", "status": "active"}, {"quarter"}),
        ({"role": RoleKey.SALES_AGENT, "last_sign_in": "30"}, {"month"}),
        ({"q": "filters.example", "role": RoleKey.SALES_AGENT}, {"recent", "month"}),
        ({"q": "quarter", "role": RoleKey.SALES_AGENT}, set()),
    ],
)
def test_filters_combine_with_each_other_and_the_search(client, csp, people, filters, expected):
    client.force_login(csp.mpn_admin)

    response = client.get(URL, filters)

    emails = {people[name].email for name in expected}
    assert set(emails_listed(response)) == emails
    assert response.context["page"].paginator.count == len(emails)


def test_never_signed_in_and_active_leave_out_the_others(client, csp, people):
    client.force_login(csp.global_admin)

    never = set(emails_listed(client.get(URL, {"last_sign_in": "never"})))
    active = set(emails_listed(client.get(URL, {"status": "active"})))

    assert people["recent"].email not in never
    assert {people["pending"].email, csp.member.email} <= never
    assert people["pending"].email not in active
    assert people["deactivated"].email not in active
    assert {csp.member.email, people["recent"].email} <= active


@pytest.mark.parametrize(
    ("field", "value"),
    [("role", "superuser"), ("status", "everyone"), ("last_sign_in", "7"), ("per_page", "1000")],
)
def test_a_value_that_is_not_a_choice_is_an_error_at_its_field(client, csp, people, field, value):
    client.force_login(csp.global_admin)

    response = client.get(
        URL, {field: value, "role": RoleKey.SALES_AGENT} if field != "role" else {field: value}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Select a valid choice." in page
    assert 'class="invalid-feedback' in page or "is-invalid" in page


def test_an_error_leaves_that_filter_out_and_keeps_the_others(client, csp, people):
    client.force_login(csp.global_admin)

    response = client.get(URL, {"status": "everyone", "role": RoleKey.SALES_AGENT})

    assert set(emails_listed(response)) == {people["recent"].email, people["month"].email}
    assert response.context["filter"].form.errors["status"]


def test_the_filters_survive_paging_and_sorting(client, csp):
    for number in range(30):
        UserFactory(
            organization=csp.organization,
            last_name=f"Sales{number:02}",
            roles=[RoleKey.SALES_AGENT],
        )
    client.force_login(csp.global_admin)
    state = {"role": RoleKey.SALES_AGENT, "status": "active", "q": "sales"}

    first = client.get(URL, {**state, "sort": "-created"})
    page = first.content.decode().replace("&amp;", "&")
    next_links = re.findall(r'href="\?([^"]*page=2[^"]*)"', page)
    second = client.get(f"{URL}?{next_links[0]}")

    assert next_links
    for name, value in state.items():
        assert f"{name}={value}" in next_links[0]
    assert "sort=-created" in next_links[0]
    listed = emails_listed(first) + emails_listed(second)
    assert len(listed) == len(set(listed)) == 30
    # The column headings keep the filters too.
    assert re.search(r'href="\?[^"]*role=sales_agent[^"]*sort=email', page)


@pytest.mark.parametrize(("per_page", "shown"), [("25", 25), ("50", 50), ("100", 60)])
def test_the_page_size_is_a_choice(client, csp, per_page, shown):
    for number in range(60 - 7):
        UserFactory(organization=csp.organization, last_name=f"Sized{number:02}")
    client.force_login(csp.global_admin)

    response = client.get(URL, {"per_page": per_page})

    assert len(emails_listed(response)) == shown
    if shown < 60:  # the paging links keep the size chosen (25 is the default, not repeated)
        page = response.content.decode()
        assert ("per_page=50" in page) is (per_page == "50")


def test_last_and_go_to_page_reach_any_page(client, csp):
    for number in range(60):
        UserFactory(organization=csp.organization, first_name="Zz", last_name=f"Paged{number:02}")
    client.force_login(csp.global_admin)

    page = client.get(URL, {"status": "active"}).content.decode().replace("&amp;", "&")
    last = re.search(r'href="\?([^"]*)">Last<', page).group(1)
    jumped = client.get(URL, {"status": "active", "page": "2"})
    too_far = client.get(URL, {"status": "active", "page": "99"})

    assert "page=3" in last
    assert "status=active" in last
    last_page = client.get(f"{URL}?{last}")
    assert last_page.context["page"].number == 3
    assert 'max="3"' in page
    assert "Go to page" in page
    assert jumped.context["page"].number == 2
    assert too_far.context["page"].number == 3  # past the end: the last page
    assert emails_listed(too_far) == emails_listed(last_page)


def test_the_name_sorts_as_it_is_shown_first_name_first(client, csp):
    shown = [("Ana", "Zeta"), ("Bea", "Alpha"), ("Cleo", "Moss")]
    for first, last in reversed(shown):
        UserFactory(organization=csp.organization, first_name=first, last_name=last)
    client.force_login(csp.global_admin)

    for sort, expected in [("name", shown), ("-name", shown[::-1])]:
        response = client.get(URL, {"q": "a", "sort": sort, "role": "none"})
        names = [(member.first_name, member.last_name) for member in response.context["page"]]
        assert names == expected, sort


def test_the_status_column_says_pending_invitation(client, csp, people):
    client.force_login(csp.global_admin)

    response = client.get(URL, {"q": "filters.example"})
    page = response.content.decode()

    by_email = {member.email: member.status for member in response.context["page"]}
    assert by_email[people["pending"].email] == UserStatus.PENDING_INVITATION
    assert by_email[people["deactivated"].email] == UserStatus.DEACTIVATED
    assert by_email[people["recent"].email] == UserStatus.ACTIVE
    assert page.count(">Pending invitation</span>") == 1
    assert page.count(">Deactivated</span>") == 1


def test_the_last_sign_in_column_says_when_or_never(client, csp, people):
    client.force_login(csp.global_admin)

    response = client.get(URL, {"q": "filters.example"})
    rows = {row.member.email: row.last_sign_in for row in response.context["rows"]}

    seen = timezone.localtime(people["recent"].last_login)
    assert rows[people["recent"].email] == f"{seen.day} {seen:%b %Y}"
    assert rows[people["pending"].email] == ""
    assert 'class="list-secondary-heading">Last sign-in</th>' in response.content.decode()
    assert ">Never</td>" in response.content.decode()


def test_the_users_page_shows_the_last_sign_in_and_the_pending_status(client, csp, people):
    client.force_login(csp.mpn_admin)

    recent = client.get(reverse("user_detail", args=[people["recent"].public_id]))
    pending = client.get(reverse("user_detail", args=[people["pending"].public_id]))

    seen = timezone.localtime(people["recent"].last_login)
    assert f"{seen:%d %b %Y}".lstrip("0") in recent.content.decode()
    assert 'data-testid="last-sign-in">Never<' in pending.content.decode()
    assert ">Pending invitation</span>" in pending.content.decode()


def test_the_403_page_never_sends_anyone_to_a_pending_or_deactivated_admin(client, csp):
    pending = invited(
        csp.organization, first_name="Pending", last_name="Admin", roles=[RoleKey.GLOBAL_ADMIN]
    )
    gone = UserFactory(
        organization=csp.organization,
        first_name="Gone",
        last_name="Admin",
        is_active=False,
        roles=[RoleKey.GLOBAL_ADMIN],
    )
    client.force_login(csp.member)

    page = client.get(URL).content.decode()

    assert f"<bdi>{csp.global_admin.get_full_name()}</bdi></span> (Global admin)" in page
    assert pending.get_full_name() not in page
    assert gone.get_full_name() not in page


def test_a_user_with_a_temporary_password_is_active(db, csp):
    # An admin gave them a password: they can sign in now, unlike an invited user.
    assert csp.member.status == UserStatus.ACTIVE
    assert User.objects.with_status().get(pk=csp.member.pk).status == UserStatus.ACTIVE
