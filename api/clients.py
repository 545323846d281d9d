"""Creating and revoking API clients: like accounts.services, the acting person, the rulebook,
one transaction, the audit record inside it."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.audit import NOWHERE, Origin
from accounts.models import AuditAction, User
from accounts.services import lock_organization
from api.models import ApiClient
from roles import rules
from roles.catalogue import SPECS, in_catalogue_order

TOKEN_PREFIX = "phc"  # noqa: S105 (what every token starts with, not a secret)
PREFIX_SHAPE = re.compile(r"[0-9a-f]{1,16}")


class NameInUse(Exception):
    message = "Another API client of your organization has this name."


@dataclass(frozen=True)
class NewClient:
    client: ApiClient
    token: str  # shown once, never stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def split_token(token: str) -> str | None:
    """The prefix that finds a client from a token "phc_<prefix>_<secret>", or None."""
    parts = token.split("_", 2)  # the secret may hold "_" itself
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[2]:
        return None
    # Only what create_client makes (hex digits) is looked up: a NUL in a crafted prefix was a
    # ValueError on PostgreSQL (a 500), and a long one a needless query.
    if not PREFIX_SHAPE.fullmatch(parts[1]):
        return None
    return parts[1]


def token_matches(client: ApiClient, token: str) -> bool:
    return hmac.compare_digest(client.token_hash, token_hash(token))


def _snapshot(client: ApiClient) -> dict:
    return {
        "name": client.name,
        "roles": [SPECS[key].name for key in client.role_keys if key in SPECS],
        "expires_at": client.expires_at.isoformat() if client.expires_at else None,
    }


def create_client(
    actor: User,
    *,
    name: str,
    role_keys: Iterable[str],
    expires_at: datetime | None,
    origin: Origin = NOWHERE,
) -> NewClient:
    """Create a client acting with these roles in the actor's organization; the token is
    returned once, and only its hash is kept."""
    role_keys = in_catalogue_order(set(role_keys))
    organization = actor.organization
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.API_CLIENT_CREATED,
            organization=organization,
            target_label=f"API client {name}",
            origin=origin,
        ),
        transaction.atomic(),
    ):
        organization = lock_organization(actor.organization_id, actor)
        audit.require(
            rules.can_give_client_roles(actor, role_keys),
            AuditAction.API_CLIENT_CREATED,
            roles=role_keys,
        )
        prefix = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        client = ApiClient(
            organization=organization,
            name=name.strip(),
            role_keys=role_keys,
            token_prefix=prefix,
            token_hash=token_hash(token),
            created_by=actor,
            created_by_label=str(actor),
            expires_at=expires_at,
        )
        try:
            with transaction.atomic():
                client.save()
        except IntegrityError as error:
            raise NameInUse from error
        audit.record(
            actor,
            AuditAction.API_CLIENT_CREATED,
            organization=organization,
            target_label=str(client),
            after=_snapshot(client),
            origin=origin,
        )
    return NewClient(client=client, token=token)


def revoke_client(actor: User, client: ApiClient, *, origin: Origin = NOWHERE) -> ApiClient:
    """Revoke the client at once: its next call is refused (and recorded)."""
    with (
        audit.refusals_recorded(
            actor,
            action=AuditAction.API_CLIENT_REVOKED,
            organization=client.organization,
            target_label=str(client),
            origin=origin,
        ),
        transaction.atomic(),
    ):
        organization = lock_organization(client.organization_id, actor)
        audit.require(
            rules.can_revoke_api_client(actor, organization), AuditAction.API_CLIENT_REVOKED
        )
        client = ApiClient.objects.get(pk=client.pk)
        if client.revoked_at is not None:
            return client
        client.revoked_at = timezone.now()
        client.revoked_by_label = str(actor)
        client.save(update_fields=["revoked_at", "revoked_by_label"])
        audit.record(
            actor,
            AuditAction.API_CLIENT_REVOKED,
            organization=organization,
            target_label=str(client),
            before={"revoked": False},
            after={"revoked": True},
            origin=origin,
        )
    return client
