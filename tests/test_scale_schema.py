"""The schema that keeps pages fast at a million users: the organization copied onto each role
assignment, and the indexes the queries are written for (PostgreSQL's plans checked)."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from accounts.models import AuditEvent, User
from accounts.search import SQUEEZED_OUT
from roles import rules
from roles import services as roles_services
from roles.catalogue import RoleKey
from roles.models import Role, RoleAssignment
from tests.factories import OrganizationFactory, UserFactory

TRIGRAM_INDEXES = (
    "accounts_user_search_trgm",
    "accounts_user_org_search_trgm",
    "accounts_user_org_squeezed_trgm",
)


def test_an_assignment_takes_its_users_organization_however_it_is_made(db):
    organization = OrganizationFactory()
    user = UserFactory(organization=organization)
    role = Role.objects.get(key=RoleKey.SALES_AGENT)
    other = Role.objects.get(key=RoleKey.BILLING_ADMIN)
    third = Role.objects.get(key=RoleKey.HELPDESK_AGENT)

    saved = RoleAssignment.objects.create(user=user, role=role)
    by_id = RoleAssignment.objects.bulk_create([RoleAssignment(user_id=user.pk, role=other)])[0]
    by_user = RoleAssignment.objects.bulk_create([RoleAssignment(user=user, role=third)])[0]

    for assignment in (saved, by_id, by_user):
        assert assignment.organization_id == organization.pk
    assert set(RoleAssignment.objects.in_organization(organization)) == {saved, by_id, by_user}


def test_services_grant_roles_in_the_users_organization(csp):
    roles_services.change_roles(csp.global_admin, csp.member, [RoleKey.SALES_AGENT])

    assert RoleAssignment.objects.get(user=csp.member).organization == csp.organization


def test_the_last_global_admin_counts_only_the_organizations_assignments(csp, outsider):
    # Another organization's active Global admin does not keep ours from being the last.
    csp.second_global_admin.is_active = False
    csp.second_global_admin.save(update_fields=["is_active"])
    admin = User.objects.get(pk=csp.global_admin.pk)

    assert rules.is_last_active_global_admin(admin)
    assert outsider.organization_id != admin.organization_id


def _plan(queryset, *, bitmap_only: bool = False) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # The tables are tiny here: make the planner show what it can use, not what is cheapest.
        cursor.execute("SET LOCAL enable_seqscan = off")
        if bitmap_only:  # a GIN index is read by a bitmap scan only
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("SET LOCAL enable_indexonlyscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(line for (line,) in cursor.fetchall())


@pytest.mark.postgresql
def test_the_last_global_admin_check_reads_the_organization_role_index(csp):
    plan = _plan(rules.other_active_global_admins(csp.organization.pk, csp.global_admin.pk))

    assert "roles_assignment_org_role_idx" in plan


@pytest.mark.postgresql
def test_a_directory_search_meets_the_organization_in_the_trigram_index(csp):
    matches = User.objects.in_organization(csp.organization).search("smith")
    # Only the combined trigram index left: the plan shows which conditions it takes.
    _keep_only_index("accounts_user", "accounts_user_org_search_trgm")
    plan = _plan(matches.order_by(), bitmap_only=True)

    # Bound as bigint: the organization is a condition of the trigram index, with the word.
    assert "Bitmap Index Scan on accounts_user_org_search_trgm" in plan
    index_condition = plan.split("accounts_user_org_search_trgm", 1)[1].split("\n")[1]
    assert "organization_id" in index_condition
    assert "search_text" in index_condition


@pytest.mark.postgresql
def test_a_search_word_with_a_dot_reads_the_squeezed_trigram_index_alone(csp):
    matches = User.objects.in_organization(csp.organization).search("ia.garc")
    # The squeezed index and the product-wide one, which a LIKE of the word itself would
    # also read (every holder of "ia" and "garc" in every organization) to intersect.
    _keep_only_index(
        "accounts_user", "accounts_user_org_squeezed_trgm", "accounts_user_search_trgm"
    )
    plan = _plan(matches.order_by(), bitmap_only=True)

    # The organization and the squeezed word meet in the squeezed index; the word itself is
    # checked on the index's few rows.
    assert "Bitmap Index Scan on accounts_user_org_squeezed_trgm" in plan
    index_condition = plan.split("accounts_user_org_squeezed_trgm", 1)[1].split("\n")[1]
    assert "organization_id" in index_condition
    assert "'%iagarc%'" in index_condition
    assert "accounts_user_search_trgm" not in plan
    assert "strpos(search_text, 'ia.garc'::text)" in plan


@pytest.mark.postgresql
def test_a_search_of_every_organization_reads_the_squeezed_index_too(csp):
    """The support admin's search has no organization: the squeezed word alone is a condition
    of the (organization, squeezed text) index."""
    _keep_only_index(
        "accounts_user", "accounts_user_org_squeezed_trgm", "accounts_user_search_trgm"
    )
    plan = _plan(User.objects.search("ia.garc").order_by(), bitmap_only=True)

    assert "Bitmap Index Scan on accounts_user_org_squeezed_trgm" in plan
    index_condition = plan.split("accounts_user_org_squeezed_trgm", 1)[1].split("\n")[1]
    assert "'%iagarc%'" in index_condition
    assert "organization_id" not in index_condition


def test_the_squeezed_index_leaves_out_what_the_search_squeezes():
    migration = importlib.import_module("accounts.migrations.0024_search_squeezed_trigram_index")

    assert migration.SQUEEZED_OUT == SQUEEZED_OUT


def _keep_only_index(table: str, *kept: str) -> None:
    """Drop every other plain index of the table, inside the test's transaction (rolled back):
    the plan then shows what the kept ones serve."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass"
            " AND NOT indexrelid::regclass::text = ANY(%s) AND NOT EXISTS"
            " (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)",
            [table, list(kept)],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


@pytest.mark.postgresql
def test_the_audit_log_pages_on_its_time_index(csp):
    _keep_only_index("accounts_auditevent", "accounts_audit_org_when_idx")
    # The unique (organization, sequence) constraint's index stays; on a test's few rows the
    # planner may prefer it and a sort. Sorting made the last resort, the plan shows whether the
    # time index can give the page in its order (at a million events it is the cheaper plan).
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
    events = AuditEvent.objects.in_organization(csp.organization).order_by("-created_at", "-id")
    plan = _plan(events[:51])

    # Read in the page's order from the index: no sort of the organization's events.
    assert "accounts_audit_org_when_idx" in plan
    assert "Sort" not in plan


@pytest.mark.postgresql
def test_the_log_a_user_management_admin_reads_is_read_from_the_time_index_alone(csp):
    """Their log holds some actions only: with the action in the time index, the page's ids are
    picked without reading the table (migration 0023)."""
    _keep_only_index("accounts_auditevent", "accounts_audit_org_when_idx")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
    visible = AuditEvent.objects.visible_to(csp.user_admin)
    ids = visible.order_by("-created_at", "-id").values("pk")[:51]
    plan = _plan(ids)

    assert "action" in str(ids.query)  # their log is narrowed to the actions they may read
    assert "Index Only Scan using accounts_audit_org_when_idx" in plan
    assert "Sort" not in plan


@pytest.mark.postgresql
def test_no_role_and_a_search_read_the_partial_index_of_users_without_a_role(csp):
    from accounts.filters import DirectoryFilter

    matches = DirectoryFilter(
        {"role": "none", "q": "smith"}, queryset=User.objects.in_organization(csp.organization)
    ).qs
    _keep_only_index("accounts_user", "accounts_user_org_no_role_idx")
    plan = _plan(matches.order_by().values("pk")[:1001])

    # The organization's users without a role, their search text in the index: no table read.
    assert "Index Only Scan using accounts_user_org_no_role_idx" in plan


@pytest.mark.postgresql
def test_the_hash_is_not_indexed(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'accounts_auditevent'"
            " AND indexdef LIKE '%(hash%'"
        )
        assert cursor.fetchall() == []


def test_an_assignment_written_without_its_organization_never_allows_more(csp):
    # Old code during an upgrade writes assignments without the organization: the check then
    # sees fewer other Global admins, so it refuses what it would allow, never the reverse.
    RoleAssignment.objects.filter(user=csp.second_global_admin).update(organization=None)
    admin = User.objects.get(pk=csp.global_admin.pk)

    assert rules.is_last_active_global_admin(admin)


def _constraints(cursor, table: str) -> dict:
    return connection.introspection.get_constraints(cursor, table)


def _single_column_indexes(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        return [
            name
            for name, index in _constraints(cursor, table).items()
            if index["index"] and index["columns"] == [column]
        ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("accounts_user", "organization_id"),
        ("accounts_auditevent", "organization_id"),
        ("roles_roleassignment", "user_id"),
    ],
)
def test_no_index_repeats_the_first_column_of_a_composite_one(table, column):
    # Each index is written on every row an import adds (accounts migration 0020, roles 0008).
    assert _single_column_indexes(table, column) == []
    with connection.cursor() as cursor:
        leading = [
            name
            for name, index in _constraints(cursor, table).items()
            if (index["index"] or index["unique"])
            and len(index["columns"] or []) > 1
            and index["columns"][0] == column
        ]
    assert leading, f"no composite index of {table} leads with {column}"


@pytest.mark.postgresql
def test_a_users_roles_and_an_organizations_users_and_events_are_read_on_composite_indexes(csp):
    roles = _plan(RoleAssignment.objects.filter(user=csp.member))
    users = _plan(User.objects.filter(organization=csp.organization).order_by())
    events = _plan(AuditEvent.objects.filter(organization=csp.organization).order_by())

    assert "roles_assignment_one_per_user_and_role" in roles
    assert "accounts_user_org_" in users
    assert "accounts_audit" in events


@pytest.mark.postgresql
def test_the_trigram_indexes_keep_a_short_list_of_new_entries(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s) ORDER BY relname",
            [list(TRIGRAM_INDEXES)],
        )
        found = dict(cursor.fetchall())

    assert found == {name: ["gin_pending_list_limit=256"] for name in TRIGRAM_INDEXES}


@pytest.mark.postgresql
def test_a_request_never_starts_parallel_workers(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        (workers,) = cursor.fetchone()

    assert workers == "0"
