"""The bench's own code (bench/), on a tiny dataset, so that `make bench` cannot silently rot.

Neither gunicorn nor wrk is started here: the loader and the in-process measurement are run, and
wrk's report is parsed from a sample.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count, F, Q

from accounts import audit
from accounts.identity import email_skeleton
from accounts.models import AuditAction, AuditEvent, PartnerOrganization, ProgramType, User
from accounts.search import fold
from bench import dataset, measure, report, serve
from roles.catalogue import SPECS, RoleKey
from roles.models import RoleAssignment

USERS, ORGANIZATIONS, LARGE, EVENTS = 300, 5, 120, 400


@pytest.fixture
def loaded(db: None) -> dataset.LoadResult:
    return dataset.load(users=USERS, organizations=ORGANIZATIONS, large=LARGE, audit_events=EVENTS)


@pytest.mark.postgresql
def test_it_loads_the_dataset_asked_for(loaded: dataset.LoadResult) -> None:
    assert (loaded.users, loaded.organizations) == (USERS, ORGANIZATIONS)
    assert User.objects.partner_users().count() == USERS
    assert PartnerOrganization.objects.count() == ORGANIZATIONS
    large = PartnerOrganization.objects.get(partner_id=dataset.LARGE_PARTNER_ID)
    assert large.users.count() == LARGE == loaded.large_organization_users
    assert RoleAssignment.objects.count() == loaded.role_assignments
    assert loaded.seconds > 0
    # The large organization is the largest, the one measured.
    sizes = Counter(User.objects.partner_users().values_list("organization", flat=True))
    assert sizes.most_common(1)[0] == (large.pk, LARGE)
    # Half the audit events are the large organization's.
    assert AuditEvent.objects.count() == EVENTS == loaded.audit_events
    assert AuditEvent.objects.in_organization(large).count() == EVENTS // 2


@pytest.mark.postgresql
def test_it_interleaves_the_organizations_users(loaded: dataset.LoadResult) -> None:
    # Not stored side by side: the large organization's users are spread over the ids.
    large = PartnerOrganization.objects.get(partner_id=dataset.LARGE_PARTNER_ID)
    ids = sorted(large.users.values_list("pk", flat=True))
    assert ids[-1] - ids[0] > USERS * 0.9
    assert ids != list(range(ids[0], ids[0] + LARGE))


@pytest.mark.postgresql
def test_it_chains_the_audit_events_as_the_product_does(loaded: dataset.LoadResult) -> None:
    report_ = audit.verify_chains(None)
    assert report_.intact, report_.breaks
    assert report_.events == EVENTS
    # The product appends after them.
    large = PartnerOrganization.objects.get(partner_id=dataset.LARGE_PARTNER_ID)
    event = audit.record(None, AuditAction.USER_EDITED, organization=large, actor_label="x")
    assert event.sequence == EVENTS // 2 + 1
    assert audit.verify_chains(large).intact


@pytest.mark.postgresql
def test_role_assignments_carry_their_users_organization(loaded: dataset.LoadResult) -> None:
    assert not RoleAssignment.objects.exclude(organization=F("user__organization")).exists()


@pytest.mark.postgresql
def test_it_loads_each_users_role_count_and_puts_the_triggers_back(
    loaded: dataset.LoadResult,
) -> None:
    # Loaded with the users (the triggers set aside during the COPY), as the triggers keep it.
    held = User.objects.annotate(held=Count("role_assignments"))
    assert held.filter(held__gt=0).exists()
    assert not held.exclude(role_count=F("held")).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'"
            " AND tgrelid IN ('accounts_user'::regclass, 'roles_roleassignment'::regclass)"
        )
        assert cursor.fetchone()[0] == 0


@pytest.mark.postgresql
def test_it_keeps_the_rules_of_the_product(loaded: dataset.LoadResult) -> None:
    # Every organization keeps a Global admin, who is active.
    organizations = PartnerOrganization.objects.annotate(
        admins=Count(
            "users",
            filter=Q(
                users__is_active=True, users__role_assignments__role__key=RoleKey.GLOBAL_ADMIN
            ),
        )
    )
    assert all(org.admins >= 1 for org in organizations)
    # Partner IDs: 6 or 7 digits, unique.
    partner_ids = list(PartnerOrganization.objects.values_list("partner_id", flat=True))
    assert all(re.fullmatch(r"[0-9]{6,7}", pid) for pid in partner_ids)
    assert len(set(partner_ids)) == len(partner_ids)
    # No CSP-only role in a non-CSP organization.
    csp_only = [key for key, spec in SPECS.items() if spec.csp_only]
    assert not RoleAssignment.objects.filter(
        user__organization__program_type=ProgramType.NON_CSP, role__key__in=csp_only
    ).exists()
    # Most users hold one or two roles.
    per_user = Counter(
        RoleAssignment.objects.values("user").annotate(n=Count("id")).values_list("n", flat=True)
    )
    assert per_user[1] + per_user[2] > USERS / 2


@pytest.mark.postgresql
def test_it_stores_search_text_as_the_model_does(loaded: dataset.LoadResult) -> None:
    for user in User.objects.partner_users():
        assert user.search_text == fold(f"{user.first_name} {user.last_name} {user.email}")
        assert user.email_skeleton == email_skeleton(user.email)
        domain = user.email.split("@")[1]
        assert domain.endswith(f"-{user.organization.partner_id}.example")
    # Surnames repeat, as real ones do.
    surnames = Counter(User.objects.values_list("last_name", flat=True))
    assert surnames.most_common(1)[0][1] >= 10


def _schema() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY(%s) UNION "
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid::regclass::text = ANY(%s)",
            [list(dataset.LOADED_TABLES)] * 2,
        )
        return set(cursor.fetchall())


@pytest.mark.postgresql
def test_it_puts_back_the_keys_and_indexes_it_sets_aside(db: None) -> None:
    before = _schema()
    dataset.load(users=50, organizations=3, large=20, audit_events=30)
    assert _schema() == before
    assert any("FOREIGN KEY" in definition for _table, definition in before)


@pytest.mark.postgresql
def test_it_leaves_the_database_usable(loaded: dataset.LoadResult) -> None:
    # The ids were given by the loader: the sequences must go on after them.
    organization = PartnerOrganization.objects.create(
        name="After", partner_id="7777777", program_type=ProgramType.CSP_DIRECT
    )
    user = User.objects.create_user(
        "after@example.com", organization=organization, first_name="A", last_name="B"
    )
    assert user.pk > USERS
    support = User.objects.get(email=dataset.SUPPORT_EMAIL)
    assert support.is_support_staff
    assert support.groups.filter(name="Support").exists()


@pytest.mark.postgresql
@pytest.mark.urls("bench.urls")
def test_it_measures_pages_with_numbers_and_query_counts(
    loaded: dataset.LoadResult, monkeypatch
) -> None:
    # Django's own force_login (the password step only), not the suite's: every page and change
    # the bench measures must be past the second factor by the bench's own doing.
    from django.test import Client

    monkeypatch.setattr(Client, "force_login", Client.force_login_password_only)
    actors = dataset.find_actors()
    timings = measure.measure(
        actors,
        requests=3,
        cold_runs=1,
        only={
            "directory",
            "directory_surname",
            "user_detail_global_admin",
            "audit_log_deep",
            "admin_search",
            "reference_search",
        },
    )
    assert [t.scenario.key for t in timings] == [
        "directory",
        "directory_surname",
        "user_detail_global_admin",
        "audit_log_deep",
        "admin_search",
        "reference_search",
        "machine",
    ]
    # Timed drawn, every request: the page cache's 3 queries would be a page served, not drawn.
    assert timings[0].queries > 3
    *pages, machine = timings
    # The machine's fixed task, once per round between the pages.
    assert len(machine.durations) == 3
    assert 0 < machine.median_ms <= machine.p95_ms
    for timing in pages:
        assert not timing.error
        assert timing.status == 200
        assert timing.requests == 3
        assert 0 < timing.median_ms <= timing.p95_ms
        assert timing.cold_median_ms > 0
        assert timing.queries > 0
    check = measure.time_last_global_admin_check(actors, runs=5)
    change = measure.time_change_to_global_admin(actors, runs=2)
    assert change.status == 302
    assert not change.error
    urls = measure.count_every_url(actors)
    assert all(url.status == url.expected for url in urls), [
        url for url in urls if url.status != url.expected
    ]
    table = report.markdown_table(
        report.rows([*timings, change], None, None, check=check, urls=urls)
    )
    assert "x faster than plain admin" in table
    assert "Last-active-Global-admin check" in table
    assert "Every URL of the permission table" in table
    assert "The machine: a fixed Python task" in table


@pytest.mark.postgresql
@pytest.mark.urls("bench.urls")
def test_the_plain_admin_searches_the_same_organization(loaded: dataset.LoadResult, client):
    actors = dataset.find_actors()
    [reference] = [
        scenario
        for scenario in measure.scenarios(actors, surname="smith", fragment="x", no_hit="y")
        if scenario.key == "reference_search"
    ]
    client.force_login(actors.support)
    response = client.get(reference.url)

    shown = response.context["cl"].result_list
    assert response.status_code == 200
    assert len(shown) <= 25
    assert {user.organization_id for user in shown} <= {actors.large_organization.pk}


WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8101/users/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    40.12ms   10.01ms  120.00ms   90.00%
    Req/Sec    50.00      5.00    60.00     80.00%
  Latency Distribution
     50%   38.50ms
     75%   42.00ms
     90%   50.00ms
     99%    1.20s
  500 requests in 10.00s, 7.00MB read
Requests/sec:     49.95
Transfer/sec:    716.00KB
"""


def test_the_load_target_is_the_page_at_one_address_and_the_page_drawn_is_reported() -> None:
    trivial = serve.LoadResult("/bench/ok/", 500.0, 3.0, 6.0, 5000, 0, 10.0)
    kept = serve.LoadResult("/users/", 300.0, 5.0, 9.0, 3000, 0, 10.0)
    drawn = serve.LoadResult(f"/users/?{serve.DRAWN}", 90.0, 20.0, 30.0, 900, 0, 10.0)
    table = report.markdown_table(report.rows([], (trivial, kept, drawn), None))
    [target] = [line for line in table.splitlines() if "User management page (gunicorn" in line]
    [reported] = [line for line in table.splitlines() if "drawn every request" in line]
    assert "0.60 x trivial view" in target
    assert "| met |" in target
    assert "0.18 x trivial view" in reported
    assert "reported" in reported


def test_it_reads_wrk_output() -> None:
    result = serve.parse_wrk("/users/", WRK_OUTPUT)
    assert result.requests_per_second == pytest.approx(49.95)
    assert result.median_ms == pytest.approx(38.5)
    assert result.p99_ms == pytest.approx(1200)
    assert (result.requests, result.errors, result.seconds) == (500, 0, 10)


def test_it_names_results_by_dataset_size() -> None:
    assert report.size_label(100_000) == "100k"
    assert report.size_label(1_000_000) == "1m"
    assert report.size_label(300) == "300"


def test_its_clients_are_past_the_second_factor(csp, monkeypatch) -> None:
    # Django's own force_login (the password step only), not the suite's: the bench runs
    # outside pytest, where the pages must still open.
    from django.test import Client

    monkeypatch.setattr(Client, "force_login", Client.force_login_password_only)

    client = measure.signed_in_client(csp.global_admin)

    assert client.get("/users/").status_code == 200


def test_a_measurement_again_keeps_the_size_label() -> None:
    assert report.size_label(1_010_001) == "1m"
    assert report.size_label(50_000) == "50k"
    assert report.size_label(60_001) == "60k"
