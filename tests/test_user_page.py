"""The user page (accounts.views.user.user_detail): details, roles, history, and exactly the
actions the rulebook allows this actor on this user."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import urlencode

from accounts import audit, services
from accounts.models import AuditAction, AuditEvent, AuditOutcome, User
from roles import rules
from roles import services as role_services
from roles.catalogue import CATALOGUE, RoleKey
from roles.rules import Action
from tests.conftest import Cast
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

GA = RoleKey.GLOBAL_ADMIN
REFERRALS = RoleKey.REFERRALS_ADMIN

ALL_ACTIONS = {
    "Edit roles",
    "Edit details",
    "Reset password",
    "Reset second factor",
    "Deactivate",
    "Delete user",
}
SEE_DIRECTORY_ROLES = [
    "Global admin",
    "User management admin",
    "Account admin",
    "MPN Partner Admin",
]


def page_of(user: User) -> str:
    return reverse("user_detail", args=[user.public_id])


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def action_buttons(html: str) -> dict[str, bool]:
    """The user page's action buttons and links: label -> enabled."""
    section = re.search(r'data-testid="user-actions">(.*?)</section>', html, re.S)
    if section is None:
        return {}
    return {
        label.strip(): "disabled" not in attributes
        for attributes, label in re.findall(
            r"<(?:a|button)\b([^>]*)>([^<]+)</(?:a|button)>", section.group(1)
        )
    }


def without_second_global_admin(cast: Cast) -> User:
    """The cast's first Global admin, now the organization's only active one."""
    User.objects.filter(pk=cast.second_global_admin.pk).update(is_active=False)
    return cast.global_admin


# Who sees the page


@pytest.mark.parametrize("actor", ["global_admin", "user_admin", "account_admin", "mpn_admin"])
def test_it_works_for_those_who_see_the_directory(client, csp, actor):
    target = UserFactory(organization=csp.organization, roles=[REFERRALS, RoleKey.BILLING_ADMIN])

    response = signed_in(client, getattr(csp, actor)).get(page_of(target))

    assert response.status_code == 200
    html = response.content.decode()
    assert target.get_full_name() in html
    assert target.email in html
    assert "Referrals admin" in html
    assert "Billing admin" in html
    assert "Membership role" in html
    assert "Directory role" in html
    assert "Active" in html


@pytest.mark.parametrize("actor", ["billing_admin", "member"])
def test_it_refuses_roles_that_do_not_see_the_directory(client, csp, actor):
    response = signed_in(client, getattr(csp, actor)).get(page_of(csp.account_admin))

    assert response.status_code == 403
    assert response.context["role_names"] == SEE_DIRECTORY_ROLES
    assert "It needs one of these roles" in response.content.decode()
    assert csp.global_admin.get_full_name() in [
        holder.name for holder in response.context["holders"]
    ]


def test_it_refuses_support_staff(client, csp, support):
    # Support staff work in the support admin: no partner page for them, not even by id.
    assert signed_in(client, support).get(page_of(csp.member)).status_code == 403
    assert client.get(page_of(support)).status_code == 403


def test_it_needs_sign_in(client, csp):
    response = client.get(page_of(csp.member))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_answers_404_for_another_organizations_user(client, csp, outsider):
    assert signed_in(client, outsider).get(page_of(csp.member)).status_code == 404


def test_it_answers_404_for_a_user_that_does_not_exist(client, csp):
    url = reverse("user_detail", args=[uuid.uuid4()])

    assert signed_in(client, csp.global_admin).get(url).status_code == 404


def test_it_rejects_post(client, csp):
    assert signed_in(client, csp.global_admin).post(page_of(csp.member)).status_code == 405


# Which actions show, for whom


def deactivated(user: User) -> User:
    User.objects.filter(pk=user.pk).update(is_active=False)
    return user


BUTTONS = [
    # (actor, target, the actions shown)
    ("global_admin", "member", ALL_ACTIONS),
    ("global_admin", "second_global_admin", ALL_ACTIONS),
    ("global_admin", "global_admin", {"Edit details"}),
    ("user_admin", "member", {"Edit roles", "Edit details", "Deactivate", "Delete user"}),
    ("user_admin", "account_admin", {"Edit roles", "Edit details", "Deactivate", "Delete user"}),
    ("user_admin", "global_admin", set()),
    ("user_admin", "user_admin", {"Edit details"}),
    ("account_admin", "member", {"Edit roles"}),
    ("account_admin", "user_admin", {"Edit roles"}),
    ("account_admin", "global_admin", set()),
    ("account_admin", "account_admin", set()),
    ("mpn_admin", "member", set()),
    ("mpn_admin", "global_admin", set()),
]


@pytest.mark.parametrize(("actor", "target", "shown"), BUTTONS)
def test_it_shows_the_actions_the_rulebook_allows(client, csp, actor, target, shown):
    response = signed_in(client, getattr(csp, actor)).get(page_of(getattr(csp, target)))

    assert response.status_code == 200
    assert action_buttons(response.content.decode()) == dict.fromkeys(shown, True)


def test_a_deactivated_user_can_be_reactivated_not_deactivated(client, csp):
    target = deactivated(csp.member)

    response = signed_in(client, csp.global_admin).get(page_of(target))

    assert action_buttons(response.content.decode()) == dict.fromkeys(
        {
            "Edit roles",
            "Edit details",
            "Reset password",
            "Reset second factor",
            "Reactivate",
            "Delete user",
        },
        True,
    )
    assert "Deactivated" in response.content.decode()


@pytest.mark.parametrize(
    ("actor", "shown"),
    [
        ("global_admin", ALL_ACTIONS),
        # No User management admin exists in a non-CSP organization: the cast's holds no role.
        ("user_admin", set()),
        ("account_admin", {"Edit roles"}),
        ("mpn_admin", set()),
    ],
)
def test_in_a_non_csp_organization(client, non_csp, actor, shown):
    response = signed_in(client, getattr(non_csp, actor)).get(page_of(non_csp.member))

    if actor == "user_admin":
        assert response.status_code == 403
        return
    assert action_buttons(response.content.decode()) == dict.fromkeys(shown, True)


def test_the_buttons_are_forms_that_post(client, csp):
    signed_in(client, csp.global_admin)
    html = client.get(page_of(csp.member)).content.decode()

    # Reset password, Deactivate and Delete lead to a page that asks first, which posts.
    for url_name in ("reset_password", "deactivate_user", "delete_user"):
        url = reverse(url_name, args=[csp.member.public_id])
        assert f'href="{url}"' in html, url_name
    for url_name in ("reset_password", "deactivate_user"):
        url = reverse(url_name, args=[csp.member.public_id])
        page = client.get(url).content.decode()
        form = re.search(r'<form method="post">(.*?)</form>', page, re.S)
        assert form is not None, url_name
        assert 'name="csrfmiddlewaretoken"' in form.group(1)
    deactivated = UserFactory(organization=csp.organization, is_active=False)
    html = client.get(page_of(deactivated)).content.decode()
    url = reverse("reactivate_user", args=[deactivated.public_id])
    assert re.search(rf'<form method="post" action="{url}">', html)


# The last Global admin


def test_the_last_global_admin_page_says_why_they_cannot_go(client, csp):
    last = without_second_global_admin(csp)

    own = signed_in(client, last).get(page_of(last)).content.decode()
    seen_by_user_admin = signed_in(client, csp.user_admin).get(page_of(last)).content.decode()

    for html in (own, seen_by_user_admin):
        assert 'data-testid="last-global-admin"' in html
        assert "only active Global admin" in html
        assert "make someone else a Global admin first" in html
    assert action_buttons(own) == {"Edit details": True}
    assert action_buttons(seen_by_user_admin) == {}


def test_with_two_active_global_admins_there_is_no_such_note(client, csp):
    html = signed_in(client, csp.global_admin).get(page_of(csp.global_admin)).content.decode()

    assert 'data-testid="last-global-admin"' not in html


def test_an_action_refused_only_by_the_last_global_admin_rule_shows_disabled_with_why(
    client, csp, monkeypatch
):
    # From a partner page, the self-lockout rule answers first; were the rulebook to answer
    # with the last-Global-admin rule, the page must show the button disabled and say why.
    real = rules.can_manage_user

    def last_global_admin_first(actor, target, action):
        if action in {Action.DEACTIVATE_USER, Action.DELETE_USER}:
            return rules.refused(rules.LAST_GLOBAL_ADMIN)
        return real(actor, target, action)

    monkeypatch.setattr(rules, "can_manage_user", last_global_admin_first)

    html = signed_in(client, csp.global_admin).get(page_of(csp.member)).content.decode()

    buttons = action_buttons(html)
    assert buttons["Deactivate"] is False
    assert buttons["Delete user"] is False
    assert buttons["Edit details"] is True
    for name in ("deactivate_user", "delete_user"):
        assert f'aria-describedby="why-{name}"' in html
        assert re.search(rf'id="why-{name}"[^>]*>{re.escape(rules.LAST_GLOBAL_ADMIN)}<', html)


# Details


def test_it_shows_who_created_the_user_and_when(client, csp):
    created = services.create_user(
        csp.global_admin,
        organization=csp.organization,
        first_name="Nadia",
        last_name="Okafor",
        email="nadia@example.com",
    ).user

    response = signed_in(client, csp.user_admin).get(page_of(created))

    details = re.search(
        r'data-testid="user-details">(.*?)</dl>', response.content.decode(), re.S
    ).group(1)
    assert csp.global_admin.get_full_name() in details
    assert timezone.localtime(created.created_at).strftime("%Y") in details


# History


def test_it_shows_the_history_newest_first_readably(client, csp):
    target = csp.member
    services.update_user_details(
        csp.user_admin, target, first_name="Anne", last_name="Lee", email=target.email
    )
    role_services.grant_role(csp.global_admin, target, RoleKey.INCENTIVES_ADMIN)
    with pytest.raises(rules.RuleRefused):
        role_services.grant_role(csp.account_admin, target, GA)
    services.deactivate_user(csp.global_admin, target)

    response = signed_in(client, csp.global_admin).get(page_of(target))

    html = response.content.decode()
    history = re.search(r'data-testid="user-history">(.*?)</ol>', html, re.S).group(1)
    # Each event runs from its marker to the next one (an event holds a list of its own).
    events = [chunk.split(">", 1)[1] for chunk in history.split('data-testid="history-event"')[1:]]
    texts = [" ".join(unescape(re.sub(r"<[^>]+>", " ", event)).split()) for event in events]
    assert len(texts) == 4
    assert texts[0].startswith("User deactivated Done")
    assert "Status: from Active to Deactivated" in texts[0]
    assert texts[1].startswith("Role granted Refused")
    assert f"by {csp.account_admin}" in texts[1]
    assert "Why: Only a Global admin can grant or revoke Global admin." in texts[1]
    assert re.search(r"Roles: \+\s?Global admin", texts[1])
    assert texts[2].startswith("Role granted Done")
    assert re.search(r"Roles: \+\s?Incentives admin", texts[2])
    assert texts[3].startswith("Details edited Done")
    assert f"by {csp.user_admin}" in texts[3]
    assert "First name: from Kevin to Anne" in texts[3] or "First name: from" in texts[3]
    assert texts[3].index("First name") < texts[3].index("Last name")  # a fixed, readable order


def test_it_shows_the_latest_twenty_events_and_links_to_the_rest(client, csp):
    start = timezone.now() - timedelta(days=1)
    for minute in range(25):
        AuditEvent.objects.create(
            organization=csp.organization,
            action=AuditAction.USER_EDITED,
            outcome=AuditOutcome.DONE,
            actor=csp.global_admin,
            actor_label=f"Admin number {minute}",
            target=csp.member,
            target_label=str(csp.member),
            created_at=start + timedelta(minutes=minute),
        )

    html = signed_in(client, csp.global_admin).get(page_of(csp.member)).content.decode()

    assert html.count('data-testid="history-event"') == 20
    assert "Admin number 24" in html
    assert "Admin number 4<" not in html
    assert "The latest 20 events are shown." in html
    link = f"{reverse('audit_log')}?{urlencode({'person': csp.member.email})}"
    assert f'href="{escape(link)}"' in html
    assert "Admin number 4<" in signed_in(client, csp.global_admin).get(link).content.decode()


def test_it_shows_only_events_about_this_user(client, csp):
    services.deactivate_user(csp.global_admin, csp.billing_admin)

    html = signed_in(client, csp.global_admin).get(page_of(csp.member)).content.decode()

    assert "User deactivated" not in html
    assert "No history yet." in html


@pytest.mark.parametrize("actor", ["account_admin", "mpn_admin"])
def test_the_history_is_for_those_who_may_see_the_audit_log(client, csp, actor):
    # DOMAIN.md: Account admins and MPN Partner Admins do not see the audit log.
    services.deactivate_user(csp.global_admin, csp.member)

    html = signed_in(client, getattr(csp, actor)).get(page_of(csp.member)).content.decode()

    assert "History" not in html
    assert "User deactivated" not in html


# Hostile text


HOSTILE_FIRST = '<script>alert("x")</script>'
HOSTILE_LAST = 'O\'Brien "the" \u202egnp.exe'


def test_hostile_names_are_shown_escaped(client, csp):
    target = UserFactory(organization=csp.organization, first_name="Plain", last_name="Name")
    services.update_user_details(
        csp.global_admin,
        target,
        first_name=HOSTILE_FIRST,
        last_name=HOSTILE_LAST,
        email=target.email,
    )
    csp.global_admin.first_name = "<b>Boss</b>"
    csp.global_admin.save()
    services.deactivate_user(csp.global_admin, target)

    html = signed_in(client, csp.global_admin).get(page_of(target)).content.decode()

    assert "<script>alert" not in html
    assert "<b>Boss</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "O&#x27;Brien &quot;the&quot; \u202egnp.exe" in html
    assert "&lt;b&gt;Boss&lt;/b&gt;" in html  # the history's actor label


# Queries


def page_queries(client: Client, target: User) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page_of(target))
    assert response.status_code == 200
    return len(queries)


def with_history(target: User, actor: User, events: int) -> User:
    for number in range(events):
        audit.record(
            actor,
            AuditAction.USER_EDITED,
            organization=target.organization,
            target=target,
            before={"first_name": f"Before {number}"},
            after={"first_name": f"After {number}"},
        )
    return target


@pytest.mark.parametrize("actor", ["global_admin", "user_admin", "account_admin", "mpn_admin"])
def test_the_number_of_queries_does_not_grow_with_roles_or_history(client, csp, actor):
    keys = [spec.key for spec in CATALOGUE]
    few = with_history(
        UserFactory(organization=csp.organization, roles=keys[2:5]), csp.global_admin, 5
    )
    many = with_history(
        UserFactory(organization=csp.organization, roles=keys[1:]), csp.global_admin, 60
    )
    signed_in(client, getattr(csp, actor))

    assert page_queries(client, few) == page_queries(client, many)


def test_the_number_of_queries_is_small(client, csp):
    # Session, user, actor's roles, target, its roles, its creator, history, organization...
    target = with_history(
        UserFactory(organization=csp.organization, roles=[REFERRALS]), csp.global_admin, 3
    )

    assert page_queries(signed_in(client, csp.global_admin), target) <= 12


def test_a_global_admin_target_costs_no_more_per_role(client, csp):
    other = OrganizationFactory()
    UserFactory(organization=other, roles=[GA])  # another organization's admins do not count
    signed_in(client, csp.global_admin)

    assert page_queries(client, csp.second_global_admin) == page_queries(
        client, with_history(csp.second_global_admin, csp.global_admin, 20)
    )


# Confirmation before what ends access, and why nothing can be done


@pytest.mark.parametrize(
    ("url_name", "says"),
    [
        ("reset_password", "every session Carmen has open ends: signed out everywhere"),
        ("deactivate_user", "every session Carmen has open ends at its next request"),
    ],
)
def test_reset_and_deactivate_say_what_ends_before_they_are_done(client, csp, url_name, says):
    carmen = UserFactory(organization=csp.organization, first_name="Carmen")
    invited = UserFactory(organization=csp.organization, first_name="Ines", password="!invited")
    signed_in(client, csp.global_admin)

    page = client.get(reverse(url_name, args=[carmen.public_id])).content.decode()
    invited_page = client.get(reverse(url_name, args=[invited.public_id])).content.decode()

    consequence = re.search(r'data-testid="consequence">(.*?)</div>', page, re.S).group(1)
    assert says in consequence
    assert 'data-testid="invitation-ends"' not in page
    assert f"The invitation sent to {invited.email} stops working" in invited_page
    assert User.objects.get(pk=carmen.pk).is_active
    assert User.objects.get(pk=carmen.pk).password == carmen.password


def test_a_user_management_admin_on_a_global_admins_page_is_told_why(client, csp):
    html = signed_in(client, csp.user_admin).get(page_of(csp.global_admin)).content.decode()

    assert action_buttons(html) == {}
    why = re.search(r'data-testid="why-no-action">(.*?)</div>', html, re.S).group(1)
    assert "Only a Global admin can change a user who holds Global admin." in why


def test_a_read_only_admin_is_told_why_there_is_nothing_to_do(client, csp):
    html = signed_in(client, csp.mpn_admin).get(page_of(csp.member)).content.decode()

    assert action_buttons(html) == {}
    why = re.search(r'data-testid="why-no-action">(.*?)</div>', html, re.S).group(1)
    reasons = [unescape(reason) for reason in re.findall(r"<li>([^<]+)</li>", why)]
    assert reasons == [
        f"You cannot grant or revoke any role of {csp.member.get_full_name()}.",
        "Only a Global admin or User management admin can edit a user's name or email.",
        "Only a Global admin can reset passwords.",
        "Only a Global admin or User management admin can deactivate users.",
        "Only a Global admin or User management admin can delete users.",
    ]


def test_an_admin_who_may_act_sees_no_why(client, csp):
    html = signed_in(client, csp.global_admin).get(page_of(csp.member)).content.decode()

    assert 'data-testid="why-no-action"' not in html
