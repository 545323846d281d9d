from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

from api.actors import ClientActor

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsApiClient(BasePermission):
    """Only an API client's token reaches a view; what it may do there is the rulebook's."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, ClientActor) and request.user.is_active
