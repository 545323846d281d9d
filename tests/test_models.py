"""The models' constraints: what the database itself refuses, whatever code tries to write."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction

from accounts.models import AuditAction, AuditEvent, PartnerOrganization, ProgramType, User
from roles.catalogue import CATALOGUE, RoleKey
from roles.models import Role, RoleAssignment
from tests.factories import OrganizationFactory, SupportStaffFactory, UserFactory

pytestmark = pytest.mark.django_db

ON_SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


# Users


def test_it_refuses_an_email_that_differs_only_in_case():
    UserFactory(email="a@x.example")

    # Only the canonical form is ever stored (accounts.identity): the database refuses the rest.
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email="A@x.example")

    assert User.objects.with_email("a@x.example").count() == 1


def test_it_refuses_the_same_email_in_another_organization():
    UserFactory(email="jane@x.example")

    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email="jane@x.example", organization=OrganizationFactory())


def test_it_refuses_a_partner_user_without_organization():
    with pytest.raises(IntegrityError) as refusal, transaction.atomic():
        UserFactory(organization=None)

    assert "accounts_user_partner_user_or_support_staff" in str(refusal.value)


def test_it_refuses_support_staff_with_an_organization():
    with pytest.raises(IntegrityError) as refusal, transaction.atomic():
        SupportStaffFactory(organization=OrganizationFactory())

    assert "accounts_user_partner_user_or_support_staff" in str(refusal.value)


def test_it_explains_the_partner_user_or_support_staff_rule_on_validation():
    user = UserFactory.build(organization=None)

    with pytest.raises(ValidationError) as refusal:
        user.full_clean(exclude=["password"])

    assert refusal.value.messages == [
        "A partner user belongs to an organization; support staff belong to none."
    ]


def test_it_finds_a_user_by_natural_key_ignoring_case():
    user = UserFactory(email="jane.doe@contoso.example")

    assert User.objects.get_by_natural_key("JANE.DOE@CONTOSO.EXAMPLE") == user
    assert User.objects.get_by_natural_key(" Jane.Doe@Contoso.Example ") == user
    assert User.objects.get_by_natural_key("jane.doe@contoso.example") == user


def test_it_makes_a_superuser_support_staff_without_organization():
    user = User.objects.create_superuser(
        "Help@PartnerHub.EXAMPLE",
        "a-long-enough-password",
        first_name="Sam",
        last_name="Support",
        organization=OrganizationFactory(),
    )

    user.refresh_from_db()
    assert user.is_staff
    assert user.is_superuser
    assert user.organization is None
    assert user.is_support_staff
    assert user.email == "help@partnerhub.example"
    assert user.check_password("a-long-enough-password")


def test_it_refuses_create_user_without_organization():
    with pytest.raises(ValueError, match="belongs to an organization"):
        User.objects.create_user("jane@x.example", first_name="Jane", last_name="Doe")

    assert not User.objects.exists()


def test_it_creates_a_partner_user_with_an_organization():
    organization = OrganizationFactory()

    user = User.objects.create_user(
        "Jane@X.Example",
        "a-long-enough-password",
        organization=organization,
        first_name="Jane",
        last_name="Doe",
    )

    assert user.organization == organization
    assert not user.is_staff
    assert user.email == "jane@x.example"
    assert user.check_password("a-long-enough-password")


# Partner organizations


@pytest.mark.parametrize("partner_id", ["123456", "1234567"])
def test_it_accepts_a_partner_id_of_6_or_7_digits(partner_id):
    organization = OrganizationFactory.build(partner_id=partner_id)

    organization.full_clean()
    organization.save()


@pytest.mark.parametrize("partner_id", ["12345", "12345678", "12a4567", "123456\n", ""])
def test_it_explains_a_wrong_partner_id_on_validation(partner_id):
    organization = OrganizationFactory.build(partner_id=partner_id)

    with pytest.raises(ValidationError) as refusal:
        organization.full_clean()

    assert "partner_id" in refusal.value.message_dict
    if partner_id:
        assert "A partner ID (MPN ID) is 6 or 7 digits." in refusal.value.message_dict["partner_id"]


@pytest.mark.parametrize("partner_id", ["12345", "12a4567", "12 4567", ""])
def test_it_refuses_a_wrong_partner_id_in_the_database(partner_id):
    with pytest.raises(IntegrityError) as refusal, transaction.atomic():
        OrganizationFactory(partner_id=partner_id)

    assert "accounts_organization_partner_id_6_or_7_digits" in str(refusal.value)


def test_it_refuses_a_partner_id_of_8_digits_in_the_database():
    # PostgreSQL's varchar(7) refuses it before the check constraint does (DataError); SQLite
    # does not enforce lengths, and there the check constraint refuses it.
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        OrganizationFactory(partner_id="12345678")

    assert not PartnerOrganization.objects.filter(partner_id__startswith="1234567").exists()


def test_it_refuses_a_partner_id_with_a_trailing_newline_in_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganizationFactory(partner_id="123456\n")


def test_it_refuses_a_partner_id_already_taken():
    OrganizationFactory(partner_id="1234567")

    with pytest.raises(IntegrityError), transaction.atomic():
        OrganizationFactory(partner_id="1234567")


def test_it_refuses_an_unknown_program_type():
    with pytest.raises(IntegrityError) as refusal, transaction.atomic():
        OrganizationFactory(program_type="gold")

    assert "accounts_organization_program_type_known" in str(refusal.value)
    with pytest.raises(ValidationError) as invalid:
        OrganizationFactory.build(program_type="gold").full_clean()
    assert "program_type" in invalid.value.message_dict


def test_it_knows_exactly_four_program_types():
    assert set(ProgramType.values) == {
        "csp_direct",
        "csp_indirect_provider",
        "csp_indirect_reseller",
        "non_csp",
    }


@pytest.mark.parametrize(
    ("program_type", "is_csp"),
    [
        (ProgramType.CSP_DIRECT, True),
        (ProgramType.CSP_INDIRECT_PROVIDER, True),
        (ProgramType.CSP_INDIRECT_RESELLER, True),
        (ProgramType.NON_CSP, False),
    ],
)
def test_it_says_whether_an_organization_is_csp(program_type, is_csp):
    assert OrganizationFactory.build(program_type=program_type).is_csp is is_csp


# Roles


def test_it_allows_one_assignment_per_user_and_role():
    user = UserFactory(roles=[RoleKey.GLOBAL_ADMIN])
    global_admin = Role.objects.get(key=RoleKey.GLOBAL_ADMIN)

    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role=global_admin)

    assert RoleAssignment.objects.filter(user=user).count() == 1


def test_it_loads_the_role_catalogue_into_the_database():
    in_database = list(
        Role.objects.order_by("position").values_list(
            "key", "name", "group", "csp_only", "unlocks", "description"
        )
    )

    assert in_database == [
        (spec.key.value, spec.name, spec.group.value, spec.csp_only, spec.unlocks, spec.description)
        for spec in CATALOGUE
    ]


# The audit trail


@pytest.fixture
def event(db: None) -> AuditEvent:
    actor = UserFactory()
    return AuditEvent.objects.create(
        organization=actor.organization,
        action=AuditAction.USER_EDITED,
        outcome="done",
        actor=actor,
        actor_label=str(actor),
        before={"first_name": "Jane"},
        after={"first_name": "Janet"},
    )


def test_it_refuses_to_change_an_audit_event(event):
    event.reason = "rewritten"

    with pytest.raises(TypeError, match="never changed"):
        event.save()

    event.refresh_from_db()
    assert event.reason == ""


def test_it_refuses_to_delete_an_audit_event(event):
    with pytest.raises(TypeError, match="never deleted"):
        event.delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_it_refuses_to_update_audit_events_in_bulk(event):
    with pytest.raises(TypeError, match="never changed"):
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(TypeError, match="never changed"):
        AuditEvent.objects.update(reason="rewritten")

    event.refresh_from_db()
    assert event.reason == ""


def test_it_refuses_to_delete_audit_events_in_bulk(event):
    with pytest.raises(TypeError, match="never deleted"):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError, match="never deleted"):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_events_cannot_be_written_in_bulk(csp):
    # Each event is chained to the one before it as it is saved; a bulk insert would skip that.
    with pytest.raises(TypeError):
        AuditEvent.objects.bulk_create([AuditEvent(action="user.created", outcome="done")])
