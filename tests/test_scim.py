"""SCIM 2.0 provisioning as Entra ID and Okta do it, and an independent compliance checker
(scim2-tester) run against the server in process."""

from __future__ import annotations

import uuid

import pytest
from django.core.wsgi import get_wsgi_application
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server

from accounts.models import AuditAction, AuditEvent, User
from api.models import ProvisionedUser
from api.scim_schemas import PATCH_OP, USER_SCHEMA
from roles import rules
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.api_clients import ApiCaller, make_client
from tests.jobs import sent_mail

GA, UMA = RoleKey.GLOBAL_ADMIN, RoleKey.USER_MANAGEMENT_ADMIN
SCIM = "application/scim+json"


class Scim(ApiCaller):
    def call(self, method, url, body=None, content_type=SCIM, **headers):
        return super().call(method, f"/scim/v2{url}", body, content_type, **headers)


@pytest.fixture
def entra(csp):
    """Entra ID's provisioning, acting with Global admin."""
    _client, token = make_client(csp.global_admin, [GA], name="Entra ID")
    return Scim(token)


@pytest.fixture
def okta(csp):
    """Okta, acting with User management admin."""
    _client, token = make_client(csp.global_admin, [UMA], name="Okta")
    return Scim(token)


def new_user(email: str = "joiner@example.com", **extra) -> dict:
    return {
        "schemas": [USER_SCHEMA],
        "userName": email,
        "name": {"givenName": "Jo", "familyName": "Iner"},
        "active": True,
        **extra,
    }


def patch(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def test_a_joiner_is_looked_up_by_user_name_then_created(
    entra, mailoutbox, django_capture_on_commit_callbacks
):
    assert entra.get('/Users?filter=userName eq "joiner@example.com"').json()["totalResults"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = entra.post("/Users", new_user(externalId="entra-object-1"))

    assert response.status_code == 201
    assert response["Content-Type"].startswith(SCIM)
    body = response.json()
    assert body["userName"] == "joiner@example.com"
    assert body["externalId"] == "entra-object-1"
    assert response["Location"].endswith(f"/scim/v2/Users/{body['id']}")
    [message] = sent_mail()  # the invitation to choose a password
    assert message.to == ["joiner@example.com"]
    found = entra.get('/Users?filter=userName eq "JOINER@example.com"').json()
    assert [u["id"] for u in found["Resources"]] == [body["id"]]
    by_external = entra.get('/Users?filter=externalId eq "entra-object-1"').json()
    assert by_external["totalResults"] == 1


def test_a_user_name_in_use_is_a_uniqueness_error(csp, entra):
    response = entra.post("/Users", new_user(csp.member.email))

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


def test_a_user_without_a_name_is_an_invalid_value(entra):
    response = entra.post("/Users", {"schemas": [USER_SCHEMA], "userName": "x@example.com"})

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert not User.objects.filter(email="x@example.com").exists()


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param({"op": "Replace", "path": "active", "value": "False"}, id="Entra, a string"),
        pytest.param({"op": "replace", "value": {"active": False}}, id="path-less value object"),
    ],
)
def test_a_leaver_is_deactivated_not_deleted(csp, entra, operation):
    target = csp.member

    response = entra.patch(f"/Users/{target.public_id}", patch(operation))

    assert response.status_code == 200
    assert response.json()["active"] is False
    assert User.objects.get(pk=target.pk).is_active is False
    assert AuditEvent.objects.filter(
        action=AuditAction.USER_DEACTIVATED, target=target, actor_label="API client Entra ID"
    ).exists()


def test_entras_path_less_replace_with_dotted_names(csp, entra):
    operation = {
        "op": "Replace",
        "value": {
            "name.givenName": "Renée",
            "name.familyName": "Durand",
            'emails[type eq "work"].value': "renee.durand@example.com",
            "title": "ignored: not kept",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
        },
    }

    body = entra.patch(f"/Users/{csp.member.public_id}", patch(operation)).json()

    assert (body["name"], body["userName"]) == (
        {"givenName": "Renée", "familyName": "Durand"},
        "renee.durand@example.com",
    )


def test_oktas_put_replaces_the_user(csp, okta):
    target = csp.member
    body = new_user(target.email, name={"givenName": "New", "familyName": "Name"}, active=False)

    response = okta.put(f"/Users/{target.public_id}", body)

    assert response.status_code == 200
    target.refresh_from_db()
    assert (target.first_name, target.last_name, target.is_active) == ("New", "Name", False)
    again = okta.put(f"/Users/{target.public_id}", {**body, "active": True})
    assert again.json()["active"] is True


def test_a_patch_is_all_or_nothing(csp, okta):
    # The member may get the role, the Global admin may not (by a User management admin's
    # roles): neither does, and the one refusal is recorded.
    members = [{"value": str(u.public_id)} for u in (csp.member, csp.global_admin)]

    response = okta.patch(
        f"/Groups/{RoleKey.SALES_AGENT}", patch({"op": "add", "path": "members", "value": members})
    )

    assert response.status_code == 403
    assert not RoleAssignment.objects.filter(role__key=RoleKey.SALES_AGENT).exists()
    [event] = AuditEvent.objects.refused()
    assert event.target == csp.global_admin


def test_the_last_global_admin_cannot_be_deactivated_a_scim_error_says_why(csp, entra):
    User.objects.filter(pk=csp.second_global_admin.pk).update(is_active=False)

    response = entra.patch(
        f"/Users/{csp.global_admin.public_id}",
        patch({"op": "replace", "path": "active", "value": False}),
    )

    assert response.status_code == 403
    assert response.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "403",
        "detail": rules.LAST_GLOBAL_ADMIN,
    }
    assert User.objects.get(pk=csp.global_admin.pk).is_active


def test_the_last_global_admin_cannot_leave_the_group(csp, entra):
    User.objects.filter(pk=csp.second_global_admin.pk).update(is_active=False)

    response = entra.patch(
        f"/Groups/{GA}",
        patch({"op": "remove", "path": f'members[value eq "{csp.global_admin.public_id}"]'}),
    )

    assert response.status_code == 403
    assert response.json()["detail"] == rules.LAST_GLOBAL_ADMIN
    assert RoleAssignment.objects.filter(user=csp.global_admin, role__key=GA).exists()


def test_group_members_are_added_and_removed_at_once(csp, okta):
    one, two = csp.member, csp.billing_admin
    url = f"/Groups/{RoleKey.SALES_AGENT}"
    added = okta.patch(
        url,
        patch(
            {
                "op": "add",
                "path": "members",
                "value": [{"value": str(one.public_id)}, {"value": str(two.public_id)}],
            }
        ),
    )
    removed = okta.patch(
        url, patch({"op": "remove", "path": "members", "value": [{"value": str(one.public_id)}]})
    )

    assert {m["value"] for m in added.json()["members"]} == {str(one.public_id), str(two.public_id)}
    assert [m["value"] for m in removed.json()["members"]] == [str(two.public_id)]


def test_a_client_cannot_add_someone_to_a_group_it_may_not_grant(csp, okta):
    response = okta.patch(
        f"/Groups/{GA}",
        patch({"op": "add", "path": "members", "value": [{"value": str(csp.member.public_id)}]}),
    )

    assert response.status_code == 403
    assert not RoleAssignment.objects.filter(user=csp.member, role__key=GA).exists()
    assert AuditEvent.objects.refused().filter(action=AuditAction.ROLE_GRANTED).count() == 1


def test_another_organizations_user_is_no_member_to_add(csp, outsider, okta):
    response = okta.patch(
        f"/Groups/{RoleKey.SALES_AGENT}",
        patch({"op": "add", "path": "members", "value": [{"value": str(outsider.public_id)}]}),
    )

    assert response.status_code == 400
    assert not RoleAssignment.objects.filter(user=outsider, role__key=RoleKey.SALES_AGENT).exists()


def test_another_organizations_user_is_not_found_and_recorded(outsider, okta):
    response = okta.get(f"/Users/{outsider.public_id}")

    assert response.status_code == 404
    assert response.json()["status"] == "404"
    assert AuditEvent.objects.refused().filter(action=AuditAction.API_CALLED).count() == 1


def test_a_non_csp_organization_has_no_csp_groups(non_csp):
    _client, token = make_client(non_csp.global_admin, [GA])
    scim = Scim(token)

    names = [
        g["displayName"] for g in scim.get("/Groups?excludedAttributes=members").json()["Resources"]
    ]

    assert "Global admin" in names
    assert "Billing admin" not in names
    assert scim.get(f"/Groups/{RoleKey.BILLING_ADMIN}").status_code == 404
    assert scim.get('/Groups?filter=displayName eq "Global admin"').json()["totalResults"] == 1


def test_a_client_that_cannot_add_users_does_not_provision(csp):
    _client, token = make_client(csp.global_admin, [RoleKey.ACCOUNT_ADMIN], name="Weak")

    response = Scim(token).get("/Users")

    assert response.status_code == 403
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    [event] = AuditEvent.objects.refused()
    assert event.actor_label == "API client Weak"


@pytest.mark.parametrize("text", ["userName eq", 'nosuch eq "x"', 'userName zz "x"'])
def test_a_bad_filter_is_an_invalid_filter(entra, text):
    response = entra.get(f"/Users?filter={text}")

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_a_revoked_token_is_a_scim_401(csp, entra):
    from api.clients import revoke_client
    from api.models import ApiClient

    revoke_client(csp.global_admin, ApiClient.objects.get(name="Entra ID"))

    response = entra.get("/Users")

    assert response.status_code == 401
    assert response.json()["detail"] == "This API client was revoked."


def test_external_id_is_kept_beside_the_user(csp, entra):
    entra.patch(
        f"/Users/{csp.member.public_id}",
        patch({"op": "add", "path": "externalId", "value": "okta-00u1"}),
    )

    assert ProvisionedUser.objects.get(user=csp.member).external_id == "okta-00u1"
    entra.patch(f"/Users/{csp.member.public_id}", patch({"op": "remove", "path": "externalId"}))
    assert ProvisionedUser.objects.get(user=csp.member).external_id == ""


# The independent checker


class UniqueEmails:
    """Example userNames for the checker: it picks one at random for each user it creates, and
    PartnerHub's userName is an email, unique across the product."""

    def __len__(self) -> int:
        return 10**9

    def __getitem__(self, index: int) -> str:
        return f"scim-{uuid.uuid4().hex[:16]}@example.com"


@pytest.mark.django_db(transaction=True)
def test_scim2_tester_finds_every_declared_feature_compliant(csp):
    """Discovery, and create, read, list, search, replace, PATCH add/replace/remove and delete
    of Users, as ServiceProviderConfig declares them (patch and filter supported; bulk, sort,
    etag, changePassword not). Groups are the roles, which are never created or deleted, so the
    checker's Group CRUD does not apply; their PATCH is tested above."""
    _client, token = make_client(csp.global_admin, [GA], name="Checker")
    scim = WSGISCIMClient(
        get_wsgi_application(),
        base_url="http://testserver/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
    )
    scim.discover()
    scim.get_resource_model("User").model_fields["user_name"].examples = UniqueEmails()

    results = check_server(scim, resource_types=["User"])

    failures = [(r.title, r.reason) for r in results if r.status != Status.SUCCESS]
    assert not failures
    titles = {r.title for r in results}
    assert {"object_creation", "check_replace_attribute", "object_deletion"} <= titles
    assert len(results) >= 30


@pytest.mark.parametrize(
    "name", ["Nul\x00byte", "Line\nbreak", "Over\u202eride", "x" * 151], ids=repr
)
def test_hostile_names_are_invalid_values_never_a_500(csp, entra, name):
    created = entra.post(
        "/Users", new_user("h@example.com", name={"givenName": name, "familyName": "B"})
    )
    patched = entra.patch(
        f"/Users/{csp.member.public_id}",
        patch({"op": "replace", "path": "name.familyName", "value": name}),
    )

    assert (created.status_code, patched.status_code) == (400, 400)
    assert created.json()["scimType"] == patched.json()["scimType"] == "invalidValue"
    assert not User.objects.filter(email="h@example.com").exists()


@pytest.mark.parametrize(
    "text", [r'userName eq "bad\x"', 'displayName eq "\\q"', 'userName eq "a" and']
)
def test_a_filter_that_does_not_parse_is_an_invalid_filter(entra, text):
    users = entra.get(f"/Users?filter={text}")

    assert users.status_code == 400
    assert users.json()["scimType"] == "invalidFilter"
