"""Support staff accounts: added by an operator's command, never from the support admin (where
an organization left empty is an error at its field, not a server error)."""

from __future__ import annotations

import getpass

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.admin import MISSING_ORGANIZATION
from accounts.models import AuditAction, AuditEvent, User
from accounts.support import SUPPORT_GROUP
from roles import rules

pytestmark = pytest.mark.django_db

STRONG = "violet-harbour-tangent-58"


def typed(monkeypatch, *answers: str) -> None:
    replies = iter(answers)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(replies))


def add(email: str = "Robin.Support@PartnerHub.example") -> None:
    call_command("add_support_staff", email, "--first-name", "Robin", "--last-name", "Lee")


def test_an_operator_adds_support_staff(monkeypatch):
    typed(monkeypatch, STRONG, STRONG)

    add()

    robin = User.objects.get(email="robin.support@partnerhub.example")
    assert rules.is_support_staff(robin)
    assert not robin.is_superuser
    assert list(robin.groups.values_list("name", flat=True)) == [SUPPORT_GROUP]
    assert robin.check_password(STRONG)
    event = AuditEvent.objects.get(action=AuditAction.USER_CREATED, target=robin)
    assert event.actor is None
    assert event.actor_label == "manage.py add_support_staff"
    assert event.after["support_staff"] is True
    assert STRONG not in str(event.after)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ((STRONG, STRONG + "x"), "The two passwords differ."),
        (("short", "short"), "at least 12 characters"),
    ],
)
def test_it_refuses_a_bad_password_and_adds_nobody(monkeypatch, answers, message):
    typed(monkeypatch, *answers)

    with pytest.raises(CommandError, match=message):
        add()

    assert not User.objects.filter(email="robin.support@partnerhub.example").exists()


def test_it_refuses_an_email_in_use(monkeypatch, csp):
    typed(monkeypatch, STRONG, STRONG)

    with pytest.raises(CommandError, match="already exists"):
        add(csp.member.email.upper())


def test_the_admin_asks_for_the_organization_instead_of_failing(client, support):
    client.force_login(support)
    users = User.objects.count()

    response = client.post(
        reverse("admin:accounts_user_add"),
        {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@contoso.example"},
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["organization"] == [MISSING_ORGANIZATION]
    assert form["email"].value() == "ada@contoso.example"
    assert User.objects.count() == users


def test_createsuperuser_judges_the_password_even_without_input(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "password")

    with pytest.raises(CommandError, match="at least 12 characters"):
        call_command(
            "createsuperuser",
            interactive=False,
            email="ops@partnerhub.example",
            first_name="Op",
            last_name="Erator",
            verbosity=0,
        )

    assert not User.objects.filter(email="ops@partnerhub.example").exists()


def test_createsuperuser_is_audited(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", STRONG)

    call_command(
        "createsuperuser",
        interactive=False,
        email="Ops@PartnerHub.example",
        first_name="Op",
        last_name="Erator",
        verbosity=0,
    )

    operator = User.objects.get(email="ops@partnerhub.example")
    event = AuditEvent.objects.get(action=AuditAction.USER_CREATED, target=operator)
    assert event.actor_label == "manage.py createsuperuser"
