"""DOMAIN.md rule 12: a Global admin grant made by support staff takes effect only when a second
support staff member approves it. Asked for in the admin, decided in the admin, each step audited;
a partner's Global admin still grants it directly."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, AuditOutcome, User
from roles import services as role_services
from roles.catalogue import RoleKey
from roles.models import GlobalAdminGrantRequest, GrantRequestStatus, RoleAssignment
from roles.rules import SECOND_APPROVAL_NEEDED, RuleRefused
from tests.conftest import Cast
from tests.factories import SupportStaffFactory
from tests.jobs import sent_mail
from tests.test_admin import change_form_data, messages_of, role_keys, role_pk, url

GA = RoleKey.GLOBAL_ADMIN
CHANGELIST = reverse("admin:roles_globaladmingrantrequest_changelist")


@pytest.fixture
def support_client(client: Client, support: User) -> Client:
    client.force_login(support)
    return client


@pytest.fixture
def second_support(db: None) -> User:
    return SupportStaffFactory()


@pytest.fixture
def second_client(second_support: User) -> Client:
    client = Client()
    client.force_login(second_support)
    return client


def actions_about(user: User, actor: User) -> list[str]:
    events = AuditEvent.objects.about(user).filter(actor=actor, outcome=AuditOutcome.DONE)
    return sorted(events.values_list("action", flat=True))


def decide(client: Client, action: str, requests: list[GlobalAdminGrantRequest], note: str = ""):
    """The action's confirmation page, then its button."""
    selected = {"action": action, "_selected_action": [r.pk for r in requests]}
    page = client.post(CHANGELIST, {**selected, "index": 0})
    assert page.status_code == 200
    assert "Note (optional" in page.content.decode()
    return client.post(CHANGELIST, {**selected, "post": "yes", "note": note}, follow=True)


@pytest.fixture
def pending(csp: Cast, support: User) -> GlobalAdminGrantRequest:
    return role_services.request_global_admin(support, csp.member)


# Asking


def test_ticking_global_admin_on_a_user_asks_for_it_and_grants_nothing(
    support_client, csp, support
):
    member = csp.member

    response = support_client.post(
        url("accounts_user_change", member.pk),
        change_form_data(member, roles=[role_pk(RoleKey.REFERRALS_ADMIN), role_pk(GA)]),
        follow=True,
    )

    assert response.status_code == 200
    assert role_keys(member) == {RoleKey.REFERRALS_ADMIN}
    grant_request = GlobalAdminGrantRequest.objects.get()
    assert (grant_request.user, grant_request.organization) == (member, csp.organization)
    assert (grant_request.requested_by, grant_request.status) == (support, "pending")
    link = url("roles_globaladmingrantrequest_change", grant_request.pk)
    [asked] = [m for m in messages_of(response) if "waits for a second support staff" in m]
    assert asked.startswith(f'<a href="{link}">Global admin for ')
    assert actions_about(member, support) == [AuditAction.GLOBAL_ADMIN_REQUESTED]


def test_adding_a_user_as_global_admin_adds_them_and_asks_for_it(
    support_client, csp, support, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        support_client.post(
            url("accounts_user_add"),
            {
                "organization": csp.organization.pk,
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@contoso.example",
                "roles": [role_pk(GA), role_pk(RoleKey.BILLING_ADMIN)],
            },
        )

    ada = User.objects.get(email="ada@contoso.example")
    assert role_keys(ada) == {RoleKey.BILLING_ADMIN}
    assert GlobalAdminGrantRequest.objects.get().user == ada
    assert actions_about(ada, support) == sorted(
        [AuditAction.USER_CREATED, AuditAction.ROLE_GRANTED, AuditAction.GLOBAL_ADMIN_REQUESTED]
    )
    assert [message.to for message in sent_mail()] == [["ada@contoso.example"]]


def test_a_role_assignment_of_global_admin_is_a_request(support_client, csp):
    response = support_client.post(
        url("roles_roleassignment_add"), {"user": csp.member.pk, "role": role_pk(GA)}
    )

    grant_request = GlobalAdminGrantRequest.objects.get()
    assert response.status_code == 302
    assert response.url == url("roles_globaladmingrantrequest_change", grant_request.pk)
    assert role_keys(csp.member) == {RoleKey.REFERRALS_ADMIN}
    assert not RoleAssignment.objects.filter(user=csp.member, role__key=GA).exists()


def test_a_second_request_for_one_user_is_a_field_error(support_client, csp, pending):
    response = support_client.post(
        url("accounts_user_change", csp.member.pk),
        change_form_data(csp.member, roles=[role_pk(RoleKey.REFERRALS_ADMIN), role_pk(GA)]),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["roles"] == [
        "A request to make this user a Global admin is waiting for approval."
    ]
    assert GlobalAdminGrantRequest.objects.count() == 1
    [refusal] = AuditEvent.objects.refused()
    assert refusal.action == AuditAction.GLOBAL_ADMIN_REQUESTED


def test_the_services_refuse_support_staffs_direct_grant(csp, support):
    with pytest.raises(RuleRefused, match=SECOND_APPROVAL_NEEDED):
        role_services.change_roles(support, csp.member, [RoleKey.REFERRALS_ADMIN, GA])

    assert role_keys(csp.member) == {RoleKey.REFERRALS_ADMIN}


def test_a_partners_global_admin_still_grants_it_directly(client, csp):
    client.force_login(csp.global_admin)

    response = client.post(
        reverse("edit_roles", args=[csp.member.public_id]),
        {"directory_roles": [GA], "membership_roles": [RoleKey.REFERRALS_ADMIN]},
    )

    assert response.status_code == 302
    assert GA in role_keys(csp.member)
    assert not GlobalAdminGrantRequest.objects.exists()


# Deciding


def test_another_support_staff_member_approves_and_the_role_is_granted(
    second_client, second_support, csp, pending
):
    response = decide(second_client, "approve_selected", [pending])

    assert f"Approved 1: {pending}." in messages_of(response)
    assert GA in role_keys(csp.member)
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == (GrantRequestStatus.APPROVED, second_support)
    assert pending.decided_at is not None
    assignment = RoleAssignment.objects.get(user=csp.member, role__key=GA)
    assert assignment.granted_by == second_support
    assert actions_about(csp.member, second_support) == [
        AuditAction.GLOBAL_ADMIN_APPROVED,
        AuditAction.ROLE_GRANTED,
    ]


def test_the_one_who_asked_cannot_approve(support_client, support, csp, pending):
    response = decide(support_client, "approve_selected", [pending])

    assert (
        f"{pending}: A second support staff member decides this request, not the one who asked."
        in messages_of(response)
    )
    assert GA not in role_keys(csp.member)
    pending.refresh_from_db()
    assert pending.status == GrantRequestStatus.PENDING
    [refusal] = AuditEvent.objects.refused()
    assert (refusal.action, refusal.actor) == (AuditAction.GLOBAL_ADMIN_APPROVED, support)


def test_a_rejection_grants_nothing_and_keeps_the_note(second_client, second_support, csp, pending):
    response = decide(second_client, "reject_selected", [pending], note="Not asked by the partner")

    assert f"Rejected 1: {pending}." in messages_of(response)
    assert GA not in role_keys(csp.member)
    pending.refresh_from_db()
    assert (pending.status, pending.reason) == ("rejected", "Not asked by the partner")
    event = AuditEvent.objects.get(action=AuditAction.GLOBAL_ADMIN_REJECTED)
    assert (event.actor, event.target) == (second_support, csp.member)
    assert event.after["note"] == "Not asked by the partner"


def test_the_one_who_asked_may_cancel_and_nobody_else(
    support_client, second_client, second_support, support, csp, pending
):
    by_another = decide(second_client, "cancel_selected", [pending])
    pending.refresh_from_db()
    assert pending.status == GrantRequestStatus.PENDING
    assert any("Only the support staff member who asked" in m for m in messages_of(by_another))

    decide(support_client, "cancel_selected", [pending])

    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == (GrantRequestStatus.CANCELLED, support)
    cancelled = AuditEvent.objects.filter(action=AuditAction.GLOBAL_ADMIN_CANCELLED)
    assert set(cancelled.values_list("outcome", "actor")) == {
        (AuditOutcome.REFUSED, second_support.pk),
        (AuditOutcome.DONE, support.pk),
    }


def test_a_decided_request_is_not_decided_again(second_client, csp, pending):
    decide(second_client, "reject_selected", [pending])

    response = decide(second_client, "approve_selected", [pending])

    assert f"{pending}: This request is rejected already." in messages_of(response)
    assert GA not in role_keys(csp.member)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("deactivated", "This user is deactivated: reject the request, or reactivate them first."),
        ("deleted", "This user no longer exists: reject the request."),
    ],
)
def test_an_approval_is_refused_for_a_user_deactivated_or_deleted_since(
    second_client, support, csp, pending, change, reason
):
    from accounts import services

    if change == "deactivated":
        services.deactivate_user(support, csp.member)
    else:
        services.delete_user(support, csp.member)

    response = decide(second_client, "approve_selected", [pending])

    assert f"{pending}: {reason}" in messages_of(response)
    pending.refresh_from_db()
    assert pending.status == GrantRequestStatus.PENDING
    assert not RoleAssignment.objects.filter(role__key=GA, user__email=csp.member.email).exists()
    refusal = AuditEvent.objects.refused().get(action=AuditAction.GLOBAL_ADMIN_APPROVED)
    assert refusal.reason == reason
    assert refusal.target_label == str(csp.member)
    # The request still says whom it was for, and can be rejected.
    decide(second_client, "reject_selected", [pending])
    pending.refresh_from_db()
    assert (pending.status, pending.user_label) == ("rejected", str(csp.member))


def test_an_approval_asks_the_grants_rules_again_under_the_lock(
    second_support, non_csp, support, monkeypatch
):
    # As when the form's answer went stale: the request was made, then the rules changed (here
    # the user became a Global admin another way); the approval refuses and changes nothing.
    grant_request = role_services.request_global_admin(support, non_csp.member)
    role_services.grant_role(non_csp.global_admin, non_csp.member, GA)

    with pytest.raises(RuleRefused, match="holds Global admin already"):
        role_services.approve_global_admin_request(second_support, grant_request)

    grant_request.refresh_from_db()
    assert grant_request.status == GrantRequestStatus.PENDING


# The list


def test_support_staff_list_and_read_requests_but_never_add_or_edit_them(support_client, pending):
    listed = support_client.get(CHANGELIST)
    shown = support_client.get(url("roles_globaladmingrantrequest_change", pending.pk))

    assert list(listed.context["cl"].result_list) == [pending]
    assert shown.status_code == 200
    assert support_client.get(url("roles_globaladmingrantrequest_add")).status_code == 403
    deleted = support_client.post(
        url("roles_globaladmingrantrequest_delete", pending.pk), {"post": "yes"}
    )
    assert deleted.status_code == 403
    assert GlobalAdminGrantRequest.objects.get() == pending
