"""seed_demo: the demo organizations, people and roles; safe to rerun; every account signs in."""

from __future__ import annotations

import base64
import io
from datetime import date
from unittest import mock

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from accounts.management.commands import seed_demo
from accounts.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, DemoPerson
from accounts.models import (
    Benefit,
    Competency,
    CompetencyLevel,
    CompetencyStatus,
    MapsPurchase,
    PartnerOrganization,
    ProgramType,
    User,
    membership_year,
)
from accounts.support import SUPPORT_GROUP
from mfa.models import AuthenticatorApp
from roles.catalogue import SPECS, RoleKey
from roles.models import Role, RoleAssignment
from tests.factories import OrganizationFactory, UserFactory
from tests.second_factor import code_at, current_step

pytestmark = pytest.mark.django_db

# The sign-ins the README promises, written out here rather than read from the command.
NAMED_ACCOUNTS = [
    ("globaladmin@contoso.example", "Contoso Ltd", {RoleKey.GLOBAL_ADMIN}),
    ("useradmin@contoso.example", "Contoso Ltd", {RoleKey.USER_MANAGEMENT_ADMIN}),
    ("accountadmin@contoso.example", "Contoso Ltd", {RoleKey.ACCOUNT_ADMIN}),
    ("mpnadmin@contoso.example", "Contoso Ltd", {RoleKey.MPN_PARTNER_ADMIN}),
    ("billing@contoso.example", "Contoso Ltd", {RoleKey.BILLING_ADMIN}),
    ("globaladmin@fabrikam.example", "Fabrikam Inc", {RoleKey.GLOBAL_ADMIN}),
    ("accountadmin@fabrikam.example", "Fabrikam Inc", {RoleKey.ACCOUNT_ADMIN}),
    ("mpnadmin@fabrikam.example", "Fabrikam Inc", {RoleKey.MPN_PARTNER_ADMIN}),
]

DEMO_PEOPLE: list[DemoPerson] = [
    person
    for definition in seed_demo.ORGANIZATIONS
    for person in (definition.admin, *definition.others)
]
ACTIVE = [person for person in DEMO_PEOPLE if person.active]
DEACTIVATED = [person for person in DEMO_PEOPLE if not person.active]


@pytest.fixture(autouse=True)
def _development(settings):
    # The command is for development (debug on); the guard for debug off is tested below.
    settings.DEBUG = True


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def roles_of(email: str) -> set[str]:
    return set(
        RoleAssignment.objects.filter(user__email__iexact=email).values_list("role__key", flat=True)
    )


def sign_in(
    client: Client, email: str, password: str = DEMO_PASSWORD, totp_secret: str = DEMO_TOTP_SECRET
) -> int:
    """The password's answer; after a right one, the second step with a code that an app
    holding the printed secret shows now (or at the next step, for a second sign-in within
    the same 30 seconds: a code works once)."""
    response = client.post(reverse("login"), {"username": email, "password": password})
    if response.status_code == 302:
        assert response.url == reverse("home")
        app = AuthenticatorApp.objects.get(user__email=email)
        step = max(current_step(), app.last_t + 1)
        key = base64.b32decode(totp_secret + "=" * (-len(totp_secret) % 8))
        verified = client.post(reverse("second_factor"), {"code": code_at(key, step)})
        assert verified.status_code == 302, verified.content[:300]
        assert verified.url == reverse("home")
    return response.status_code


def snapshot() -> dict[str, object]:
    """Everything the command defines, except the password hash (salted anew on every run)."""
    return {
        "organizations": sorted(
            PartnerOrganization.objects.values_list("pk", "name", "partner_id", "program_type")
        ),
        "users": sorted(
            User.objects.values_list(
                "pk",
                "email",
                "first_name",
                "last_name",
                "organization",
                "is_active",
                "is_staff",
                "is_superuser",
                "must_change_password",
                "created_by",
            )
        ),
        "assignments": sorted(
            RoleAssignment.objects.values_list("pk", "user", "role__key", "granted_by")
        ),
        "support groups": sorted(
            User.objects.filter(groups__isnull=False).values_list("pk", "groups__name")
        ),
    }


def test_it_creates_the_two_organizations():
    seed()

    contoso = PartnerOrganization.objects.get(partner_id="1234567")
    fabrikam = PartnerOrganization.objects.get(partner_id="7654321")
    assert contoso.name == "Contoso Ltd"
    assert contoso.program_type == ProgramType.CSP_INDIRECT_PROVIDER
    assert fabrikam.name == "Fabrikam Inc"
    assert fabrikam.program_type == ProgramType.NON_CSP
    assert PartnerOrganization.objects.count() == 2


@pytest.mark.parametrize(("email", "organization", "roles"), NAMED_ACCOUNTS)
def test_the_named_accounts_hold_exactly_their_roles(email, organization, roles):
    seed()

    user = User.objects.get(email=email)
    assert user.organization.name == organization
    assert roles_of(email) == roles
    assert user.is_active
    assert not user.is_staff
    assert not user.must_change_password


def test_contoso_has_about_twenty_other_people_with_a_spread_of_roles():
    seed()

    named = {email for email, _, _ in NAMED_ACCOUNTS}
    others = User.objects.filter(organization__partner_id="1234567").exclude(email__in=named)
    assert 18 <= others.count() <= 25
    held = set(RoleAssignment.objects.filter(user__in=others).values_list("role__key", flat=True))
    assert held >= {
        RoleKey.SALES_AGENT,
        RoleKey.ADMIN_AGENT,
        RoleKey.HELPDESK_AGENT,
        RoleKey.REFERRALS_ADMIN,
        RoleKey.INCENTIVES_ADMIN,
        RoleKey.BUSINESS_PROFILE_ADMIN,
        RoleKey.EXECUTIVE_REPORT_VIEWER,
    }
    assert others.filter(role_assignments__isnull=True).exists()
    assert 1 <= others.filter(is_active=False).count() <= 2
    global_admin = User.objects.get(email="globaladmin@contoso.example")
    assert set(others.values_list("created_by", flat=True)) == {global_admin.pk}


def test_it_creates_names_with_accents_and_near_duplicates():
    seed()

    names = set(
        User.objects.filter(organization__partner_id="1234567").values_list(
            "first_name", "last_name"
        )
    )
    assert {
        ("Zoë", "Müller"),
        ("José", "Álvarez"),
        ("John", "Smith"),
        ("Jon", "Smith"),
        ("Sarah", "Connor"),
        ("Sara", "Connor"),
    } <= names
    assert User.objects.filter(email="john.smith@contoso.example").exists()
    assert User.objects.filter(email="john.smith+partner@contoso.example").exists()


def test_fabrikam_holds_no_csp_only_role():
    seed()

    held = set(
        RoleAssignment.objects.filter(user__organization__partner_id="7654321").values_list(
            "role__key", flat=True
        )
    )
    assert held
    assert not [key for key in held if SPECS[key].csp_only]
    assert User.objects.filter(organization__partner_id="7654321").count() >= 5


def test_the_support_staff_is_staff_without_organization_in_the_support_group():
    seed()

    support = User.objects.get(email="support@partnerhub.example")
    assert support.is_staff
    assert not support.is_superuser
    assert support.organization is None
    assert support.is_active
    assert list(support.groups.values_list("name", flat=True)) == [SUPPORT_GROUP]
    assert support.groups.get().permissions.exists()
    assert roles_of(support.email) == set()


def test_it_is_idempotent():
    seed()
    before = snapshot()

    seed()

    assert snapshot() == before
    assert User.objects.count() == len(DEMO_PEOPLE) + 1
    assert PartnerOrganization.objects.count() == 2


def test_it_puts_edited_demo_people_back():
    seed()
    elsewhere = OrganizationFactory(name="Elsewhere")
    user = User.objects.get(email="useradmin@contoso.example")
    User.objects.filter(pk=user.pk).update(
        first_name="Changed",
        organization=elsewhere,
        is_active=False,
        must_change_password=True,
    )
    RoleAssignment.objects.filter(user=user).delete()
    UserFactory(email="extra@elsewhere.example", organization=elsewhere)
    RoleAssignment.objects.create(
        user=User.objects.get(email="zoe.muller@contoso.example"),
        role=Role.objects.get(key=RoleKey.GLOBAL_ADMIN),
    )

    seed()

    user.refresh_from_db()
    assert (user.first_name, user.organization.partner_id) == ("Adele", "1234567")
    assert user.is_active
    assert not user.must_change_password
    assert roles_of(user.email) == {RoleKey.USER_MANAGEMENT_ADMIN}
    assert roles_of("zoe.muller@contoso.example") == {RoleKey.SALES_AGENT}
    # People who are not demo people are left alone.
    assert User.objects.filter(email="extra@elsewhere.example", organization=elsewhere).exists()


def test_it_finds_an_existing_account_by_its_email():
    UserFactory(email="globaladmin@contoso.example", roles=[RoleKey.REFERRALS_ADMIN])

    seed()

    user = User.objects.get(email__iexact="globaladmin@contoso.example")
    assert user.organization.partner_id == "1234567"
    assert roles_of(user.email) == {RoleKey.GLOBAL_ADMIN}


def test_it_hashes_the_password_once_for_every_account():
    with mock.patch.object(seed_demo, "make_password", wraps=make_password) as hashing:
        seed()

    assert hashing.call_count == 1
    assert User.objects.values("password").distinct().count() == 1


def test_it_writes_everything_or_nothing():
    with (
        mock.patch.object(seed_demo, "ensure_support_group", side_effect=RuntimeError),
        pytest.raises(RuntimeError),
    ):
        seed()

    assert not User.objects.exists()
    assert not PartnerOrganization.objects.exists()


@pytest.mark.parametrize("person", ACTIVE, ids=lambda person: person.email)
def test_every_active_demo_account_signs_in_and_sees_its_organization_and_roles(client, person):
    seed()

    assert sign_in(client, person.email) == 302
    response = client.get(reverse("home"))

    organization = User.objects.get(email=person.email).organization
    assertContains(response, organization.name)
    for key in person.roles:
        assertContains(response, SPECS[key].name)
    if not person.roles:
        assertContains(response, "none yet")


def test_the_support_staff_signs_in(client):
    seed()

    assert sign_in(client, "support@partnerhub.example") == 302
    assertContains(client.get(reverse("home")), "signed in as support staff")


@pytest.mark.parametrize("person", DEACTIVATED, ids=lambda person: person.email)
def test_deactivated_demo_accounts_cannot_sign_in(client, person):
    seed()

    assert sign_in(client, person.email) == 200
    assert client.get(reverse("home")).status_code == 302


def test_another_password_replaces_the_default(client):
    seed()

    output = seed("--password", "Another-demo-pass-1")

    assert sign_in(client, "globaladmin@contoso.example", DEMO_PASSWORD) == 200
    assert sign_in(client, "globaladmin@contoso.example", "Another-demo-pass-1") == 302
    assert sign_in(Client(), "support@partnerhub.example", "Another-demo-pass-1") == 302
    assert "Another-demo-pass-1" in output
    assert DEMO_PASSWORD not in output


def test_the_output_names_the_password_and_the_sign_ins():
    output = seed()

    assert f"Demo sign-ins (password: {DEMO_PASSWORD})" in output
    for email, _, roles in NAMED_ACCOUNTS:
        line = next(line for line in output.splitlines() if email in line)
        for key in roles:
            assert SPECS[key].name in line
    assert "support@partnerhub.example" in output


def test_with_debug_off_it_wants_a_password_chosen_for_the_server(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="pass --password"):
        seed()
    assert not User.objects.exists()

    with pytest.raises(CommandError, match="pass --totp-secret"):
        seed("--password", "a-password-for-this-demo-server")
    assert not User.objects.exists()

    seed("--password", "a-password-for-this-demo-server", "--totp-secret", OTHER_SECRET)
    assert User.objects.filter(email="globaladmin@contoso.example").exists()


OTHER_SECRET = base64.b32encode(b"another demo secret!").decode()


def test_every_demo_account_has_the_printed_authenticator_app_secret(client):
    output = seed()

    assert f"add the secret {DEMO_TOTP_SECRET} to an authenticator app" in output
    people = User.objects.filter(email__in=[person.email for person in DEMO_PEOPLE])
    assert AuthenticatorApp.objects.filter(user__in=people, confirmed=True).count() == len(
        DEMO_PEOPLE
    )
    # Encrypted in the database, like every app's secret.
    assert all(DEMO_TOTP_SECRET not in app.encrypted_key for app in AuthenticatorApp.objects.all())


def test_another_totp_secret_replaces_the_default(client):
    seed()

    output = seed("--totp-secret", OTHER_SECRET.lower())

    assert OTHER_SECRET in output
    assert DEMO_TOTP_SECRET not in output
    assert AuthenticatorApp.objects.filter(user__email="globaladmin@contoso.example").count() == 1
    assert sign_in(client, "globaladmin@contoso.example", totp_secret=OTHER_SECRET) == 302


@pytest.mark.parametrize(
    ("secret", "message"),
    [("not base32!", "must be base32"), ("ABCDEFGH", "too short")],
)
def test_a_totp_secret_that_cannot_be_one_is_refused(secret, message):
    with pytest.raises(CommandError, match=message):
        seed("--totp-secret", secret)
    assert not User.objects.exists()


# Membership content: competencies and benefits for the membership workspace, no MAPS purchase.


def membership_snapshot() -> dict[str, list[tuple]]:
    return {
        "competencies": sorted(
            Competency.objects.values_list(
                "pk", "organization", "name", "level", "status", "earned_on", "renews_on"
            )
        ),
        "benefits": sorted(
            Benefit.objects.values_list(
                "pk", "organization", "name", "description", "quantity", "used"
            )
        ),
    }


def test_contoso_has_competencies_in_every_status_and_benefits_partly_used():
    seed()

    today = timezone.localdate()
    competencies = {
        c.name: c for c in Competency.objects.filter(organization__partner_id="1234567")
    }
    assert {name: (c.level, c.status) for name, c in competencies.items()}.items() >= {
        "Cloud Platform": (CompetencyLevel.GOLD, CompetencyStatus.ACTIVE),
        "Security": (CompetencyLevel.SILVER, CompetencyStatus.EXPIRING),
        "Data Analytics": (CompetencyLevel.GOLD, CompetencyStatus.LAPSED),
    }.items()
    for c in competencies.values():
        assert c.earned_on < today
        # The dates agree with the status: a lapsed competency's renewal date has passed.
        assert (c.renews_on < today) == (c.status == CompetencyStatus.LAPSED)
    benefits = {
        b.name: (b.quantity, b.used)
        for b in Benefit.objects.filter(organization__partner_id="1234567")
    }
    assert (
        benefits.items()
        >= {
            "Internal use rights: Microsoft 365 E5": (25, 18),
            "Azure credits (USD)": (3500, 1200),
            "Technical presales hours": (10, 2),
        }.items()
    )
    assert "Partner-led deployment hours" in benefits


def test_fabrikam_has_a_smaller_set():
    seed()

    fabrikam = PartnerOrganization.objects.get(partner_id="7654321")
    contoso = PartnerOrganization.objects.get(partner_id="1234567")
    for model in (Competency, Benefit):
        assert model.objects.in_organization(fabrikam).exists()
        assert (
            model.objects.in_organization(fabrikam).count()
            < model.objects.in_organization(contoso).count()
        )


def test_no_maps_is_purchased_so_that_the_demo_can():
    seed()

    assert not MapsPurchase.objects.exists()


def test_its_membership_content_is_idempotent():
    # The renewal dates follow the day of the run: both runs on the same day.
    with mock.patch("django.utils.timezone.localdate", return_value=date(2026, 11, 23)):
        seed()
        before = membership_snapshot()

        seed()

    assert membership_snapshot() == before
    assert Competency.objects.count() == sum(len(o.competencies) for o in seed_demo.ORGANIZATIONS)
    assert Benefit.objects.count() == sum(len(o.benefits) for o in seed_demo.ORGANIZATIONS)


def test_it_puts_edited_membership_content_back():
    seed()
    contoso = PartnerOrganization.objects.get(partner_id="1234567")
    Benefit.objects.filter(organization=contoso, name="Azure credits (USD)").update(used=3500)
    Competency.objects.filter(organization=contoso, name="Security").delete()
    Benefit.objects.create(organization=contoso, name="Not in the demo", quantity=1)
    elsewhere = OrganizationFactory(name="Elsewhere")
    Benefit.objects.create(organization=elsewhere, name="Not in the demo", quantity=1)

    seed()

    assert Benefit.objects.get(organization=contoso, name="Azure credits (USD)").used == 1200
    assert Competency.objects.filter(organization=contoso, name="Security").exists()
    assert not Benefit.objects.filter(organization=contoso, name="Not in the demo").exists()
    # Organizations that are not demo organizations are left alone.
    assert Benefit.objects.filter(organization=elsewhere, name="Not in the demo").exists()


def test_a_failed_run_writes_no_membership_content():
    with (
        mock.patch.object(seed_demo, "ensure_support_group", side_effect=RuntimeError),
        pytest.raises(RuntimeError),
    ):
        seed()

    assert not Competency.objects.exists()
    assert not Benefit.objects.exists()


def test_the_demo_mpn_partner_admin_buys_maps_and_a_rerun_keeps_the_purchase(client):
    seed()
    year = membership_year(timezone.localdate())

    assert sign_in(client, "mpnadmin@contoso.example") == 302
    page = client.get(reverse("membership")).content.decode()
    assert "Internal use rights: Microsoft 365 E5" in page
    assert "Cloud Platform" in page
    assert f"I confirm the purchase of MAPS for membership year {year}" in page
    response = client.post(
        reverse("purchase_maps"), {"confirm": "on", "membership_year": str(year)}
    )
    assert response.status_code == 302

    seed()

    # A purchase made in the demo is in the audit trail: the command does not undo it.
    purchase = MapsPurchase.objects.get()
    assert (purchase.organization.partner_id, purchase.membership_year) == ("1234567", year)
