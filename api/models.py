"""API clients: programs (an identity provider's provisioning, a script) that call the REST API
and SCIM with a bearer token, acting with the roles an admin gave them (DOMAIN.md rule 13)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import PartnerOrganization


class ApiClientQuerySet(models.QuerySet["ApiClient"]):
    def in_organization(self, organization: PartnerOrganization) -> ApiClientQuerySet:
        return self.filter(organization=organization)

    def usable(self) -> ApiClientQuerySet:
        """Neither revoked nor expired."""
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )


class ApiClient(models.Model):
    """A program's credentials in one organization. Never a person: it has no password, never
    signs in to the web pages, is in no directory, export or count, and never counts as a
    Global admin for the last-Global-admin protection (rule 4)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        PartnerOrganization, on_delete=models.PROTECT, related_name="api_clients"
    )
    name = models.CharField(max_length=100)
    # The roles' keys (roles.catalogue), fixed at creation: a client with other roles is a new
    # client, created by an admin who may grant them.
    role_keys = models.JSONField(default=list)
    # The token is "phc_<prefix>_<secret>": the prefix finds the client, the SHA-256 of the
    # whole token is compared (the token is random, 256 bits: no slow hash needed).
    token_prefix = models.CharField(max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_by_label = models.CharField(max_length=500, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by_label = models.CharField(max_length=500, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiClientQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="api_client_name_unique_in_organization",
                violation_error_message="Another API client of your organization has this name.",
            )
        ]

    def __str__(self) -> str:
        return f"API client {self.name}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class IdempotentRequest(models.Model):
    """A create request sent with an Idempotency-Key: the same key and body again answers the
    stored response; the same key with another body is a conflict. Kept IDEMPOTENCY_HOURS."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    path = models.CharField(max_length=300)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "key", "path"], name="api_idempotency_key_once_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.path})"


class ProvisionedUser(models.Model):
    """What an identity provider calls a user it provisions: its externalId (RFC 7643 3.1),
    kept beside the user rather than on it, since only SCIM reads it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="provisioned",
    )
    external_id = models.CharField(max_length=255, blank=True, db_index=True)

    def __str__(self) -> str:
        return self.external_id
