"""Emails sent by workers: invitations (OutgoingEmail rows, so a user's page says whether theirs
was sent, is waiting or failed) and password-reset links.

A temporary failure (a 4xx answer, a connection refused or dropped, a timeout) is tried again
later, with a growing wait (RETRY_DELAYS); a refused recipient (a 5xx answer) fails that email
alone, and the others of its batch go on. Sending is at least once: a worker killed between the
mail server's "250 OK" and the row marked sent sends that one email again when the job runs
again, which is better than an invitation never sent.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import timedelta

from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import bulk_insert
from accounts.models import User
from jobs.models import OutgoingEmail

logger = logging.getLogger(__name__)

BATCH = 200  # invitations sent by one job, over one connection
# Waits before the 2nd, 3rd, ... attempt: about two hours in all before an email fails.
RETRY_DELAYS = [timedelta(seconds=s) for s in (30, 120, 600, 1800, 3600)]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


class Temporary(Exception):
    """The mail server may take this email later."""


class Refused(Exception):
    """The mail server will never take this email (a 5xx answer)."""


def classify(error: BaseException) -> Exception:
    """Temporary or Refused, with the words to show an admin."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(error.recipients.values()), (0, b""))
        return _by_code(code, message)
    if isinstance(error, smtplib.SMTPResponseException):
        return _by_code(error.smtp_code, error.smtp_error)
    return Temporary(f"The mail server could not be reached ({type(error).__name__}: {error}).")


def _by_code(code: int, message: bytes | str) -> Exception:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    words = f"The mail server answered {code} {text}".strip()
    return Refused(words + ".") if 500 <= code < 600 else Temporary(words + ".")


def retry_at(attempt: int) -> timezone.datetime:
    """When attempt number `attempt` + 1 runs."""
    return timezone.now() + RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]


# Invitations


def queue_invitations(users: Iterable[User], *, invited_by: object | None, base_url: str) -> int:
    """An invitation for each user, sent by a worker: call inside the transaction that creates
    or resends, so a rolled-back user is never invited and a committed one always is.
    `invited_by` is the actor: a user, or an API client's actor (named, never linked)."""
    return queue_invitations_for_ids(
        [user.pk for user in users], invited_by=invited_by, base_url=base_url
    )


def queue_invitations_for_ids(
    user_ids: list[int], *, invited_by: object | None, base_url: str, priority: int | None = None
) -> int:
    """queue_invitations for users known by their ids (an import's chunk queues hundreds: their
    rows are written from plain values, accounts.bulk_insert.create). `priority`: their jobs'
    own, when not the emails' (an import's: tasks.BULK_EMAIL_PRIORITY)."""
    from accounts.services import person
    from jobs import tasks

    inviter = person(invited_by) if invited_by is not None else None
    inviter_name = invited_by.get_full_name() if invited_by is not None else ""
    count = len(user_ids)
    ids = bulk_insert.create(
        OutgoingEmail,
        {
            "user_id": user_ids,
            "kind": [OutgoingEmail.Kind.INVITATION.value] * count,
            "invited_by_id": [inviter.pk if inviter is not None else None] * count,
            "inviter_name": [inviter_name[:300]] * count,
            "base_url": [base_url] * count,
        },
    )
    send = tasks.send_invitations
    if priority is not None:
        send = send.using(priority=priority)
    for start in range(0, len(ids), BATCH):
        send.enqueue(ids[start : start + BATCH])
    return len(ids)


def replace_waiting_invitations(user: User) -> None:
    """A resend makes the invitations still waiting useless (their link would be the new one
    anyway): they are not sent, and the page shows the newest."""
    OutgoingEmail.objects.filter(
        user=user, kind=OutgoingEmail.Kind.INVITATION, state=OutgoingEmail.State.WAITING
    ).update(state=OutgoingEmail.State.FAILED, error="Replaced by a newer invitation.")


def send_invitation_batch(email_ids: list[int]) -> list[int]:
    """Send the waiting invitations among email_ids over one connection; returns the ids to try
    again later (the caller schedules them)."""
    from accounts.invitations import invitation_message

    emails = list(
        OutgoingEmail.objects.filter(pk__in=email_ids, state=OutgoingEmail.State.WAITING)
        .select_related("user__organization", "invited_by")
        .order_by("pk")
    )
    later: list[int] = []
    connection = get_connection()
    try:
        for position, email in enumerate(emails):
            email.attempts += 1
            user = email.user
            if not user.is_active or user.has_usable_password():
                _finish(
                    email,
                    OutgoingEmail.State.FAILED,
                    "Not sent: the user "
                    + ("is deactivated." if not user.is_active else "has set a password already."),
                )
                continue
            message = invitation_message(
                user,
                invited_by=email.invited_by,
                inviter_name=email.inviter_name,
                base_url=email.base_url,
                connection=connection,
            )
            try:
                message.send()
            except (OSError, smtplib.SMTPException) as error:
                outcome = classify(error)
                # The connection may be half-open after an error: the next email opens anew.
                connection.close()
                if not _server_unreachable(error):
                    later += _after_failure(email, outcome)
                    continue
                # The server, not this address: the rest of the batch waits with this email,
                # untried (each would wait the whole EMAIL_TIMEOUT too, 200 of them a worker's
                # half hour), and counts the attempt, so that a server down for good fails
                # them in the end.
                later += _after_failure(email, outcome)
                for untried in emails[position + 1 :]:
                    untried.attempts += 1
                    later += _after_failure(untried, outcome)
                break
            else:
                _finish(email, OutgoingEmail.State.SENT, "")
    finally:
        connection.close()
    return later


def _server_unreachable(error: BaseException) -> bool:
    """Could not talk to the mail server at all (refused, timed out, dropped), as opposed to an
    answer about this email? (smtplib's errors are OSErrors too.)"""
    if isinstance(error, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


def _after_failure(email: OutgoingEmail, outcome: Exception) -> list[int]:
    """Fail the email (refused, or tried MAX_ATTEMPTS times), or keep it for later: [its id]."""
    if isinstance(outcome, Refused) or email.attempts >= MAX_ATTEMPTS:
        logger.warning("Invitation %s to user %s failed: %s", email.pk, email.user_id, outcome)
        _finish(email, OutgoingEmail.State.FAILED, str(outcome))
        return []
    logger.info("Invitation %s to try again: %s", email.pk, outcome)
    email.error = str(outcome)
    email.save(update_fields=["attempts", "error"])
    return [email.pk]


def _finish(email: OutgoingEmail, state: str, error: str) -> None:
    email.state, email.error = state, error
    email.sent_at = timezone.now() if state == OutgoingEmail.State.SENT else None
    email.save(update_fields=["state", "error", "sent_at", "attempts"])


def latest_invitation(user: User) -> OutgoingEmail | None:
    return (
        OutgoingEmail.objects.filter(user=user, kind=OutgoingEmail.Kind.INVITATION)
        .order_by("-created_at", "-id")
        .first()
    )


# Password reset


def queue_password_reset(email: str, *, base_url: str) -> None:
    """Forgot password?: a job either way, which looks the account up, so the request does the
    same work and takes the same time whether or not the email has an account."""
    from jobs import tasks

    with transaction.atomic():
        tasks.send_password_reset.enqueue(email, base_url)


def send_password_reset(email: str, base_url: str) -> None:
    """Email the reset link to the account with this email, if there is one that may have it
    (accounts.forms.password_reset.ForgotPasswordForm decides). Raises Temporary to be tried
    again; a refused address is logged and dropped (nobody to show it to)."""
    from accounts.forms.password_reset import ForgotPasswordForm
    from accounts.views.password_reset import ForgotPasswordView

    class SendingForm(ForgotPasswordForm):
        # Django's own send_mail logs a failure and goes on; here it must be seen, to retry.
        def send_mail(
            self,
            subject_template_name: str,
            email_template_name: str,
            context: dict,
            from_email: str | None,
            to_email: str,
            html_email_template_name: str | None = None,
        ) -> None:
            subject = "".join(render_to_string(subject_template_name, context).splitlines())
            body = render_to_string(email_template_name, context)
            EmailMultiAlternatives(subject, body, from_email, [to_email]).send()

    form = SendingForm(data={"email": email})
    if not form.is_valid():
        return
    view = ForgotPasswordView
    try:
        form.save(
            domain_override="PartnerHub",
            subject_template_name=view.subject_template_name,
            email_template_name=view.email_template_name,
            extra_email_context={**view.email_context(), "base_url": base_url},
        )
    except (OSError, smtplib.SMTPException) as error:
        outcome = classify(error)
        if isinstance(outcome, Temporary):
            raise outcome from error
        logger.warning("A password-reset email was refused: %s", outcome)
