"""The REST API (/api/v1/) as an API client sees it: tokens, the rulebook's decisions for the
client's roles, crafted requests refused and recorded, errors in JSON, idempotent creates,
the rate limit, cursor pages and constant queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, User
from accounts.services import deactivate_user
from api.actors import ClientActor
from api.clients import revoke_client, token_hash
from api.models import ApiClient, IdempotentRequest
from partnerhub.views import server_error
from roles import rules
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.api_clients import ApiCaller, make_client
from tests.factories import UserFactory
from tests.jobs import sent_mail

GA, UMA, AA = RoleKey.GLOBAL_ADMIN, RoleKey.USER_MANAGEMENT_ADMIN, RoleKey.ACCOUNT_ADMIN
USERS = "/api/v1/users/"


def user_url(user: User, suffix: str = "") -> str:
    return f"{USERS}{user.public_id}/{suffix}"


def refusals(**filters: object) -> list[AuditEvent]:
    return list(AuditEvent.objects.refused().filter(**filters).order_by("pk"))


@pytest.fixture
def admin_api(csp):
    """A client acting with User management admin, created by a Global admin."""
    client, token = make_client(csp.global_admin, [UMA], name="HR sync")
    caller = ApiCaller(token)
    caller.api_client = client
    return caller


# Tokens


def test_a_token_is_kept_only_as_its_hash(csp):
    client, token = make_client(csp.global_admin, [UMA])

    stored = ApiClient.objects.filter(pk=client.pk).values().get()
    assert token not in {str(value) for value in stored.values()}
    assert stored["token_hash"] == token_hash(token)


def test_a_session_alone_never_authenticates_a_call(client, csp):
    client.force_login(csp.global_admin)

    response = client.get(USERS)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_session_stopped_at_the_second_step_does_not_redirect_a_call(client, csp):
    # A browser that has passed only the password still carries its session cookie: the API
    # decides by the bearer token alone, and answers JSON, never the second step's page.
    _client, token = make_client(csp.global_admin, [UMA], name="Cookie jar")
    client.force_login_password_only(csp.global_admin)

    with_token = ApiCaller(token, client).get(USERS)
    without_token = client.get(USERS)

    assert with_token.status_code == 200
    assert without_token.status_code == 401
    assert without_token["Content-Type"].startswith("application/json")


def test_a_revoked_token_is_refused_at_once_and_recorded(csp, admin_api):
    assert admin_api.get(USERS).status_code == 200
    revoke_client(csp.global_admin, admin_api.api_client)

    response = admin_api.get(USERS)

    assert response.status_code == 401
    assert response.json()["detail"] == "This API client was revoked."
    [event] = refusals(action=AuditAction.API_CALLED)
    assert event.actor is None
    assert event.actor_label == "API client HR sync"
    assert event.organization == csp.organization


def test_an_expired_token_is_refused_and_recorded(csp, admin_api):
    ApiClient.objects.filter(pk=admin_api.api_client.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = admin_api.get(USERS)

    assert response.status_code == 401
    assert response.json()["detail"] == "This API client has expired."
    [event] = refusals(action=AuditAction.API_CALLED)
    assert event.reason == "This API client has expired."


def test_a_wrong_secret_for_a_known_client_is_refused_and_recorded(csp, admin_api):
    prefix = admin_api.api_client.token_prefix

    response = ApiCaller(f"phc_{prefix}_not-the-secret").get(USERS)

    assert response.status_code == 401
    [event] = refusals(action=AuditAction.API_CALLED)
    assert event.actor_label == "API client HR sync"


@pytest.mark.parametrize("token", ["nonsense", "phc_unknown_secret", "phc__", "a b"])
def test_a_token_of_no_client_is_refused(db, token):
    response = ApiCaller(token).get(USERS)

    assert response.status_code == 401
    assert response.json() == {
        "detail": "The bearer token is not valid.",
        "code": "authentication_failed",
    }


def test_a_client_stops_when_its_creator_can_no_longer_give_its_roles(csp):
    _client, token = make_client(csp.second_global_admin, [UMA])
    RoleAssignment.objects.filter(user=csp.second_global_admin).delete()  # demoted

    response = ApiCaller(token).get(USERS)

    assert response.status_code == 401
    assert response.json()["detail"] == rules.CLIENT_CREATOR_GONE


def test_a_client_stops_when_its_creator_is_deactivated(csp):
    _client, token = make_client(csp.second_global_admin, [UMA])
    User.objects.filter(pk=csp.second_global_admin.pk).update(is_active=False)

    assert ApiCaller(token).get(USERS).status_code == 401


def test_a_client_stops_when_its_creator_is_deleted(csp):
    _client, token = make_client(csp.second_global_admin, [UMA])
    csp.second_global_admin.delete()

    response = ApiCaller(token).get(USERS)

    assert response.status_code == 401
    assert response.json()["detail"] == rules.CLIENT_CREATOR_GONE


def test_the_service_refuses_a_client_with_roles_its_creator_may_not_grant(non_csp):
    # The page offers only the roles the admin may give; the service asks the rulebook again.
    with pytest.raises(rules.RuleRefused):
        make_client(non_csp.global_admin, [GA, RoleKey.BILLING_ADMIN], name="Too much")

    assert not ApiClient.objects.exists()
    [event] = refusals(action=AuditAction.API_CLIENT_CREATED)
    assert event.actor == non_csp.global_admin
    assert event.target_label == "API client Too much"


def test_a_client_revoked_meanwhile_acts_no_more_under_the_lock(csp, admin_api):
    # The service reads the client again under the organization's lock (ClientActor.refresh).
    actor = ClientActor(ApiClient.objects.get(pk=admin_api.api_client.pk))
    revoke_client(csp.global_admin, admin_api.api_client)

    with pytest.raises(rules.RuleRefused):
        deactivate_user(actor, csp.member)
    assert User.objects.get(pk=csp.member.pk).is_active


# The rulebook decides as for a person holding the client's roles


def test_a_global_admin_client_never_counts_as_the_last_global_admin(csp):
    _client, token = make_client(csp.global_admin, [GA])
    api = ApiCaller(token)
    assert api.post(user_url(csp.second_global_admin, "deactivate/")).status_code == 200

    response = api.post(user_url(csp.global_admin, "deactivate/"))

    assert response.status_code == 403
    assert response.json()["detail"] == rules.LAST_GLOBAL_ADMIN
    assert User.objects.get(pk=csp.global_admin.pk).is_active


def test_a_client_cannot_grant_more_than_its_roles_allow(csp, admin_api):
    response = admin_api.put(user_url(csp.member, f"roles/{GA}/"))

    assert response.status_code == 403
    assert "Global admin" in response.json()["detail"]
    assert not RoleAssignment.objects.filter(user=csp.member, role__key=GA).exists()
    [event] = refusals(action=AuditAction.ROLE_GRANTED)
    assert event.actor_label == "API client HR sync"
    assert event.target == csp.member


def test_a_client_below_global_admin_cannot_touch_a_global_admin(csp, admin_api):
    response = admin_api.patch(user_url(csp.global_admin), {"last_name": "Changed"})

    assert response.status_code == 403
    assert User.objects.get(pk=csp.global_admin.pk).last_name != "Changed"


def test_another_organizations_user_is_404_and_recorded_like_a_missing_one(
    csp, outsider, admin_api
):
    response = admin_api.get(user_url(outsider))
    missing = admin_api.get(f"{USERS}{UserFactory.build().public_id}/")

    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()
    events = refusals(action=AuditAction.API_CALLED)
    assert [e.organization for e in events] == [csp.organization, csp.organization]
    assert events[0].target_label == str(outsider.public_id)


def test_the_directory_lists_people_never_clients(csp, admin_api):
    make_client(csp.global_admin, [GA], name="Another")

    emails = [user["email"] for user in admin_api.get(USERS).json()["results"]]

    assert sorted(emails) == sorted(
        User.objects.in_organization(csp.organization).values_list("email", flat=True)
    )


# Users


def test_creating_a_user_emails_an_invitation_and_audits_the_client(
    csp, admin_api, mailoutbox, django_capture_on_commit_callbacks
):
    body = {
        "email": "Ada.Lovelace@Example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "roles": [RoleKey.SALES_AGENT],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(USERS, body)

    assert response.status_code == 201
    created = response.json()
    assert created["email"] == "ada.lovelace@example.com"
    assert created["status"] == "pending"
    assert [role["key"] for role in created["roles"]] == [RoleKey.SALES_AGENT]
    [message] = sent_mail()
    assert message.to == ["ada.lovelace@example.com"]
    assert "API client HR sync added you" in message.body
    user = User.objects.get(public_id=created["id"])
    assert user.created_by is None
    event = AuditEvent.objects.get(action=AuditAction.USER_CREATED, target=user)
    assert event.actor_label == "API client HR sync"


def test_bad_input_is_a_json_error_by_field_and_nothing_is_written(csp, admin_api):
    before = User.objects.count()

    response = admin_api.post(USERS, {"email": "not an email", "first_name": "", "roles": ["x"]})

    assert response.status_code == 400
    errors = response.json()
    assert {"first_name", "last_name", "roles"} <= set(errors)
    assert User.objects.count() == before


def test_an_invalid_email_is_refused_by_the_service_as_a_field_error(csp, admin_api):
    response = admin_api.post(USERS, {"email": "not an email", "first_name": "A", "last_name": "B"})

    assert response.status_code == 400
    assert "email" in response.json()


def test_an_email_in_use_is_a_conflict(csp, admin_api):
    response = admin_api.post(
        USERS, {"email": csp.member.email.upper(), "first_name": "A", "last_name": "B"}
    )

    assert response.status_code == 409
    assert response.json()["email"] == ["A user with this email already exists."]


def test_update_deactivate_reactivate_delete(csp, admin_api):
    target = csp.member
    assert (
        admin_api.patch(user_url(target), {"first_name": "Renée"}).json()["first_name"] == "Renée"
    )
    assert admin_api.post(user_url(target, "deactivate/")).json()["status"] == "deactivated"
    assert admin_api.post(user_url(target, "reactivate/")).json()["is_active"] is True
    assert admin_api.delete(user_url(target)).status_code == 204
    assert not User.objects.filter(pk=target.pk).exists()
    actions = set(
        AuditEvent.objects.filter(actor_label="API client HR sync").values_list("action", flat=True)
    )
    assert {
        AuditAction.USER_EDITED,
        AuditAction.USER_DEACTIVATED,
        AuditAction.USER_REACTIVATED,
        AuditAction.USER_DELETED,
    } <= actions


def test_grant_and_revoke_a_role(csp, admin_api):
    url = user_url(csp.member, f"roles/{RoleKey.SALES_AGENT}/")

    granted = admin_api.put(url).json()
    revoked = admin_api.delete(url).json()

    assert RoleKey.SALES_AGENT in [role["key"] for role in granted["roles"]]
    assert RoleKey.SALES_AGENT not in [role["key"] for role in revoked["roles"]]
    assert admin_api.put(user_url(csp.member, "roles/no_such_role/")).status_code == 400


def test_search_and_filters(csp, admin_api):
    UserFactory(organization=csp.organization, first_name="Zoë", last_name="Müller")

    found = admin_api.get(f"{USERS}?q=zoe+muller").json()["results"]
    holders = admin_api.get(f"{USERS}?role={GA}").json()["results"]
    bad = admin_api.get(f"{USERS}?status=sleeping")

    assert [user["last_name"] for user in found] == ["Müller"]
    assert {user["email"] for user in holders} == {
        csp.global_admin.email,
        csp.second_global_admin.email,
    }
    assert bad.status_code == 400
    assert "status" in bad.json()


def test_cursor_pages_walk_every_user_once(csp, admin_api):
    UserFactory.create_batch(5, organization=csp.organization)
    seen, url = [], f"{USERS}?page_size=3"
    while url:
        page = admin_api.get(url.replace("http://testserver", "")).json()
        seen += [user["id"] for user in page["results"]]
        url = page["next"]

    assert len(seen) == len(set(seen)) == User.objects.in_organization(csp.organization).count()


def test_roles_of_a_non_csp_organization(non_csp):
    _client, token = make_client(non_csp.global_admin, [GA])

    keys = [role["key"] for role in ApiCaller(token).get("/api/v1/roles/").json()]

    assert GA in keys
    assert UMA not in keys  # a CSP role


def test_audit_events_of_a_user_management_admin_client_are_user_and_role_events(csp, admin_api):
    make_client(csp.global_admin, [AA], name="Other")  # an api_client.created event
    admin_api.post(user_url(csp.member, "deactivate/"))

    events = admin_api.get("/api/v1/audit-events/").json()["results"]
    deactivations = admin_api.get(
        f"/api/v1/audit-events/?action={AuditAction.USER_DEACTIVATED}&target={csp.member.public_id}"
    ).json()["results"]

    assert events
    assert all(e["action"].startswith(("user.", "role.")) for e in events)
    assert [e["actor"] for e in deactivations] == ["API client HR sync"]
    assert admin_api.get("/api/v1/audit-events/?since=yesterday").status_code == 400


# Idempotency


def test_a_retried_create_with_the_same_key_answers_the_first_response(csp, admin_api):
    body = {"email": "once@example.com", "first_name": "Once", "last_name": "Only"}

    first = admin_api.post(USERS, body, **{"Idempotency-Key": "abc-1"})
    again = admin_api.post(USERS, body, **{"Idempotency-Key": "abc-1"})

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert User.objects.filter(email="once@example.com").count() == 1


def test_the_same_key_with_another_body_is_a_conflict(csp, admin_api):
    admin_api.post(
        USERS,
        {"email": "once@example.com", "first_name": "Once", "last_name": "Only"},
        **{"Idempotency-Key": "abc-2"},
    )

    response = admin_api.post(
        USERS,
        {"email": "twice@example.com", "first_name": "Twice", "last_name": "Other"},
        **{"Idempotency-Key": "abc-2"},
    )

    assert response.status_code == 409
    assert not User.objects.filter(email="twice@example.com").exists()


def test_a_refused_create_is_not_kept_so_a_fixed_retry_may_use_the_key(csp, admin_api):
    bad = admin_api.post(USERS, {"email": "x@example.com"}, **{"Idempotency-Key": "k"})
    good = admin_api.post(
        USERS,
        {"email": "x@example.com", "first_name": "X", "last_name": "Y"},
        **{"Idempotency-Key": "k"},
    )

    assert (bad.status_code, good.status_code) == (400, 201)
    assert IdempotentRequest.objects.count() == 1


# Rate limit and errors


@override_settings(PARTNERHUB_API_REQUESTS_PER_MINUTE=2)
def test_each_client_has_its_own_rate_limit(csp, admin_api):
    _other_client, other_token = make_client(csp.global_admin, [UMA], name="Other")
    statuses = [admin_api.get("/api/v1/roles/").status_code for _ in range(3)]
    limited = admin_api.get("/api/v1/roles/")

    assert statuses == [200, 200, 429]
    assert limited.json()["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    assert ApiCaller(other_token).get("/api/v1/roles/").status_code == 200


@pytest.mark.parametrize(
    ("method", "url", "body", "content_type", "status"),
    [
        ("get", "/api/v1/nowhere/", None, None, 404),
        ("post", "/api/v1/users", "{}", "application/json", 404),
        ("get", "/scim/v2/Nowhere", None, None, 404),
        ("delete", "/api/v1/roles/", None, None, 405),
        ("post", USERS, "email=x", "application/x-www-form-urlencoded", 415),
        ("post", USERS, "{not json", "application/json", 400),
    ],
)
def test_errors_are_json(csp, admin_api, method, url, body, content_type, status):
    kwargs = {"content_type": content_type} if content_type else {}
    response = getattr(admin_api.http, method)(
        url, body, HTTP_AUTHORIZATION=f"Bearer {admin_api.token}", **kwargs
    )

    assert response.status_code == status
    assert response["Content-Type"].startswith(("application/json", "application/scim+json"))
    assert response.json()["detail"]


def test_a_body_too_large_is_refused_in_json_before_it_is_read(csp, admin_api, settings):
    settings.PARTNERHUB_MAX_REQUEST_BYTES = 100

    response = admin_api.post(USERS, {"email": "x" * 200})

    assert response.status_code == 413
    assert "at most" in response.json()["detail"]


@pytest.mark.parametrize(("path", "schema"), [("/api/v1/users/", False), ("/scim/v2/Users", True)])
def test_a_crash_on_these_addresses_is_json(path, schema):
    response = server_error(RequestFactory().get(path))

    assert response.status_code == 500
    assert response["Content-Type"].startswith(
        "application/scim+json" if schema else "application/json"
    )
    assert b"<html" not in response.content


def test_the_openapi_document_and_its_page(client):
    schema = client.get("/api/v1/schema/")
    page = client.get("/api/v1/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/users/" in schema.content
    assert page.status_code == 200
    assert b"<style" not in page.content
    assert b"<script>" not in page.content
    assert b"drf_spectacular_sidecar" in page.content  # no CDN


# Queries: a page costs the same for 10 users as for 50


def queries_for(api: ApiCaller, url: str) -> int:
    api.get(url)  # the first call may write the client's last use
    with CaptureQueriesContext(connection) as queries:
        assert api.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url",
    [
        USERS,
        f"{USERS}?q=listed&role={RoleKey.REFERRALS_ADMIN}&status=active",
        "/scim/v2/Users",
        '/scim/v2/Users?filter=userName eq "listed0@example.com"',
        "/scim/v2/Groups",
        "/api/v1/audit-events/",
    ],
)
def test_queries_do_not_grow_with_the_users(csp, admin_api, url):
    def add(count: int, start: int) -> None:
        for n in range(start, start + count):
            UserFactory(
                organization=csp.organization,
                first_name="Listed",
                email=f"listed{n}@example.com",
                roles=[RoleKey.REFERRALS_ADMIN, RoleKey.SALES_AGENT],
            )

    add(10, 0)
    few = queries_for(admin_api, url)
    add(40, 10)
    many = queries_for(admin_api, url)

    assert few == many
    assert many <= 6


@pytest.mark.parametrize(
    "name", ["Nul\x00byte", "Line\nbreak", "Over\u202eride", "x" * 151], ids=repr
)
def test_hostile_names_are_refused_at_the_field_never_a_500(csp, admin_api, name):
    created = admin_api.post(
        USERS, {"email": "h@example.com", "first_name": name, "last_name": "B"}
    )
    edited = admin_api.patch(user_url(csp.member), {"last_name": name})

    assert (created.status_code, edited.status_code) == (400, 400)
    assert "first_name" in created.json()
    assert "last_name" in edited.json()
    assert not User.objects.filter(email="h@example.com").exists()


def test_a_user_reads_as_the_documented_serializer_writes_it(csp, admin_api):
    from api.serializers import UserSerializer
    from api.views import users_of

    listed = admin_api.get(f"{USERS}?page_size=200").json()["results"]

    class Request:
        user = ClientActor(admin_api.api_client)

    expected = UserSerializer(users_of(Request()).order_by("id"), many=True).data
    assert listed == [dict(user) for user in expected]
