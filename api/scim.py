"""SCIM 2.0 (RFC 7643, 7644) at /scim/v2/: Users, Groups (the organization's roles) and the
discovery endpoints, for an identity provider's provisioning (Entra ID, Okta).

An API client whose roles may add users provisions; every operation is the rulebook's decision
for that client and goes through the same services as the web pages (locks, audit). A leaver
(active false) is deactivated, never deleted; the last Global admin's protections answer a
SCIM error with the reason. PATCH is atomic: all its operations, or none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from scim2_filter_parser.transpilers.django_q_object import get_query

from accounts import audit, services
from accounts.bulk import MAX_BULK_USERS
from accounts.forms.text import CONTROL_CHARACTERS, has_control_characters
from accounts.invitations import base_url_for_email
from accounts.models import User
from accounts.services import EmailInUse
from api.errors import recorded_refusal, validation_messages
from api.models import ProvisionedUser
from api.parsers import JSONParser
from api.paths import SCIM_CONTENT_TYPE, SCIM_ERROR
from api.scim_schemas import (
    GROUP_SCHEMA,
    LIST_RESPONSE,
    MAX_RESULTS,
    PATCH_OP,
    USER_SCHEMA,
    resource_types,
    schemas,
    service_provider_config,
)
from api.views import origin, record_missing_user
from roles import rules
from roles import services as role_services
from roles.catalogue import CATALOGUE, RoleSpec
from roles.models import RoleAssignment
from roles.rules import Action, RuleRefused


class ScimError(exceptions.APIException):
    """An error as SCIM writes it: status, scimType, detail."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status_code = status
        self.scim_type = scim_type


class ScimParser(JSONParser):
    media_type = SCIM_CONTENT_TYPE


class ScimRenderer(JSONRenderer):
    media_type = SCIM_CONTENT_TYPE


def scim_error_body(status: int, detail: str, scim_type: str | None = None) -> dict:
    body: dict[str, Any] = {"schemas": [SCIM_ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


def scim_exception_handler(exc: Exception, context: dict) -> Response | None:
    request = context["request"]
    if isinstance(exc, RuleRefused):
        recorded_refusal(request, exc)
        return Response(scim_error_body(403, exc.reason), status=403)
    if isinstance(exc, EmailInUse):
        return Response(scim_error_body(409, EmailInUse.message, "uniqueness"), status=409)
    if isinstance(exc, ValidationError):
        messages = validation_messages(exc)
        detail = "; ".join(f"{field}: {' '.join(texts)}" for field, texts in messages.items())
        return Response(scim_error_body(400, detail, "invalidValue"), status=400)
    if isinstance(exc, Http404):
        return Response(scim_error_body(404, "No such resource."), status=404)
    if isinstance(exc, ScimError):
        return Response(
            scim_error_body(exc.status_code, str(exc.detail), exc.scim_type), status=exc.status_code
        )
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
        scim_type = "invalidSyntax" if isinstance(exc, exceptions.ParseError) else None
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return Response(
            scim_error_body(exc.status_code, str(detail), scim_type),
            status=exc.status_code,
            headers=headers,
        )
    return None


class ScimView(APIView):
    parser_classes = [ScimParser, JSONParser]
    renderer_classes = [ScimRenderer, JSONRenderer]
    provisions = True  # the discovery endpoints answer any client

    def get_exception_handler(self):
        return scim_exception_handler

    def handle_exception(self, exc: Exception) -> Response:
        # DRF turns a failed authentication into a 403 when it has no WWW-Authenticate header
        # to give; SCIM's clients expect 401.
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            exc.auth_header = self.get_authenticate_header(self.request)
        return super().handle_exception(exc)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.provisions:
            # Provisioning adds users: a client whose roles cannot add users cannot provision.
            rules.require(rules.can(request.user, Action.ADD_USER), Action.ADD_USER)

    def base(self, request: Request) -> str:
        return request.build_absolute_uri("/scim/v2").rstrip("/")


# Users


def scim_users(request: Request):
    users = User.objects.in_organization(request.user.organization).select_related("provisioned")
    return users.prefetch_related(
        Prefetch(
            "role_assignments",
            queryset=RoleAssignment.objects.select_related("role").order_by("role__position"),
        )
    )


def scim_user_of(request: Request, public_id: str) -> User:
    """A user of the client's organization, or a 404 recorded like the REST API's."""
    try:
        return scim_users(request).get(public_id=public_id)
    except (User.DoesNotExist, ValidationError, ValueError):
        record_missing_user(request, public_id)
        raise ScimError(404, f"No user {public_id}.") from None


def user_resource(user: User, base: str) -> dict:
    full_name = user.get_full_name()
    provisioned = getattr(user, "provisioned", None) if _has_provisioned(user) else None
    resource = {
        "schemas": [USER_SCHEMA],
        "id": str(user.public_id),
        "userName": user.email,
        "name": {"givenName": user.first_name, "familyName": user.last_name},
        "displayName": full_name,
        "emails": [{"value": user.email, "type": "work", "primary": True}],
        "active": user.is_active,
        "groups": [
            {
                "value": assignment.role.key,
                "display": assignment.role.name,
                "$ref": f"{base}/Groups/{assignment.role.key}",
            }
            for assignment in user.role_assignments.all()
        ],
        "meta": {
            "resourceType": "User",
            "created": user.created_at.isoformat(),
            "lastModified": user.created_at.isoformat(),
            "location": f"{base}/Users/{user.public_id}",
        },
    }
    if provisioned is not None and provisioned.external_id:
        resource["externalId"] = provisioned.external_id
    return resource


def _has_provisioned(user: User) -> bool:
    # Loaded with select_related("provisioned") by scim_users: no query for a user without one.
    try:
        user.provisioned  # noqa: B018
    except User.provisioned.RelatedObjectDoesNotExist:
        return False
    return True


# Returned whatever attributes or excludedAttributes ask (RFC 7643 7, "returned": "always").
ALWAYS_RETURNED = {"schemas", "id", "meta"}


def _names(text: str) -> list[str]:
    names = []
    for name in text.split(","):
        name = name.strip()
        for schema in (USER_SCHEMA, GROUP_SCHEMA):
            if name.lower().startswith(schema.lower() + ":"):
                name = name[len(schema) + 1 :]
        if name:
            names.append(name)
    return names


def project(resource: dict, attributes: str | None, excluded: str | None) -> dict:
    """The resource with only the attributes asked for, or without those excluded
    (RFC 7644 3.4.2.5); sub-attributes as name.givenName."""
    if attributes:
        wanted = _names(attributes)
        kept: dict[str, Any] = {}
        for key, value in resource.items():
            if key in ALWAYS_RETURNED:
                kept[key] = value
                continue
            subs = [
                w.split(".", 1)[1]
                for w in wanted
                if "." in w and w.split(".", 1)[0].lower() == key.lower()
            ]
            if any(w.lower() == key.lower() for w in wanted):
                kept[key] = value
            elif subs and isinstance(value, dict):
                kept[key] = {
                    k: v for k, v in value.items() if k.lower() in {s.lower() for s in subs}
                }
        return kept
    if excluded:
        dropped = _names(excluded)
        result = dict(resource)
        for name in dropped:
            head, _, sub = name.partition(".")
            for key in list(result):
                if key.lower() == head.lower() and key not in ALWAYS_RETURNED:
                    if sub and isinstance(result[key], dict):
                        result[key] = {
                            k: v for k, v in result[key].items() if k.lower() != sub.lower()
                        }
                    elif not sub:
                        del result[key]
        return result
    return resource


def list_response(resources: list[dict], total: int, start: int) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def paging(params: Any) -> tuple[int, int]:
    """startIndex (from 1) and count, as RFC 7644 3.4.2.4 reads them: bad values are bounded."""

    def number(name: str, default: int) -> int:
        try:
            return int(params.get(name, default))
        except ValueError:
            raise ScimError(400, f"{name} must be a whole number.", "invalidValue") from None

    start = max(number("startIndex", 1), 1)
    count = min(max(number("count", MAX_RESULTS), 0), MAX_RESULTS)
    return start, count


# The filter every provisioning client sends before creating a user: answered by the canonical
# email's unique index, whatever the organization's size.
USER_NAME_EQ = re.compile(r'^\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)

USER_FILTER_ATTRIBUTES = {
    ("userName", None, None): "email",
    ("emails", "value", None): "email",
    ("name", "givenName", None): "first_name",
    ("name", "familyName", None): "last_name",
    ("active", None, None): "is_active",
    ("id", None, None): "public_id",
    ("externalId", None, None): "provisioned__external_id",
}


NUL_IN_FILTER = "A filter cannot hold a NUL character."


def filtered_users(request: Request, users: Any, text: str) -> Any:
    # PostgreSQL cannot compare a text holding NUL (a ValueError, a 500), and no name or email
    # holds one: refused, written raw or escaped.
    if "\x00" in text or "\\u0000" in text.lower():
        raise ScimError(400, NUL_IN_FILTER, "invalidFilter")
    match = USER_NAME_EQ.match(text)
    if match:
        return users.filter(
            pk__in=User.objects.with_email(_filter_value(match.group(1))).values("pk")
        )
    try:
        query = get_query(text, USER_FILTER_ATTRIBUTES)
    except Exception as error:  # the parser raises its own errors for any malformed filter
        raise ScimError(400, f"The filter is not valid: {error}", "invalidFilter") from None
    if not isinstance(query, Q):
        raise ScimError(
            400, "The filter names an attribute that cannot be filtered.", "invalidFilter"
        )
    return users.filter(query)


def search_users(request: Request, params: Any, base: str) -> Response:
    """A page of the organization's users: GET /Users or POST /Users/.search."""
    start, count = paging(params)
    users = scim_users(request).order_by("id")
    text = params.get("filter")
    if text:
        users = filtered_users(request, users, text)
    total = users.count()
    # Past the last result the page is empty (RFC 7644 3.4.2.4), and never asked of the
    # database: an offset past a bigint was an error there, a 500.
    page = list(users[start - 1 : start - 1 + count]) if count and start <= total else []
    attributes, excluded = params.get("attributes"), params.get("excludedAttributes")
    return Response(
        list_response(
            [project(user_resource(u, base), attributes, excluded) for u in page], total, start
        )
    )


class UserList(ScimView):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return search_users(request, request.query_params, self.base(request))

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        given = user_fields(request.data, required=True)
        created: list[User] = []

        def create() -> None:
            # One transaction: a user created inactive (active false) is never seen active.
            new = services.create_user(
                request.user,
                organization=request.user.organization,
                first_name=given["first_name"],
                last_name=given["last_name"],
                email=given["email"],
                origin=origin(request),
                invite=True,
                base_url=base_url_for_email(request),
            )
            if given.get("external_id"):
                ProvisionedUser.objects.create(user=new.user, external_id=given["external_id"])
            if given.get("active") is False:
                services.deactivate_user(request.user, new.user, origin=origin(request))
            created.append(new.user)

        atomically(create)
        user = scim_user_of(request, str(created[0].public_id))
        response = Response(user_resource(user, self.base(request)), status=201)
        response["Location"] = f"{self.base(request)}/Users/{user.public_id}"
        return response


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ScimError(400, f"{name} must be a string.", "invalidValue")
    if has_control_characters(value):
        raise ScimError(400, f"{name}: {CONTROL_CHARACTERS}", "invalidValue")
    if len(value) > MAX_TEXT:
        raise ScimError(400, f"{name} is longer than {MAX_TEXT} characters.", "invalidValue")
    return value


MAX_TEXT = 254  # the longest email; names are 150 and are checked again by the model


def _filter_value(text: str) -> str:
    """The quoted value of a filter, unescaped as JSON strings are (RFC 7644 3.4.2.2)."""
    try:
        return json.loads(f'"{text}"')
    except ValueError:
        raise ScimError(400, "The filter's value is not a valid string.", "invalidFilter") from None


def _boolean(value: Any, name: str) -> bool:
    # Entra sends "True"/"False" as strings in PATCH operations.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ScimError(400, f"{name} must be true or false.", "invalidValue")


def user_fields(data: Any, *, required: bool) -> dict:
    """Our fields from a SCIM User body (POST, PUT): userName, name, active; the rest ignored."""
    if not isinstance(data, dict):
        raise ScimError(400, "The body must be a SCIM User object.", "invalidSyntax")
    given: dict[str, Any] = {}
    if "userName" in data:
        given["email"] = _text(data["userName"], "userName")
    name = data.get("name")
    if name is not None:
        if not isinstance(name, dict):
            raise ScimError(400, "name must be an object.", "invalidValue")
        if "givenName" in name:
            given["first_name"] = _text(name["givenName"], "name.givenName")
        if "familyName" in name:
            given["last_name"] = _text(name["familyName"], "name.familyName")
    if "active" in data:
        given["active"] = _boolean(data["active"], "active")
    if "externalId" in data:
        given["external_id"] = (
            "" if data["externalId"] is None else _text(data["externalId"], "externalId")
        )
    if required:
        for field, attribute in (
            ("email", "userName"),
            ("first_name", "name.givenName"),
            ("last_name", "name.familyName"),
        ):
            if not str(given.get(field, "")).strip():
                raise ScimError(400, f"{attribute} is required.", "invalidValue")
    return given


def apply_to_user(request: Request, user: User, given: dict) -> None:
    """Change what differs, through the services: details, then the active flag (a leaver is
    deactivated after the last change of details; a returner reactivated before)."""
    actor, where = request.user, origin(request)
    if given.get("active") is True and not user.is_active:
        user = services.reactivate_user(actor, user, origin=where)
    details = {
        "first_name": given.get("first_name", user.first_name),
        "last_name": given.get("last_name", user.last_name),
        "email": given.get("email", user.email),
    }
    if any(details[field] != getattr(user, field) for field in details):
        user = services.update_user_details(actor, user, origin=where, **details)
    if given.get("active") is False and user.is_active:
        services.deactivate_user(actor, user, origin=where)
    if "external_id" in given:
        keep_external_id(request, user, given["external_id"])


def keep_external_id(request: Request, user: User, external_id: str) -> None:
    """Keep the identity provider's externalId; a change to a user the client may not edit is
    refused like any edit (recorded)."""
    current = user.provisioned.external_id if _has_provisioned(user) else ""
    if external_id == current:
        return
    rules.require(
        rules.can_manage_user(request.user, user, Action.EDIT_USER), Action.EDIT_USER, user
    )
    ProvisionedUser.objects.update_or_create(user=user, defaults={"external_id": external_id[:255]})


def atomically(apply: Any) -> None:
    """Run every change of one request or none. A refusal recorded inside the rolled-back
    transaction is recorded again after it (accounts.audit.record_refusal)."""
    try:
        with transaction.atomic():
            apply()
    except RuleRefused as refusal:
        if refusal.audit_context:
            audit.record_refusal(refusal)
        raise


# PATCH paths of a User that PartnerHub keeps; any other path is accepted and ignored.
PATCH_USER_PATHS = {
    "username": "email",
    "name.givenname": "first_name",
    "name.familyname": "last_name",
    "active": "active",
    'emails[type eq "work"].value': "email",
    "emails.value": "email",
    "externalid": "external_id",
}


def patch_operations(data: Any) -> list[dict]:
    if not isinstance(data, dict) or PATCH_OP not in data.get("schemas", []):
        raise ScimError(400, f"A PATCH body is a {PATCH_OP} message.", "invalidSyntax")
    operations = data.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "Operations must be a non-empty list.", "invalidSyntax")
    for operation in operations:
        if not isinstance(operation, dict) or str(operation.get("op", "")).lower() not in {
            "add",
            "replace",
            "remove",
        }:
            raise ScimError(400, "Each operation's op is add, replace or remove.", "invalidSyntax")
        # A path is an attribute's path, a string (RFC 7644 3.5.2): a number or a list was an
        # AttributeError further on, a 500.
        if operation.get("path") is not None and not isinstance(operation["path"], str):
            raise ScimError(400, "An operation's path must be a string.", "invalidPath")
    return operations


def user_patch(operations: list[dict]) -> dict:
    """What the operations set, in our fields: Entra's path-less replace with a value object
    ({"active": false}, {"name.givenName": ...}) and Okta's paths alike."""
    given: dict[str, Any] = {}

    def set_path(path: str, value: Any) -> None:
        key = path.strip()
        if key.lower().startswith(USER_SCHEMA.lower() + ":"):
            key = key[len(USER_SCHEMA) + 1 :]
        field = PATCH_USER_PATHS.get(key.lower())
        if field is None:
            if key.lower() == "name" and isinstance(value, dict):
                for sub, sub_value in value.items():
                    set_path(f"name.{sub}", sub_value)
            elif key.lower() == "emails" and isinstance(value, list) and value:
                primary = next(
                    (e for e in value if isinstance(e, dict) and e.get("primary")), value[0]
                )
                if isinstance(primary, dict) and "value" in primary:
                    set_path("emails.value", primary["value"])
            return  # an attribute PartnerHub does not keep
        if field == "active":
            given["active"] = _boolean(value, "active")
        elif field == "external_id" and value is None:
            given["external_id"] = ""
        else:
            given[field] = _text(value, path)

    for operation in operations:
        op, path, value = operation["op"].lower(), operation.get("path"), operation.get("value")
        if op == "remove":
            field = PATCH_USER_PATHS.get((path or "").strip().lower())
            if field == "external_id":
                given["external_id"] = ""
            elif field:
                raise ScimError(400, f"{path} is required: it cannot be removed.", "mutability")
            continue
        if path:
            set_path(path, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                set_path(key, item)
        else:
            raise ScimError(
                400, "An operation without a path needs an object value.", "invalidValue"
            )
    return given


SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def search_parameters(data: dict) -> dict[str, str]:
    """A search body's parameters as the address would carry them, checked against RFC 7644
    3.4.3's types (anything else was a TypeError, a 500): filter a string, startIndex and count
    whole numbers (or their digits), attributes and excludedAttributes strings or lists of
    strings."""
    params: dict[str, str] = {}
    for key in ("startIndex", "count"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ScimError(400, f"{key} must be a whole number.", "invalidValue")
            params[key] = str(value)
    if "filter" in data:
        if not isinstance(data["filter"], str):
            raise ScimError(400, "filter must be a string.", "invalidValue")
        params["filter"] = data["filter"]
    for key in ("attributes", "excludedAttributes"):
        if key in data:
            value = data[key]
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ScimError(400, f"{key} must be a list of attribute names.", "invalidValue")
            params[key] = ",".join(names)
    return params


class UserSearch(ScimView):
    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        """POST /Users/.search (RFC 7644 3.4.3): the query in the body, not the address."""
        data = request.data
        if not isinstance(data, dict) or SEARCH_REQUEST not in data.get("schemas", []):
            raise ScimError(400, f"A search body is a {SEARCH_REQUEST} message.", "invalidSyntax")
        response = search_users(request, search_parameters(data), self.base(request))
        response.status_code = 200
        return response


class UserDetail(ScimView):
    @extend_schema(exclude=True)
    def get(self, request: Request, user_id: str) -> Response:
        user = scim_user_of(request, user_id)
        return Response(
            project(
                user_resource(user, self.base(request)),
                request.query_params.get("attributes"),
                request.query_params.get("excludedAttributes"),
            )
        )

    @extend_schema(exclude=True)
    def put(self, request: Request, user_id: str) -> Response:
        user = scim_user_of(request, user_id)
        given = user_fields(request.data, required=True)
        atomically(lambda: apply_to_user(request, user, given))
        return Response(user_resource(scim_user_of(request, user_id), self.base(request)))

    @extend_schema(exclude=True)
    def patch(self, request: Request, user_id: str) -> Response:
        user = scim_user_of(request, user_id)
        given = user_patch(patch_operations(request.data))
        atomically(lambda: apply_to_user(request, user, given))
        return Response(user_resource(scim_user_of(request, user_id), self.base(request)))

    @extend_schema(exclude=True)
    def delete(self, request: Request, user_id: str) -> Response:
        # Identity providers send DELETE only when told to delete (Entra, after its soft
        # delete); a leaver is PATCHed active false and kept.
        user = scim_user_of(request, user_id)
        services.delete_user(request.user, user, origin=origin(request))
        return Response(status=204)


# Groups: the organization's roles


def roles_of(request: Request) -> list[RoleSpec]:
    csp = request.user.organization.is_csp
    return [spec for spec in CATALOGUE if csp or not spec.csp_only]


def role_of(request: Request, key: str) -> RoleSpec:
    for spec in roles_of(request):
        if spec.key.value == key:
            return spec
    raise ScimError(404, f"No group {key}.")


def members_by_role(request: Request, keys: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    members: dict[str, list[tuple[str, str]]] = {key: [] for key in keys}
    rows = (
        RoleAssignment.objects.filter(
            user__organization=request.user.organization, role__key__in=list(members)
        )
        .order_by("user_id")
        .values_list("role__key", "user__public_id", "user__email")
    )
    for key, public_id, email in rows:
        members[key].append((str(public_id), email))
    return members


def group_resource(spec: RoleSpec, members: list[tuple[str, str]] | None, base: str) -> dict:
    resource: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": spec.key.value,
        "displayName": spec.name,
        "meta": {"resourceType": "Group", "location": f"{base}/Groups/{spec.key.value}"},
    }
    if members is not None:
        resource["members"] = [
            {"value": public_id, "display": email, "$ref": f"{base}/Users/{public_id}"}
            for public_id, email in members
        ]
    return resource


def wants_members(request: Request) -> bool:
    excluded = request.query_params.get("excludedAttributes", "")
    return "members" not in {name.strip().lower() for name in excluded.split(",")}


DISPLAY_NAME_EQ = re.compile(r'^\s*(displayName|id)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


class GroupList(ScimView):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        start, count = paging(request.query_params)
        specs = roles_of(request)
        text = request.query_params.get("filter")
        if text:
            match = DISPLAY_NAME_EQ.match(text)
            if not match:
                raise ScimError(
                    400,
                    'Groups are filtered by displayName eq "..." or id eq "...".',
                    "invalidFilter",
                )
            attribute, value = match.group(1).lower(), _filter_value(match.group(2))
            specs = [
                s
                for s in specs
                if (
                    s.name.lower() == value.lower()
                    if attribute == "displayname"
                    else s.key == value
                )
            ]
        page = specs[start - 1 : start - 1 + count]
        members = (
            members_by_role(request, [s.key.value for s in page])
            if wants_members(request)
            else None
        )
        base = self.base(request)
        resources = [
            group_resource(s, members[s.key.value] if members else None, base) for s in page
        ]
        return Response(list_response(resources, len(specs), start))

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        raise ScimError(
            501,
            "Groups are PartnerHub's roles: none can be added. Change a role's members with PATCH.",
        )


# One PATCH is one transaction under the organization's lock: at most what a bulk action
# changes (accounts.bulk, measured against the request timeout). A body of 1 MB holds 20,000 ids.
MAX_MEMBER_CHANGES = MAX_BULK_USERS

MEMBER_PATH = re.compile(r'^\s*members\s*\[\s*value\s+eq\s+"([^"]*)"\s*\]\s*$', re.IGNORECASE)


def member_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) and "value" in v for v in value):
        raise ScimError(400, 'members are a list of {"value": "<user id>"}.', "invalidValue")
    return [str(v["value"]) for v in value]


class GroupDetail(ScimView):
    @extend_schema(exclude=True)
    def get(self, request: Request, group_id: str) -> Response:
        spec = role_of(request, group_id)
        members = (
            members_by_role(request, [spec.key.value])[spec.key.value]
            if wants_members(request)
            else None
        )
        return Response(group_resource(spec, members, self.base(request)))

    @extend_schema(exclude=True)
    def patch(self, request: Request, group_id: str) -> Response:
        spec = role_of(request, group_id)
        changes: list[tuple[str, str]] = []  # ("grant" | "revoke", user id)
        for operation in patch_operations(request.data):
            op, path, value = (
                operation["op"].lower(),
                operation.get("path") or "",
                operation.get("value"),
            )
            if path.lower() == "displayname" or (
                isinstance(value, dict) and "displayName" in value
            ):
                raise ScimError(400, "A role's name cannot be changed.", "mutability")
            if op == "remove":
                match = MEMBER_PATH.match(path)
                if match:
                    changes.append(("revoke", match.group(1)))
                elif path.lower() == "members":
                    if value is None:  # remove every member
                        members = members_by_role(request, [spec.key.value])[spec.key.value]
                        changes += [("revoke", public_id) for public_id, _ in members]
                    else:
                        changes += [("revoke", i) for i in member_ids(value)]
                else:
                    raise ScimError(400, f"Cannot remove {path or 'the group'}.", "invalidPath")
            elif path.lower() == "members" or (
                not path and isinstance(value, dict) and "members" in value
            ):
                ids = member_ids(value["members"] if not path else value)
                if op == "replace":
                    current = {
                        public_id
                        for public_id, _ in members_by_role(request, [spec.key.value])[
                            spec.key.value
                        ]
                    }
                    changes += [("revoke", i) for i in current - set(ids)]
                    changes += [("grant", i) for i in ids if i not in current]
                else:
                    changes += [("grant", i) for i in ids]
            else:
                raise ScimError(400, f"Cannot {op} {path or 'that'} of a group.", "invalidPath")
        # The last operation on a member decides (as applying them in turn would); then the
        # grants go first, so that replacing the Global admins never passes through none, and
        # the revoke of the client's own creator goes last: the client acts no more after it.
        net = dict((public_id, change) for change, public_id in changes)
        if len(net) > MAX_MEMBER_CHANGES:
            raise ScimError(
                400,
                f"At most {MAX_MEMBER_CHANGES} members change in one PATCH: send the others "
                "in further requests.",
                "invalidValue",
            )
        creator = request.user.client.created_by
        creator_id = str(creator.public_id) if creator else None
        changes = sorted(
            ((c, i) for i, c in net.items()),
            key=lambda item: (item[0] != "grant", item[1] == creator_id),
        )
        users = {
            str(u.public_id): u
            for u in scim_users(request).filter(public_id__in=_uuids({i for _, i in changes}))
        }
        missing = {i for _, i in changes} - set(users)
        if missing:
            # Recorded like any id that is not the organization's (REST's 404, SCIM's Users).
            record_missing_user(request, sorted(missing)[0])
            raise ScimError(
                400, f"No user {sorted(missing)[0]} in this organization.", "invalidValue"
            )
        actor, where, key = request.user, origin(request), spec.key.value

        def apply() -> None:
            for change, public_id in changes:
                if change == "grant":
                    role_services.grant_role(actor, users[public_id], key, origin=where)
                else:
                    role_services.revoke_role(actor, users[public_id], key, origin=where)

        atomically(apply)
        members = members_by_role(request, [key])[key]
        return Response(group_resource(spec, members, self.base(request)))

    @extend_schema(exclude=True)
    def put(self, request: Request, group_id: str) -> Response:
        role_of(request, group_id)
        raise ScimError(501, "Groups are PartnerHub's roles: change their members with PATCH.")

    @extend_schema(exclude=True)
    def delete(self, request: Request, group_id: str) -> Response:
        role_of(request, group_id)
        raise ScimError(501, "Groups are PartnerHub's roles: none can be deleted.")


def _uuids(values: Iterable[str]) -> list[str]:
    import uuid

    valid = []
    for value in values:
        try:
            valid.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return valid


# Discovery


class ServiceProviderConfigView(ScimView):
    provisions = False

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(service_provider_config(self.base(request)))


class ResourceTypeList(ScimView):
    provisions = False

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        types = resource_types(self.base(request))
        return Response(list_response(types, len(types), 1))


class ResourceTypeDetail(ScimView):
    provisions = False

    @extend_schema(exclude=True)
    def get(self, request: Request, name: str) -> Response:
        for resource_type in resource_types(self.base(request)):
            if resource_type["id"] == name:
                return Response(resource_type)
        raise ScimError(404, f"No resource type {name}.")


class SchemaList(ScimView):
    provisions = False

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        found = schemas(self.base(request))
        return Response(list_response(found, len(found), 1))


class SchemaDetail(ScimView):
    provisions = False

    @extend_schema(exclude=True)
    def get(self, request: Request, schema_id: str) -> Response:
        for schema in schemas(self.base(request)):
            if schema["id"] == schema_id:
                return Response(schema)
        raise ScimError(404, f"No schema {schema_id}.")
