"""The support admin asks for the password again before the same sensitive actions as the partner
pages (accounts.reauth): asking for and approving Global admin, deleting a user (one or in bulk),
and deactivating in bulk. Nothing is done until it is entered; then the person comes back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from accounts.models import User
from roles import services as role_services
from roles.catalogue import RoleKey
from roles.models import GlobalAdminGrantRequest
from tests.conftest import Cast
from tests.factories import PASSWORD, SupportStaffFactory
from tests.test_admin import change_form_data, role_pk, url
from tests.test_reauthentication import (
    CONFIRM,
    asked_to_confirm,
    confirm,
    database_state,
    password_entered,
)

GA = RoleKey.GLOBAL_ADMIN
USERS = reverse("admin:accounts_user_changelist")
REQUESTS = reverse("admin:roles_globaladmingrantrequest_changelist")


@pytest.fixture
def support_client(client: Client, support: User) -> Client:
    client.force_login(support)
    return client


# Each sensitive action: (what the support staff member does, the page they come back to)


def delete_one(client: Client, cast: Cast) -> tuple[HttpResponse, str]:
    page = url("accounts_user_delete", cast.member.pk)
    return client.post(page, {"post": "yes"}), page


def open_delete_page(client: Client, cast: Cast) -> tuple[HttpResponse, str]:
    page = url("accounts_user_delete", cast.member.pk)
    return client.get(page), page


def delete_in_bulk(client: Client, cast: Cast) -> tuple[HttpResponse, str]:
    data = {"action": "delete_selected", "_selected_action": [cast.member.pk], "post": "yes"}
    return client.post(USERS, data), USERS


def open_bulk_delete_page(client: Client, cast: Cast) -> tuple[HttpResponse, str]:
    data = {"action": "delete_selected", "_selected_action": [cast.member.pk], "index": 0}
    return client.post(USERS, data), USERS


def deactivate_in_bulk(client: Client, cast: Cast) -> tuple[HttpResponse, str]:
    filtered = f"{USERS}?organization__id__exact={cast.organization.pk}"
    data = {"action": "deactivate_selected", "_selected_action": [cast.member.pk], "index": 0}
    return client.post(filtered, data), filtered


def ask_for_global_admin(client: Client, cast: Cast) -> tuple[HttpResponse, str]:
    page = url("accounts_user_change", cast.member.pk)
    roles = [role_pk(RoleKey.REFERRALS_ADMIN), role_pk(GA)]
    return client.post(page, change_form_data(cast.member, roles=roles)), page


def add_a_global_admin(client: Client, cast: Cast) -> tuple[HttpResponse, str]:
    page = url("accounts_user_add")
    data = {
        "organization": cast.organization.pk,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@contoso.example",
        "roles": [role_pk(GA)],
    }
    return client.post(page, data), page


def assign_global_admin(client: Client, cast: Cast) -> tuple[HttpResponse, str]:
    page = url("roles_roleassignment_add")
    return client.post(page, {"user": cast.member.pk, "role": role_pk(GA)}), page


def approve(client: Client, cast: Cast) -> tuple[HttpResponse, str]:
    grant_request = GlobalAdminGrantRequest.objects.filter(
        user=cast.member, status="pending"
    ).first() or role_services.request_global_admin(SupportStaffFactory(), cast.member)
    data = {"action": "approve_selected", "_selected_action": [grant_request.pk], "post": "yes"}
    return client.post(REQUESTS, data), REQUESTS


def revoke_global_admin(client: Client, cast: Cast) -> tuple[HttpResponse, str]:
    assignment = cast.second_global_admin.role_assignments.get(role__key=GA)
    page = url("roles_roleassignment_delete", assignment.pk)
    return client.post(page, {"post": "yes"}), page


def revoke_in_bulk(client: Client, cast: Cast) -> tuple[HttpResponse, str]:
    assignment = cast.second_global_admin.role_assignments.get(role__key=GA)
    page = url("roles_roleassignment_changelist")
    data = {"action": "delete_selected", "_selected_action": [assignment.pk], "post": "yes"}
    return client.post(page, data), page


SENSITIVE: list[Callable[[Client, Cast], tuple[HttpResponse, str]]] = [
    delete_one,
    open_delete_page,
    delete_in_bulk,
    open_bulk_delete_page,
    deactivate_in_bulk,
    ask_for_global_admin,
    add_a_global_admin,
    assign_global_admin,
    approve,
    revoke_global_admin,
    revoke_in_bulk,
]


@pytest.mark.parametrize("action", SENSITIVE, ids=lambda action: action.__name__)
def test_a_sensitive_admin_action_asks_for_the_password_and_does_nothing(
    support_client, csp, action
):
    password_entered(support_client, minutes_ago=11)
    requests = GlobalAdminGrantRequest.objects.count()
    before = database_state()

    response, back = action(support_client, csp)

    assert asked_to_confirm(response, back), response
    # The approve case made its request before acting: compare what the action changed.
    assert GlobalAdminGrantRequest.objects.exclude(status="pending").count() == 0
    if action is not approve:
        assert database_state() == before
        assert GlobalAdminGrantRequest.objects.count() == requests
    assert User.objects.filter(pk=csp.member.pk, is_active=True).exists()


@pytest.mark.parametrize("action", SENSITIVE, ids=lambda action: action.__name__)
def test_after_the_password_the_person_comes_back_and_it_works(support_client, csp, action):
    password_entered(support_client, minutes_ago=11)
    response, back = action(support_client, csp)

    confirmed = confirm(support_client, response)

    assert (confirmed.status_code, confirmed.url) == (302, back)
    again, _ = action(support_client, csp)
    assert not (again.status_code == 302 and again.url.startswith(CONFIRM))
    member = User.objects.filter(pk=csp.member.pk).first()
    done = {
        delete_one: lambda: member is None,
        delete_in_bulk: lambda: member is None,
        deactivate_in_bulk: lambda: not member.is_active,
        ask_for_global_admin: lambda: GlobalAdminGrantRequest.objects.filter(user=member).exists(),
        add_a_global_admin: lambda: GlobalAdminGrantRequest.objects.filter(
            user__email="ada@contoso.example"
        ).exists(),
        assign_global_admin: lambda: GlobalAdminGrantRequest.objects.filter(user=member).exists(),
        approve: lambda: member.role_assignments.filter(role__key=GA).exists(),
        revoke_global_admin: lambda: not cast_revoked(csp),
        revoke_in_bulk: lambda: not cast_revoked(csp),
    }
    assert done.get(action, lambda: True)()


def cast_revoked(cast: Cast) -> bool:
    """Does the second Global admin still hold Global admin?"""
    return cast.second_global_admin.role_assignments.filter(role__key=GA).exists()


def test_the_confirm_page_answers_support_staff(support_client):
    address = f"{CONFIRM}?next={USERS}"

    assert support_client.get(address).status_code == 200
    assert support_client.post(address, {"password": "not it"}).status_code == 200
    assert support_client.post(address, {"password": PASSWORD}).url == USERS


def test_ordinary_changes_ask_for_no_password(support_client, csp):
    password_entered(support_client, minutes_ago=11)
    member = csp.member

    edited = support_client.post(
        url("accounts_user_change", member.pk), change_form_data(member, first_name="Grace")
    )
    User.objects.filter(pk=member.pk).update(is_active=False)
    reactivated = support_client.post(
        USERS, {"action": "reactivate_selected", "_selected_action": [member.pk], "index": 0}
    )

    assert edited.status_code == 302
    assert not edited.url.startswith(CONFIRM)
    assert not reactivated.url.startswith(CONFIRM)
    member.refresh_from_db()
    assert (member.first_name, member.is_active) == ("Grace", True)
