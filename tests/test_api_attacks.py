"""An attacker's review of the REST API and SCIM: crafted cursors, paging, search bodies, PATCH
operations, filters, tokens and JSON that once answered a 500 (or, for the audit trail, let one
organization's client hide another organization's refusals). Each is now a clear JSON error,
and nothing is written."""

from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import AuditAction, AuditEvent, User
from accounts.reauth import SESSION_KEY
from accounts.services import deactivate_user
from api.actors import ClientActor
from api.clients import revoke_client
from api.models import ApiClient
from api.scim_schemas import PATCH_OP
from roles import rules
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.api_clients import ApiCaller, make_client
from tests.factories import OrganizationFactory, UserFactory
from tests.test_scim import Scim

GA, UMA, AA = RoleKey.GLOBAL_ADMIN, RoleKey.USER_MANAGEMENT_ADMIN, RoleKey.ACCOUNT_ADMIN
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def rest(csp):
    _client, token = make_client(csp.global_admin, [UMA], name="HR sync")
    return ApiCaller(token)


@pytest.fixture
def entra(csp):
    _client, token = make_client(csp.global_admin, [GA], name="Entra ID")
    return Scim(token)


def someone(csp) -> User:
    """A user of the organization a Global admin's client may change (not the last one)."""
    return User.objects.filter(organization=csp.organization).exclude(pk=csp.global_admin.pk)[0]


def snapshot() -> tuple:
    """What a refused request must leave as it was."""
    return (
        sorted(User.objects.values_list("pk", "email", "first_name", "last_name", "is_active")),
        AuditEvent.objects.exclude(outcome="refused").count(),
    )


def send(caller: ApiCaller, method: str, url: str, body: object, content_type: str):
    """Any JSON value as the body, null included."""
    return caller.http.generic(
        method.upper(),
        url,
        json.dumps(body),
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {caller.token}",
    )


def encoded(cursor: str) -> str:
    return base64.b64encode(cursor.encode()).decode()


# Cursors: DRF decodes a cursor's position and compares it to the ordering's integer column,
# so a tampered position ("p=abc") was a ValueError, and a huge one a DataError on PostgreSQL.


@pytest.mark.parametrize("url", ["/api/v1/users/", "/api/v1/audit-events/"])
@pytest.mark.parametrize(
    "cursor",
    ["p=abc", "p=1e999", "r=1&p=x", "p=99999999999999999999999", "p=-99999999999999999999"],
)
def test_a_tampered_cursor_is_a_json_404_never_a_500(rest, url, cursor):
    response = rest.get(f"{url}?cursor={encoded(cursor)}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor", "code": "not_found"}


def test_a_genuine_cursor_still_walks_the_pages(csp, rest):
    first = rest.get("/api/v1/users/?page_size=2").json()
    second = rest.get(first["next"]).json()

    assert second["results"]
    assert not {u["id"] for u in first["results"]} & {u["id"] for u in second["results"]}


# SCIM paging: a startIndex past what SQL can count was an OverflowError (SQLite) or a
# "bigint out of range" (PostgreSQL); past the results, RFC 7644 3.4.2.4 answers an empty page.


@pytest.mark.parametrize("url", ["/Users", "/Groups"])
@pytest.mark.parametrize("start", ["99999999999999999999999", "9223372036854775808"])
def test_a_start_index_beyond_every_result_is_an_empty_page(entra, url, start):
    response = entra.get(f"{url}?startIndex={start}")

    assert response.status_code == 200
    body = response.json()
    assert body["Resources"] == []
    assert body["totalResults"] > 0
    assert body["startIndex"] == int(start)


# POST /Users/.search takes its parameters from JSON: other types than RFC 7644's were a
# TypeError or AttributeError.


@pytest.mark.parametrize(
    "given",
    [
        {"startIndex": None},
        {"startIndex": {"a": 1}},
        {"startIndex": [1, 2]},
        {"count": 1.5},
        {"count": True},
        {"filter": 5},
        {"filter": ['userName eq "a@example.com"']},
        {"attributes": [1, 2]},
        {"attributes": 5},
        {"excludedAttributes": {"a": 1}},
    ],
)
def test_a_search_parameter_of_the_wrong_type_is_an_invalid_value(entra, given):
    response = entra.post("/Users/.search", {"schemas": [SEARCH_REQUEST], **given})

    assert response.status_code == 400
    body = response.json()
    assert body["scimType"] == "invalidValue"
    assert body["detail"].startswith(next(iter(given)))


def test_a_search_with_numbers_and_lists_as_rfc_7644_writes_them_still_works(csp, entra):
    response = entra.post(
        "/Users/.search",
        {
            "schemas": [SEARCH_REQUEST],
            "startIndex": 1,
            "count": 1,
            "attributes": ["userName", "name.givenName"],
            "filter": f'userName eq "{csp.global_admin.email}"',
        },
    )

    assert response.status_code == 200
    [found] = response.json()["Resources"]
    assert found["userName"] == csp.global_admin.email
    assert set(found) == {"schemas", "id", "meta", "userName", "name"}


# PATCH: an operation's path that is not a string was an AttributeError, on Users and Groups.


@pytest.mark.parametrize("path", [5, ["active"], {"a": 1}, True])
@pytest.mark.parametrize("op", ["add", "replace", "remove"])
def test_a_patch_path_that_is_not_a_string_is_an_invalid_path(csp, entra, path, op):
    user = someone(csp)
    before = snapshot()
    operation = {"op": op, "path": path, "value": "x"}

    for url in (f"/Users/{user.public_id}", f"/Groups/{UMA}"):
        response = entra.patch(url, {"schemas": [PATCH_OP], "Operations": [operation]})

        assert response.status_code == 400, url
        assert response.json()["scimType"] == "invalidPath"
    assert snapshot() == before


# JSON nested deeper than Python's recursion limit was a RecursionError in the parser.


@pytest.mark.parametrize(
    ("url", "content_type", "scim"),
    [
        ("/api/v1/users/", "application/json", False),
        ("/scim/v2/Users", "application/scim+json", True),
        ("/scim/v2/Users", "application/json", True),
    ],
)
def test_json_nested_too_deep_is_a_parse_error(csp, url, content_type, scim):
    _client, token = make_client(csp.global_admin, [GA])
    body = "[" * 50_000 + "]" * 50_000
    before = snapshot()

    response = ApiCaller(token).http.post(
        url, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("JSON parse error")
    if scim:
        assert response.json()["scimType"] == "invalidSyntax"
    assert snapshot() == before


# A NUL character cannot be stored or compared by PostgreSQL: in a filter or a token it was a
# ValueError there, a 500 (SQLite compared it); both refuse it now.


@pytest.mark.parametrize(
    "text",
    [
        'name.givenName co "\x00"',
        'userName eq "\x00"',
        'userName eq "\\u0000"',
        'externalId eq "a\\u0000"',
        'name.familyName sw "\\u0000"',
    ],
)
def test_a_nul_in_a_filter_is_an_invalid_filter(entra, text):
    response = entra.get(f"/Users?{urlencode({'filter': text})}")

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


@pytest.mark.parametrize(
    "token", ["phc_\x00ab_secret", "phc_ab\x00_secret", "phc_" + "a" * 5000 + "_x"]
)
def test_a_token_with_a_nul_or_a_huge_prefix_is_a_401(db, token):
    response = ApiCaller(token).get("/api/v1/users/")

    assert response.status_code == 401
    assert response.json()["detail"] == "The bearer token is not valid."


# The audit trail's budget of refusals per actor and minute was keyed by the actor's label
# alone. A person's label holds their email (unique); a client's is "API client <name>", and
# names are unique only within an organization: another organization's client of the same name
# spent the budget, and its "too many refusals" event absorbed this organization's refusals,
# which were then recorded nowhere in this organization's trail.


def test_another_organizations_client_of_the_same_name_cannot_hide_our_refusals(csp):
    cache.clear()
    elsewhere = UserFactory(organization=OrganizationFactory(name="Elsewhere"), roles=[GA])
    _theirs, their_token = make_client(elsewhere, [AA], name="Okta")
    _ours, our_token = make_client(csp.global_admin, [AA], name="Okta")
    attacker = ApiCaller(their_token)
    for _ in range(70):  # each a distinct refusal (an id probed): more than a minute's budget
        assert attacker.get(f"/api/v1/users/{uuid.uuid4()}/").status_code == 404
    assert AuditEvent.objects.refused().filter(organization=elsewhere.organization).exists()

    response = ApiCaller(our_token).get("/api/v1/audit-events/")

    assert response.status_code == 403
    ours = AuditEvent.objects.refused().filter(organization=csp.organization)
    [event] = ours
    assert event.actor_label == "API client Okta"
    assert event.action == AuditAction.AUDIT_LOG_OPENED
    assert event.reason != ""
    assert "page" in json.dumps(event.after)


# Any JSON at all as a PATCH body: a SCIM answer, never a 500, and nothing changed unless the
# body was a valid PATCH.

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
operations = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "replace", "remove", "ADD", 5, None])},
        optional={
            "path": st.sampled_from(
                ["members", "active", "userName", "name", "emails", 'members[value eq "x"]', ""]
            )
            | json_values,
            "value": json_values,
        },
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(operations=operations, group=st.booleans())
def test_any_patch_operations_answer_scim_json_never_a_500(csp, entra, operations, group):
    url = f"/Groups/{UMA}" if group else f"/Users/{someone(csp).public_id}"

    response = entra.patch(url, {"schemas": [PATCH_OP], "Operations": operations})

    assert response.status_code in {200, 400, 403, 409}, response.content
    assert response["Content-Type"].startswith("application/scim+json")
    if response.status_code != 200:
        assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=json_values, method=st.sampled_from(["post", "put"]))
def test_any_user_body_answers_scim_json_never_a_500(csp, entra, body, method):
    url = "/Users" if method == "post" else f"/Users/{someone(csp).public_id}"

    response = send(entra, method, f"/scim/v2{url}", body, "application/scim+json")

    assert response.status_code in {200, 201, 400, 403, 409}, response.content
    assert response["Content-Type"].startswith("application/scim+json")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=json_values
    | st.fixed_dictionaries(
        {},
        optional={
            "email": json_values,
            "first_name": json_values,
            "last_name": json_values,
            "roles": json_values,
        },
    ),
    method=st.sampled_from(["post", "patch"]),
)
def test_any_rest_user_body_answers_json_never_a_500(csp, rest, body, method):
    url = "/api/v1/users/" if method == "post" else f"/api/v1/users/{someone(csp).public_id}/"

    response = send(rest, method, url, body, "application/json")

    assert response.status_code in {200, 201, 400, 403, 409}, response.content
    assert response["Content-Type"] == "application/json"


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    text=st.text(max_size=60)
    | st.builds(
        lambda a, o, v: f"{a} {o} {v}",
        st.sampled_from(["userName", "name.givenName", "active", "id", "externalId", "meta.x"]),
        st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "xx"]),
        st.text(max_size=20).map(json.dumps) | st.integers().map(str) | st.just("true"),
    )
)
def test_any_filter_answers_scim_json_never_a_500(entra, text):
    response = entra.get(f"/Users?{urlencode({'filter': text})}")

    assert response.status_code in {200, 400}, response.content
    if response.status_code == 400:
        assert response.json()["scimType"] in {"invalidFilter", "invalidValue"}


# Group PATCH: one request changes members in one transaction, under the organization's lock.


def test_the_only_global_admin_hands_over_by_a_replace_of_the_members(csp, entra):
    """Okta's replace of a group's members: the new Global admin is granted before the old one
    is revoked, so the last-Global-admin rule does not refuse a valid end state; the revoke of
    the client's own creator comes last, and then the client acts no more."""
    RoleAssignment.objects.filter(user=csp.second_global_admin, role__key=GA).delete()
    replace = {"op": "replace", "path": "members", "value": [{"value": str(csp.member.public_id)}]}

    response = entra.patch(f"/Groups/{GA}", {"schemas": [PATCH_OP], "Operations": [replace]})

    assert response.status_code == 200, response.content
    assert [m["value"] for m in response.json()["members"]] == [str(csp.member.public_id)]
    assert entra.get("/Users").status_code == 401  # its creator can no longer give it its roles


def test_replacing_every_global_admin_but_the_creator_last_is_all_or_nothing(csp, entra):
    """Two Global admins replaced by a third: both revokes follow the grant, the creator's
    last; whatever the order, never a state with no Global admin."""
    replace = {"op": "replace", "path": "members", "value": [{"value": str(csp.member.public_id)}]}

    response = entra.patch(f"/Groups/{GA}", {"schemas": [PATCH_OP], "Operations": [replace]})

    assert response.status_code == 200, response.content
    holders = RoleAssignment.objects.filter(role__key=GA, user__organization=csp.organization)
    assert list(holders.values_list("user", flat=True)) == [csp.member.pk]


def test_the_last_operation_on_a_member_decides(csp, entra):
    member = {"value": str(csp.member.public_id)}
    remove_then_add = [
        {"op": "remove", "path": "members", "value": [member]},
        {"op": "add", "path": "members", "value": [member]},
    ]
    add_then_remove = list(reversed(remove_then_add))

    kept = entra.patch(f"/Groups/{UMA}", {"schemas": [PATCH_OP], "Operations": remove_then_add})
    assert member["value"] in {m["value"] for m in kept.json()["members"]}
    gone = entra.patch(f"/Groups/{UMA}", {"schemas": [PATCH_OP], "Operations": add_then_remove})
    assert member["value"] not in {m["value"] for m in gone.json()["members"]}


def test_more_member_changes_than_a_bulk_action_are_refused_before_any(csp, entra):
    """The bulk actions' cap (500 users, measured against the request timeout) holds here too:
    20,000 ids fit in the body limit, and would hold the organization's lock for minutes."""
    members = [{"value": str(uuid.uuid4())} for _ in range(501)]
    before = snapshot()

    response = entra.patch(
        f"/Groups/{UMA}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": members}]},
    )

    assert response.status_code == 400
    assert response.json()["detail"].startswith("At most 500 members change in one PATCH")
    assert snapshot() == before


@pytest.mark.parametrize("value", ["outsider_id", "outsider_email", "not-an-id"])
def test_a_member_of_another_organization_is_refused_and_recorded(csp, outsider, entra, value):
    """As for any other address: another organization's user named as a member (by id, or by
    email, which is no id) is recorded in the client's organization's trail."""
    given = {
        "outsider_id": str(outsider.public_id),
        "outsider_email": outsider.email,
        "not-an-id": "not-an-id",
    }[value]
    add = {"op": "add", "path": "members", "value": [{"value": given}]}

    response = entra.patch(f"/Groups/{UMA}", {"schemas": [PATCH_OP], "Operations": [add]})

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    [event] = AuditEvent.objects.refused().filter(action=AuditAction.API_CALLED)
    assert event.organization == csp.organization
    assert event.actor_label == "API client Entra ID"
    assert event.target_label == given
    assert not RoleAssignment.objects.filter(user=outsider, role__key=UMA).exists()


# An address holding NUL (%00) was recorded as it came: the refused page in the event's JSON,
# which PostgreSQL cannot store ("unsupported Unicode escape sequence", a 500 there).


@pytest.mark.parametrize("roles", [[GA], [AA]], ids=["missing user", "refused client"])
@pytest.mark.parametrize("url", ["/scim/v2/Users/%00", "/scim/v2/Users/a%00b"])
def test_an_address_holding_nul_is_recorded_without_it(csp, roles, url):
    _client, token = make_client(csp.global_admin, roles, name="Probe")

    response = ApiCaller(token).get(url)

    assert response.status_code in {403, 404}
    assert response.json()["status"] == str(response.status_code)
    [event] = AuditEvent.objects.refused().filter(organization=csp.organization)
    assert event.actor_label == "API client Probe"
    assert "\x00" not in json.dumps(event.after, ensure_ascii=False) + event.target_label
    assert event.after["page"] == "GET " + url.replace("%00", "")


def test_a_wrong_secret_holding_nul_is_a_recorded_401(csp):
    client, _token = make_client(csp.global_admin, [UMA], name="Probe")

    response = ApiCaller(f"phc_{client.token_prefix}_x\x00y").get("/scim/v2/Users/%00")

    assert response.status_code == 401
    [event] = AuditEvent.objects.refused().filter(organization=csp.organization)
    assert event.after["page"] == "GET /scim/v2/Users/"


# A client stopped while its call waited (revoked, or its creator demoted, a moment before the
# service read it again under the lock) was refused as a signed-out person: "Sign in to
# continue." in the trail. The refusal now says why the client may not act.


def test_a_client_stopped_during_its_call_is_recorded_with_the_reason(csp):
    client, _token = make_client(csp.global_admin, [UMA], name="HR sync")
    actor = ClientActor(ApiClient.objects.get(pk=client.pk))
    revoke_client(csp.global_admin, client)

    with pytest.raises(rules.RuleRefused) as refusal:
        deactivate_user(actor, csp.member)

    assert refusal.value.reason == "This API client was revoked."
    [event] = AuditEvent.objects.refused().filter(action=AuditAction.USER_DEACTIVATED)
    assert event.actor_label == "API client HR sync"
    assert event.reason == "This API client was revoked."
    assert User.objects.get(pk=csp.member.pk).is_active


def test_a_signed_out_person_is_still_asked_to_sign_in(csp):
    csp.user_admin.is_active = False

    assert rules.can(csp.user_admin, rules.Action.SEE_DIRECTORY).reason == "Sign in to continue."
    assert rules.can_manage_user(csp.user_admin, csp.member, rules.Action.EDIT_USER).reason == (
        "Sign in to continue."
    )


# Idempotency keys are a client's own: another client (of this organization or another) sending
# the same key neither replays the first client's answer nor is refused as a conflict.


@pytest.mark.parametrize("same_organization", [True, False])
def test_an_idempotency_key_is_never_shared_between_clients(csp, outsider, same_organization):
    _first, first_token = make_client(csp.global_admin, [UMA], name="First")
    creator = csp.global_admin if same_organization else outsider
    _second, second_token = make_client(creator, [UMA], name="Second")
    key = {"Idempotency-Key": "create-1"}
    body = {"email": "one@example.com", "first_name": "One", "last_name": "Person"}

    first = ApiCaller(first_token).post("/api/v1/users/", body, **key)
    second = ApiCaller(second_token).post(
        "/api/v1/users/", {**body, "email": "two@example.com"}, **key
    )

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert second.json()["email"] == "two@example.com"
    assert second.json()["id"] != first.json()["id"]


# A page on another site posting with a signed-in Global admin's session cookie: the pages that
# create and revoke clients take Django's CSRF check, and the API takes no cookie at all.


def test_a_cross_site_post_creates_and_revokes_no_client(csp):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(csp.global_admin)
    session = browser.session
    session[SESSION_KEY] = timezone.now().timestamp()  # the password just confirmed
    session.save()
    existing, _token = make_client(csp.global_admin, [UMA], name="Kept")

    created = browser.post(
        "/settings/api-clients/", {"name": "Evil", "roles": [GA], "expires_in": "730"}
    )
    revoked = browser.post(f"/settings/api-clients/{existing.public_id}/revoke/")

    assert created.status_code == revoked.status_code == 403
    assert list(ApiClient.objects.values_list("name", "revoked_at")) == [("Kept", None)]
