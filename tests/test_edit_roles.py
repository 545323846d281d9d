"""Edit roles (roles.views.edit_roles): one box per catalogue role, open only where the rulebook
lets this actor grant or revoke it, and a save that changes exactly what the boxes say."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, AuditOutcome, User
from roles import services as role_services
from roles.catalogue import CATALOGUE, RoleKey
from roles.models import RoleAssignment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GA = RoleKey.GLOBAL_ADMIN.value
UMA = RoleKey.USER_MANAGEMENT_ADMIN.value
AA = RoleKey.ACCOUNT_ADMIN.value
MPN = RoleKey.MPN_PARTNER_ADMIN.value
BILLING = RoleKey.BILLING_ADMIN.value
SALES = RoleKey.SALES_AGENT.value
REFERRALS = RoleKey.REFERRALS_ADMIN.value
INCENTIVES = RoleKey.INCENTIVES_ADMIN.value

DIRECTORY_KEYS = [spec.key.value for spec in CATALOGUE if spec.group == "directory"]
MEMBERSHIP_KEYS = [spec.key.value for spec in CATALOGUE if spec.group == "membership"]
FIELD_OF = {**dict.fromkeys(DIRECTORY_KEYS, "directory_roles"),
            **dict.fromkeys(MEMBERSHIP_KEYS, "membership_roles")}  # fmt: skip

ONLY_GA = "Only a Global admin can grant or revoke {}."
GA_OR_UMA = "Only a Global admin or User management admin can grant or revoke {}."


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def roles_url(user: User) -> str:
    return reverse("edit_roles", args=[user.public_id])


def roles_of(user: User) -> set[str]:
    return set(RoleAssignment.objects.filter(user=user).values_list("role__key", flat=True))


def messages_of(response: HttpResponse) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def posted(*keys: str) -> dict[str, list[str]]:
    """The form as a browser sends it with these boxes ticked (disabled boxes are never sent)."""
    data: dict[str, list[str]] = {"directory_roles": [], "membership_roles": []}
    for key in keys:
        data[FIELD_OF.get(key, "membership_roles")].append(key)
    return data


def database_state() -> dict[str, list]:
    return {
        "roles": list(RoleAssignment.objects.order_by("pk").values_list("user_id", "role_id")),
        # Changes only: a refusal is recorded as a refused attempt (tests/test_refusals.py).
        "audit": list(
            AuditEvent.objects.exclude(outcome=AuditOutcome.REFUSED)
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
    }


@dataclass
class Box:
    field: str
    checked: bool
    disabled: bool
    label: str = ""


class _Boxes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.boxes: dict[str, Box] = {}
        self._ids: dict[str, str] = {}
        self._label_for: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "checkbox":
            key = attributes["value"]
            self.boxes[key] = Box(
                attributes["name"], "checked" in attributes, "disabled" in attributes
            )
            self._ids[attributes["id"]] = key
        elif tag == "label" and attributes.get("for") in self._ids:
            self._label_for = self._ids[attributes["for"]]

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_for = None

    def handle_data(self, data: str) -> None:
        if self._label_for is not None:
            box = self.boxes[self._label_for]
            box.label = " ".join(f"{box.label} {data}".split())


def boxes_of(response: HttpResponse) -> dict[str, Box]:
    parser = _Boxes()
    parser.feed(response.content.decode())
    return parser.boxes


# Who may open the page


@pytest.mark.parametrize("actor", ["global_admin", "user_admin", "account_admin"])
def test_it_works_for_those_who_change_roles(client, csp, actor):
    response = signed_in(client, getattr(csp, actor)).get(roles_url(csp.member))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Directory roles" in html
    assert "Membership roles" in html
    assert ">Save</button>" in html
    boxes = boxes_of(response)
    assert list(boxes) == DIRECTORY_KEYS + MEMBERSHIP_KEYS
    assert {key for key, box in boxes.items() if box.checked} == {REFERRALS}
    assert all(boxes[key].field == "directory_roles" for key in DIRECTORY_KEYS)
    assert all(boxes[key].field == "membership_roles" for key in MEMBERSHIP_KEYS)


def test_an_mpn_partner_admin_sees_roles_but_changes_none(client, csp):
    response = signed_in(client, csp.mpn_admin).get(roles_url(csp.member))

    assert response.status_code == 403
    assert response.context["reason"] == "You cannot grant or revoke any role of " + (
        csp.member.get_full_name() + "."
    )
    assert response.context["role_names"] == [
        "Global admin",
        "User management admin",
        "Account admin",
    ]


@pytest.mark.parametrize("actor", ["billing_admin", "member"])
def test_it_refuses_those_who_do_not_see_the_directory(client, csp, actor):
    response = signed_in(client, getattr(csp, actor)).get(roles_url(csp.account_admin))

    assert response.status_code == 403
    assert "It needs one of these roles" in response.content.decode()


@pytest.mark.parametrize("actor", ["global_admin", "user_admin", "account_admin"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_nobody_edits_their_own_roles(client, csp, actor, method):
    me = getattr(csp, actor)
    before = database_state()

    response = getattr(signed_in(client, me), method)(roles_url(me), posted(GA, AA, BILLING))

    assert response.status_code == 403
    assert response.context["reason"] == "Nobody changes their own roles: ask another admin."
    assert database_state() == before


@pytest.mark.parametrize("actor", ["user_admin", "account_admin", "mpn_admin"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_below_global_admin_nobody_edits_a_global_admins_roles(client, csp, actor, method):
    before = database_state()

    response = getattr(signed_in(client, getattr(csp, actor)), method)(
        roles_url(csp.global_admin), posted(REFERRALS)
    )

    assert response.status_code == 403
    assert response.context["reason"] == (
        "Only a Global admin can change the roles of a Global admin."
    )
    assert response.context["role_names"] == ["Global admin"]
    assert csp.second_global_admin.get_full_name() in [
        holder.name for holder in response.context["holders"]
    ]
    assert database_state() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_organizations_user_answers_404(client, csp, outsider, method):
    before = database_state()

    response = getattr(signed_in(client, outsider), method)(roles_url(csp.member), posted(GA))

    assert response.status_code == 404
    assert database_state() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_user_that_does_not_exist_answers_404(client, csp, method):
    url = reverse("edit_roles", args=[uuid.uuid4()])

    assert getattr(signed_in(client, csp.global_admin), method)(url).status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_needs_sign_in(client, csp, method):
    response = getattr(client, method)(roles_url(csp.member), posted(GA))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert roles_of(csp.member) == {REFERRALS}


def test_support_staff_are_refused(client, csp, support):
    assert signed_in(client, support).get(roles_url(csp.member)).status_code == 403


# Which boxes are open


def test_a_global_admin_may_change_every_box(client, csp):
    boxes = boxes_of(signed_in(client, csp.global_admin).get(roles_url(csp.member)))

    assert not any(box.disabled for box in boxes.values())


def test_a_user_management_admin_may_change_all_but_global_admin(client, csp):
    boxes = boxes_of(signed_in(client, csp.user_admin).get(roles_url(csp.member)))

    assert {key for key, box in boxes.items() if box.disabled} == {GA}
    assert ONLY_GA.format("Global admin") in boxes[GA].label


def test_an_account_admin_may_change_membership_roles_only(client, csp):
    target = UserFactory(organization=csp.organization, roles=[BILLING, REFERRALS])

    boxes = boxes_of(signed_in(client, csp.account_admin).get(roles_url(target)))

    assert {key for key, box in boxes.items() if box.disabled} == set(DIRECTORY_KEYS)
    assert ONLY_GA.format("Global admin") in boxes[GA].label
    assert GA_OR_UMA.format("Billing admin") in boxes[BILLING].label
    assert boxes[BILLING].checked  # held, closed, still shown as held
    assert boxes[REFERRALS].checked
    assert not boxes[REFERRALS].disabled


def test_csp_roles_are_closed_in_a_non_csp_organization(client, non_csp):
    boxes = boxes_of(signed_in(client, non_csp.global_admin).get(roles_url(non_csp.member)))

    closed = {key for key, box in boxes.items() if box.disabled}
    assert closed == {BILLING, UMA, RoleKey.ADMIN_AGENT, SALES, RoleKey.HELPDESK_AGENT}
    assert "a non-CSP organization cannot grant it" in boxes[BILLING].label


def test_a_csp_role_left_in_a_non_csp_organization_may_be_revoked(client, non_csp):
    target = UserFactory(organization=non_csp.organization, roles=[SALES, REFERRALS])
    signed_in(client, non_csp.global_admin)

    boxes = boxes_of(client.get(roles_url(target)))
    response = client.post(roles_url(target), posted(REFERRALS))

    assert boxes[SALES].checked
    assert not boxes[SALES].disabled
    assert response.status_code == 302
    assert roles_of(target) == {REFERRALS}


# Saving


def test_saving_grants_and_revokes_the_difference(client, csp):
    response = signed_in(client, csp.global_admin).post(
        roles_url(csp.member), posted(BILLING, INCENTIVES)
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("user_detail", args=[csp.member.public_id])
    assert roles_of(csp.member) == {BILLING, INCENTIVES}
    events = AuditEvent.objects.order_by("pk")
    assert [(event.action, event.after["role"]) for event in events] == [
        (AuditAction.ROLE_GRANTED, "Billing admin"),
        (AuditAction.ROLE_GRANTED, "Incentives admin"),
        (AuditAction.ROLE_REVOKED, "Referrals admin"),
    ]
    assert all(event.actor == csp.global_admin for event in events)
    assert messages_of(response) == [
        f"Roles of {csp.member.get_full_name()} saved: granted Billing admin, "
        "Incentives admin; revoked Referrals admin."
    ]


def test_saving_without_a_change_changes_nothing(client, csp):
    before = database_state()

    response = signed_in(client, csp.global_admin).post(roles_url(csp.member), posted(REFERRALS))

    assert response.status_code == 302
    assert database_state() == before
    assert messages_of(response) == [
        f"No change: {csp.member.get_full_name()} keeps the same roles."
    ]


def test_a_global_admin_grants_and_revokes_global_admin(client, csp):
    signed_in(client, csp.global_admin)

    client.post(roles_url(csp.member), posted(GA, REFERRALS))
    assert roles_of(csp.member) == {GA, REFERRALS}

    client.post(roles_url(csp.second_global_admin), posted(AA))
    assert roles_of(csp.second_global_admin) == {AA}


def test_an_account_admin_changes_membership_roles_and_keeps_the_closed_ones(client, csp):
    target = UserFactory(organization=csp.organization, roles=[BILLING, SALES, REFERRALS])

    # The browser does not send the closed (directory) boxes: they keep what they were.
    response = signed_in(client, csp.account_admin).post(roles_url(target), posted(INCENTIVES))

    assert response.status_code == 302
    assert roles_of(target) == {BILLING, SALES, INCENTIVES}


def test_a_closed_box_sent_as_it_is_changes_nothing_there(client, csp):
    # A held role the actor may not revoke, sent ticked anyway: no change, so no refusal.
    response = signed_in(client, csp.account_admin).post(
        roles_url(csp.user_admin), posted(UMA, REFERRALS)
    )

    assert response.status_code == 302
    assert roles_of(csp.user_admin) == {UMA, REFERRALS}


# Crafted requests: refused, nothing written


CRAFTED = [
    # (actor, what is posted, the field, the error)
    ("user_admin", (GA, REFERRALS), "directory_roles", ONLY_GA.format("Global admin")),
    ("account_admin", (BILLING, REFERRALS), "directory_roles", GA_OR_UMA.format("Billing admin")),
    (
        "account_admin",
        (UMA, REFERRALS),
        "directory_roles",
        GA_OR_UMA.format("User management admin"),
    ),
    ("global_admin", ("superuser",), "membership_roles", "Select a valid choice."),
    ("global_admin", (REFERRALS, "is_staff"), "membership_roles", "Select a valid choice."),
]


@pytest.mark.parametrize(("actor", "keys", "field", "error"), CRAFTED)
def test_crafted_requests_are_refused_and_change_nothing(client, csp, actor, keys, field, error):
    before = database_state()

    response = signed_in(client, getattr(csp, actor)).post(roles_url(csp.member), posted(*keys))

    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(error in message for message in errors), errors
    assert database_state() == before
    assert roles_of(csp.member) == {REFERRALS}


def test_a_key_in_the_wrong_group_is_refused(client, csp):
    before = database_state()

    response = signed_in(client, csp.global_admin).post(
        roles_url(csp.member), {"membership_roles": [GA, REFERRALS]}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["membership_roles"]
    assert database_state() == before


def test_a_csp_role_in_a_non_csp_organization_is_refused(client, non_csp):
    before = database_state()

    response = signed_in(client, non_csp.global_admin).post(
        roles_url(non_csp.member), posted(BILLING, REFERRALS)
    )

    assert response.status_code == 200
    assert response.context["form"].errors["directory_roles"] == [
        "Billing admin is a CSP role: a non-CSP organization cannot grant it."
    ]
    assert database_state() == before


def test_a_refused_form_keeps_what_was_ticked(client, csp):
    target = UserFactory(organization=csp.organization, roles=[BILLING, REFERRALS])

    response = signed_in(client, csp.account_admin).post(roles_url(target), posted(GA, INCENTIVES))

    boxes = boxes_of(response)
    assert {key for key, box in boxes.items() if box.checked} == {GA, BILLING, INCENTIVES}
    assert roles_of(target) == {BILLING, REFERRALS}


# The last Global admin


def test_the_last_global_admin_cannot_lose_global_admin(client, csp):
    RoleAssignment.objects.filter(user=csp.second_global_admin).delete()
    last = csp.global_admin
    before = database_state()

    # Themselves: nobody changes their own roles. Anyone else: only a Global admin may.
    own = signed_in(client, last).post(roles_url(last), posted(REFERRALS))
    by_user_admin = signed_in(client, csp.user_admin).post(roles_url(last), posted(REFERRALS))

    assert own.status_code == by_user_admin.status_code == 403
    assert database_state() == before
    assert roles_of(last) == {GA}


def test_a_refusal_meanwhile_is_shown_on_the_form(client, csp, monkeypatch):
    # Allowed when the page was shown; another Global admin took this one's role meanwhile.
    real = role_services.change_roles

    def demoted_meanwhile(actor: User, *args: object, **kwargs: object) -> object:
        RoleAssignment.objects.filter(user=actor).delete()
        return real(actor, *args, **kwargs)

    monkeypatch.setattr(role_services, "change_roles", demoted_meanwhile)

    response = signed_in(client, csp.global_admin).post(
        roles_url(csp.second_global_admin), posted(REFERRALS)
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Only a Global admin can change the roles of a Global admin."
    ]
    assert roles_of(csp.second_global_admin) == {GA}
    refusal = AuditEvent.objects.get()
    assert refusal.outcome == AuditOutcome.REFUSED


# Queries


def page_queries(client: Client, target: User) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(roles_url(target))
    assert response.status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_roles(client, csp):
    keys = [spec.key.value for spec in CATALOGUE]
    few = UserFactory(organization=csp.organization, roles=keys[3:6])
    many = UserFactory(organization=csp.organization, roles=keys[1:])
    signed_in(client, csp.global_admin)

    assert page_queries(client, few) == page_queries(client, many)


# The access preview, as in Add user


def preview_items(html: str, testid: str) -> list[str]:
    block = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(ul|p)>', html, re.S).group(1)
    return re.findall(r"<li>(.*?)</li>", block)


def test_edit_roles_shows_the_access_preview_of_the_roles_held(client, csp):
    target = UserFactory(organization=csp.organization, roles=[RoleKey.MPN_PARTNER_ADMIN])

    html = signed_in(client, csp.global_admin).get(roles_url(target)).content.decode()

    assert 'id="access-preview-heading">Access preview</h2>' in html
    assert "Membership" in preview_items(html, "preview-workspaces")
    preview_url = reverse("edit_roles_preview", args=[target.public_id])
    assert f'data-access-preview-url="{preview_url}"' in html
    assert 'src="/static/js/access-preview.js"' in html
    assert html.count("data-access-preview-role") == len(CATALOGUE)


def test_the_preview_fragment_is_of_the_ticked_boxes_and_the_closed_ones_held(client, csp):
    # An Account admin cannot change directory roles: the Billing admin role held stays in the
    # preview whatever is sent, and so does nothing they may not grant.
    target = UserFactory(organization=csp.organization, roles=[RoleKey.BILLING_ADMIN])
    url = reverse("edit_roles_preview", args=[target.public_id])
    signed_in(client, csp.account_admin)

    unticked = client.get(url).content.decode()
    ticked = client.get(url, {"roles": [REFERRALS, GA]}).content.decode()

    assert preview_items(unticked, "preview-workspaces") == ["Billing"]
    assert preview_items(ticked, "preview-workspaces") == ["Billing", "Referrals"]


def test_the_preview_after_a_refused_save_is_of_the_boxes_sent(client, csp):
    target = UserFactory(organization=csp.organization, roles=[RoleKey.SALES_AGENT])
    signed_in(client, csp.account_admin)

    response = client.post(
        roles_url(target), {"membership_roles": [REFERRALS], "directory_roles": [GA]}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Referrals" in preview_items(html, "preview-workspaces")


def test_the_preview_fragment_is_refused_to_those_who_may_change_no_role(client, csp):
    target = UserFactory(organization=csp.organization)
    signed_in(client, csp.mpn_admin)

    response = client.get(reverse("edit_roles_preview", args=[target.public_id]))

    assert response.status_code == 403
