"""Services decide on the state under the organization's lock, not on the state a page saw.

A page loads the actor and the target, asks the rulebook (which remembers the roles it read on
the instances) and calls a service with those instances. Meanwhile another request may have
deactivated, demoted or deleted either of them. Every service takes the organization's lock,
reads the actor and the target again and asks the rulebook again: these tests hand it the
page's stale instances and expect the refusal that the current state calls for.

On SQLite a stale instance shows the re-read. On PostgreSQL the last tests also make the
interleaving itself happen, deterministically: a second connection holds the lock and changes
the actor, the service waits for the lock, and only then does the second connection commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connections, transaction

from accounts import services
from accounts.models import AuditEvent, AuditOutcome, PartnerOrganization, ProgramType, User
from roles import rules
from roles import services as role_services
from roles.catalogue import RoleKey
from roles.models import GlobalAdminGrantRequest, GrantRequestStatus, Role, RoleAssignment
from roles.rules import Action, RuleRefused
from tests.conftest import Cast
from tests.factories import OrganizationFactory, SupportStaffFactory, UserFactory
from tests.locks import wait_until_a_query_waits_for_a_lock

GA = RoleKey.GLOBAL_ADMIN


def as_the_page_saw_it(user: User) -> User:
    """A fresh instance of the user with their roles remembered, as after a page's checks."""
    instance = User.objects.select_related("organization").get(pk=user.pk)
    rules.held_roles(instance)
    rules.is_last_active_global_admin(instance)
    return instance


def invited(organization: PartnerOrganization) -> User:
    return UserFactory(organization=organization, password="!not-set-yet")


def deactivated(organization: PartnerOrganization) -> User:
    return UserFactory(organization=organization, is_active=False)


def refused_events() -> int:
    return AuditEvent.objects.filter(outcome=AuditOutcome.REFUSED).count()


def done_events() -> int:
    return AuditEvent.objects.filter(outcome=AuditOutcome.DONE).count()


# Each partner admin's service, called by `actor` on a fitting user of the cast's organization.
PARTNER_SERVICES: dict[str, Callable[[User, Cast], object]] = {
    "create_user": lambda actor, cast: services.create_user(
        actor,
        organization=cast.organization,
        first_name="New",
        last_name="Person",
        email="new.person@contoso.example",
    ),
    "update_user_details": lambda actor, cast: services.update_user_details(
        actor, cast.member, first_name="Renamed", last_name="Person", email=cast.member.email
    ),
    "deactivate_user": lambda actor, cast: services.deactivate_user(actor, cast.member),
    "reactivate_user": lambda actor, cast: services.reactivate_user(
        actor, deactivated(cast.organization)
    ),
    "delete_user": lambda actor, cast: services.delete_user(actor, cast.member),
    "reset_password": lambda actor, cast: services.reset_password(actor, cast.member),
    "resend_invitation": lambda actor, cast: services.resend_invitation(
        actor, invited(cast.organization)
    ),
    "grant_role": lambda actor, cast: role_services.grant_role(
        actor, cast.member, RoleKey.INCENTIVES_ADMIN
    ),
    "revoke_role": lambda actor, cast: role_services.revoke_role(
        actor, cast.member, RoleKey.REFERRALS_ADMIN
    ),
}


def assert_refused_and_nothing_done(call: Callable[[], object], reason: str) -> None:
    refused_before, done_before = refused_events(), done_events()

    with pytest.raises(RuleRefused) as refusal:
        call()

    assert refusal.value.reason == reason
    assert done_events() == done_before
    assert refused_events() == refused_before + 1


# The actor, read again under the lock


@pytest.mark.parametrize("service", PARTNER_SERVICES)
def test_an_admin_deactivated_since_the_page_acts_no_more(csp: Cast, service: str):
    actor = as_the_page_saw_it(csp.global_admin)
    User.objects.filter(pk=actor.pk).update(is_active=False)

    assert_refused_and_nothing_done(
        lambda: PARTNER_SERVICES[service](actor, csp), "Sign in to continue."
    )


@pytest.mark.parametrize("service", PARTNER_SERVICES)
def test_an_admin_demoted_since_the_page_acts_no_more(csp: Cast, service: str):
    actor = as_the_page_saw_it(csp.global_admin)
    assert rules.can_manage_user(actor, csp.member, Action.RESET_PASSWORD)  # what the page saw
    RoleAssignment.objects.filter(user=actor).delete()

    with pytest.raises(RuleRefused, match=r"^Only a "):
        PARTNER_SERVICES[service](actor, csp)


@pytest.mark.parametrize("service", PARTNER_SERVICES)
def test_an_admin_deleted_since_the_page_acts_no_more(csp: Cast, service: str):
    actor = as_the_page_saw_it(csp.global_admin)
    User.objects.filter(pk=actor.pk).delete()

    assert_refused_and_nothing_done(
        lambda: PARTNER_SERVICES[service](actor, csp), "Your account no longer exists."
    )


# Support staff's services, called by `actor`.
SUPPORT_SERVICES: dict[str, Callable[[User, Cast], object]] = {
    "request_global_admin": lambda actor, cast: role_services.request_global_admin(
        actor, cast.member
    ),
    "approve_global_admin_request": lambda actor, cast: role_services.approve_global_admin_request(
        actor, pending_request(cast)
    ),
    "reject_global_admin_request": lambda actor, cast: role_services.reject_global_admin_request(
        actor, pending_request(cast)
    ),
    "cancel_global_admin_request": lambda actor, cast: role_services.cancel_global_admin_request(
        actor, pending_request(cast, requested_by=actor)
    ),
    "create_organization": lambda actor, cast: services.create_organization(
        actor, name="Northwind", partner_id="7777777", program_type=ProgramType.NON_CSP
    ),
    "update_organization": lambda actor, cast: services.update_organization(
        actor,
        cast.organization,
        name="Contoso Renamed",
        partner_id=cast.organization.partner_id,
        program_type=cast.organization.program_type,
    ),
}


def pending_request(cast: Cast, requested_by: User | None = None) -> GlobalAdminGrantRequest:
    return GlobalAdminGrantRequest.objects.create(
        organization=cast.organization,
        user=cast.member,
        user_label=str(cast.member),
        requested_by=requested_by or SupportStaffFactory(),
    )


@pytest.mark.parametrize("service", SUPPORT_SERVICES)
def test_support_staff_deactivated_since_the_page_act_no_more(
    csp: Cast, support: User, service: str
):
    actor = User.objects.get(pk=support.pk)
    assert rules.is_support_staff(actor)  # what the page saw
    User.objects.filter(pk=actor.pk).update(is_active=False)
    done_before = done_events()

    with pytest.raises(RuleRefused):
        SUPPORT_SERVICES[service](actor, csp)

    assert done_events() == done_before
    assert not GlobalAdminGrantRequest.objects.exclude(status=GrantRequestStatus.PENDING).exists()
    assert not PartnerOrganization.objects.filter(
        name__in=["Northwind", "Contoso Renamed"]
    ).exists()


# The target, read again under the lock


@pytest.mark.parametrize(
    "service",
    ["update_user_details", "deactivate_user", "delete_user", "grant_role", "revoke_role"],
)
def test_a_user_made_global_admin_since_the_page_is_out_of_a_user_admins_reach(
    csp: Cast, service: str
):
    csp.member = as_the_page_saw_it(csp.member)
    page = rules.can_manage_user(csp.user_admin, csp.member, Action.DEACTIVATE_USER)
    assert page  # what the page saw
    role_services.grant_role(csp.global_admin, User.objects.get(pk=csp.member.pk), GA)

    with pytest.raises(RuleRefused, match=r"^Only a Global admin can change "):
        PARTNER_SERVICES[service](csp.user_admin, csp)


@pytest.mark.parametrize(
    "service",
    [
        "update_user_details",
        "deactivate_user",
        "delete_user",
        "reset_password",
        "grant_role",
        "revoke_role",
    ],
)
def test_a_user_deleted_since_the_page_is_not_written_to(csp: Cast, service: str):
    csp.member = as_the_page_saw_it(csp.member)
    User.objects.filter(pk=csp.member.pk).delete()

    assert_refused_and_nothing_done(
        lambda: PARTNER_SERVICES[service](csp.global_admin, csp), "This user no longer exists."
    )


def test_a_user_deactivated_since_the_page_is_not_deactivated_again(csp: Cast):
    target = as_the_page_saw_it(csp.member)
    services.deactivate_user(csp.global_admin, User.objects.get(pk=target.pk))

    assert_refused_and_nothing_done(
        lambda: services.deactivate_user(csp.second_global_admin, target),
        "This user is already deactivated.",
    )


def test_an_invitation_is_not_resent_to_a_user_who_set_a_password_since_the_page(csp: Cast):
    target = as_the_page_saw_it(invited(csp.organization))
    assert rules.can_resend_invitation(csp.global_admin, target)  # what the page saw
    fresh = User.objects.get(pk=target.pk)
    fresh.set_password("chosen-by-themselves")
    fresh.save(update_fields=["password"])

    assert_refused_and_nothing_done(
        lambda: services.resend_invitation(csp.global_admin, target),
        "This user has already set a password.",
    )
    assert User.objects.get(pk=target.pk).check_password("chosen-by-themselves")


def test_the_last_global_admin_seen_as_one_of_two_is_kept(csp: Cast, support: User):
    # The page saw two Global admins; the other was deactivated since.
    target = as_the_page_saw_it(csp.second_global_admin)
    assert not rules.is_last_active_global_admin(target)
    services.deactivate_user(csp.second_global_admin, User.objects.get(pk=csp.global_admin.pk))

    for remove in (
        lambda: services.deactivate_user(support, target),
        lambda: services.delete_user(support, target),
        lambda: role_services.revoke_role(support, target, GA),
    ):
        assert_refused_and_nothing_done(remove, rules.LAST_GLOBAL_ADMIN)


# PostgreSQL: the interleaving itself, made to happen in one order


def while_another_request_holds_the_lock(
    organization_id: int, change: Callable[[], object], service: Callable[[], object]
) -> object:
    """Run `service` while another connection holds the organization's row lock and makes
    `change`; that connection commits only once `service` waits for the lock. Returns what
    the service returned or raised."""
    locked, result = threading.Event(), {}

    def other_request() -> None:
        try:
            with transaction.atomic():
                PartnerOrganization.objects.select_for_update().get(pk=organization_id)
                change()
                locked.set()
                wait_until_a_query_waits_for_a_lock()
        finally:
            locked.set()
            connections.close_all()

    def this_request() -> None:
        try:
            result["value"] = service()
        except Exception as error:  # the test inspects what the service raised
            result["value"] = error
        finally:
            connections.close_all()

    other = threading.Thread(target=other_request)
    other.start()
    assert locked.wait(timeout=10)
    this = threading.Thread(target=this_request)
    this.start()
    this.join(timeout=30)
    other.join(timeout=30)
    assert not this.is_alive(), "the service is stuck"
    assert not other.is_alive(), "the other request is stuck"
    return result["value"]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("what_happens", "reason"),
    [("deactivated", "Sign in to continue."), ("demoted", None)],
)
def test_an_admin_changed_while_their_request_waits_for_the_lock_is_refused(
    what_happens: str, reason: str | None
):
    cast_organization = OrganizationFactory()
    admin = UserFactory(organization=cast_organization, roles=[GA])
    UserFactory(organization=cast_organization, roles=[GA])
    member = UserFactory(organization=cast_organization, roles=[RoleKey.REFERRALS_ADMIN])
    page_admin = as_the_page_saw_it(admin)
    assert rules.can_manage_user(page_admin, member, Action.DEACTIVATE_USER)

    def change() -> None:
        if what_happens == "deactivated":
            User.objects.filter(pk=admin.pk).update(is_active=False)
        else:
            RoleAssignment.objects.filter(user=admin).delete()

    outcome = while_another_request_holds_the_lock(
        cast_organization.pk, change, lambda: services.deactivate_user(page_admin, member)
    )

    assert isinstance(outcome, RuleRefused), outcome
    if reason:
        assert outcome.reason == reason
    assert User.objects.get(pk=member.pk).is_active


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_user_made_global_admin_while_the_request_waits_for_the_lock_is_out_of_reach():
    organization = OrganizationFactory()
    UserFactory(organization=organization, roles=[GA])
    user_admin = UserFactory(organization=organization, roles=[RoleKey.USER_MANAGEMENT_ADMIN])
    target = as_the_page_saw_it(UserFactory(organization=organization))
    ga_role = Role.objects.get(key=GA)

    outcome = while_another_request_holds_the_lock(
        organization.pk,
        lambda: RoleAssignment.objects.create(user_id=target.pk, role=ga_role),
        lambda: services.deactivate_user(user_admin, target),
    )

    assert isinstance(outcome, RuleRefused), outcome
    assert outcome.reason == "Only a Global admin can change a user who holds Global admin."
    assert User.objects.get(pk=target.pk).is_active


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_an_email_taken_while_a_change_is_saved_gives_the_ordinary_message():
    # Another organization's request takes the email after this one looked (its row is not
    # committed yet, so the look finds nothing) and commits once this one waits on the unique
    # index: the database refuses the second, and the admin reads "already exists", not a 500.
    ours, theirs = OrganizationFactory(), OrganizationFactory()
    admin = UserFactory(organization=ours, roles=[GA])
    member = UserFactory(organization=ours)
    inserted = threading.Event()

    def other_request() -> None:
        try:
            with transaction.atomic():
                UserFactory(organization=theirs, email="taken@contoso.example")
                inserted.set()
                wait_until_a_query_waits_for_a_lock()
        finally:
            inserted.set()
            connections.close_all()

    other = threading.Thread(target=other_request)
    other.start()
    assert inserted.wait(timeout=10)
    try:
        with pytest.raises(services.EmailInUse):
            services.update_user_details(
                admin,
                member,
                first_name=member.first_name,
                last_name=member.last_name,
                email="taken@contoso.example",
            )
    finally:
        other.join(timeout=30)

    assert User.objects.get(pk=member.pk).email == member.email
    assert User.objects.get(email="taken@contoso.example").organization == theirs
