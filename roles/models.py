"""The role catalogue (read-only, loaded by migration) and who holds which role."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from roles.catalogue import CATALOGUE, RoleGroup, RoleKey


class RoleManager(models.Manager["Role"]):
    def sync_with_catalogue(self) -> None:
        """Make the table say what roles.catalogue says (idempotent).

        Run after every migrate and every flush (post_migrate): the data migration loads the
        catalogue once, this keeps it there, test databases flushed between tests included.
        """
        for position, spec in enumerate(CATALOGUE, 1):
            self.update_or_create(
                key=spec.key.value,
                defaults={
                    "name": spec.name,
                    "group": spec.group.value,
                    "csp_only": spec.csp_only,
                    "unlocks": spec.unlocks,
                    "description": spec.description,
                    "position": position,
                },
            )


class Role(models.Model):
    key = models.CharField(max_length=40, unique=True, choices=RoleKey.choices)
    name = models.CharField(max_length=80, unique=True)
    description = models.TextField()
    group = models.CharField(max_length=20, choices=RoleGroup.choices)
    csp_only = models.BooleanField("CSP only")
    unlocks = models.TextField(help_text="What the role unlocks, as shown to admins.")
    position = models.PositiveSmallIntegerField(help_text="Display order: the hierarchy first.")

    objects = RoleManager()

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name


class RoleAssignmentQuerySet(models.QuerySet["RoleAssignment"]):
    def in_organization(self, organization: object) -> RoleAssignmentQuerySet:
        return self.filter(organization=organization)

    def bulk_create(
        self, objs: Iterable[RoleAssignment], *args: Any, **kwargs: Any
    ) -> list[RoleAssignment]:
        objs = list(objs)
        _fill_organizations(objs)
        return super().bulk_create(objs, *args, **kwargs)


def _fill_organizations(assignments: list[RoleAssignment]) -> None:
    """Copy each assignment's organization from its user: from the user object when the caller
    gave one, else from the database in one query for all of them."""
    from accounts.models import User

    missing = []
    for assignment in assignments:
        if assignment.organization_id is not None:
            continue
        user = assignment._state.fields_cache.get("user")
        if user is not None:
            assignment.organization_id = user.organization_id
        else:
            missing.append(assignment)
    if missing:
        organizations = dict(
            User.objects.filter(pk__in={a.user_id for a in missing}).values_list(
                "pk", "organization_id"
            )
        )
        for assignment in missing:
            assignment.organization_id = organizations.get(assignment.user_id)


class RoleAssignment(models.Model):
    # No index of its own (migration 0008): the (user, role) unique constraint leads with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="role_assignments",
        db_index=False,
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="assignments")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    granted_at = models.DateTimeField(default=timezone.now)
    # The user's organization, copied here when the assignment is made (users never change
    # organization): "who holds Global admin in this organization?" is then one index range,
    # (organization, role) including the user (roles migration 0007), instead of a walk of the
    # organization's users. Set by save() and bulk_create() from the user; no index of its own,
    # the composite one starts with it.
    # Nullable in the database for one release: while old and new code run side by side during
    # an upgrade (docs/deploy.md), the old code writes assignments without it. The next release
    # fills those again and makes the column NOT NULL; until then a missing one only makes
    # the last-Global-admin check count fewer others, which refuses, never allows.
    organization = models.ForeignKey(
        "accounts.PartnerOrganization",
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
        editable=False,
        db_index=False,
    )

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["role__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role"], name="roles_assignment_one_per_user_and_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role} for {self.user}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        _fill_organizations([self])
        super().save(*args, **kwargs)


class GrantRequestStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class GlobalAdminGrantRequest(models.Model):
    """Support staff asked to make a user a Global admin; a second staff member decides
    (DOMAIN.md rule 12). Only an approval grants the role, through roles.services."""

    organization = models.ForeignKey(
        "accounts.PartnerOrganization", on_delete=models.PROTECT, related_name="+"
    )
    # Kept when the user is deleted meanwhile: the request then says whom it was for, and an
    # approval is refused with the reason.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="global_admin_requests",
    )
    user_label = models.CharField(max_length=500)
    # The email the user had when asked for: an approval for a user whose email changed since is
    # refused (whoever controls a Global admin's email can choose their password).
    user_email = models.CharField(max_length=254, blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=GrantRequestStatus.choices, default=GrantRequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="What the person who decided noted.")

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = "Global admin request"
        constraints = [
            # Two pending requests for one user would be approved twice.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status="pending"),
                name="roles_one_pending_global_admin_request_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"Global admin for {self.user_label}"

    @property
    def is_pending(self) -> bool:
        return self.status == GrantRequestStatus.PENDING
