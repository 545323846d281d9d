"""Links in emails start with PARTNERHUB_BASE_URL, never with the Host or port of the request
that caused them (debug off): invitations from Add user, resent invitations, the CSV import's
invitations and "Forgot password?". With debug on, the request's own address (a laptop)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import User
from accounts.services import create_user
from jobs.models import UserImport
from jobs.testing import run_ready_jobs
from tests.jobs import sent_mail
from tests.test_add_user import go_to_review, run_url

BASE_URL = "https://partnerhub.example"
# A Host the attacker chose, with a port: allowed (a wildcard, or a second name of the site),
# since ALLOWED_HOSTS is what lets a request in at all, not what links should point at.
FORGED = {"HTTP_HOST": "attacker.example:8443"}
LINK = re.compile(r"https?://[^\s/]+/")


@pytest.fixture(autouse=True)
def _configured(settings):
    settings.PARTNERHUB_BASE_URL = BASE_URL
    settings.ALLOWED_HOSTS = ["*"]


def hosts_in(message) -> set[str]:
    return {match.rstrip("/") for match in LINK.findall(message.body)}


def ask_for_reset_link(client, email: str, **headers: str) -> None:
    response = client.post(reverse("password_reset"), {"email": email}, **headers)
    assert response.status_code == 302


def test_a_reset_link_starts_with_the_base_url_whatever_the_host(client, csp):
    ask_for_reset_link(client, csp.member.email, **FORGED)

    [message] = sent_mail()
    assert hosts_in(message) == {BASE_URL}
    assert f"{BASE_URL}/accounts/reset/" in message.body


def test_an_invitation_from_add_user_starts_with_the_base_url(
    client, csp, django_capture_on_commit_callbacks
):
    go_to_review(client, csp.global_admin, "referrals_admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            run_url(client),
            {"add_user_wizard-current_step": "review", "review-sign_in": "invitation"},
            **FORGED,
        )

    assert response.status_code == 302
    [message] = sent_mail()
    assert hosts_in(message) == {BASE_URL}
    assert f"{BASE_URL}/invitation/" in message.body


def test_a_resent_invitation_starts_with_the_base_url(
    client, csp, django_capture_on_commit_callbacks
):
    grace = create_user(
        csp.global_admin,
        organization=csp.organization,
        first_name="Grace",
        last_name="Hopper",
        email="grace@contoso.example",
        invite=True,
    ).user
    client.force_login(csp.global_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("resend_invitation", args=[grace.public_id]), **FORGED)

    [message] = sent_mail()
    assert hosts_in(message) == {BASE_URL}


def test_invitations_from_the_csv_import_start_with_the_base_url(
    client, csp, django_capture_on_commit_callbacks
):
    client.force_login(csp.global_admin)
    text = "First name,Last name,Email,Roles\nAda,Lovelace,ada@import.example,Referrals admin\n"
    client.post(
        reverse("import_users"),
        {"file": SimpleUploadedFile("people.csv", text.encode(), "text/csv")},
        **FORGED,
    )
    run_ready_jobs()
    upload_id = str(UserImport.objects.get().pk)
    client.post(reverse("import_users_confirm", args=[upload_id]), {"upload": upload_id}, **FORGED)
    run_ready_jobs()

    assert User.objects.filter(email="ada@import.example").exists()
    [message] = sent_mail()
    assert hosts_in(message) == {BASE_URL}


def test_with_debug_on_links_use_the_requests_own_address(client, csp, settings):
    # A laptop serving on another port than the setting's default: its links must work.
    settings.DEBUG = True

    ask_for_reset_link(client, csp.member.email, HTTP_HOST="127.0.0.1:8001")

    [message] = sent_mail()
    assert hosts_in(message) == {"http://127.0.0.1:8001"}


def test_the_support_admins_invitations_start_with_the_base_url(
    client, csp, support, django_capture_on_commit_callbacks
):
    client.force_login(support)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:accounts_user_add"),
            {
                "organization": csp.organization.pk,
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@contoso.example",
            },
            **FORGED,
        )
    ada = User.objects.get(email="ada@contoso.example")
    run_ready_jobs()  # the first invitation is sent before the resend
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "resend_invitation_selected", "_selected_action": [ada.pk]},
            **FORGED,
        )

    added, resent = sent_mail()
    assert hosts_in(added) == hosts_in(resent) == {BASE_URL}
    assert f"{BASE_URL}/invitation/" in resent.body
