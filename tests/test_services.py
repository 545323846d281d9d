"""The service functions: the only code that changes users and roles (STYLE.md, point 4).

Each allowed change leaves the exact state DOMAIN.md describes and its audit record, written in
the same transaction. Each refused change raises RuleRefused, changes nothing, and leaves exactly
one refused audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth import authenticate as django_authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Max
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import audit, services
from accounts.audit import Origin
from accounts.models import AuditAction, AuditEvent, AuditOutcome, PartnerOrganization, User
from accounts.services import EmailInUse
from roles import rules
from roles import services as role_services
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from roles.rules import RuleRefused
from tests.conftest import Cast
from tests.factories import PASSWORD, UserFactory
from tests.second_factor import pass_second_factor

ORIGIN = Origin(ip_address="203.0.113.7", user_agent="Mozilla/5.0 (PartnerHub tests)")

GA = RoleKey.GLOBAL_ADMIN
UMA = RoleKey.USER_MANAGEMENT_ADMIN
ACCOUNT_ADMIN = RoleKey.ACCOUNT_ADMIN
MPN_ADMIN = RoleKey.MPN_PARTNER_ADMIN
BILLING = RoleKey.BILLING_ADMIN
REFERRALS = RoleKey.REFERRALS_ADMIN
INCENTIVES = RoleKey.INCENTIVES_ADMIN


def authenticate(*, email: str, password: str) -> User | None:
    """Sign-in as the login page does it: the lockout backend needs the request."""
    return django_authenticate(
        RequestFactory().post(reverse("login")), username=email, password=password
    )


# Helpers


def last_event_id() -> int:
    return AuditEvent.objects.aggregate(last=Max("pk"))["last"] or 0


def events_after(mark: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=mark).order_by("pk"))


def roles_of(user: User) -> set[str]:
    return set(RoleAssignment.objects.filter(user=user).values_list("role__key", flat=True))


def granted_by(user: User) -> set[int | None]:
    return set(RoleAssignment.objects.filter(user=user).values_list("granted_by_id", flat=True))


def database_state() -> dict[str, list]:
    """Everything a service may change about users and roles, to compare before and after."""
    return {
        "users": list(
            User.objects.order_by("pk").values(
                "pk",
                "email",
                "first_name",
                "last_name",
                "organization_id",
                "is_active",
                "is_staff",
                "password",
                "must_change_password",
                "created_by_id",
            )
        ),
        "role_assignments": list(
            RoleAssignment.objects.order_by("pk").values_list(
                "pk", "user_id", "role__key", "granted_by_id", "granted_at"
            )
        ),
    }


def event_as_dict(event: AuditEvent) -> dict[str, object]:
    return {
        "action": event.action,
        "outcome": event.outcome,
        "reason": event.reason,
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "target": event.target_id,
        "target_label": event.target_label,
        "organization": event.organization_id,
        "before": event.before,
        "after": event.after,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
    }


def done(
    action: str,
    *,
    actor: User,
    target: User | None,
    organization: PartnerOrganization,
    before: dict | None = None,
    after: dict | None = None,
    target_label: str | None = None,
) -> dict[str, object]:
    """The audit event an allowed change made through ORIGIN should leave."""
    return {
        "action": action,
        "outcome": AuditOutcome.DONE,
        "reason": "",
        "actor": actor.pk,
        "actor_label": str(actor),
        "target": target.pk if target is not None else None,
        "target_label": target_label if target_label is not None else str(target),
        "organization": organization.pk,
        "before": before or {},
        "after": after or {},
        "ip_address": ORIGIN.ip_address,
        "user_agent": ORIGIN.user_agent,
    }


def snapshot(user: User) -> dict[str, object]:
    return {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": user.is_active,
    }


def add_user(actor: User, organization: PartnerOrganization, **fields: object) -> services.NewUser:
    values = {
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane.doe@contoso.example",
        "role_keys": (),
        "origin": ORIGIN,
        **fields,
    }
    return services.create_user(actor, organization=organization, **values)


def can_sign_in(email: str, password: str) -> bool:
    return authenticate(email=email, password=password) is not None


# create_user


def test_it_creates_a_user_with_roles_and_a_temporary_password(csp):
    new = add_user(
        csp.global_admin,
        csp.organization,
        first_name=" Jane ",
        last_name=" Doe ",
        role_keys=[REFERRALS, BILLING],
    )

    user = User.objects.get(pk=new.user.pk)
    assert user.organization == csp.organization
    assert (user.first_name, user.last_name, user.email) == (
        "Jane",
        "Doe",
        "jane.doe@contoso.example",
    )
    assert user.is_active
    assert not user.is_staff
    assert user.must_change_password
    assert user.created_by == csp.global_admin
    assert roles_of(user) == {REFERRALS, BILLING}
    assert granted_by(user) == {csp.global_admin.pk}
    assert authenticate(email="jane.doe@contoso.example", password=new.temporary_password) == user
    assert user.check_password(new.temporary_password)


def test_it_records_the_creation_and_each_role_granted(csp):
    mark = last_event_id()

    new = add_user(csp.global_admin, csp.organization, role_keys=[REFERRALS, BILLING])

    user = new.user
    expected = {"actor": csp.global_admin, "target": user, "organization": csp.organization}
    assert [event_as_dict(event) for event in events_after(mark)] == [
        done(
            AuditAction.USER_CREATED,
            after={**snapshot(user), "roles": ["Billing admin", "Referrals admin"]},
            **expected,
        ),
        done(AuditAction.ROLE_GRANTED, after={"role": "Billing admin"}, **expected),
        done(AuditAction.ROLE_GRANTED, after={"role": "Referrals admin"}, **expected),
    ]


def test_it_creates_a_user_without_roles(csp):
    mark = last_event_id()

    new = add_user(csp.global_admin, csp.organization)

    assert roles_of(new.user) == set()
    assert [event.action for event in events_after(mark)] == [AuditAction.USER_CREATED]


@pytest.mark.parametrize(
    ("adder", "role_keys"),
    [
        ("global_admin", [GA, UMA, BILLING, ACCOUNT_ADMIN]),
        ("user_admin", [UMA, BILLING, ACCOUNT_ADMIN, MPN_ADMIN]),
    ],
)
def test_it_lets_global_and_user_management_admins_add_users(csp, adder, role_keys):
    actor = getattr(csp, adder)

    new = add_user(actor, csp.organization, role_keys=role_keys)

    assert new.user.created_by == actor
    assert roles_of(new.user) == set(role_keys)
    assert granted_by(new.user) == {actor.pk}


def test_it_lets_the_global_admin_of_a_non_csp_organization_add_users(non_csp):
    new = add_user(non_csp.global_admin, non_csp.organization, role_keys=[GA, REFERRALS])

    assert new.user.organization == non_csp.organization
    assert roles_of(new.user) == {GA, REFERRALS}


def test_it_lets_support_staff_add_users_to_any_organization(csp, non_csp, support):
    mark = last_event_id()

    new = add_user(support, non_csp.organization, role_keys=[ACCOUNT_ADMIN])

    assert new.user.organization == non_csp.organization
    assert new.user.created_by == support
    assert roles_of(new.user) == {ACCOUNT_ADMIN}
    assert granted_by(new.user) == {support.pk}
    assert {event.actor_id for event in events_after(mark)} == {support.pk}
    assert {event.organization_id for event in events_after(mark)} == {non_csp.organization.pk}


# Email rules


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Jane.Doe@Contoso.EXAMPLE  ", "jane.doe@contoso.example"),
        ("jane@contoso.example", "jane@contoso.example"),
        ("\uff4a\uff41\uff4e\uff45@Bücher.example", "jane@xn--bcher-kva.example"),
    ],
)
def test_it_stores_the_email_in_its_canonical_form(csp, typed, stored):
    new = add_user(csp.global_admin, csp.organization, email=typed)

    assert User.objects.get(pk=new.user.pk).email == stored
    assert can_sign_in(stored.upper(), new.temporary_password)


@pytest.mark.parametrize("spelling", [str.lower, str.upper, str.title])
def test_it_refuses_to_create_a_user_with_an_email_in_use_in_any_organization(
    csp, outsider, spelling
):
    before = database_state()

    with pytest.raises(EmailInUse) as refusal:
        add_user(csp.global_admin, csp.organization, email=f" {spelling(outsider.email)} ")

    assert refusal.value.existing == outsider
    assert str(refusal.value) == "A user with this email already exists."
    assert database_state() == before


def test_it_refuses_to_give_a_user_an_email_in_use_in_any_organization(csp, outsider):
    before = database_state()

    with pytest.raises(EmailInUse) as refusal:
        services.update_user_details(
            csp.global_admin,
            csp.member,
            first_name="Someone",
            last_name="Else",
            email=outsider.email.upper(),
            origin=ORIGIN,
        )

    assert refusal.value.existing == outsider
    assert database_state() == before


def test_an_email_typed_in_another_case_is_the_same_email(csp):
    csp.member.email = "pat@contoso.example"
    csp.member.save()

    user = services.update_user_details(
        csp.global_admin,
        csp.member,
        first_name=csp.member.first_name,
        last_name=csp.member.last_name,
        email="Pat@CONTOSO.example",
        origin=ORIGIN,
    )

    assert User.objects.get(pk=user.pk).email == "pat@contoso.example"


# update_user_details


@pytest.mark.parametrize("editor", ["global_admin", "user_admin"])
def test_it_edits_a_users_name_and_email(csp, editor):
    actor = getattr(csp, editor)
    target = csp.member
    User.objects.filter(pk=target.pk).update(first_name="Pat")  # not the name given below
    target.refresh_from_db()
    old = snapshot(target)
    mark = last_event_id()

    user = services.update_user_details(
        actor,
        target,
        first_name=" Patricia ",
        last_name=old["last_name"],
        email=" Patricia@Contoso.EXAMPLE ",
        origin=ORIGIN,
    )

    stored = User.objects.get(pk=target.pk)
    assert (stored.first_name, stored.last_name, stored.email) == (
        "Patricia",
        old["last_name"],
        "patricia@contoso.example",
    )
    assert user == stored
    assert [event_as_dict(event) for event in events_after(mark)] == [
        done(
            AuditAction.USER_EDITED,
            actor=actor,
            target=stored,
            organization=csp.organization,
            before={"first_name": old["first_name"], "email": old["email"]},
            after={"first_name": "Patricia", "email": "patricia@contoso.example"},
        )
    ]


def test_it_lets_a_global_admin_edit_another_global_admin(csp):
    services.update_user_details(
        csp.global_admin,
        csp.second_global_admin,
        first_name="Renamed",
        last_name="Admin",
        email=csp.second_global_admin.email,
        origin=ORIGIN,
    )

    assert User.objects.get(pk=csp.second_global_admin.pk).first_name == "Renamed"


def test_it_records_nothing_when_nothing_changed(csp):
    target = csp.member
    before = database_state()
    mark = last_event_id()

    services.update_user_details(
        csp.global_admin,
        target,
        first_name=f" {target.first_name} ",
        last_name=target.last_name,
        email=f" {target.email} ",
        origin=ORIGIN,
    )

    assert database_state() == before
    assert events_after(mark) == []


# deactivate_user, reactivate_user


@pytest.mark.parametrize("deactivator", ["global_admin", "user_admin"])
def test_it_deactivates_a_user(csp, deactivator):
    actor = getattr(csp, deactivator)
    mark = last_event_id()

    services.deactivate_user(actor, csp.member, origin=ORIGIN)

    stored = User.objects.get(pk=csp.member.pk)
    assert not stored.is_active
    assert roles_of(stored) == {REFERRALS}  # kept for when they come back
    assert not can_sign_in(stored.email, PASSWORD)
    assert [event_as_dict(event) for event in events_after(mark)] == [
        done(
            AuditAction.USER_DEACTIVATED,
            actor=actor,
            target=stored,
            organization=csp.organization,
            before={"is_active": True},
            after={"is_active": False},
        )
    ]


def test_it_reactivates_a_user_with_the_roles_they_had(csp):
    services.deactivate_user(csp.global_admin, csp.member, origin=ORIGIN)
    mark = last_event_id()

    services.reactivate_user(csp.user_admin, csp.member, origin=ORIGIN)

    stored = User.objects.get(pk=csp.member.pk)
    assert stored.is_active
    assert roles_of(stored) == {REFERRALS}
    assert can_sign_in(stored.email, PASSWORD)
    assert [event_as_dict(event) for event in events_after(mark)] == [
        done(
            AuditAction.USER_REACTIVATED,
            actor=csp.user_admin,
            target=stored,
            organization=csp.organization,
            before={"is_active": False},
            after={"is_active": True},
        )
    ]


def test_it_lets_a_global_admin_deactivate_another_while_one_stays_active(csp):
    services.deactivate_user(csp.global_admin, csp.second_global_admin, origin=ORIGIN)

    assert not User.objects.get(pk=csp.second_global_admin.pk).is_active


def test_it_ends_a_deactivated_users_open_session_at_its_next_request(client, csp):
    client.post(reverse("login"), {"username": csp.member.email, "password": PASSWORD})
    pass_second_factor(client, csp.member)
    assert "_auth_user_id" in client.session
    assert client.get(reverse("home")).status_code == 200

    services.deactivate_user(csp.global_admin, csp.member, origin=ORIGIN)

    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse('home')}"


# delete_user


def test_it_deletes_a_user_and_their_roles_and_keeps_their_name_in_the_audit_trail(csp):
    target = csp.billing_admin
    target_pk = target.pk
    services.update_user_details(
        csp.global_admin,
        target,
        first_name="Bill",
        last_name=target.last_name,
        email=target.email,
        origin=ORIGIN,
    )
    target.refresh_from_db()
    label, old = str(target), snapshot(target)
    earlier = AuditEvent.objects.get(action=AuditAction.USER_EDITED, target_id=target_pk)
    mark = last_event_id()

    services.delete_user(csp.user_admin, target, origin=ORIGIN)

    assert not User.objects.filter(pk=target_pk).exists()
    assert not RoleAssignment.objects.filter(user_id=target_pk).exists()
    assert [event_as_dict(event) for event in events_after(mark)] == [
        done(
            AuditAction.USER_DELETED,
            actor=csp.user_admin,
            target=None,
            target_label=label,
            organization=csp.organization,
            before={**old, "roles": ["Billing admin"]},
        )
    ]
    earlier.refresh_from_db()
    assert earlier.target_id is None
    assert earlier.target_label == label


def test_it_deletes_a_user_who_created_and_granted_to_others(csp):
    new = add_user(csp.user_admin, csp.organization, role_keys=[REFERRALS])

    services.delete_user(csp.global_admin, csp.user_admin, origin=ORIGIN)

    survivor = User.objects.get(pk=new.user.pk)
    assert survivor.created_by is None
    assert granted_by(survivor) == {None}
    assert roles_of(survivor) == {REFERRALS}


# reset_password


@pytest.mark.parametrize("target", ["member", "user_admin", "second_global_admin"])
def test_it_resets_a_password_to_a_new_temporary_one(csp, target):
    user = getattr(csp, target)
    mark = last_event_id()

    password = services.reset_password(csp.global_admin, user, origin=ORIGIN)

    stored = User.objects.get(pk=user.pk)
    assert stored.must_change_password
    assert authenticate(email=stored.email, password=password) == stored
    assert not can_sign_in(stored.email, PASSWORD)
    assert [event_as_dict(event) for event in events_after(mark)] == [
        done(
            AuditAction.PASSWORD_RESET,
            actor=csp.global_admin,
            target=stored,
            organization=csp.organization,
        )
    ]
    # The audit trail never holds a password.
    assert password not in str(event_as_dict(events_after(mark)[0]))


def test_it_ends_the_open_session_of_a_user_whose_password_is_reset(client, csp):
    client.post(reverse("login"), {"username": csp.member.email, "password": PASSWORD})
    assert "_auth_user_id" in client.session

    services.reset_password(csp.global_admin, csp.member, origin=ORIGIN)

    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# Temporary passwords


def test_it_makes_a_different_temporary_password_each_time(csp):
    first = add_user(csp.global_admin, csp.organization, email="one@contoso.example")
    second = add_user(csp.global_admin, csp.organization, email="two@contoso.example")
    reset = services.reset_password(csp.global_admin, first.user, origin=ORIGIN)
    generated = {services.generate_temporary_password() for _ in range(50)}

    assert len({first.temporary_password, second.temporary_password, reset}) == 3
    assert len(generated) == 50


def test_its_temporary_passwords_pass_the_password_validators(csp):
    new = add_user(csp.global_admin, csp.organization)
    reset = services.reset_password(csp.global_admin, new.user, origin=ORIGIN)

    validate_password(new.temporary_password, user=new.user)
    validate_password(reset, user=new.user)
    for _ in range(20):
        validate_password(services.generate_temporary_password(), user=new.user)


# change_roles, grant_role, revoke_role


def test_it_changes_roles_to_exactly_those_asked_for(csp):
    target = csp.member
    mark = last_event_id()

    change = role_services.change_roles(
        csp.global_admin, target, [BILLING, INCENTIVES], origin=ORIGIN
    )

    assert change.granted == [BILLING, INCENTIVES]
    assert change.revoked == [REFERRALS]
    assert change
    assert roles_of(target) == {BILLING, INCENTIVES}
    assert granted_by(target) == {csp.global_admin.pk}
    expected = {"actor": csp.global_admin, "target": target, "organization": csp.organization}
    assert [event_as_dict(event) for event in events_after(mark)] == [
        done(AuditAction.ROLE_GRANTED, after={"role": "Billing admin"}, **expected),
        done(AuditAction.ROLE_GRANTED, after={"role": "Incentives admin"}, **expected),
        done(AuditAction.ROLE_REVOKED, after={"role": "Referrals admin"}, **expected),
    ]


def test_it_changes_and_records_nothing_when_the_roles_are_already_those(csp):
    before = database_state()
    mark = last_event_id()

    change = role_services.change_roles(csp.global_admin, csp.member, [REFERRALS], origin=ORIGIN)

    assert not change
    assert database_state() == before
    assert events_after(mark) == []


def test_it_grants_one_role(csp):
    mark = last_event_id()

    change = role_services.grant_role(csp.account_admin, csp.member, INCENTIVES, origin=ORIGIN)

    assert (change.granted, change.revoked) == ([INCENTIVES], [])
    assert roles_of(csp.member) == {REFERRALS, INCENTIVES}
    assert RoleAssignment.objects.get(user=csp.member, role__key=INCENTIVES).granted_by == (
        csp.account_admin
    )
    assert [event_as_dict(event) for event in events_after(mark)] == [
        done(
            AuditAction.ROLE_GRANTED,
            actor=csp.account_admin,
            target=csp.member,
            organization=csp.organization,
            after={"role": "Incentives admin"},
        )
    ]


def test_it_revokes_one_role(csp):
    mark = last_event_id()

    change = role_services.revoke_role(csp.user_admin, csp.billing_admin, BILLING, origin=ORIGIN)

    assert (change.granted, change.revoked) == ([], [BILLING])
    assert roles_of(csp.billing_admin) == set()
    assert [event_as_dict(event) for event in events_after(mark)] == [
        done(
            AuditAction.ROLE_REVOKED,
            actor=csp.user_admin,
            target=csp.billing_admin,
            organization=csp.organization,
            after={"role": "Billing admin"},
        )
    ]


def test_it_grants_a_role_already_held_as_a_no_op(csp):
    mark = last_event_id()

    change = role_services.grant_role(csp.global_admin, csp.member, REFERRALS, origin=ORIGIN)

    assert not change
    assert events_after(mark) == []


def test_it_lets_a_global_admin_grant_and_revoke_global_admin(csp):
    role_services.grant_role(csp.global_admin, csp.member, GA, origin=ORIGIN)
    assert GA in roles_of(csp.member)
    role_services.revoke_role(csp.global_admin, csp.second_global_admin, GA, origin=ORIGIN)

    assert roles_of(csp.second_global_admin) == set()


def test_support_staff_revoke_global_admin_but_only_ask_to_grant_it(csp, support):
    # DOMAIN.md rule 12: their grant takes effect when a second support staff member approves.
    role_services.revoke_role(support, csp.second_global_admin, GA, origin=ORIGIN)
    assert roles_of(csp.second_global_admin) == set()

    with pytest.raises(RuleRefused, match="second support staff member approves"):
        role_services.grant_role(support, csp.member, GA, origin=ORIGIN)
    with pytest.raises(RuleRefused, match="second support staff member approves"):
        add_user(support, csp.organization, role_keys=[GA])

    assert GA not in roles_of(csp.member)
    assert not User.objects.filter(organization=csp.organization, created_by=support).exists()
    refusals = AuditEvent.objects.refused().filter(actor=support, action=AuditAction.ROLE_GRANTED)
    assert [event.after for event in refusals] == [{"role": GA}, {"role": GA}]


@pytest.mark.parametrize(
    ("actor", "role_key"),
    [
        ("user_admin", UMA),
        ("user_admin", BILLING),
        ("user_admin", ACCOUNT_ADMIN),
        ("account_admin", ACCOUNT_ADMIN),
        ("account_admin", MPN_ADMIN),
        ("account_admin", INCENTIVES),
    ],
)
def test_it_lets_admins_grant_and_revoke_the_roles_below_them(csp, actor, role_key):
    admin = getattr(csp, actor)

    role_services.grant_role(admin, csp.member, role_key, origin=ORIGIN)
    assert role_key in roles_of(csp.member)
    role_services.revoke_role(admin, csp.member, role_key, origin=ORIGIN)

    assert roles_of(csp.member) == {REFERRALS}


def test_it_makes_the_callers_target_instance_forget_its_old_roles(csp):
    assert rules.held_roles(csp.member) == {REFERRALS}  # remembered, as a page would have

    role_services.grant_role(csp.global_admin, csp.member, INCENTIVES, origin=ORIGIN)

    assert rules.held_roles(csp.member) == {REFERRALS, INCENTIVES}


def test_it_lets_a_csp_only_role_held_in_a_non_csp_organization_be_revoked(non_csp):
    stranded = UserFactory(organization=non_csp.organization, roles=[BILLING])

    role_services.revoke_role(non_csp.global_admin, stranded, BILLING, origin=ORIGIN)

    assert roles_of(stranded) == set()


# Refusals: RuleRefused, nothing changed, exactly one refused audit event.


class People:
    """The cast fixtures a case names (csp, non_csp, outsider, support), built when first named."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request

    def __getattr__(self, fixture: str) -> Cast | User:
        return self._request.getfixturevalue(fixture)


@pytest.fixture
def people(request: pytest.FixtureRequest, db: None) -> People:
    return People(request)


@dataclass(frozen=True)
class Attempt:
    call: Callable[[], object]
    actor: User
    organization: PartnerOrganization
    target: User | None = None
    detail: dict | None = None


def creating(actor: User, organization: PartnerOrganization, *roles: str) -> Attempt:
    return Attempt(
        lambda: add_user(actor, organization, email="new.person@contoso.example", role_keys=roles),
        actor,
        organization,
        detail={"role": roles[-1]} if roles else None,
    )


def editing(actor: User, target: User) -> Attempt:
    return Attempt(
        lambda: services.update_user_details(
            actor, target, first_name="Changed", last_name="Name", email=target.email, origin=ORIGIN
        ),
        actor,
        target.organization,
        target,
    )


def on_user(service: Callable[..., object], actor: User, target: User) -> Attempt:
    return Attempt(
        lambda: service(actor, target, origin=ORIGIN), actor, target.organization, target
    )


def on_role(
    service: Callable[..., object],
    actor: User,
    target: User,
    role_key: str | list[str],
    refused_key: str | None = None,
) -> Attempt:
    """A role change; refused_key is the role refused, when role_key is change_roles' list."""
    refused_key = refused_key or role_key
    return Attempt(
        lambda: service(actor, target, role_key, origin=ORIGIN),
        actor,
        target.organization,
        target,
        detail={"role": refused_key} if refused_key else None,
    )


def only_one_global_admin(cast: Cast) -> Cast:
    RoleAssignment.objects.filter(user=cast.second_global_admin).delete()
    return cast


def second_global_admin_deactivated(cast: Cast) -> Cast:
    User.objects.filter(pk=cast.second_global_admin.pk).update(is_active=False)
    return cast


def deactivated_a_moment_ago(user: User) -> User:
    # The instance the request loaded still says active; the database says otherwise.
    User.objects.filter(pk=user.pk).update(is_active=False)
    return user


def demoted_a_moment_ago(user: User) -> User:
    assert rules.held_roles(user)  # remembered on the instance, as during a request
    RoleAssignment.objects.filter(user=user).delete()
    return user


CREATED, EDITED = AuditAction.USER_CREATED, AuditAction.USER_EDITED
DEACTIVATED, REACTIVATED = AuditAction.USER_DEACTIVATED, AuditAction.USER_REACTIVATED
DELETED, RESET = AuditAction.USER_DELETED, AuditAction.PASSWORD_RESET
GRANTED, REVOKED = AuditAction.ROLE_GRANTED, AuditAction.ROLE_REVOKED
S, R = services, role_services

# (attempt, the action recorded, a phrase of the reason)
REFUSALS: dict[str, tuple[Callable[[People], Attempt], str, str]] = {
    # Wrong role
    "account admin adds a user": (
        lambda p: creating(p.csp.account_admin, p.csp.organization),
        CREATED,
        "can add users",
    ),
    "MPN admin adds a user": (
        lambda p: creating(p.csp.mpn_admin, p.csp.organization),
        CREATED,
        "can add users",
    ),
    "member adds a user": (
        lambda p: creating(p.csp.member, p.csp.organization),
        CREATED,
        "can add users",
    ),
    "user admin role unlocks nothing in non-CSP": (
        lambda p: creating(
            UserFactory(organization=p.non_csp.organization, roles=[UMA]), p.non_csp.organization
        ),
        CREATED,
        "can add users",
    ),
    "user admin adds a Global admin": (
        lambda p: creating(p.csp.user_admin, p.csp.organization, REFERRALS, GA),
        GRANTED,
        "Only a Global admin can grant or revoke Global admin",
    ),
    "account admin edits": (lambda p: editing(p.csp.account_admin, p.csp.member), EDITED, "edit"),
    "user admin edits a Global admin": (
        lambda p: editing(p.csp.user_admin, p.csp.global_admin),
        EDITED,
        "holds Global admin",
    ),
    "MPN admin deactivates": (
        lambda p: on_user(S.deactivate_user, p.csp.mpn_admin, p.csp.member),
        DEACTIVATED,
        "deactivate users",
    ),
    "user admin deactivates a Global admin": (
        lambda p: on_user(S.deactivate_user, p.csp.user_admin, p.csp.second_global_admin),
        DEACTIVATED,
        "holds Global admin",
    ),
    "account admin reactivates": (
        lambda p: on_user(
            S.reactivate_user, p.csp.account_admin, deactivated_a_moment_ago(p.csp.member)
        ),
        REACTIVATED,
        "reactivate users",
    ),
    "billing admin deletes": (
        lambda p: on_user(S.delete_user, p.csp.billing_admin, p.csp.member),
        DELETED,
        "delete users",
    ),
    "user admin deletes a Global admin": (
        lambda p: on_user(S.delete_user, p.csp.user_admin, p.csp.global_admin),
        DELETED,
        "holds Global admin",
    ),
    "user admin resets a password": (
        lambda p: on_user(S.reset_password, p.csp.user_admin, p.csp.member),
        RESET,
        "Only a Global admin can reset passwords",
    ),
    "support staff resets a password": (
        lambda p: on_user(S.reset_password, p.support, p.csp.member),
        RESET,
        "reset passwords",
    ),
    "account admin grants a directory role": (
        lambda p: on_role(R.grant_role, p.csp.account_admin, p.csp.member, BILLING),
        GRANTED,
        "can grant or revoke Billing admin",
    ),
    "MPN admin grants a membership role": (
        lambda p: on_role(R.grant_role, p.csp.mpn_admin, p.csp.member, INCENTIVES),
        GRANTED,
        "can grant or revoke Incentives admin",
    ),
    "user admin revokes Global admin": (
        lambda p: on_role(R.revoke_role, p.csp.user_admin, p.csp.second_global_admin, GA),
        REVOKED,
        "Global admin",
    ),
    "user admin grants a membership role to a Global admin": (
        lambda p: on_role(R.grant_role, p.csp.user_admin, p.csp.global_admin, REFERRALS),
        GRANTED,
        "roles of a Global admin",
    ),
    # Another organization
    "outsider adds a user": (
        lambda p: creating(p.outsider, p.csp.organization),
        CREATED,
        "another organization",
    ),
    "outsider edits": (
        lambda p: editing(p.outsider, p.csp.member),
        EDITED,
        "not in your organization",
    ),
    "outsider deactivates": (
        lambda p: on_user(S.deactivate_user, p.outsider, p.csp.member),
        DEACTIVATED,
        "not in your organization",
    ),
    "outsider deletes": (
        lambda p: on_user(S.delete_user, p.outsider, p.csp.member),
        DELETED,
        "not in your organization",
    ),
    "outsider resets a password": (
        lambda p: on_user(S.reset_password, p.outsider, p.csp.member),
        RESET,
        "not in your organization",
    ),
    "outsider grants a role": (
        lambda p: on_role(R.grant_role, p.outsider, p.csp.member, INCENTIVES),
        GRANTED,
        "not in your organization",
    ),
    "outsider revokes a role": (
        lambda p: on_role(R.revoke_role, p.outsider, p.csp.member, REFERRALS),
        REVOKED,
        "not in your organization",
    ),
    # Oneself
    "Global admin revokes own Global admin": (
        lambda p: on_role(R.revoke_role, p.csp.global_admin, p.csp.global_admin, GA),
        REVOKED,
        "own roles",
    ),
    "user admin grants self a role": (
        lambda p: on_role(R.grant_role, p.csp.user_admin, p.csp.user_admin, BILLING),
        GRANTED,
        "own roles",
    ),
    "account admin changes own roles": (
        lambda p: on_role(
            R.change_roles, p.csp.account_admin, p.csp.account_admin, [], ACCOUNT_ADMIN
        ),
        REVOKED,
        "own roles",
    ),
    "Global admin deactivates self": (
        lambda p: on_user(S.deactivate_user, p.csp.global_admin, p.csp.global_admin),
        DEACTIVATED,
        "your own account",
    ),
    "Global admin deletes self": (
        lambda p: on_user(S.delete_user, p.csp.global_admin, p.csp.global_admin),
        DELETED,
        "your own account",
    ),
    "Global admin resets own password": (
        lambda p: on_user(S.reset_password, p.csp.global_admin, p.csp.global_admin),
        RESET,
        "My profile",
    ),
    # The last active Global admin
    "deactivate the last Global admin": (
        lambda p: on_user(S.deactivate_user, p.support, only_one_global_admin(p.csp).global_admin),
        DEACTIVATED,
        rules.LAST_GLOBAL_ADMIN,
    ),
    "delete the last Global admin": (
        lambda p: on_user(S.delete_user, p.support, only_one_global_admin(p.csp).global_admin),
        DELETED,
        rules.LAST_GLOBAL_ADMIN,
    ),
    "revoke the last Global admin": (
        lambda p: on_role(
            R.revoke_role, p.support, only_one_global_admin(p.non_csp).global_admin, GA
        ),
        REVOKED,
        rules.LAST_GLOBAL_ADMIN,
    ),
    "revoke the last active Global admin": (
        lambda p: on_role(
            R.revoke_role, p.support, second_global_admin_deactivated(p.csp).global_admin, GA
        ),
        REVOKED,
        rules.LAST_GLOBAL_ADMIN,
    ),
    "change_roles takes the last Global admin's away": (
        lambda p: on_role(
            R.change_roles,
            p.support,
            only_one_global_admin(p.csp).global_admin,
            [REFERRALS],
            GA,
        ),
        REVOKED,
        rules.LAST_GLOBAL_ADMIN,
    ),
    # CSP-only roles in a non-CSP organization
    "non-CSP Global admin adds a user with a CSP role": (
        lambda p: creating(p.non_csp.global_admin, p.non_csp.organization, BILLING),
        GRANTED,
        "CSP role",
    ),
    "non-CSP Global admin grants User management admin": (
        lambda p: on_role(R.grant_role, p.non_csp.global_admin, p.non_csp.member, UMA),
        GRANTED,
        "CSP role",
    ),
    "support staff grants a CSP role in non-CSP": (
        lambda p: on_role(R.grant_role, p.support, p.non_csp.member, BILLING),
        GRANTED,
        "CSP role",
    ),
    # Unknown role keys
    "add a user with an unknown role": (
        lambda p: creating(p.csp.global_admin, p.csp.organization, "superhero"),
        GRANTED,
        "no such role",
    ),
    "grant an unknown role": (
        lambda p: on_role(R.grant_role, p.csp.global_admin, p.csp.member, "superhero"),
        GRANTED,
        "no such role",
    ),
    # The actor lost their power a moment ago, after their request loaded them
    "deactivated admin adds a user": (
        lambda p: creating(deactivated_a_moment_ago(p.csp.global_admin), p.csp.organization),
        CREATED,
        "Sign in",
    ),
    "demoted user admin adds a user": (
        lambda p: creating(demoted_a_moment_ago(p.csp.user_admin), p.csp.organization),
        CREATED,
        "can add users",
    ),
    # Support staff are managed in the admin, by nobody's role
    "Global admin edits support staff": (
        lambda p: editing(p.csp.global_admin, p.support),
        EDITED,
        "Support staff accounts are not managed here",
    ),
    "Global admin grants a role to support staff": (
        lambda p: on_role(R.grant_role, p.csp.global_admin, p.support, REFERRALS),
        GRANTED,
        "Support staff accounts are not managed here",
    ),
}


def refusal_cases() -> list:
    return [
        pytest.param(
            attempt,
            action,
            reason,
            id=name,
        )
        for name, (attempt, action, reason) in REFUSALS.items()
    ]


@pytest.mark.parametrize(("attempt", "action", "reason"), refusal_cases())
def test_it_refuses_and_changes_nothing_but_the_audit_trail(people, attempt, action, reason):
    tried = attempt(people)
    before = database_state()
    mark = last_event_id()

    with pytest.raises(RuleRefused) as refusal:
        tried.call()

    assert database_state() == before
    assert reason in refusal.value.reason
    [event] = events_after(mark)
    target = tried.target
    assert event_as_dict(event) == {
        "action": action,
        "outcome": AuditOutcome.REFUSED,
        "reason": refusal.value.reason,
        "actor": tried.actor.pk,
        "actor_label": str(tried.actor),
        "target": target.pk if target is not None else None,
        "target_label": str(target) if target is not None else "new.person@contoso.example",
        "organization": tried.organization.pk if tried.organization is not None else None,
        "before": {},
        "after": tried.detail or {},
        "ip_address": ORIGIN.ip_address,
        "user_agent": ORIGIN.user_agent,
    }


def test_a_refusal_is_a_permission_denied():
    assert issubclass(RuleRefused, PermissionDenied)


# All or nothing


def test_it_changes_no_role_when_one_of_the_grants_is_refused(csp):
    before = database_state()
    mark = last_event_id()

    with pytest.raises(RuleRefused):
        role_services.change_roles(
            csp.account_admin, csp.member, [REFERRALS, INCENTIVES, BILLING], origin=ORIGIN
        )

    assert database_state() == before
    assert roles_of(csp.member) == {REFERRALS}
    [event] = events_after(mark)
    assert (event.action, event.outcome, event.after) == (
        AuditAction.ROLE_GRANTED,
        AuditOutcome.REFUSED,
        {"role": BILLING},
    )


def test_it_changes_no_role_when_one_of_the_revocations_is_refused(csp):
    target = UserFactory(organization=csp.organization, roles=[BILLING])
    before = database_state()
    mark = last_event_id()

    with pytest.raises(RuleRefused):
        role_services.change_roles(csp.account_admin, target, [INCENTIVES], origin=ORIGIN)

    assert database_state() == before
    [event] = events_after(mark)
    assert (event.action, event.outcome, event.after) == (
        AuditAction.ROLE_REVOKED,
        AuditOutcome.REFUSED,
        {"role": BILLING},
    )


def test_it_creates_no_user_when_one_of_the_roles_is_refused(csp):
    before = database_state()

    with pytest.raises(RuleRefused):
        add_user(csp.account_admin, csp.organization, role_keys=[REFERRALS])
    with pytest.raises(RuleRefused):
        add_user(csp.user_admin, csp.organization, role_keys=[REFERRALS, GA])

    assert database_state() == before
    assert not User.objects.with_email("jane.doe@contoso.example").exists()


# One transaction: a change cannot happen without its audit record.

CHANGES: dict[str, Callable[[Cast], object]] = {
    "create_user": lambda c: add_user(c.global_admin, c.organization, role_keys=[REFERRALS]),
    "update_user_details": lambda c: services.update_user_details(
        c.global_admin, c.member, first_name="New", last_name="Name", email="n@x.example"
    ),
    "deactivate_user": lambda c: services.deactivate_user(c.global_admin, c.member),
    "delete_user": lambda c: services.delete_user(c.global_admin, c.member),
    "reset_password": lambda c: services.reset_password(c.global_admin, c.member),
    "change_roles": lambda c: role_services.change_roles(c.global_admin, c.member, [BILLING]),
    "grant_role": lambda c: role_services.grant_role(c.global_admin, c.member, INCENTIVES),
    "revoke_role": lambda c: role_services.revoke_role(c.global_admin, c.member, REFERRALS),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_it_rolls_the_change_back_when_its_audit_record_cannot_be_written(csp, monkeypatch, change):
    def audit_store_down(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit trail is unavailable")

    before = database_state()
    mark = last_event_id()
    monkeypatch.setattr(audit, "record", audit_store_down)

    with pytest.raises(RuntimeError):
        change(csp)

    assert database_state() == before
    assert events_after(mark) == []


@pytest.mark.parametrize(
    ("field", "value"), [("first_name", "x" * 151), ("last_name", "y" * 151), ("first_name", "")]
)
def test_editing_details_checks_what_it_writes_and_writes_nothing_wrong(csp, field, value):
    details = {"first_name": "Kept", "last_name": "Name", "email": csp.member.email, field: value}
    with pytest.raises(ValidationError) as refused:
        services.update_user_details(csp.global_admin, csp.member, **details)
    assert field in refused.value.message_dict
    csp.member.refresh_from_db()
    assert csp.member.first_name != "Kept"
    assert not AuditEvent.objects.filter(
        action=AuditAction.USER_EDITED, outcome=AuditOutcome.DONE
    ).exists()


def test_editing_details_asks_nothing_of_the_fields_it_does_not_write(csp):
    # The organization, the creator and the public id are as stored: validating them again
    # asked the database whether each exists (SELECT 1 ...), three questions per edit.
    with CaptureQueriesContext(connection) as queries:
        services.update_user_details(
            csp.global_admin, csp.member, first_name="New", last_name="Name", email=csp.member.email
        )
    assert not [query for query in queries if query["sql"].startswith('SELECT 1 AS "a"')]
    csp.member.refresh_from_db()
    assert csp.member.get_full_name() == "New Name"
