"""The invariants of DOMAIN.md hold when requests race: real threads, real PostgreSQL.

Each thread has its own database connection and transaction, as two web requests would. A
barrier releases them together; the organization's row lock decides who goes first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from itertools import product

import pytest
from django.db import connection

from accounts import services
from accounts.models import User
from roles import rules
from roles import services as role_services
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.factories import OrganizationFactory, UserFactory

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True),
]

ROUNDS = 5


def at_once(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released together; each result is a value or the exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as error:  # the caller inspects what each thread raised
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results


def two_global_admins() -> tuple[User, User]:
    organization = OrganizationFactory()
    return (
        UserFactory(organization=organization, roles=[RoleKey.GLOBAL_ADMIN]),
        UserFactory(organization=organization, roles=[RoleKey.GLOBAL_ADMIN]),
    )


def active_global_admins(user: User) -> int:
    return RoleAssignment.objects.filter(
        role__key=RoleKey.GLOBAL_ADMIN,
        user__organization_id=user.organization_id,
        user__is_active=True,
    ).count()


def test_two_global_admins_revoking_each_other_leave_one():
    for _ in range(ROUNDS):
        first, second = two_global_admins()

        results = at_once(
            partial(role_services.revoke_role, first, second, RoleKey.GLOBAL_ADMIN),
            partial(role_services.revoke_role, second, first, RoleKey.GLOBAL_ADMIN),
        )

        refusals = [result for result in results if isinstance(result, rules.RuleRefused)]
        assert len(refusals) == 1, results
        # The second to take the lock is either no longer a Global admin, or is the last one.
        assert refusals[0].reason in {
            rules.LAST_GLOBAL_ADMIN,
            "Only a Global admin can change the roles of a Global admin.",
        }
        assert active_global_admins(first) == 1


# Every pairing of the three ways to take an organization's Global admin away.
REMOVALS: dict[str, Callable[[User, User], object]] = {
    "revoke": lambda actor, target: role_services.revoke_role(actor, target, RoleKey.GLOBAL_ADMIN),
    "deactivate": services.deactivate_user,
    "delete": services.delete_user,
}


@pytest.mark.parametrize(("first_does", "second_does"), list(product(REMOVALS, repeat=2)))
def test_any_interleaving_of_removals_keeps_an_active_global_admin(first_does, second_does):
    for _ in range(ROUNDS):
        first, second = two_global_admins()

        results = at_once(
            partial(REMOVALS[first_does], first, second),
            partial(REMOVALS[second_does], second, first),
        )

        assert sum(isinstance(result, rules.RuleRefused) for result in results) == 1, results
        assert active_global_admins(first) == 1


def test_two_creations_of_one_email_make_one_user():
    for round_ in range(ROUNDS):
        admin = UserFactory(roles=[RoleKey.GLOBAL_ADMIN])
        email = f"new.person.{round_}@example.com"

        add = partial(
            services.create_user,
            admin,
            organization=admin.organization,
            first_name="New",
            last_name="Person",
        )

        results = at_once(partial(add, email=email), partial(add, email=email.upper()))

        assert User.objects.with_email(email).count() == 1
        errors = [result for result in results if isinstance(result, services.EmailInUse)]
        assert len(errors) == 1, results
        assert str(errors[0]) == "A user with this email already exists."


def test_two_organizations_adding_one_email_make_one_user():
    # Different organizations take different locks: the unique index is what holds here.
    for round_ in range(ROUNDS):
        admins = [UserFactory(roles=[RoleKey.GLOBAL_ADMIN]) for _ in range(2)]
        email = f"shared.{round_}@example.com"

        results = at_once(
            *[
                partial(
                    services.create_user,
                    admin,
                    organization=admin.organization,
                    first_name="Shared",
                    last_name="Person",
                    email=email,
                )
                for admin in admins
            ]
        )

        assert User.objects.with_email(email).count() == 1
        assert sum(isinstance(result, services.EmailInUse) for result in results) == 1, results


def test_role_changes_to_one_user_do_not_undo_each_other():
    for _ in range(ROUNDS):
        admin, other_admin = two_global_admins()
        target = UserFactory(organization=admin.organization)

        at_once(
            partial(role_services.grant_role, admin, target, RoleKey.REFERRALS_ADMIN),
            partial(role_services.grant_role, other_admin, target, RoleKey.INCENTIVES_ADMIN),
        )

        held = set(RoleAssignment.objects.filter(user=target).values_list("role__key", flat=True))
        assert held == {RoleKey.REFERRALS_ADMIN, RoleKey.INCENTIVES_ADMIN}
