"""Promises of the services that a change could once lose without any test noticing.

Each test here fails with one named mutation of accounts/services.py or roles/services.py
(`make mutate` lists them) and passes without it.
"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.invitations import invitation_token_generator
from accounts.models import AuditAction, AuditEvent, User
from accounts.services import EmailInUse, LinkNotValid
from roles import rules
from roles import services as role_services
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.conftest import Cast
from tests.factories import PASSWORD, SupportStaffFactory, UserFactory

NEW_PASSWORD = "a-new-password-of-one's-own"


def audit_events() -> int:
    return AuditEvent.objects.count()


def user_rows_written(queries: CaptureQueriesContext) -> list[str]:
    """The statements that inserted or updated a row of the users' table."""
    return [
        query["sql"]
        for query in queries.captured_queries
        if re.match(r'\s*(INSERT INTO|UPDATE) "accounts_user"', query["sql"])
    ]


# Links that set a password: a deactivated user's never work; an invitation only once


def invited(organization) -> User:
    return UserFactory(organization=organization, password="!not-set-yet")


def test_a_deactivated_users_invitation_link_sets_no_password(csp: Cast):
    user = invited(csp.organization)
    token = invitation_token_generator.make_token(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    before = audit_events()

    with pytest.raises(LinkNotValid):
        services.set_password_from_link(
            user,
            token,
            NEW_PASSWORD,
            token_generator=invitation_token_generator,
            audit_action=AuditAction.INVITATION_ACCEPTED,
        )

    assert not User.objects.get(pk=user.pk).has_usable_password()
    assert audit_events() == before


def test_an_invitation_is_no_way_to_change_a_password_already_set(csp: Cast):
    # A token made now is signed over the current password: only the rule refuses it.
    user = csp.member
    token = invitation_token_generator.make_token(user)

    with pytest.raises(LinkNotValid):
        services.set_password_from_link(
            user,
            token,
            NEW_PASSWORD,
            token_generator=invitation_token_generator,
            audit_action=AuditAction.INVITATION_ACCEPTED,
        )

    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


# create_user checks what it is given, whoever calls it


@pytest.mark.parametrize(
    ("field", "value"),
    [("first_name", "F" * 151), ("last_name", "L" * 151), ("email", "not-an-email")],
)
def test_create_user_refuses_details_the_form_would_refuse(csp: Cast, field: str, value: str):
    details = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@contoso.example"}
    details[field] = value
    users, before = User.objects.count(), audit_events()

    with pytest.raises(ValidationError) as error:
        services.create_user(csp.global_admin, organization=csp.organization, **details)

    assert field in error.value.message_dict
    assert User.objects.count() == users
    assert audit_events() == before


def test_a_temporary_password_has_sixteen_characters_of_the_whole_alphabet():
    alphabet = set(services._PASSWORD_ALPHABET)
    passwords = [services.generate_temporary_password() for _ in range(300)]

    group = f"[{re.escape(services._PASSWORD_ALPHABET)}]{{4}}"
    assert all(re.fullmatch(f"{group}(-{group}){{3}}", password) for password in passwords)
    # 4,800 draws from 55 characters: any one missing by chance is about e^-87.
    assert set("".join(passwords).replace("-", "")) == alphabet
    assert len(alphabet) == 55  # 55^16: about 92 bits
    assert len(set(passwords)) == len(passwords)


# An email in use: found by a query under the lock, before anything is written


@pytest.mark.parametrize("whose", ["csp", "outsider"])
def test_create_user_finds_an_email_in_use_before_writing_anything(
    csp: Cast, outsider: User, whose: str
):
    # Decision (accounts.services.create_user): the ordinary duplicate is found by a read, so
    # the service attempts no insert, hashes no password and translates no database error for
    # it; the unique index answers only the race of two requests at once.
    existing = csp.mpn_admin if whose == "csp" else outsider
    users, before = User.objects.count(), audit_events()

    with CaptureQueriesContext(connection) as queries, pytest.raises(EmailInUse) as refusal:
        services.create_user(
            csp.global_admin,
            organization=csp.organization,
            first_name="Some",
            last_name="One",
            email=existing.email.upper(),
        )

    assert refusal.value.existing == existing  # the page links to them, or not (another org)
    assert str(refusal.value) == "A user with this email already exists."
    assert user_rows_written(queries) == []
    assert User.objects.count() == users
    assert audit_events() == before  # not a refused attempt: a mistake, told next to the field


def test_update_user_details_finds_an_email_in_use_before_writing_anything(
    csp: Cast, outsider: User
):
    before = audit_events()

    with CaptureQueriesContext(connection) as queries, pytest.raises(EmailInUse) as refusal:
        services.update_user_details(
            csp.global_admin,
            csp.member,
            first_name="Some",
            last_name="One",
            email=outsider.email.title(),
        )

    assert refusal.value.existing == outsider
    assert user_rows_written(queries) == []
    assert User.objects.get(pk=csp.member.pk).first_name == csp.member.first_name
    assert audit_events() == before


# Roles: who granted them, and the caller's instance forgets what it knew


def test_a_granted_role_names_who_granted_it(csp: Cast):
    role_services.grant_role(csp.global_admin, csp.member, RoleKey.INCENTIVES_ADMIN)

    assignment = RoleAssignment.objects.get(user=csp.member, role__key=RoleKey.INCENTIVES_ADMIN)
    assert assignment.granted_by == csp.global_admin


def test_an_approved_request_leaves_a_user_instance_that_knows_its_new_role(
    csp: Cast, support: User
):
    grant_request = role_services.request_global_admin(support, csp.member)

    # The approval asks the rulebook about the user (remembering "holds no Global admin").
    decided = role_services.approve_global_admin_request(SupportStaffFactory(), grant_request)

    assert rules.holds_global_admin(decided.user)
    assert decided.decided_by is not None


# Sessions, organizations, links of users deleted meanwhile


def test_each_ending_of_sessions_ends_those_opened_since_the_last_one(csp: Cast):
    user = csp.member
    services.end_sessions(user)
    hash_after_first = user.get_session_auth_hash()  # a session opened now carries this

    services.end_sessions(user)

    assert User.objects.get(pk=user.pk).get_session_auth_hash() != hash_after_first


@pytest.mark.parametrize(("field", "value"), [("partner_id", "12"), ("name", "")])
def test_organizations_are_checked_by_the_service_whoever_calls_it(
    csp: Cast, support: User, field: str, value: str
):
    details = {"name": "Northwind", "partner_id": "7654000", "program_type": "non_csp"}
    details[field] = value
    before = audit_events()

    with pytest.raises(ValidationError):
        services.create_organization(support, **details)
    with pytest.raises(ValidationError):
        services.update_organization(support, csp.organization, **details)

    assert audit_events() == before
    csp.organization.refresh_from_db()
    assert csp.organization.name == "Contoso Ltd"


def test_the_link_of_a_user_deleted_meanwhile_does_not_work(csp: Cast):
    user = invited(csp.organization)
    token = invitation_token_generator.make_token(user)
    User.objects.filter(pk=user.pk).delete()

    with pytest.raises(LinkNotValid):
        services.set_password_from_link(
            user,
            token,
            NEW_PASSWORD,
            token_generator=invitation_token_generator,
            audit_action=AuditAction.INVITATION_ACCEPTED,
        )


# Deciding a Global admin request (rule 12)


def test_deciding_a_request_that_no_longer_exists_is_refused_not_a_crash(csp: Cast, support):
    grant_request = role_services.request_global_admin(support, csp.member)
    # Gone behind the page's back (the application never deletes one; the database may).
    type(grant_request).objects.filter(pk=grant_request.pk).delete()

    with pytest.raises(rules.RuleRefused, match="This request no longer exists"):
        role_services.reject_global_admin_request(SupportStaffFactory(), grant_request)

    assert RoleKey.GLOBAL_ADMIN not in rules.held_roles(User.objects.get(pk=csp.member.pk))


def test_a_typed_note_is_kept_without_a_nul_byte(csp: Cast, support):
    # PostgreSQL refuses a NUL byte in text: the note is stored without it, never a crash.
    grant_request = role_services.request_global_admin(support, csp.member)

    decided = role_services.reject_global_admin_request(
        SupportStaffFactory(), grant_request, note="  not\x00 now  "
    )

    assert decided.reason == "not now"
    assert type(decided).objects.get(pk=decided.pk).reason == "not now"


def test_a_request_is_decided_on_the_user_as_they_are_now(csp: Cast, support):
    # The page loaded the user before someone deactivated them: the service reads them again.
    stale = User.objects.get(pk=csp.member.pk)
    User.objects.filter(pk=csp.member.pk).update(is_active=False)

    with pytest.raises(rules.RuleRefused, match="deactivated"):
        role_services.request_global_admin(support, stale)

    assert not stale.global_admin_requests.exists()


def test_a_link_works_only_with_its_token(csp: Cast):
    invited = UserFactory(organization=csp.organization, password="!invited")

    with pytest.raises(LinkNotValid):
        services.set_password_from_link(
            invited,
            "not-the-token",
            "violet-harbour-tangent-58",
            token_generator=invitation_token_generator,
            audit_action=AuditAction.INVITATION_ACCEPTED,
        )

    assert not User.objects.get(pk=invited.pk).has_usable_password()


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_update_user_details_refuses_what_the_form_would_refuse(csp: Cast, field: str):
    details = {"first_name": "Ada", "last_name": "Lovelace", "email": csp.member.email}
    details[field] = "X" * 151

    with pytest.raises(ValidationError) as error:
        services.update_user_details(csp.global_admin, csp.member, **details)

    assert field in error.value.message_dict
    assert User.objects.get(pk=csp.member.pk).first_name == csp.member.first_name
