"""Bearer tokens of API clients: the only way into the REST API and SCIM.

No session, no cookie, no CSRF: a browser's session never authenticates a call (DRF's
SessionAuthentication is not installed), so a page on another site cannot make a signed-in
admin's browser call the API.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import audit
from accounts.audit import Origin
from accounts.models import AuditAction
from api.actors import ClientActor
from api.clients import split_token, token_matches
from api.models import ApiClient

# Last used is written at most this often: a write per call would cost more than the call.
LAST_USED_WRITE_INTERVAL = timedelta(minutes=1)

WRONG_TOKEN = "The bearer token is not valid."  # noqa: S105 (a message, not a password)


def _refuse(request: Request, client: ApiClient, reason: str) -> exceptions.AuthenticationFailed:
    """Record a refused call of a known client (revoked, expired, a wrong secret) in its
    organization's trail, and the 401 to raise."""
    audit.record_refused_attempt(
        None,
        AuditAction.API_CALLED,
        reason,
        organization=client.organization,
        actor_label=str(client),
        detail={"page": audit.page_of(request)},
        origin=Origin.from_request(request),
    )
    return exceptions.AuthenticationFailed(reason)


class ClientTokenAuthentication(authentication.BaseAuthentication):
    """Authorization: Bearer phc_<prefix>_<secret>."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ClientActor, ApiClient] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(WRONG_TOKEN)
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(WRONG_TOKEN) from None
        prefix = split_token(token)
        client = (
            ApiClient.objects.select_related("organization", "created_by__organization")
            .filter(token_prefix=prefix)
            .first()
            if prefix
            else None
        )
        if client is None:
            # Nobody to name, no organization to record it in: a 401, logged by the request log.
            raise exceptions.AuthenticationFailed(WRONG_TOKEN)
        if not token_matches(client, token):
            raise _refuse(request, client, WRONG_TOKEN)
        actor = ClientActor(client)
        if not actor.is_active:
            raise _refuse(request, client, actor.refusal.reason)
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at >= LAST_USED_WRITE_INTERVAL:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
            client.last_used_at = now
        return actor, client

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="PartnerHub"'
