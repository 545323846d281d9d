"""Whoever controls a user's email can choose their password (an invitation, Forgot password?).
So nobody who may not make someone a Global admin can reach a Global admin's account, or one
waiting for approval as a Global admin, by changing their email (DOMAIN.md rules 2, 6 and 12)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import services
from roles import services as role_services
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from roles.rules import RuleRefused
from tests.factories import SupportStaffFactory
from tests.jobs import sent_mail
from tests.test_admin import change_form_data, role_keys, url

pytestmark = pytest.mark.django_db

GA = RoleKey.GLOBAL_ADMIN
ATTACKER = "attacker@evil.example"


def invited(csp, actor, *role_keys_: str):
    return services.create_user(
        actor,
        organization=csp.organization,
        first_name="Gina",
        last_name="Admin",
        email="gina@contoso.example",
        role_keys=list(role_keys_),
        invite=True,
    ).user


def test_support_staff_cannot_point_a_global_admins_email_at_themselves(
    client, csp, support, mailoutbox, django_capture_on_commit_callbacks
):
    # A Global admin who has not opened their invitation yet.
    gina = invited(csp, csp.global_admin, GA)
    sent_mail().clear()
    client.force_login(support)

    page = client.post(url("accounts_user_change", gina.pk), change_form_data(gina, email=ATTACKER))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url("accounts_user_changelist"),
            {"action": "resend_invitation_selected", "_selected_action": [gina.pk], "index": 0},
        )

    gina.refresh_from_db()
    assert gina.email == "gina@contoso.example"
    [error] = page.context["adminform"].form.errors["email"]
    assert error.startswith("Support staff do not change a Global admin's email")
    assert [message.to for message in sent_mail()] == [["gina@contoso.example"]]


def test_a_global_admin_of_the_organization_may_change_it(csp):
    gina = invited(csp, csp.global_admin, GA)

    services.update_user_details(
        csp.global_admin, gina, first_name="Gina", last_name="Admin", email="gina@new.example"
    )

    gina.refresh_from_db()
    assert gina.email == "gina@new.example"


@pytest.mark.parametrize("who", ["user_admin", "support"])
def test_nobody_below_global_admin_redirects_one_waiting_for_approval(csp, support, who):
    actor = support if who == "support" else csp.user_admin
    ada = invited(csp, support)
    role_services.request_global_admin(support, ada)

    with pytest.raises(RuleRefused, match="waiting for approval as a Global admin"):
        services.update_user_details(
            actor, ada, first_name="Ada", last_name="New", email="uma.second@evil.example"
        )

    ada.refresh_from_db()
    assert ada.email == "gina@contoso.example"


def test_an_approval_is_refused_when_the_email_changed_since_the_request(client, csp, support):
    second = SupportStaffFactory()
    member = csp.member
    grant_request = role_services.request_global_admin(support, member)
    # A Global admin of the organization may change it; the request was for the old address.
    services.update_user_details(
        csp.global_admin, member, first_name="M", last_name="M", email="member@new.example"
    )
    client.force_login(second)
    changelist = reverse("admin:roles_globaladmingrantrequest_changelist")

    shown = client.post(
        changelist, {"action": "approve_selected", "_selected_action": [grant_request.pk]}
    )
    with pytest.raises(RuleRefused, match="email changed since the request"):
        role_services.approve_global_admin_request(second, grant_request)

    assert "now <bdi>M M &lt;member@new.example&gt;</bdi>" in shown.content.decode()
    assert GA not in role_keys(member)
    assert not RoleAssignment.objects.filter(user=member, role__key=GA).exists()
