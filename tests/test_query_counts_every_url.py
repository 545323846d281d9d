"""Every URL of the permission table costs the same number of queries with 10 users and audit
events as with 200, for the visitor the table allows and the one it refuses; the directory, a
user's page and the audit log cost at most MAX_QUERIES.

Driven by tests.test_permission_table.TABLE: a URL added there (and every URL must be) is walked
here too. The 200 users are inserted in bulk with one shared password hash, their roles and
the audit events in a few queries.
"""

from __future__ import annotations

from itertools import cycle

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import audit
from accounts.models import AuditAction, AuditEvent, AuditOutcome, User
from roles.catalogue import CATALOGUE, RoleKey
from roles.models import Role, RoleAssignment
from tests.conftest import Cast, make_cast
from tests.factories import OrganizationFactory, UserFactory, _PasswordHash
from tests.test_permission_table import (
    ALLOWED,
    FORBIDDEN,
    TABLE,
    TOO_LOW,
    Row,
    api_visitor,
    prepared,
)

FEW, MANY = 10, 200
# Session, the signed-in user, their roles, then the page's own: a count, the page's rows,
# their roles.
MAX_QUERIES = 6
BOUNDED = {"directory", "user_detail", "audit_log"}


def populated_cast(extra: int) -> Cast:
    """A CSP organization's cast, `extra` more users holding the catalogue's roles in turn
    (Global admin aside: an organization keeps a few), and `extra` audit events about them."""
    cast = make_cast(OrganizationFactory())
    password = _PasswordHash.get()
    prefix = f"org{cast.organization.pk}"
    users = User.objects.bulk_create(
        User(
            organization=cast.organization,
            first_name="Listed",
            last_name=f"Person {number}",
            email=f"{prefix}.listed{number}@example.com",
            password=password,
        )
        for number in range(extra)
    )
    roles = cycle(
        Role.objects.filter(key__in=[spec.key for spec in CATALOGUE]).exclude(
            key=RoleKey.GLOBAL_ADMIN
        )
    )
    RoleAssignment.objects.bulk_create(
        RoleAssignment(user=user, role=next(roles), organization=cast.organization)
        for user in users
    )
    audit.record_batch_values(
        [
            audit.event_values(
                cast.global_admin,
                AuditAction.USER_EDITED,
                organization=cast.organization,
                outcome=AuditOutcome.DONE,
                target_id=user.pk,
                target_label=str(user),
                before={"last_name": "Before"},
                after={"last_name": user.last_name},
            )
            for user in users
        ]
    )
    return cast


def queries(row: Row, kind: str, extra: int) -> tuple[int, int]:
    """(queries, status) of one request of the row, as the visitor, in a fresh organization."""
    cast = populated_cast(extra)
    _target, url, body = prepared(row, cast, kind)
    # The rows that add a person add the same address each time: the run before's is gone.
    User.objects.filter(email="new.person@example.com").delete()
    if row.api:
        caller = api_visitor(cast, None, row, kind)
        with CaptureQueriesContext(connection) as captured:
            response = caller.call(row.method, url, body or None)
    else:
        client = Client()
        client.force_login(getattr(cast, row.allowed_role if kind == ALLOWED else row.too_low_role))
        with CaptureQueriesContext(connection) as captured:
            response = getattr(client, row.method)(url, body, headers=row.headers)
    return len(captured), response.status_code


def cases() -> list:
    return [
        pytest.param(row, kind, id=f"{row.label} as {kind} ({row.allowed_role})")
        for row in TABLE
        for kind in (ALLOWED, TOO_LOW)
        # Rows whose visitors all get the same answer (anonymous pages, 405) are walked once.
        if kind == ALLOWED or row.expected[TOO_LOW] == FORBIDDEN
    ]


@pytest.mark.parametrize(("row", "kind"), cases())
def test_every_url_costs_the_same_with_10_or_200_users_and_events(db, row, kind):
    # A first organization fills the per-process caches (content types, the role catalogue).
    queries(row, kind, FEW)

    few, few_status = queries(row, kind, FEW)
    many, many_status = queries(row, kind, MANY)

    assert few_status == many_status == row.expected[kind]
    assert few == many
    if row.name in BOUNDED and kind == ALLOWED and row.method == "get":
        assert many <= MAX_QUERIES


def test_the_populated_organization_holds_what_it_says(db):
    cast = populated_cast(MANY)

    assert User.objects.in_organization(cast.organization).count() == MANY + 7
    assert AuditEvent.objects.in_organization(cast.organization).count() == MANY
    assert RoleAssignment.objects.in_organization(cast.organization).count() >= MANY
    # The copied organization of every assignment is its user's.
    assert not RoleAssignment.objects.exclude(organization=F("user__organization")).exists()


def test_a_user_of_another_organization_is_not_counted(db):
    other = UserFactory(organization=OrganizationFactory())
    cast = populated_cast(FEW)

    assert other not in User.objects.in_organization(cast.organization)
