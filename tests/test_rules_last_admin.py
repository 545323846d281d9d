"""Rule 4's question, "does another active Global admin remain?", asked as SQL
(rules.another_active_global_admin_exists) answers as the queryset that defines it
(rules.other_active_global_admins) in every case that decides it, in one query."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from roles import rules
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.conftest import Cast
from tests.factories import UserFactory


def _nothing(cast: Cast) -> None:
    pass


def _second_deactivated(cast: Cast) -> None:
    User.objects.filter(pk=cast.second_global_admin.pk).update(is_active=False)


def _second_demoted(cast: Cast) -> None:
    RoleAssignment.objects.filter(
        user=cast.second_global_admin, role__key=RoleKey.GLOBAL_ADMIN
    ).delete()


def _second_demoted_and_a_third_named(cast: Cast) -> None:
    _second_demoted(cast)
    UserFactory(organization=cast.organization, roles=[RoleKey.GLOBAL_ADMIN])


def _second_demoted_and_a_deactivated_third(cast: Cast) -> None:
    _second_demoted(cast)
    UserFactory(organization=cast.organization, roles=[RoleKey.GLOBAL_ADMIN], is_active=False)


def _only_other_organizations_admins(cast: Cast) -> None:
    _second_demoted(cast)
    UserFactory(roles=[RoleKey.GLOBAL_ADMIN])  # a Global admin of another organization


CASES: list[tuple[str, Callable[[Cast], None], bool]] = [
    ("a second active Global admin", _nothing, True),
    ("the second deactivated", _second_deactivated, False),
    ("the second demoted", _second_demoted, False),
    ("the second demoted, a third named", _second_demoted_and_a_third_named, True),
    ("the second demoted, a deactivated third", _second_demoted_and_a_deactivated_third, False),
    ("only another organization's Global admin", _only_other_organizations_admins, False),
]


@pytest.mark.parametrize(("case", "arrange", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_sql_answers_as_the_queryset(csp, case, arrange, expected):
    arrange(csp)
    admin = csp.global_admin

    with CaptureQueriesContext(connection) as captured:
        answer = rules.another_active_global_admin_exists(admin.organization_id, admin.pk)

    assert answer is expected
    assert rules.other_active_global_admins(admin.organization_id, admin.pk).exists() is expected
    assert len(captured.captured_queries) == 1


def test_the_user_themselves_never_counts(csp):
    _second_demoted(csp)
    admin = csp.global_admin

    # The admin holds Global admin and is active: were they counted, they would not be last.
    assert not rules.another_active_global_admin_exists(admin.organization_id, admin.pk)
    # Asked for anyone else in the organization, the admin is the one who remains.
    assert rules.another_active_global_admin_exists(admin.organization_id, csp.member.pk)


def test_rule_4_asks_it_once_for_a_user_loaded_without_the_annotation(csp):
    _second_deactivated(csp)
    admin = User.objects.get(pk=csp.global_admin.pk)
    rules.held_roles(admin)  # the roles are another question

    with CaptureQueriesContext(connection) as captured:
        first = rules.is_last_active_global_admin(admin)
        again = rules.is_last_active_global_admin(admin)

    assert first
    assert again
    assert len(captured.captured_queries) == 1
