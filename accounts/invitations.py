"""Invitations: a one-time emailed link with which a new user sets their own password.

An invited user is saved with an unusable password (`set_unusable_password()`: no hashing, so
cheap in bulk) and `must_change_password=False`. The link is `/invitation/<uidb64>/<token>/`.
Its token is signed over the user's password hash, so it dies once the password is set, or when
a resend gives the user a new unusable password; and it expires after INVITATION_DAYS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import models
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode

from accounts.models import NO_PASSWORD_YET, AuditAction, AuditEvent, AuditOutcome, User

INVITATION_DAYS = 7
INVITATION_TIMEOUT = timedelta(days=INVITATION_DAYS)
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Django's password-reset token with its own salt (a reset token is no invitation, and the
    other way round) and its own lifetime: INVITATION_DAYS instead of PASSWORD_RESET_TIMEOUT."""

    key_salt = "accounts.invitations.InvitationTokenGenerator"

    def check_token(self, user: User | None, token: str | None) -> bool:
        timestamp = _timestamp(token)
        if user is None or timestamp is None:
            return False
        signed = any(
            constant_time_compare(self._make_token_with_timestamp(user, timestamp, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )
        age = self._num_seconds(self._now()) - timestamp
        return signed and age <= INVITATION_TIMEOUT.total_seconds()


def _timestamp(token: str | None) -> int | None:
    try:
        timestamp_b36, _ = (token or "").split("-")
        return base36_to_int(timestamp_b36)
    except ValueError:
        return None


invitation_token_generator = InvitationTokenGenerator()


def base_url_for_commands() -> str:
    """The scheme and host of links sent outside a request (management commands)."""
    return getattr(settings, "PARTNERHUB_BASE_URL", DEFAULT_BASE_URL).rstrip("/")


def base_url_for_email(request: HttpRequest | None = None) -> str:
    """The scheme and host that every link in an email starts with: PARTNERHUB_BASE_URL.

    Never the request's Host header or port when debug is off: whoever sends a request chooses
    those, and a reset link that points at their host would hand them the token. With debug on
    (a laptop, perhaps on another port than the setting's default) the request's own address.
    """
    if request is not None and settings.DEBUG:
        return request.build_absolute_uri("/").rstrip("/")
    return base_url_for_commands()


def invitation_path(user: User) -> str:
    """The path of a fresh one-time link for the user: /invitation/<uidb64>/<token>/."""
    return reverse(
        "accept_invitation",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": invitation_token_generator.make_token(user),
        },
    )


def invitation_link(user: User, *, base_url: str) -> str:
    """The full one-time link, e.g. https://partnerhub.example/invitation/MQ/abc-123/."""
    return base_url.rstrip("/") + invitation_path(user)


def invitation_expires_at(sent_at: datetime) -> datetime:
    """When a link sent at that moment stops working."""
    return sent_at + INVITATION_TIMEOUT


def invitation_message(
    user: User,
    *,
    invited_by: User | None,
    base_url: str,
    connection: object,
    inviter_name: str = "",
) -> EmailMultiAlternatives:
    context = {
        "user": user,
        # Who added them, as named when the email was queued ("API client <name>" for a
        # client); otherwise the inviting user's name today.
        "inviter_name": inviter_name or (invited_by.get_full_name() if invited_by else ""),
        "organization": user.organization,
        "link": invitation_link(user, base_url=base_url),
        "sign_in_link": base_url.rstrip("/") + reverse("login"),
        "expires_at": invitation_expires_at(timezone.now()),
        "invitation_days": INVITATION_DAYS,
    }
    subject = render_to_string("emails/invitation_subject.txt", context)
    return EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # one line: a header cannot hold a newline
        body=render_to_string("emails/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        connection=connection,
    )


def send_invitations(users: Iterable[User], *, invited_by: User | None, base_url: str) -> int:
    """Email each user a one-time link to set their password, over one connection; returns how many."""  # noqa: E501 (the shared contract's words)
    connection = get_connection()
    messages = [
        invitation_message(user, invited_by=invited_by, base_url=base_url, connection=connection)
        for user in users
    ]
    if not messages:
        return 0
    return connection.send_messages(messages) or 0


@dataclass(frozen=True)
class InvitationStatus:
    """Where a user's invitation stands: when the newest was sent, and until when it works."""

    sent_at: datetime
    expires_at: datetime
    # Where the email stands (jobs.models.OutgoingEmail): "waiting" for a worker or a retry,
    # "sent", or "failed" with why; None for invitations sent before workers sent them.
    delivery: str | None = None
    delivery_error: str = ""

    @property
    def expired(self) -> bool:
        return timezone.now() > self.expires_at


# The name of the annotation (last_invitation_sent_expression) with which a view may load a
# user: invitation_status then asks nothing more (accounts.views.common).
LAST_INVITATION_SENT = "last_invitation_sent"


def _invitations_sent() -> models.QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        action=AuditAction.INVITATION_SENT, outcome=AuditOutcome.DONE
    ).order_by("-created_at")


def _without_password_yet(expression: models.Expression) -> models.Case:
    """The expression for a user who has not set a password yet (the only ones an invitation
    is shown for), NULL for anyone else without evaluating it.

    Looking for the newest "invitation sent" among everything done to a user read every event
    about them (2,572 for a Sales agent at a million events: 20 ms on their page), to find
    nothing: the invitation of a user with a password is never shown.
    """
    return models.Case(models.When(NO_PASSWORD_YET, then=expression), default=None)


def last_invitation_sent_expression() -> models.Case:
    """When the newest invitation was resent to the user loaded (one without a password yet),
    or NULL."""
    return _without_password_yet(
        models.Subquery(
            _invitations_sent().filter(target_id=models.OuterRef("pk")).values("created_at")[:1]
        )
    )


# The newest invitation email's state and error, annotated the same way (jobs.models).
LAST_INVITATION_DELIVERY = "last_invitation_delivery"
LAST_INVITATION_ERROR = "last_invitation_error"


def last_invitation_delivery_expressions() -> dict[str, models.Case]:
    """Where the newest invitation email of the user loaded (one without a password yet)
    stands, and why (or NULL)."""
    from jobs.models import OutgoingEmail

    newest = OutgoingEmail.objects.filter(
        user_id=models.OuterRef("pk"), kind=OutgoingEmail.Kind.INVITATION
    ).order_by("-created_at", "-id")
    return {
        LAST_INVITATION_DELIVERY: _without_password_yet(
            models.Subquery(newest.values("state")[:1])
        ),
        LAST_INVITATION_ERROR: _without_password_yet(models.Subquery(newest.values("error")[:1])),
    }


def invitation_status(user: User) -> InvitationStatus | None:
    """The invitation of a user who has not set a password yet; None for anyone else.

    The newest "invitation sent" event dates it; without one, the invitation went out as the
    user was created.
    """
    if user.has_usable_password():
        return None
    if LAST_INVITATION_SENT in user.__dict__:
        last_sent = user.__dict__[LAST_INVITATION_SENT]
    else:
        last_sent = (
            _invitations_sent().filter(target=user).values_list("created_at", flat=True).first()
        )
    sent_at = last_sent or user.created_at
    if LAST_INVITATION_DELIVERY in user.__dict__:
        delivery = user.__dict__[LAST_INVITATION_DELIVERY]
        error = user.__dict__[LAST_INVITATION_ERROR] or ""
    else:
        from jobs.emails import latest_invitation

        email = latest_invitation(user)
        delivery, error = (email.state, email.error) if email else (None, "")
    return InvitationStatus(
        sent_at=sent_at,
        expires_at=invitation_expires_at(sent_at),
        delivery=delivery,
        delivery_error=error,
    )
