"""Partner organizations, their users, and the audit trail of every change to them."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, date
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connections, models, router, transaction
from django.db.models import Q
from django.db.models.functions import Cast, Lower, StrIndex
from django.db.models.lookups import Contains, GreaterThan
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts import bulk_insert
from accounts.identity import canonical_email, email_skeleton
from accounts.search import SQUEEZED_OUT, fold, looked_up, squeeze

# The fields folded into User.search_text.
SEARCHED_FIELDS = {"first_name", "last_name", "email"}
# What the database can see of a canonical email (accounts.identity): printable ASCII, no
# spaces, one "@" with something on each side. Lower case is checked beside it.
CANONICAL_EMAIL_SHAPE = r"^[!-?A-~]+@[!-?A-~]+\Z"


class ProgramType(models.TextChoices):
    CSP_DIRECT = "csp_direct", "CSP direct"
    CSP_INDIRECT_PROVIDER = "csp_indirect_provider", "CSP indirect provider"
    CSP_INDIRECT_RESELLER = "csp_indirect_reseller", "CSP indirect reseller"
    NON_CSP = "non_csp", "Non-CSP"


partner_id_validator = RegexValidator(
    r"^[0-9]{6,7}\Z", "A partner ID (MPN ID) is 6 or 7 digits.", code="invalid_partner_id"
)


class PartnerOrganization(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    partner_id = models.CharField(
        "partner ID",
        max_length=7,
        unique=True,
        validators=[partner_id_validator],
        help_text="The MPN ID: 6 or 7 digits.",
        error_messages={"unique": "An organization with this partner ID already exists."},
    )
    program_type = models.CharField(max_length=32, choices=ProgramType.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "partner organization"
        constraints = [
            models.CheckConstraint(
                condition=Q(partner_id__regex=r"^[0-9]{6,7}\Z"),
                name="accounts_organization_partner_id_6_or_7_digits",
            ),
            models.CheckConstraint(
                condition=Q(program_type__in=ProgramType.values),
                name="accounts_organization_program_type_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.partner_id})"

    @property
    def is_csp(self) -> bool:
        """CSP direct, CSP indirect provider and CSP indirect reseller are all CSP."""
        return self.program_type != ProgramType.NON_CSP


class UserStatus(models.TextChoices):
    """What the directory says of a user: active, invited and not signed in yet, or deactivated."""

    ACTIVE = "active", "Active"
    PENDING_INVITATION = "pending", "Pending invitation"
    DEACTIVATED = "deactivated", "Deactivated"


# A user who has never set a password holds Django's unusable one: "!" and random characters.
NO_PASSWORD_YET = Q(password__startswith=UNUSABLE_PASSWORD_PREFIX)
STATUS_CONDITIONS = {
    UserStatus.ACTIVE: Q(is_active=True) & ~NO_PASSWORD_YET,
    UserStatus.PENDING_INVITATION: Q(is_active=True) & NO_PASSWORD_YET,
    UserStatus.DEACTIVATED: Q(is_active=False),
}
# The annotation with_status() adds, which User.status reads before the password.
STATUS = "status_value"


class SqueezedSearchText(models.Func):
    """User.search_text without SQUEEZED_OUT (accounts.search.squeeze), in SQL: on PostgreSQL
    exactly the expression of the trigram index accounts_user_org_squeezed_trgm (migration
    0024), so that the planner matches it; on SQLite, which has no translate() and no such
    index, the same text by replace()."""

    function = "translate"
    output_field = models.TextField()

    def __init__(self) -> None:
        super().__init__(models.F("search_text"), models.Value(SQUEEZED_OUT), models.Value(""))

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        for character in SQUEEZED_OUT:
            sql, params = f"REPLACE({sql}, %s, '')", [*params, character]
        return sql, params


class UserQuerySet(models.QuerySet["User"]):
    def bulk_create(self, objs: Iterable[User], *args: Any, **kwargs: Any) -> list[User]:
        objs = list(objs)
        for user in objs:
            user.refresh_search_text()
            user.refresh_email_skeleton()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(
        self, objs: Iterable[User], fields: Iterable[str], *args: Any, **kwargs: Any
    ) -> int:
        objs, fields = list(objs), list(fields)
        if SEARCHED_FIELDS & set(fields):
            for user in objs:
                user.refresh_search_text()
            fields.append("search_text")
        if "email" in fields:
            for user in objs:
                user.refresh_email_skeleton()
            fields.append("email_skeleton")
        return super().bulk_update(objs, fields, *args, **kwargs)

    def search(self, query: str, *, indexed: bool = True) -> UserQuerySet:
        """Users whose name or email contains every word of the query, ignoring case and accents.

        `indexed=False` asks each word as a position in the text (strpos), which no index can
        answer: the same users, found by walking another index (accounts.views.directory,
        for a word most of the organization holds, whose trigram bitmap would be all of it).

        A word with punctuation of SQUEEZED_OUT ("ia.garc", "@contoso") is asked of the
        squeezed search text, which its trigram index answers with the word's few holders
        rather than every holder of each of its parts; then the word itself decides, as a
        position in the text (strpos) that no index offers to answer: as a LIKE, PostgreSQL
        would also read the product-wide trigram index for it, every holder of its parts in
        every organization (30,304 for "ia.garc"), to intersect with the 235."""
        matches = self
        for word in fold(query).split():
            squeezed = squeeze(word)
            held = GreaterThan(StrIndex("search_text", models.Value(word)), 0)
            if not indexed:
                matches = matches.filter(held)
            elif squeezed != word and looked_up(word):
                matches = matches.filter(Contains(SqueezedSearchText(), squeezed), held)
            else:
                matches = matches.filter(search_text__contains=word)
        return matches

    def with_status(self) -> UserQuerySet:
        """The users with their status computed by the database: the page never loads a hash."""
        return self.annotate(
            **{
                STATUS: models.Case(
                    *(
                        models.When(condition, then=models.Value(status))
                        for status, condition in STATUS_CONDITIONS.items()
                    ),
                    output_field=models.CharField(),
                )
            }
        )

    def with_status_of(self, status: str) -> UserQuerySet:
        return self.filter(STATUS_CONDITIONS[UserStatus(status)])

    def who_can_help(self) -> UserQuerySet:
        """Users one may be sent to ask: active and signed in with a password of their own."""
        return self.with_status_of(UserStatus.ACTIVE)

    def partner_users(self) -> UserQuerySet:
        return self.filter(organization__isnull=False)

    def in_organization(self, organization: PartnerOrganization) -> UserQuerySet:
        # The id bound as bigint, the column's type: the (organization, search text) trigram
        # index (migration 0014) is a btree_gin index, which has no operator comparing a bigint
        # column with an integer; a plain integer would leave the organization out of it.
        if organization is None or organization.pk is None:
            return self.none()
        return self.filter(
            organization_id=Cast(models.Value(organization.pk), models.BigIntegerField())
        )

    def with_email(self, email: str) -> UserQuerySet:
        """The user with this email in its canonical form (DOMAIN.md rule 8); none for text
        that cannot be an email."""
        try:
            return self.filter(email=canonical_email(email))
        except ValidationError:
            return self.none()


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        # Sign-in by email, in its canonical form: whatever case or width it is typed in, one
        # account at most. Text that cannot be an email is an unknown user, never an error.
        try:
            email = canonical_email(username or "")
        except ValidationError:
            raise self.model.DoesNotExist from None
        return self.get(email=email)

    def create_user(self, email: str, password: str | None = None, **fields: object) -> User:
        """A partner user: needs an organization. Use accounts.services.create_user in app code."""
        if not fields.get("organization") and not fields.get("organization_id"):
            raise ValueError("A partner user belongs to an organization.")
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> User:
        """An operator's account, with every model permission (createsuperuser); partner
        organizations never have one. Its password is judged like any new one, also when
        createsuperuser runs without input (which skips that check), and the addition is in the
        audit trail, as add_support_staff's are."""
        from django.contrib.auth.password_validation import validate_password

        from accounts import audit

        fields.update(is_staff=True, is_superuser=True, organization=None)
        if password is not None:
            validate_password(password, self.model(email=email, **fields))
        with transaction.atomic(using=self._db):
            user = self._create(email, password, **fields)
            audit.record(
                None,
                AuditAction.USER_CREATED,
                organization=None,
                target=user,
                actor_label="manage.py createsuperuser",
                after={"email": user.email, "superuser": True},
            )
        return user

    def _create(self, email: str, password: str | None, **fields: object) -> User:
        user = self.model(email=canonical_email(email), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user


class ThemePreference(models.TextChoices):
    """How PartnerHub looks to a person: as their system says, or always light or dark."""

    SYSTEM = "system", "System"
    LIGHT = "light", "Light"
    DARK = "dark", "Dark"


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: a partner user (with an organization) or support staff (without)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Always accounts.identity.canonical_email's form; the constraints below hold the database
    # to what SQL can see of it.
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    # No index of its own (migration 0020): every (organization, ...) index of the users
    # leads with it, and each index more is paid on every user an import adds.
    organization = models.ForeignKey(
        PartnerOrganization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text="Empty for support staff, who work across organizations.",
        db_index=False,
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="A deactivated user cannot sign in."
    )
    is_staff = models.BooleanField(
        "support staff",
        default=False,
        help_text="Support staff of the partner network: signs in to the Django admin.",
    )
    must_change_password = models.BooleanField(
        default=False,
        help_text="Set with a temporary password: the next sign-in asks for a new one.",
    )
    created_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    search_text = models.TextField(
        editable=False, default="", help_text="Name and email folded for search (accounts.search)."
    )
    # Mixed into the session hash: a new value ends every session of the user, on every server
    # (accounts.services.end_sessions). A database default too, for rows written by COPY.
    session_generation = models.CharField(
        max_length=32, blank=True, default="", db_default="", editable=False
    )
    email_skeleton = models.TextField(
        editable=False,
        default="",
        help_text="The email as look-alikes share it (accounts.identity.email_skeleton).",
    )
    # A database default too, for rows written by COPY (the benchmark's loader).
    theme_preference = models.CharField(
        "theme",
        max_length=6,
        choices=ThemePreference.choices,
        default=ThemePreference.SYSTEM,
        db_default=ThemePreference.SYSTEM,
        help_text="Light or dark pages, or as the person's system says (My profile).",
    )

    # The number of roles the user holds, kept by the database (migration 0022's triggers on the
    # role assignments, whatever writes them): the directory's "No role" reads it on a partial
    # index. Never a permission: the rulebook reads the assignments.
    role_count = models.IntegerField(
        default=0,
        db_default=0,
        editable=False,
        help_text="How many roles the user holds, kept by the database's triggers.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        ordering = ["last_name", "first_name", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                name="accounts_user_email_unique",
                violation_error_message="A user with this email already exists.",
            ),
            models.CheckConstraint(
                condition=Q(email=Lower("email")) & Q(email__regex=CANONICAL_EMAIL_SHAPE),
                name="accounts_user_email_canonical",
                violation_error_message="Store the email in its canonical form.",
            ),
            models.CheckConstraint(
                condition=Q(is_staff=True, organization__isnull=True)
                | Q(is_staff=False, organization__isnull=False),
                name="accounts_user_partner_user_or_support_staff",
                violation_error_message=(
                    "A partner user belongs to an organization; support staff belong to none."
                ),
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "last_name", "first_name"],
                name="accounts_user_org_name_idx",
            ),
            # Look-alike emails in an organization (accounts.duplicates): one equality lookup.
            models.Index(
                fields=["organization", "email_skeleton"], name="accounts_user_org_skeleton_idx"
            ),
            # The directory filtered by "Pending invitation", by name (migration 0019): the
            # status needs the password, so without it each match is read in the table.
            models.Index(
                fields=["organization", "first_name", "last_name", "id"],
                condition=STATUS_CONDITIONS[UserStatus.PENDING_INVITATION],
                name="accounts_user_org_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return user_label(self.first_name, self.last_name, self.email)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.refresh_search_text()
        self.refresh_email_skeleton()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and SEARCHED_FIELDS & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_text", "email_skeleton"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        # Django's clean() would only normalize the email's Unicode; store the canonical form.
        super().clean()
        if not self.email:
            return  # the field's own check says it is required
        try:
            self.email = canonical_email(self.email)
        except ValidationError as error:
            raise ValidationError({"email": error.messages}) from None

    def refresh_search_text(self) -> None:
        self.search_text = search_text(self.first_name, self.last_name, self.email)

    def refresh_email_skeleton(self) -> None:
        self.email_skeleton = email_skeleton(self.email)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's hash of the password, which every request's session must carry, with the
        session generation mixed in: changing either ends the user's sessions at their next
        request. Django's own hash while the generation is empty, so that sessions opened
        before the field existed stay valid."""
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "accounts.models.User.get_session_auth_hash",
            f"{self.password}\n{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_short_name(self) -> str:
        return self.first_name

    @property
    def status(self) -> UserStatus:
        """Active, Pending invitation (no password chosen yet) or Deactivated."""
        annotated = getattr(self, STATUS, None)
        if annotated is not None:
            return UserStatus(annotated)
        if not self.is_active:
            return UserStatus.DEACTIVATED
        if self.has_usable_password():
            return UserStatus.ACTIVE
        return UserStatus.PENDING_INVITATION

    @property
    def is_support_staff(self) -> bool:
        return self.is_staff and self.organization_id is None


def user_label(first_name: str, last_name: str, email: str) -> str:
    """What str() of a user with these values says (the audit trail's label): for rows an
    import writes without a User instance each."""
    full_name = f"{first_name} {last_name}".strip()
    return f"{full_name} <{email}>" if full_name else email


def search_text(first_name: str, last_name: str, email: str) -> str:
    """A user's search_text (User.refresh_search_text), from plain values."""
    return fold(f"{first_name} {last_name} {email}")


class AuditAction(models.TextChoices):
    USER_CREATED = "user.created", "User created"
    USER_EDITED = "user.edited", "Details edited"
    USER_DEACTIVATED = "user.deactivated", "User deactivated"
    USER_REACTIVATED = "user.reactivated", "User reactivated"
    USER_DELETED = "user.deleted", "User deleted"
    PASSWORD_RESET = "user.password_reset", "Password reset"
    PASSWORD_CHANGED = "user.password_changed", "Password changed"
    SIGNED_OUT_EVERYWHERE = "user.signed_out_everywhere", "Signed out everywhere"
    INVITATION_SENT = "user.invitation_sent", "Invitation sent"
    INVITATION_ACCEPTED = "user.invitation_accepted", "Invitation accepted"
    PASSWORD_RESET_BY_EMAIL = "user.password_reset_by_email", "Password reset by email"
    # The second factor (the mfa app).
    SECOND_FACTOR_ENROLLED = "user.second_factor_enrolled", "Sign-in method added"
    SECOND_FACTOR_REMOVED = "user.second_factor_removed", "Sign-in method removed"
    SECOND_FACTOR_RESET = "user.second_factor_reset", "Second factor reset"
    RECOVERY_CODES_CREATED = "user.recovery_codes_created", "New recovery codes"
    RECOVERY_CODE_USED = "user.recovery_code_used", "Recovery code used"
    SECOND_FACTOR_FAILED = "user.second_factor_failed", "Second-factor code refused"
    ROLE_GRANTED = "role.granted", "Role granted"
    ROLE_REVOKED = "role.revoked", "Role revoked"
    # Support staff's Global admin grants wait for a second staff member (DOMAIN.md rule 12).
    GLOBAL_ADMIN_REQUESTED = "role.global_admin_requested", "Global admin requested"
    GLOBAL_ADMIN_APPROVED = "role.global_admin_approved", "Global admin request approved"
    GLOBAL_ADMIN_REJECTED = "role.global_admin_rejected", "Global admin request rejected"
    GLOBAL_ADMIN_CANCELLED = "role.global_admin_cancelled", "Global admin request cancelled"
    MAPS_PURCHASED = "membership.maps_purchased", "MAPS purchased"
    ORGANIZATION_CREATED = "organization.created", "Organization created"
    ORGANIZATION_EDITED = "organization.edited", "Organization edited"
    # Pages refused as a whole: only ever recorded as refused attempts.
    DIRECTORY_OPENED = "user.directory_opened", "Open User management"
    ROLES_CHANGED = "role.changed", "Roles changed"
    AUDIT_LOG_OPENED = "audit.opened", "Open the audit log"
    MEMBERSHIP_OPENED = "membership.opened", "Open the membership workspace"
    SUPPORT_ADMIN_USED = "admin.refused", "Use the support admin"
    API_CLIENT_CREATED = "api_client.created", "API client created"
    API_CLIENT_REVOKED = "api_client.revoked", "API client revoked"
    API_CLIENTS_OPENED = "api_client.opened", "Open API clients"
    # A call refused before any action of its own: a revoked or expired token, a wrong secret.
    API_CALLED = "api_client.called", "Call the API"


class AuditOutcome(models.TextChoices):
    DONE = "done", "Done"
    REFUSED = "refused", "Refused"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def in_organization(self, organization: PartnerOrganization) -> AuditEventQuerySet:
        return self.filter(organization=organization)

    def visible_to(self, actor: User) -> AuditEventQuerySet:
        """The events of the actor's organization that the rulebook lets them read."""
        from roles.rules import audit_actions_visible_to

        visible = audit_actions_visible_to(actor)
        if not actor.is_authenticated or actor.organization_id is None:
            return self.none()
        events = self.filter(organization_id=actor.organization_id)
        return events if visible is None else events.filter(action__in=visible)

    def about(self, user: User) -> AuditEventQuerySet:
        return self.filter(target=user)

    def refused(self) -> AuditEventQuerySet:
        return self.filter(outcome=AuditOutcome.REFUSED)

    def bulk_create(self, *args: object, **kwargs: object) -> list[AuditEvent]:
        # Each event is chained to the one before it in AuditEvent.save(), one at a time.
        raise TypeError("Audit events are written one at a time, through accounts.audit.record.")

    def append_values_to_chain(self, rows: list[dict[str, Any]]) -> list[int]:
        """Append new events of one organization to its chain, in order, in a few queries: the
        same chain AuditEvent.save() builds one event at a time (under the organization's row
        lock, each event gets the next sequence and the hash of the event before it). The events
        are given as their fields' values (by attname, as accounts.audit.event_values makes
        them), without a model instance each: a CSV import appends thousands per chunk. Each
        row gets its sequence, previous_hash and hash, and its before, after and IP address as
        the database will return them. Returns the ids."""
        if not rows:
            return []
        _refuse_unless_one_organization(rows)
        self._for_write = True
        with transaction.atomic(using=self.db, savepoint=False):
            self._number_and_hash(rows)
            columns = {name: [row[name] for row in rows] for name in rows[0]}
            if bulk_insert.available(AuditEvent):
                return bulk_insert.insert_columns(AuditEvent, columns)
            events = [AuditEvent(**row) for row in rows]
            # The refusing bulk_create above guards against unchained rows; these are chained.
            super().bulk_create(events, batch_size=1000)
            return [event.pk for event in events]

    def _number_and_hash(self, rows: list[dict[str, Any]]) -> None:
        """Under the organization's lock, number and hash new events (plain values) after the
        last of its chain: what AuditEvent.save() does for one."""
        organization_id = rows[0]["organization_id"]
        using = self.db
        AuditEvent.lock_chain(organization_id, using)
        last = (
            AuditEvent.objects.using(using)
            .filter(organization_id=organization_id)
            .order_by("-sequence")
            .values_list("sequence", "hash")
            .first()
        )
        sequence, previous_hash = last if last else (0, "")
        as_the_database_will_store(rows)
        for row in rows:
            sequence += 1
            row["sequence"], row["previous_hash"] = sequence, previous_hash
            row["hash"] = previous_hash = event_hash(row)

    def update(self, **kwargs: object) -> int:
        raise TypeError("Audit events are never changed.")

    def count_repeat(self, public_id: str) -> int:
        """Count one more identical refusal on a refused event; 0 when there is no such event
        (its transaction rolled back). The only write to an event after it is appended."""
        events = self.filter(public_id=public_id, outcome=AuditOutcome.REFUSED)
        return models.QuerySet.update(
            events, repeats=models.F("repeats") + 1, last_repeated_at=timezone.now()
        )

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit events are never deleted.")


class AuditEvent(models.Model):
    """One change, or one refused attempt at a change: who, what, to whom, before and after.

    Written by accounts.audit in the same transaction as the change. The actor and the target
    are also kept as text, so that the record still says who it was after a user is deleted.

    Each organization's events form a hash chain (events without an organization form one more):
    `sequence` numbers them 1, 2, 3..., `previous_hash` repeats the hash of the event before and
    `hash` covers the event's content and `previous_hash`. Editing, deleting, inserting or
    reordering rows behind the ORM's back breaks the chain; `manage.py verify_audit` finds where.
    """

    # Key of the PostgreSQL advisory lock that serializes the chain of events without an
    # organization: it has no organization row to lock. Any fixed number no other code uses.
    NO_ORGANIZATION_CHAIN_LOCK = 0x61756469745F6E6F  # "audit_no"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Indexed with the id, in Meta.indexes: the support admin's list across organizations.
    created_at = models.DateTimeField(default=timezone.now)
    # No index of its own (migration 0020): the chain's (organization, sequence) and the log's
    # (organization, ...) indexes lead with it, and each index more is paid on every event.
    organization = models.ForeignKey(
        PartnerOrganization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
        db_index=False,
    )
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    outcome = models.CharField(max_length=10, choices=AuditOutcome.choices)
    reason = models.TextField(blank=True, help_text="Why an attempt was refused.")
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=500)
    target = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_events"
    )
    target_label = models.CharField(max_length=500, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    sequence = models.PositiveBigIntegerField(
        editable=False, help_text="Position in its organization's chain of events, from 1."
    )
    previous_hash = models.CharField(
        max_length=64, blank=True, editable=False, help_text="Empty for the first event."
    )
    # No index: nothing looks an event up by its hash (verify_audit walks each chain in order),
    # and two indexes of 64 characters a row cost 128 MB each at a million events, updated on
    # every insert (migration 0013 drops them).
    hash = models.CharField(max_length=64, editable=False)
    # Identical refusals by one person within a minute are counted on the first one
    # (accounts.audit.record_refused_attempt). Outside the hash: the count only ever grows, and
    # the event it belongs to is chained like any other.
    repeats = models.PositiveIntegerField(
        default=0, editable=False, help_text="Identical refused attempts within a minute after it."
    )
    last_repeated_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # The audit log's order, newest first with the id breaking ties, is read from these
        # (migration 0013, built concurrently): a page, a page deep in the log (keyset paging
        # on (created_at, id)), a date range and an action filter are each one index range.
        indexes = [
            # With the action (migration 0023): the log as a User management admin may read it
            # (some actions) is read from the index alone. SQLite has no INCLUDE (models.W040).
            models.Index(
                fields=["organization", "-created_at", "-id"],
                include=["action"],
                name="accounts_audit_org_when_idx",
            ),
            # The whole log in its order (the support admin). With created_at alone, PostgreSQL
            # preferred it for one organization's newest page too, filtering the organization
            # and sorting by id: 20 ms past another organization's burst of events.
            models.Index(fields=["-created_at", "-id"], name="accounts_audit_time_idx"),
            models.Index(
                fields=["organization", "action", "-created_at", "-id"],
                name="accounts_audit_org_action_idx",
            ),
            # The log filtered by a person (migration 0017): what they did and what was done
            # to them, each one index range in the log's order, merged for a page.
            models.Index(
                fields=["organization", "actor", "-created_at", "-id"],
                name="accounts_audit_org_actor_idx",
            ),
            models.Index(
                fields=["organization", "target", "-created_at", "-id"],
                name="accounts_audit_org_target_idx",
            ),
            # When an invitation was last sent to a pending user (migration 0018): the newest
            # of their few, not found among everything done to them.
            models.Index(
                fields=["target", "-created_at"],
                condition=Q(action="user.invitation_sent", outcome="done"),
                name="accounts_audit_invitation_idx",
            ),
        ]
        constraints = [
            # A chain never forks: one event per place. NULLs are distinct in the first
            # constraint, so the chain without an organization needs the second.
            models.UniqueConstraint(
                fields=["organization", "sequence"], name="accounts_audit_one_event_per_place"
            ),
            models.UniqueConstraint(
                fields=["sequence"],
                condition=Q(organization__isnull=True),
                name="accounts_audit_one_event_per_place_without_organization",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_action_display()} ({self.outcome})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Append the event to the end of its chain; an event, once written, never changes."""
        if not self._state.adding:
            raise TypeError("Audit events are never changed.")
        using = kwargs.get("using") or router.db_for_write(AuditEvent, instance=self)
        # Lock, read the last event and insert in one transaction, so two writers cannot both
        # append after the same event. No savepoint: a failed insert fails the whole change.
        with transaction.atomic(using=using, savepoint=False):
            self.lock_chain(self.organization_id, using)
            last = (
                AuditEvent.objects.using(using)
                .filter(organization_id=self.organization_id)
                .order_by("-sequence")
                .values_list("sequence", "hash")
                .first()
            )
            self.sequence, self.previous_hash = (last[0] + 1, last[1]) if last else (1, "")
            self._store_as_the_database_will()
            self.hash = self.content_hash()
            super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit events are never deleted.")

    @classmethod
    def lock_chain(cls, organization_id: int | None, using: str) -> None:
        """Serialize the writers of one chain until the transaction ends."""
        if organization_id is not None:
            # The services' lock (accounts.services.lock_organization): re-entrant within the
            # transaction, and refusals recorded outside the service's transaction take it here.
            PartnerOrganization.objects.using(using).select_for_update().get(pk=organization_id)
        elif connections[using].vendor == "postgresql":
            with connections[using].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [cls.NO_ORGANIZATION_CHAIN_LOCK])
        # SQLite serializes writers by itself; the unique constraints refuse a fork anywhere.

    def _store_as_the_database_will(self) -> None:
        row = {name: getattr(self, name) for name in _STORED}
        as_the_database_will_store([row])
        for name in _STORED:
            setattr(self, name, row[name])

    def content_hash(self) -> str:
        """SHA-256 over the event's content and previous_hash, serialized canonically
        (event_hash)."""
        values = self.__dict__  # the fields' values by attname, as loaded or set
        if not values.keys() >= _HASHED_SET:  # a deferred field: load it
            values = {name: getattr(self, name) for name in _HASHED}
        return event_hash(values)


# An event's fields by attname: those hashed (event_hash), those a new event is written with,
# those its chaining sets, and those stored otherwise than given (as_the_database_will_store).
_HASHED = (
    "public_id",
    "sequence",
    "organization_id",
    "created_at",
    "action",
    "outcome",
    "reason",
    "actor_label",
    "target_label",
    "before",
    "after",
    "ip_address",
    "user_agent",
    "previous_hash",
)
_HASHED_SET = frozenset(_HASHED)
_STORED = ("before", "after", "ip_address")


def _refuse_unless_one_organization(rows: list[dict[str, Any]]) -> None:
    # Before the batch's transaction: a refusal leaves the caller's transaction usable.
    organization_id = rows[0]["organization_id"]
    if organization_id is None or any(row["organization_id"] != organization_id for row in rows):
        raise ValueError("A batch holds new events of one organization.")


def event_hash(event: dict[str, Any]) -> str:
    """SHA-256 over an event's content and previous_hash (its fields' values by attname, as
    the database returns them), serialized canonically: the chain's hash, for a model
    instance (AuditEvent.content_hash) and for plain values (append_values_to_chain) alike.

    actor_id and target_id are left out: deleting a user sets them to NULL (the labels keep
    who it was), and that must not break the chain.
    """
    content = {
        "public_id": str(event["public_id"]),
        "sequence": event["sequence"],
        "organization": event["organization_id"],
        "created_at": event["created_at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "action": event["action"],
        "outcome": event["outcome"],
        "reason": event["reason"],
        "actor_label": event["actor_label"],
        "target_label": event["target_label"],
        "before": event["before"],
        "after": event["after"],
        "ip_address": event["ip_address"],
        "user_agent": event["user_agent"],
        "previous_hash": event["previous_hash"],
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def as_the_database_will_store(rows: list[dict[str, Any]]) -> None:
    """Set the events' before, after and IP address (plain values) as they will read back, or
    an event would fail its own check: the JSON through its field's encoder and decoder (one
    round trip for all the rows: each value comes back as its own round trip gives it), the
    address as the field stores it."""
    for name in ("before", "after"):
        json_field = AuditEvent._meta.get_field(name)
        text = json.dumps([row[name] for row in rows], cls=json_field.encoder)
        for row, value in zip(rows, json.loads(text, cls=json_field.decoder), strict=True):
            row[name] = value
    ip_field = AuditEvent._meta.get_field("ip_address")
    addresses: dict[str | None, str | None] = {}
    for row in rows:
        address = row["ip_address"]
        if address not in addresses:
            addresses[address] = ip_field.get_prep_value(address) or None
        row["ip_address"] = addresses[address]


# The membership workspace: what the partner network gives an organization.


def membership_year(day: date) -> int:
    """The membership year a day falls in: the partner network's fiscal year, 1 July to 30 June,
    named by the year it ends (2027 runs from 1 July 2026 to 30 June 2027)."""
    return day.year + 1 if day.month >= 7 else day.year


class CompetencyLevel(models.TextChoices):
    GOLD = "gold", "Gold"
    SILVER = "silver", "Silver"


class CompetencyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRING = "expiring", "Expiring soon"
    LAPSED = "lapsed", "Lapsed"


class MembershipQuerySet(models.QuerySet):
    def in_organization(self, organization: PartnerOrganization) -> MembershipQuerySet:
        return self.filter(organization=organization)


class Competency(models.Model):
    organization = models.ForeignKey(
        PartnerOrganization, on_delete=models.CASCADE, related_name="competencies"
    )
    name = models.CharField(max_length=200)
    level = models.CharField(max_length=10, choices=CompetencyLevel.choices)
    status = models.CharField(max_length=10, choices=CompetencyStatus.choices)
    earned_on = models.DateField()
    renews_on = models.DateField()

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "competencies"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="accounts_competency_one_per_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_level_display()})"


class Benefit(models.Model):
    organization = models.ForeignKey(
        PartnerOrganization, on_delete=models.CASCADE, related_name="benefits"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    quantity = models.PositiveIntegerField(help_text="How many the organization is entitled to.")
    used = models.PositiveIntegerField(default=0)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="accounts_benefit_one_per_name"
            ),
            models.CheckConstraint(
                condition=Q(used__lte=models.F("quantity")),
                name="accounts_benefit_used_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MapsPurchase(models.Model):
    """A purchase of the Microsoft Action Pack Subscription: one per organization and year."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        PartnerOrganization, on_delete=models.PROTECT, related_name="maps_purchases"
    )
    membership_year = models.PositiveSmallIntegerField()
    purchased_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    purchased_at = models.DateTimeField(default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["-membership_year"]
        verbose_name = "MAPS purchase"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "membership_year"],
                name="accounts_maps_one_per_organization_and_year",
                violation_error_message="MAPS is already purchased for this membership year.",
            )
        ]

    def __str__(self) -> str:
        return f"MAPS {self.membership_year} for {self.organization}"
