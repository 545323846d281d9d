"""Emails sent by workers through Django's SMTP backend to a real SMTP server (aiosmtpd):
retried with a growing wait on temporary failures, a refused recipient fails alone, the user's
page says where the invitation stands; Forgot password enqueues the same job either way."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.services import create_user
from jobs import emails
from jobs.models import OutgoingEmail
from jobs.testing import run_ready_jobs
from tests.smtp_server import Handler, free_port, smtp_server

pytestmark = pytest.mark.django_db


def invite(csp, email: str):
    return create_user(
        csp.global_admin,
        organization=csp.organization,
        first_name="Ada",
        last_name=email.split("@")[0],
        email=email,
        invite=True,
        base_url="https://partnerhub.example",
    ).user


def state_of(user) -> OutgoingEmail:
    return OutgoingEmail.objects.get(user=user)


def test_a_refused_recipient_fails_alone_and_a_busy_one_is_tried_again(csp, settings, client):
    handler = Handler(refused={"nobody@contoso.example"}, busy={"busy@contoso.example": 1})
    with smtp_server(settings, handler):
        users = [
            invite(csp, address)
            for address in ("ada@contoso.example", "nobody@contoso.example", "busy@contoso.example")
        ]
        ada, nobody, busy = users

        run_ready_jobs()

        assert handler.recipients == ["ada@contoso.example"]
        assert "/invitation/" in handler.delivered[0][1]
        assert state_of(ada).state == OutgoingEmail.State.SENT
        assert state_of(nobody).state == OutgoingEmail.State.FAILED
        assert "550" in state_of(nobody).error
        assert state_of(busy).state == OutgoingEmail.State.WAITING
        assert "451" in state_of(busy).error
        # Tried again later, not at once: a job waits for its time.
        assert not DBTaskResult.objects.ready().exists()
        [retry] = DBTaskResult.objects.filter(status="READY")
        assert retry.run_after > timezone.now()
        assert retry.args_kwargs["args"] == [[state_of(busy).pk], 2]

        client.force_login(csp.global_admin)
        page = client.get(reverse("user_detail", args=[nobody.public_id])).content.decode()
        assert 'data-testid="invitation-failed"' in page
        assert "550" in page
        assert "Resend" in page
        page = client.get(reverse("user_detail", args=[busy.public_id])).content.decode()
        assert 'data-testid="invitation-waiting"' in page

        run_ready_jobs(include_later=True)

        assert handler.recipients == ["ada@contoso.example", "busy@contoso.example"]
        assert state_of(busy).state == OutgoingEmail.State.SENT
        assert state_of(busy).attempts == 2


def test_a_mail_server_that_is_down_is_tried_again_then_given_up(csp, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    ada = invite(csp, "ada@contoso.example")

    for _ in range(emails.MAX_ATTEMPTS):
        run_ready_jobs(include_later=True, limit=1)

    email = state_of(ada)
    assert email.attempts == emails.MAX_ATTEMPTS
    assert email.state == OutgoingEmail.State.FAILED
    assert "could not be reached" in email.error
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_the_waits_grow():
    delays = emails.RETRY_DELAYS
    assert delays == sorted(delays)
    assert delays[0].total_seconds() >= 30


def test_forgot_password_enqueues_one_job_whether_or_not_the_account_exists(csp, client, settings):
    with smtp_server(settings) as handler:
        for email in (csp.member.email, "nobody-here@example.com"):
            response = client.post(reverse("password_reset"), {"email": email})
            assert response.status_code == 302

        jobs = DBTaskResult.objects.filter(task_path="jobs.tasks.send_password_reset")
        assert jobs.count() == 2
        assert handler.delivered == []  # the request sent nothing

        run_ready_jobs()

        assert handler.recipients == [csp.member.email]
        assert "/accounts/reset/" in handler.delivered[0][1]


def test_a_busy_mail_server_delays_a_password_reset(csp, client, settings):
    with smtp_server(settings, Handler(busy={csp.member.email: 1})) as handler:
        client.post(reverse("password_reset"), {"email": csp.member.email})

        run_ready_jobs()
        assert handler.delivered == []
        run_ready_jobs(include_later=True)

        assert handler.recipients == [csp.member.email]


def test_a_resend_replaces_the_invitation_still_waiting(csp, settings):
    from accounts.services import resend_invitation

    with smtp_server(settings) as handler:
        ada = invite(csp, "ada@contoso.example")
        resend_invitation(csp.global_admin, ada, base_url="https://partnerhub.example")

        run_ready_jobs()

        first, newest = OutgoingEmail.objects.filter(user=ada).order_by("pk")
        assert (first.state, first.error) == ("failed", "Replaced by a newer invitation.")
        assert newest.state == OutgoingEmail.State.SENT
        assert handler.recipients == ["ada@contoso.example"]
