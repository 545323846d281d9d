"""A rate limit per API client: DRF's throttle over the shared cache (Redis in production, so
every app server counts one budget), answering 429 with Retry-After."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from api.actors import ClientActor

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class ClientRateThrottle(SimpleRateThrottle):
    scope = "api_client"

    def get_rate(self) -> str:
        # Read at each request, so that the setting (and a test's override) always holds.
        return f"{settings.PARTNERHUB_API_REQUESTS_PER_MINUTE}/min"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        actor = request.user
        if not isinstance(actor, ClientActor):
            return None  # not authenticated: refused anyway, by the permission
        return self.cache_format % {"scope": self.scope, "ident": actor.client.pk}
