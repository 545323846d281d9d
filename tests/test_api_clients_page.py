"""Settings > API clients (Global admins) and API clients in the support admin."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent
from accounts.reauth import SESSION_KEY
from api.clients import token_hash
from api.models import ApiClient
from roles.catalogue import RoleKey
from tests.api_clients import ApiCaller, make_client

PAGE = reverse("api_clients")
GA, UMA = RoleKey.GLOBAL_ADMIN, RoleKey.USER_MANAGEMENT_ADMIN


def signed_in(client, user, *, password_confirmed: bool = True):
    client.force_login(user)  # signing in counts as entering the password
    session = client.session
    if password_confirmed:
        session[SESSION_KEY] = timezone.now().timestamp()
    else:
        del session[SESSION_KEY]
    session.save()
    return client


def form(name: str = "Entra ID", roles=(UMA,), expires_in: str = "90") -> dict:
    return {"name": name, "roles": list(roles), "expires_in": expires_in}


def test_a_global_admin_creates_a_client_and_sees_its_token_once(client, csp):
    signed_in(client, csp.global_admin)

    response = client.post(PAGE, form())

    assert response.status_code == 200
    token = response.context["created"].token
    assert token.encode() in response.content
    assert response["Cache-Control"].startswith("max-age=0")
    stored = ApiClient.objects.get(name="Entra ID")
    assert stored.token_hash == token_hash(token)
    assert stored.role_keys == [UMA]
    assert stored.created_by == csp.global_admin
    assert token.encode() not in client.get(PAGE).content
    assert ApiCaller(token).get("/api/v1/users/").status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.API_CLIENT_CREATED)
    assert event.actor == csp.global_admin
    assert event.after["roles"] == ["User management admin"]
    assert token not in str(event.after)


def test_creating_asks_for_the_password_again_and_keeps_the_choices(client, csp):
    signed_in(client, csp.global_admin, password_confirmed=False)

    response = client.post(PAGE, form(name="Okta"))

    assert response.status_code == 200
    assert not ApiClient.objects.exists()
    assert response.context["needs_password"]
    assert response.context["form"]["name"].value() == "Okta"


def test_bad_input_is_shown_next_to_the_field(client, csp):
    make_client(csp.global_admin, [UMA], name="Taken")
    signed_in(client, csp.global_admin)

    response = client.post(PAGE, form(name="Taken", roles=[], expires_in="9999"))

    errors = response.context["form"].errors
    assert set(errors) == {"name", "roles", "expires_in"}
    assert ApiClient.objects.count() == 1


def test_a_role_the_admin_may_not_give_is_refused_at_the_field_and_recorded(client, non_csp):
    # A CSP role in a non-CSP organization: nobody may give it there (rule 5).
    signed_in(client, non_csp.global_admin)

    response = client.post(PAGE, form(roles=[GA, RoleKey.BILLING_ADMIN]))

    assert "roles" in response.context["form"].errors
    assert not ApiClient.objects.exists()
    [event] = AuditEvent.objects.refused()
    assert event.action == AuditAction.API_CLIENT_CREATED
    assert event.after["role"] == RoleKey.BILLING_ADMIN


@pytest.mark.parametrize("name", ["user_admin", "account_admin", "mpn_admin", "member"])
def test_only_global_admins_manage_clients(client, csp, name):
    signed_in(client, getattr(csp, name))

    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, form()).status_code == 403
    assert not ApiClient.objects.exists()


def test_the_page_lists_the_organizations_clients_only(client, csp, outsider):
    make_client(csp.global_admin, [UMA], name="Ours")
    make_client(outsider, [GA], name="Theirs")
    signed_in(client, csp.global_admin)

    listed = [c.name for c in client.get(PAGE).context["clients"]]

    assert listed == ["Ours"]


def test_revoking_stops_the_next_call(client, csp):
    api_client, token = make_client(csp.global_admin, [UMA], name="Okta")
    signed_in(client, csp.second_global_admin)

    response = client.post(reverse("revoke_api_client", args=[api_client.public_id]))

    assert response.status_code == 302
    assert ApiCaller(token).get("/api/v1/users/").status_code == 401
    assert AuditEvent.objects.filter(
        action=AuditAction.API_CLIENT_REVOKED, actor=csp.second_global_admin
    ).exists()


def test_support_staff_see_and_revoke_clients_in_the_admin_never_a_secret(client, csp, support):
    api_client, token = make_client(csp.global_admin, [UMA], name="Okta")
    signed_in(client, support)
    changelist = reverse("admin:api_apiclient_changelist")

    page = client.get(changelist)
    detail = client.get(reverse("admin:api_apiclient_change", args=[api_client.pk]))
    revoked = client.post(
        changelist, {"action": "revoke_selected", "_selected_action": [api_client.pk]}
    )

    assert page.status_code == detail.status_code == 200
    for response in (page, detail):
        assert b"Okta" in response.content
        assert api_client.token_hash.encode() not in response.content
        assert token.encode() not in response.content
    assert revoked.status_code == 302
    assert ApiClient.objects.get(pk=api_client.pk).is_revoked
    assert ApiCaller(token).get("/api/v1/users/").status_code == 401
    assert client.get(reverse("admin:api_apiclient_add")).status_code == 403
