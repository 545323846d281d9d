"""The REST API (/api/v1/): users, their roles, the roles, the audit trail.

Each view reads like a page of the web app: resolve the object in the client's organization
(another organization's id is a 404, as for a person), ask the rulebook, call the service.
The client acts as api.actors.ClientActor: the rulebook decides for it exactly as for a person
holding its roles, and the services lock, check again and audit ("API client <name>").
"""

from __future__ import annotations

from django.db.models import F, Prefetch
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit, services
from accounts.audit import Origin
from accounts.filters import DirectoryFilter
from accounts.invitations import base_url_for_email
from accounts.models import AuditAction, AuditEvent, User
from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import idempotent
from api.serializers import (
    AuditEventFilterSerializer,
    AuditEventSerializer,
    RoleSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from roles import rules
from roles import services as role_services
from roles.catalogue import CATALOGUE, SPECS
from roles.models import RoleAssignment
from roles.rules import Action

# The largest value of a bigint column: a position past it cannot be compared by PostgreSQL.
BIGINT_MAX = 2**63 - 1


class IntegerCursor(CursorPagination):
    """A cursor over an integer column. DRF decodes a cursor's position as text and compares
    it to the column as given: a tampered cursor ("p=abc", or a number past a bigint) was a
    500. Such a cursor is DRF's own "Invalid cursor" (404), as for one that does not decode."""

    def decode_cursor(self, request: Request):
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        try:
            position = int(cursor.position)
        except ValueError:
            raise NotFound(self.invalid_cursor_message) from None
        if abs(position) > BIGINT_MAX:
            raise NotFound(self.invalid_cursor_message)
        return cursor


class UserCursor(IntegerCursor):
    # The id: a stable order, one index; the cursor is opaque to clients.
    ordering = ("id",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class EventCursor(IntegerCursor):
    # An organization's events are numbered by its hash chain: newest first, one index.
    ordering = ("-sequence",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


# The columns the API shows (and the organization, which the rulebook reads).
SHOWN_FIELDS = (
    "public_id",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "created_at",
    "last_login",
    "organization_id",
)


def users_of(request: Request):
    """The client's organization's users, as the API shows them (status, roles: two queries
    for any page)."""
    return (
        User.objects.in_organization(request.user.organization)
        .with_status()
        .only(*SHOWN_FIELDS)
        .prefetch_related(
            Prefetch(
                "role_assignments",
                queryset=RoleAssignment.objects.select_related("role")
                .only("user_id", "role__key", "role__name", "role__position")
                .order_by("role__position"),
            )
        )
    )


def user_json(user: User) -> dict:
    """A user as UserSerializer documents it, built directly: a page of 50 users costs a
    millisecond here, several through DRF's serializer (measured by bench/api.py)."""
    return {
        "id": str(user.public_id),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
        "status": user.status.value,
        "roles": [
            {"key": assignment.role.key, "name": assignment.role.name}
            for assignment in user.role_assignments.all()
        ],
        "created_at": _when(user.created_at),
        "last_sign_in": _when(user.last_login),
    }


def _when(moment: object) -> str | None:
    # DRF's format for a datetime (ISO 8601, UTC as "Z"), as the serializer would write it.
    return serializers.DateTimeField().to_representation(moment) if moment else None


NO_SUCH_USER = "No user with this id in the organization."


def user_of(request: Request, public_id: object) -> User:
    """One user of the client's organization, or 404: for another organization's id too, and
    both are recorded alike (a client probing ids is in its organization's trail)."""
    user = users_of(request).filter(public_id=public_id).first()
    if user is None:
        record_missing_user(request, public_id)
        raise Http404(NO_SUCH_USER)
    return user


def record_missing_user(request: Request, public_id: object) -> None:
    audit.record_refused_attempt(
        None,
        AuditAction.API_CALLED,
        NO_SUCH_USER,
        organization=request.user.organization,
        actor_label=str(request.user),
        target_label=str(public_id)[:100],
        detail={"page": audit.page_of(request)},
        origin=Origin.from_request(request),
    )


def origin(request: Request) -> Origin:
    return Origin.from_request(request)


def present(request: Request, user: User) -> dict:
    return user_json(user_of(request, user.public_id))


ID_PARAMETER = OpenApiParameter("user_id", str, OpenApiParameter.PATH, description="A user's id.")


class UserList(APIView):
    """The organization's users (search, filters, cursor pages) and adding one."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Name or email, partial, any case or accent."),
            OpenApiParameter("role", str, description="A role's key, or none."),
            OpenApiParameter("status", str, description="active, pending or deactivated."),
            OpenApiParameter("last_sign_in", str, description="never, 30 or 90 (days)."),
        ],
        responses=UserSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        rules.require(rules.can(request.user, Action.SEE_DIRECTORY), Action.SEE_DIRECTORY)
        users = users_of(request)
        filters = DirectoryFilter(request.query_params, queryset=users)
        if not filters.is_valid():
            return Response(filters.errors, status=400)
        if filters.narrows:
            rules.require(rules.can(request.user, Action.SEARCH_DIRECTORY), Action.SEARCH_DIRECTORY)
        paginator = UserCursor()
        page = paginator.paginate_queryset(filters.qs, request, view=self)
        return paginator.get_paginated_response([user_json(user) for user in page])

    @extend_schema(
        request=UserCreateSerializer,
        responses={201: UserSerializer},
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                OpenApiParameter.HEADER,
                description="Retrying with the same key and body answers the first response.",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        def create() -> Response:
            data = UserCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            new = services.create_user(
                request.user,
                organization=request.user.organization,
                first_name=data.validated_data["first_name"],
                last_name=data.validated_data["last_name"],
                email=data.validated_data["email"],
                role_keys=data.validated_data["roles"],
                origin=origin(request),
                invite=True,
                base_url=base_url_for_email(request),
            )
            return Response(present(request, new.user), status=status.HTTP_201_CREATED)

        return idempotent(request, create)


class UserDetail(APIView):
    """One user: read, change details, delete."""

    @extend_schema(parameters=[ID_PARAMETER], responses=UserSerializer)
    def get(self, request: Request, user_id: str) -> Response:
        user = user_of(request, user_id)
        rules.require(rules.can(request.user, Action.SEE_DIRECTORY), Action.SEE_DIRECTORY, user)
        return Response(user_json(user))

    @extend_schema(
        parameters=[ID_PARAMETER], request=UserUpdateSerializer, responses=UserSerializer
    )
    def patch(self, request: Request, user_id: str) -> Response:
        user = user_of(request, user_id)
        data = UserUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        services.update_user_details(
            request.user,
            user,
            first_name=given.get("first_name", user.first_name),
            last_name=given.get("last_name", user.last_name),
            email=given.get("email", user.email),
            origin=origin(request),
        )
        return Response(present(request, user))

    @extend_schema(parameters=[ID_PARAMETER], responses={204: None})
    def delete(self, request: Request, user_id: str) -> Response:
        user = user_of(request, user_id)
        services.delete_user(request.user, user, origin=origin(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserDeactivate(APIView):
    @extend_schema(parameters=[ID_PARAMETER], request=None, responses=UserSerializer)
    def post(self, request: Request, user_id: str) -> Response:
        """Stop the user signing in and end their sessions; roles are kept."""
        user = user_of(request, user_id)
        services.deactivate_user(request.user, user, origin=origin(request))
        return Response(present(request, user))


class UserReactivate(APIView):
    @extend_schema(parameters=[ID_PARAMETER], request=None, responses=UserSerializer)
    def post(self, request: Request, user_id: str) -> Response:
        """Let a deactivated user sign in again, with the roles they had."""
        user = user_of(request, user_id)
        services.reactivate_user(request.user, user, origin=origin(request))
        return Response(present(request, user))


class UserRole(APIView):
    """Grant (PUT) or revoke (DELETE) one role of a user; both are idempotent."""

    def _role(self, role_key: str) -> str:
        if role_key not in SPECS:
            raise serializers.ValidationError({"role": [f"There is no role {role_key!r}."]})
        return role_key

    @extend_schema(
        parameters=[ID_PARAMETER, OpenApiParameter("role_key", str, OpenApiParameter.PATH)],
        request=None,
        responses=UserSerializer,
    )
    def put(self, request: Request, user_id: str, role_key: str) -> Response:
        user = user_of(request, user_id)
        role_services.grant_role(request.user, user, self._role(role_key), origin=origin(request))
        return Response(present(request, user))

    @extend_schema(
        parameters=[ID_PARAMETER, OpenApiParameter("role_key", str, OpenApiParameter.PATH)],
        request=None,
        responses=UserSerializer,
    )
    def delete(self, request: Request, user_id: str, role_key: str) -> Response:
        user = user_of(request, user_id)
        role_services.revoke_role(request.user, user, self._role(role_key), origin=origin(request))
        return Response(present(request, user))


class RoleList(APIView):
    @extend_schema(responses=RoleSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The roles that exist in the organization (CSP roles only in a CSP organization)."""
        rules.require(rules.can(request.user, Action.SEE_DIRECTORY), Action.SEE_DIRECTORY)
        csp = request.user.organization.is_csp
        return Response([RoleSerializer.of(spec) for spec in CATALOGUE if csp or not spec.csp_only])


class AuditEventList(APIView):
    @extend_schema(
        parameters=[AuditEventFilterSerializer], responses=AuditEventSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        """The organization's audit trail, newest first: what the client may read of it (a
        User management admin's roles read user and role events only)."""
        actor = request.user
        rules.require(rules.can(actor, Action.SEE_AUDIT_LOG), Action.SEE_AUDIT_LOG)
        filters = AuditEventFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        # The target's public id in the same query (a join), never a query per event.
        events = AuditEvent.objects.visible_to(actor).annotate(
            target_public_id=F("target__public_id")
        )
        given = filters.validated_data
        if "action" in given:
            events = events.filter(action=given["action"])
        if "outcome" in given:
            events = events.filter(outcome=given["outcome"])
        if "target" in given:
            events = events.filter(target__public_id=given["target"])
        if "since" in given:
            events = events.filter(created_at__gte=given["since"])
        if "until" in given:
            events = events.filter(created_at__lt=given["until"])
        paginator = EventCursor()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)
