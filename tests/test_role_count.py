"""User.role_count, the database's count of each user's role assignments (migration accounts 0022):
right after every kind of statement that changes assignments, whoever runs it, and after a
write of a wrong count; on PostgreSQL also when two transactions change one user's roles."""

from __future__ import annotations

import importlib
import threading

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count, F

from accounts.models import PartnerOrganization, User
from jobs import user_imports
from jobs.testing import run_ready_jobs
from roles import services as roles_services
from roles.catalogue import RoleKey
from roles.models import Role, RoleAssignment
from tests.factories import UserFactory
from tests.jobs import checked_import
from tests.locks import wait_until_a_query_waits_for_a_lock

SALES, BILLING, HELPDESK = RoleKey.SALES_AGENT, RoleKey.BILLING_ADMIN, RoleKey.HELPDESK_AGENT


def _miscounted() -> list[tuple[str, int, int]]:
    """Every user whose stored count is not their assignments' number."""
    return [
        (user.email, user.role_count, user.held)
        for user in User.objects.annotate(held=Count("role_assignments")).exclude(
            role_count=F("held")
        )
    ]


def _role(key: str) -> Role:
    return Role.objects.get(key=key)


def _create(csp, user, other):
    RoleAssignment.objects.create(user=user, role=_role(SALES))


def _bulk_create(csp, user, other):
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(user=user, role=_role(key)) for key in (SALES, BILLING)]
        + [RoleAssignment(user=other, role=_role(SALES))]
    )


def _delete_one(csp, user, other):
    RoleAssignment.objects.filter(user=user, role__key=HELPDESK).delete()


def _delete_all_in_one_statement(csp, user, other):
    RoleAssignment.objects.filter(user__in=[user, other]).delete()


def _move_to_another_user(csp, user, other):
    RoleAssignment.objects.filter(user=user).update(user=other)


def _plain_sql(csp, user, other):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM roles_roleassignment WHERE user_id = %s", [user.pk])
        cursor.execute(
            "INSERT INTO roles_roleassignment (granted_at, role_id, user_id, organization_id) "
            "VALUES (CURRENT_TIMESTAMP, %s, %s, %s)",
            [_role(BILLING).pk, other.pk, other.organization_id],
        )


def _delete_the_user(csp, user, other):
    user.delete()


def _services_change_roles(csp, user, other):
    roles_services.change_roles(csp.global_admin, user, [SALES])


def _a_stale_copy_saved(csp, user, other):
    stale = User.objects.get(pk=user.pk)  # role_count 1 as read here
    RoleAssignment.objects.filter(user=user).delete()
    stale.first_name = "Renamed"
    stale.save()  # writes every column, the count read before the delete too


def _a_wrong_count_written(csp, user, other):
    User.objects.filter(pk__in=[user.pk, other.pk]).update(role_count=7)


@pytest.mark.parametrize(
    "change",
    [
        _create,
        _bulk_create,
        _delete_one,
        _delete_all_in_one_statement,
        _move_to_another_user,
        _plain_sql,
        _delete_the_user,
        _services_change_roles,
        _a_stale_copy_saved,
        _a_wrong_count_written,
    ],
)
def test_every_statement_leaves_each_users_count_right(csp, change):
    user = UserFactory(organization=csp.organization)
    other = UserFactory(organization=csp.organization)
    RoleAssignment.objects.create(user=user, role=_role(HELPDESK))
    assert User.objects.get(pk=user.pk).role_count == 1

    change(csp, user, other)

    assert _miscounted() == []


def test_a_new_user_holds_no_roles(db):
    assert UserFactory().role_count == 0
    assert User.objects.get().role_count == 0


@pytest.mark.django_db(transaction=True)
def test_the_import_writes_its_users_counted_and_a_wrong_count_is_corrected(csp, settings):
    settings.JOBS_IMPORT_PARTS = 1
    text = "First name,Last name,Email,Roles\r\n" + "".join(
        f"New,Person{n},new{n}@contoso.example,{roles}\r\n"
        for n, roles in enumerate(["Sales agent; Billing admin", "", "Sales agent"])
    )
    user_imports.confirm(checked_import(text, csp.global_admin), csp.global_admin)
    run_ready_jobs()

    added = dict(User.objects.filter(email__startswith="new").values_list("email", "role_count"))
    assert added == {
        "new0@contoso.example": 2,
        "new1@contoso.example": 0,
        "new2@contoso.example": 1,
    }
    assert _miscounted() == []

    # A user written with a count they do not hold is counted when the row is added (at commit
    # on PostgreSQL: this test commits every statement), and again by their assignments.
    user = UserFactory(organization=csp.organization, role_count=3)
    assert User.objects.get(pk=user.pk).role_count == 0
    RoleAssignment.objects.create(user=user, role=_role(SALES))
    assert User.objects.get(pk=user.pk).role_count == 1


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_import_writes_each_user_with_the_count_of_the_roles_it_assigns(csp, settings):
    """The count the import writes with each user is already right: with the triggers off,
    the counts are still every user's (so the triggers find nothing to write again)."""
    settings.JOBS_IMPORT_PARTS = 1
    text = "First name,Last name,Email,Roles\r\n" + "".join(
        f"New,Person{n},new{n}@contoso.example,{roles}\r\n"
        for n, roles in enumerate(["Sales agent; Billing admin", "", "Sales agent"])
    )
    user_import = checked_import(text, csp.global_admin)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE accounts_user DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE roles_roleassignment DISABLE TRIGGER USER")
    try:
        user_imports.confirm(user_import, csp.global_admin)
        run_ready_jobs()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE accounts_user ENABLE TRIGGER USER")
            cursor.execute("ALTER TABLE roles_roleassignment ENABLE TRIGGER USER")

    assert User.objects.filter(email__startswith="new").count() == 3
    assert _miscounted() == []


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_truncating_the_assignments_leaves_no_role_counted(csp):
    assert User.objects.filter(role_count__gt=0).exists()

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE roles_roleassignment CASCADE")

    assert not User.objects.filter(role_count__gt=0).exists()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_users_it_finds(csp):
    """Migration 0022's batches count every role holder (the column starts at 0 for all)."""
    migration = importlib.import_module("accounts.migrations.0022_user_role_count")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE accounts_user DISABLE TRIGGER USER")
        cursor.execute("UPDATE accounts_user SET role_count = 0")
        cursor.execute("ALTER TABLE accounts_user ENABLE TRIGGER USER")
    assert _miscounted() != []

    with connection.schema_editor(atomic=False) as editor:
        migration.count_existing(editor)

    assert _miscounted() == []


def test_the_no_role_filter_reads_the_count(csp):
    user = UserFactory(organization=csp.organization, first_name="Roleless")
    holder = UserFactory(organization=csp.organization, first_name="Roleless")
    RoleAssignment.objects.create(user=holder, role=_role(SALES))

    from accounts.filters import DirectoryFilter

    matches = DirectoryFilter(
        {"role": "none", "q": "roleless"}, queryset=User.objects.in_organization(csp.organization)
    ).qs
    assert list(matches) == [user]
    assert "role_count" in str(matches.query)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_transactions_removing_one_users_roles_leave_none_counted(csp):
    """The second transaction's count is taken after the first commits: it waits for the user's
    row before counting. (Counted without that wait, it would see the first one's role still
    there and write 1.)"""
    user = UserFactory(organization=csp.organization)
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(user=user, role=_role(key)) for key in (SALES, BILLING)]
    )
    assert User.objects.get(pk=user.pk).role_count == 2
    first_deleted, second_done = threading.Event(), threading.Event()
    first_may_commit = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                RoleAssignment.objects.filter(user=user, role__key=SALES).delete()
                first_deleted.set()
                first_may_commit.wait(10)
        except BaseException as error:  # reported by the assertions below
            errors.append(error)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_deleted.wait(10)
            with transaction.atomic():
                RoleAssignment.objects.filter(user=user, role__key=BILLING).delete()
        except BaseException as error:
            errors.append(error)
        finally:
            second_done.set()
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_deleted.wait(10)
    wait_until_a_query_waits_for_a_lock()
    first_may_commit.set()
    for thread in threads:
        thread.join(20)

    assert errors == []
    assert second_done.is_set()
    assert RoleAssignment.objects.filter(user=user).count() == 0
    assert User.objects.get(pk=user.pk).role_count == 0


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_new_recovery_codes_wait_for_the_organization_before_the_persons_row(csp):
    """A change to someone's roles holds the organization's lock and then locks their row (the
    count); their own change of recovery codes writes their row and records under the same
    lock. Taken person first, the two would wait for each other until PostgreSQL failed one."""
    from mfa import services as mfa_services

    member = UserFactory(organization=csp.organization)
    RoleAssignment.objects.create(user=member, role=_role(SALES))
    mfa_services.make_recovery_codes(member)  # the next ones replace them: sessions end
    holding, errors = threading.Event(), []

    def role_change() -> None:
        try:
            with transaction.atomic():
                PartnerOrganization.objects.select_for_update().get(pk=csp.organization.pk)
                holding.set()
                wait_until_a_query_waits_for_a_lock()
                RoleAssignment.objects.filter(user=member).delete()
        except BaseException as error:  # reported by the assertions below
            errors.append(error)
        finally:
            holding.set()
            connections.close_all()

    def new_codes() -> None:
        try:
            holding.wait(10)
            mfa_services.make_recovery_codes(User.objects.get(pk=member.pk))
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=role_change), threading.Thread(target=new_codes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert User.objects.get(pk=member.pk).role_count == 0
