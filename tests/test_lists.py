"""The lists' shared pieces: role badges by the catalogue's kind, empty states whose next step is
offered only to those the rulebook lets take it, and the stepper of the add-user steps."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.urls import reverse

from accounts.views.directory import _empty_state
from partnerhub.templatetags.stepper import steps
from roles import rules
from roles.catalogue import CATALOGUE, SPECS, RoleGroup, RoleKey, RoleKind
from roles.models import Role
from roles.rules import Action
from tests.factories import UserFactory
from tests.test_add_user import send_details, start

# The catalogue's kind of each role, as the badges show it: the three roles that run the
# organization and its users stand out, the others by their group.
KINDS = [
    (RoleKey.GLOBAL_ADMIN, RoleKind.TOP_ADMIN),
    (RoleKey.USER_MANAGEMENT_ADMIN, RoleKind.TOP_ADMIN),
    (RoleKey.ACCOUNT_ADMIN, RoleKind.TOP_ADMIN),
    (RoleKey.MPN_PARTNER_ADMIN, RoleKind.MEMBERSHIP),
    (RoleKey.BILLING_ADMIN, RoleKind.DIRECTORY),
    (RoleKey.ADMIN_AGENT, RoleKind.DIRECTORY),
    (RoleKey.SALES_AGENT, RoleKind.DIRECTORY),
    (RoleKey.HELPDESK_AGENT, RoleKind.DIRECTORY),
    (RoleKey.REFERRALS_ADMIN, RoleKind.MEMBERSHIP),
    (RoleKey.INCENTIVES_ADMIN, RoleKind.MEMBERSHIP),
    (RoleKey.BUSINESS_PROFILE_ADMIN, RoleKind.MEMBERSHIP),
    (RoleKey.EXECUTIVE_REPORT_VIEWER, RoleKind.MEMBERSHIP),
]


def test_the_table_names_every_role_of_the_catalogue():
    assert {key for key, _kind in KINDS} == {spec.key for spec in CATALOGUE}


@pytest.mark.parametrize(("key", "kind"), KINDS)
def test_each_role_has_its_kind_in_the_catalogue(key, kind):
    spec = SPECS[key]

    assert spec.kind == kind
    if kind != RoleKind.TOP_ADMIN:
        assert spec.kind.value == spec.group.value


def badge(role: object) -> str:
    return Template("{% load role_badges %}{% role_badge role %}").render(Context({"role": role}))


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "kind"), KINDS)
@pytest.mark.parametrize("given_as", ["spec", "row", "key", "name", "name in lower case"])
def test_the_badge_shows_the_kind_however_the_role_is_given(key, kind, given_as):
    spec = SPECS[key]
    role = {
        "spec": spec,
        "row": Role.objects.get(key=key),
        "key": key.value,
        "name": spec.name,
        "name in lower case": spec.name.lower(),
    }[given_as]

    html = badge(role)

    assert f'data-role-kind="{kind.value}"' in html
    assert f'class="badge role-badge role-badge-{kind.value}"' in html
    assert f'title="{kind.label}"' in html
    assert re.search(rf">{re.escape(spec.name)}</span>", html)
    # Only the top admin roles carry the shield, and it is hidden from screen readers.
    assert ("<svg" in html) == (kind == RoleKind.TOP_ADMIN)
    if "<svg" in html:
        assert 'aria-hidden="true"' in html


def test_a_role_the_catalogue_does_not_know_is_a_plain_badge():
    html = badge("Chief of everything")

    assert 'data-role-kind="unknown"' in html
    assert 'class="badge role-badge"' in html
    assert ">Chief of everything</span>" in html


def test_directory_and_membership_roles_differ_from_each_other():
    directory = badge(SPECS[RoleKey.SALES_AGENT])
    membership = badge(SPECS[RoleKey.REFERRALS_ADMIN])

    assert SPECS[RoleKey.SALES_AGENT].group == RoleGroup.DIRECTORY
    assert "role-badge-directory" in directory
    assert "role-badge-membership" not in directory
    assert "role-badge-membership" in membership
    assert "role-badge-directory" not in membership


def test_the_directory_draws_each_role_with_its_badge(client, csp):
    client.force_login(csp.global_admin)

    page = client.get(reverse("directory")).content.decode()

    assert 'data-role-kind="top_admin" class="badge role-badge role-badge-top_admin">' in page
    assert ">Billing admin</span>" in page
    assert 'data-role-kind="membership"' in page


# Empty states: the next step only for those who may take it.


@pytest.mark.parametrize(
    ("who", "offers_add"),
    [("global_admin", True), ("user_admin", True), ("mpn_admin", False), ("account_admin", False)],
)
def test_an_empty_directory_offers_to_add_users_only_to_those_who_may(csp, who, offers_add):
    viewer = getattr(csp, who)
    may_add = bool(rules.can(viewer, Action.ADD_USER))
    assert may_add == offers_add

    empty = _empty_state(_unfiltered(), may_add)

    assert empty["text"] == "No users yet."
    assert (empty.get("action_url") == reverse("add_user")) == offers_add
    assert (empty.get("secondary_url") == reverse("import_users")) == offers_add


def _unfiltered():
    from accounts.filters import DirectoryFilter
    from accounts.models import User

    return DirectoryFilter({}, queryset=User.objects.none())


@pytest.mark.parametrize("who", ["global_admin", "mpn_admin"])
def test_a_search_that_finds_nobody_offers_to_clear_it(client, csp, who):
    client.force_login(getattr(csp, who))

    page = client.get(reverse("directory"), {"q": "nobody-at-all", "status": "active"})
    html = page.content.decode()

    assert 'data-testid="directory-empty"' in html
    assert "No user matches “<bdi>nobody-at-all</bdi>” with these filters." in html
    assert (
        f'href="{reverse("directory")}" data-testid="empty-state-action">'
        "Clear the search and filters</a>"
    ) in html
    assert 'data-testid="directory"' not in html  # no empty table
    assert "Add users from CSV</a>" not in html.split('data-testid="directory-empty"')[1]


@pytest.mark.parametrize(("who", "offers_roles"), [("global_admin", True), ("mpn_admin", False)])
def test_a_user_without_roles_offers_a_role_only_to_those_who_may_give_one(
    client, csp, who, offers_roles
):
    nobody = UserFactory(organization=csp.organization, roles=[])
    client.force_login(getattr(csp, who))

    html = client.get(reverse("user_detail", args=[nobody.public_id])).content.decode()

    assert 'data-testid="user-roles-empty"' in html
    edit = reverse("edit_roles", args=[nobody.public_id])
    assert (f'href="{edit}" data-testid="empty-state-action">Give a role</a>' in html) == (
        offers_roles
    )


def test_an_audit_log_filtered_to_nothing_offers_to_clear_the_filters(client, csp):
    client.force_login(csp.global_admin)

    html = client.get(
        reverse("audit_log"), {"date_from": "2001-01-01", "date_to": "2001-01-02"}
    ).content.decode()

    assert 'data-testid="audit-log-empty"' in html
    assert "No event matches these filters." in html
    assert (
        f'href="{reverse("audit_log")}" data-testid="empty-state-action">Clear the filters</a>'
    ) in html


def test_an_organization_without_api_clients_is_told_how_to_create_one(client, csp):
    client.force_login(csp.global_admin)

    html = client.get(reverse("api_clients")).content.decode()

    assert 'data-testid="api-clients-empty"' in html
    assert 'href="#create-client" data-testid="empty-state-action">Create a client</a>' in html
    assert 'id="create-client"' in html


# The stepper.


@pytest.mark.parametrize(
    ("current", "done", "at"),
    [(1, [], 1), (2, [1], 2), (3, [1, 2], 3), ("Roles", [1], 2), (4, [1, 2, 3], None)],
)
def test_the_stepper_marks_the_current_step_and_those_done(current, done, at):
    shown = steps(["Details", "Roles", "Review"], current)

    assert [step.number for step in shown if step.done] == done
    assert [step.number for step in shown if step.current] == ([at] if at else [])


def test_steps_may_be_given_as_one_string():
    assert [step.title for step in steps("Upload the file, Check,Add", 1)] == [
        "Upload the file",
        "Check",
        "Add",
    ]


def current_step(html: str) -> str:
    stepper = re.search(r'<ol class="stepper".*?</ol>', html, re.S).group(0)
    marked = r'<li class="stepper-step[^"]*" aria-current="step">.*?</li>'
    current = re.findall(marked, stepper, re.S)
    assert len(current) == 1
    return re.sub(r"<[^>]+>|\s+", " ", current[0]).split()[-1]


def test_the_add_user_stepper_marks_the_step_shown(client, csp):
    first = start(client, csp.global_admin).content.decode()
    assert current_step(first) == "Details"
    assert "is-done" not in re.search(r'<ol class="stepper".*?</ol>', first, re.S).group(0)

    second = send_details(client).content.decode()

    assert current_step(second) == "Roles"
    assert '<li class="stepper-step is-done">' in second
    assert 'Details<span class="visually-hidden"> (done)</span>' in second
