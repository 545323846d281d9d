"""Server-side timings: pages requested in-process with Django's test client, interleaved.

Each request goes through the whole middleware stack, the view, the templates and the database;
no network and no browser. The pages are requested in turn, one request of each before the next
of any (A B C A B C ...), so a change in the machine's other load falls on every page alike.
Warm: after a warm-up, up to `requests` rounds. Cold: the first request on a new database
connection (PostgreSQL's per-connection caches empty), a few times per page. The SQL queries
of one request are counted (after the warm-up, so per-process caches are already filled).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from accounts.models import AuditEvent
from bench.dataset import Actors
from roles import rules

# The rounds stop after this many seconds (once MIN_REQUESTS rounds are done), however many were
# asked for: the run stays bounded on a slow machine.
TIME_BUDGET_SECONDS = 120.0
MIN_REQUESTS = 20
COLD_RUNS = 5
# How deep in the audit log the deep page starts (events newer than it), at most.
DEEP_EVENTS = 500_000
# The machine's own spread: a fixed piece of pure Python timed once per round, between the pages.
MACHINE = "machine"
MACHINE_TASK_ITERATIONS = 100_000


@dataclass(frozen=True)
class Scenario:
    """One page as one person: what the table shows a row for."""

    key: str
    label: str
    url: str
    actor: str  # "global_admin", "other_global_admin", "user_admin" or "support"


@dataclass
class Timing:
    """The measurements of one scenario."""

    scenario: Scenario
    requests: int
    median_ms: float
    p95_ms: float
    queries: int
    status: int
    bytes: int
    error: str = ""  # why the page could not be measured (the other numbers are then 0)
    cold_median_ms: float = 0.0
    durations: list[float] = field(default_factory=list, repr=False)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (p95: fraction=0.95)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def _deep_cursor(actors: Actors) -> str:
    """The public id of an event deep in the large organization's log (half of it, at most
    DEEP_EVENTS newer): where "Older" leads after thousands of pages."""
    events = AuditEvent.objects.in_organization(actors.large_organization)
    total = events.count()
    depth = min(DEEP_EVENTS, total // 2)
    found = events.order_by("-created_at", "-id").values_list("public_id", flat=True)[
        depth : depth + 1
    ]
    return str(found[0]) if found else ""


def scenarios(actors: Actors, *, surname: str, fragment: str, no_hit: str) -> list[Scenario]:
    """The pages the bench measures, for the loaded dataset."""
    directory = reverse("directory")
    admin_list = reverse("admin:accounts_user_changelist")
    reference_list = reverse("reference_admin:accounts_user_changelist")
    sample = reverse("user_detail", args=[actors.sample_user.public_id])
    other_admin = reverse("user_detail", args=[actors.other_global_admin.public_id])
    audit_log = reverse("audit_log")
    organization = actors.large_organization.pk
    deep = _deep_cursor(actors)
    person = actors.sample_user.email
    domain = actors.global_admin.email.rpartition("@")[2]

    def q(url: str, query: str, **more: object) -> str:
        return f"{url}?{urlencode({'q': query, **more})}"

    found = [
        Scenario("directory", "User management (directory)", directory, "global_admin"),
        Scenario(
            "directory_surname",
            f'Directory search "{surname}"',
            q(directory, surname),
            "global_admin",
        ),
        Scenario(
            "directory_fragment",
            f'Directory search "{fragment}"',
            q(directory, fragment),
            "global_admin",
        ),
        Scenario(
            "directory_no_hit",
            f'Directory search "{no_hit}" (no hit)',
            q(directory, no_hit),
            "global_admin",
        ),
        # Words the directory finds another way (accounts.views.directory.match_ids): one every
        # user of the organization holds (its email domain), walked; a first name whose holders
        # are named from M on, found on the trigram index and sorted.
        Scenario(
            "directory_domain",
            f'Directory search "{domain}" (every user\'s email domain)',
            q(directory, domain),
            "global_admin",
        ),
        Scenario(
            "directory_first_name",
            'Directory search "maria" (a first name, named from M on)',
            q(directory, "maria"),
            "global_admin",
        ),
        Scenario(
            "directory_role",
            "Directory filtered: Sales agent, never signed in",
            f"{directory}?{urlencode({'role': 'sales_agent', 'last_sign_in': 'never'})}",
            "global_admin",
        ),
        Scenario(
            "directory_no_role_search",
            f'Directory filtered: no role, search "{surname}"',
            f"{directory}?{urlencode({'role': 'none', 'q': surname})}",
            "global_admin",
        ),
        Scenario(
            "directory_pending_100",
            "Directory filtered: pending invitations, 100 a page, page 50",
            f"{directory}?{urlencode({'status': 'pending', 'per_page': 100, 'page': 50})}",
            "global_admin",
        ),
        Scenario("roles_overview", "Roles page", reverse("roles_overview"), "global_admin"),
        Scenario("user_detail", "A Sales agent's page", sample, "global_admin"),
        Scenario(
            "user_detail_global_admin",
            "A Global admin's page (seen by another)",
            other_admin,
            "global_admin",
        ),
        Scenario("audit_log", "Audit log, newest", audit_log, "global_admin"),
        Scenario(
            "audit_log_deep",
            "Audit log, deep (older than half the log)",
            f"{audit_log}?{urlencode({'before': deep})}",
            "global_admin",
        ),
        Scenario(
            "audit_log_person",
            "Audit log filtered: a person",
            f"{audit_log}?{urlencode({'person': person})}",
            "global_admin",
        ),
        Scenario(
            "audit_log_busy_person",
            "Audit log filtered: a Global admin (who did a third of it)",
            f"{audit_log}?{urlencode({'person': actors.other_global_admin.email})}",
            "global_admin",
        ),
        Scenario(
            "audit_log_action_dates",
            "Audit log filtered: an action and a year",
            f"{audit_log}?"
            + urlencode(
                {"action": "user.deactivated", "date_from": "2025-01-01", "date_to": "2025-12-31"}
            ),
            "global_admin",
        ),
        Scenario(
            "audit_log_user_admin",
            "Audit log as a User management admin (their actions only)",
            audit_log,
            "user_admin",
        ),
        Scenario("admin_list", "Support admin: user list", admin_list, "support"),
        Scenario(
            "admin_search",
            f'Support admin: search "{surname}" (all organizations)',
            q(admin_list, surname),
            "support",
        ),
        Scenario(
            "reference_search",
            f'Plain Django admin: search "{surname}" (same organization, 25 a page)',
            q(reference_list, surname, organization=organization),
            "support",
        ),
    ]
    return found


def machine_task() -> int:
    """The same pure Python every time (no I/O, no database, nothing allocated to speak of):
    what its time varies with is the machine (another tenant's load on its cores, the clock's
    frequency), not the code. Its p95 over its median is the least spread any page can have on
    the machine the run had."""
    total = 0
    for number in range(MACHINE_TASK_ITERATIONS):
        total += number * number
    return total


def signed_in_client(user: object) -> Client:
    """A test client signed in as the user without a password (none is hashed in the dataset),
    past the second factor with an authenticator app given to them: as every real session
    is, so the pages measured pay for the session's device like any other."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from mfa.models import AuthenticatorApp, new_authenticator_key

    client = Client()
    client.force_login(user)
    app = AuthenticatorApp.objects.filter(user=user, confirmed=True).first()
    if app is None:
        app = AuthenticatorApp(user=user, name="Authenticator app", confirmed=True)
        app.set_key(new_authenticator_key())
        app.save()
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = app.persistent_id
    session.save()
    return client


def signed_in_clients(actors: Actors) -> dict[str, Client]:
    """A signed-in test client per actor (signed_in_client: past the second factor)."""
    people = {
        "global_admin": actors.global_admin,
        "other_global_admin": actors.other_global_admin,
        "user_admin": actors.by_role.get("user_management_admin", actors.global_admin),
        "support": actors.support,
    }
    return {name: signed_in_client(user) for name, user in people.items()}


def _timed(client: Client, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(url, secure=True)
    return (time.perf_counter() - started) * 1000, response.status_code


def measure(
    actors: Actors,
    *,
    requests: int = 300,
    surname: str = "smith",
    fragment: str = "ia.garc",
    no_hit: str = "zzqxv",
    only: set[str] | None = None,
    progress: bool = False,
    cold_runs: int = COLD_RUNS,
) -> list[Timing]:
    """Times every scenario (or those named in `only`), interleaved; returns them in order.
    Every page is drawn: the directory's page cache is off (the load test measures it)."""
    with override_settings(PAGE_CACHE_SECONDS=0):
        return _measure(actors, requests, surname, fragment, no_hit, only, progress, cold_runs)


def _measure(
    actors: Actors,
    requests: int,
    surname: str,
    fragment: str,
    no_hit: str,
    only: set[str] | None,
    progress: bool,
    cold_runs: int,
) -> list[Timing]:
    clients = signed_in_clients(actors)
    chosen = [
        scenario
        for scenario in scenarios(actors, surname=surname, fragment=fragment, no_hit=no_hit)
        if only is None or scenario.key in only
    ]
    timings: list[Timing] = []
    for scenario in chosen:
        client = clients[scenario.actor]
        try:
            for _ in range(3):
                response = client.get(scenario.url, secure=True)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(scenario.url, secure=True)
            if response.status_code != 200:
                raise RuntimeError(f"{scenario.url} answered {response.status_code}, not 200")
            timings.append(
                Timing(
                    scenario,
                    0,
                    0.0,
                    0.0,
                    len(captured.captured_queries),
                    response.status_code,
                    len(response.content),
                )
            )
        except Exception as error:  # one broken page must not lose the whole run
            timings.append(
                Timing(scenario, 0, 0.0, 0.0, 0, 0, 0, error=f"{type(error).__name__}: {error}")
            )
    live = [timing for timing in timings if not timing.error]
    # Cold: each page first on a fresh database connection, pages in turn.
    cold: dict[str, list[float]] = {timing.scenario.key: [] for timing in live}
    for _ in range(cold_runs):
        for timing in live:
            if not connection.in_atomic_block:  # a test's transaction stays open
                connection.close()
            elapsed, _status = _timed(clients[timing.scenario.actor], timing.scenario.url)
            cold[timing.scenario.key].append(elapsed)
    # Warm: one request of each page per round, and the machine's fixed task once.
    machine = Timing(
        Scenario(MACHINE, "The machine: a fixed Python task, timed in the same rounds", "", ""),
        0,
        0.0,
        0.0,
        0,
        0,
        0,
    )
    deadline = time.perf_counter() + TIME_BUDGET_SECONDS
    for round_number in range(requests):
        for timing in live:
            elapsed, _status = _timed(clients[timing.scenario.actor], timing.scenario.url)
            timing.durations.append(elapsed)
        started = time.perf_counter()
        machine_task()
        machine.durations.append((time.perf_counter() - started) * 1000)
        if round_number + 1 >= MIN_REQUESTS and time.perf_counter() > deadline:
            break
    timings.append(machine)
    live.append(machine)
    for timing in live:
        timing.requests = len(timing.durations)
        timing.median_ms = statistics.median(timing.durations)
        timing.p95_ms = percentile(timing.durations, 0.95)
        if timing.scenario.key in cold:
            timing.cold_median_ms = statistics.median(cold[timing.scenario.key])
    if progress:
        for timing in timings:
            if timing.error:
                print(f"  {timing.scenario.label}: failed: {timing.error}", flush=True)
            else:
                print(
                    f"  {timing.scenario.label}: median {timing.median_ms:.1f} ms, p95 "
                    f"{timing.p95_ms:.1f} ms, cold {timing.cold_median_ms:.1f} ms, "
                    f"{timing.queries} queries ({timing.requests} requests)",
                    flush=True,
                )
    return timings


@dataclass
class CheckTiming:
    """The last-active-Global-admin check alone, as the database runs it."""

    median_ms: float
    p95_ms: float
    runs: int


def time_last_global_admin_check(actors: Actors, runs: int = 200) -> CheckTiming:
    """rules.another_active_global_admin_exists for a Global admin of the large organization:
    what every change to a Global admin asks (rule 4; a Global admin's page has it in its own
    query, ANOTHER_ACTIVE_GLOBAL_ADMIN), timed from Python: the statement and its answer."""
    admin = actors.global_admin

    def check() -> bool:
        return rules.another_active_global_admin_exists(admin.organization_id, admin.pk)

    for _ in range(5):
        check()
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        check()
        durations.append((time.perf_counter() - started) * 1000)
    return CheckTiming(statistics.median(durations), percentile(durations, 0.95), runs)


def time_change_to_global_admin(actors: Actors, runs: int = 30) -> Timing:
    """A Global admin edits another Global admin's details (POST, then undone), timed."""
    scenario = Scenario(
        "change_global_admin",
        "A change to a Global admin (edit details, POST)",
        reverse("edit_user", args=[actors.other_global_admin.public_id]),
        "global_admin",
    )
    client = signed_in_client(actors.global_admin)  # past the second factor
    target = actors.other_global_admin
    durations = []
    queries = status = 0
    for number in range(runs + 2):
        body = {
            "first_name": target.first_name,
            "last_name": target.last_name if number % 2 else f"{target.last_name}-x",
            "email": target.email,
        }
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.post(scenario.url, body, secure=True)
        elapsed = (time.perf_counter() - started) * 1000
        status, queries = response.status_code, len(captured.captured_queries)
        location = response.get("Location", "")
        if number >= 2:  # two warm-up changes
            durations.append(elapsed)
    # Left as it was: an even number of changes, the last one back to the original name.
    client.post(
        scenario.url,
        {"first_name": target.first_name, "last_name": target.last_name, "email": target.email},
        secure=True,
    )
    return Timing(
        scenario,
        len(durations),
        statistics.median(durations),
        percentile(durations, 0.95),
        queries,
        status,
        0,
        # Saved, the edit sends back to the user's page; sent anywhere else (the second step,
        # sign-in) it changed nothing and its time says nothing.
        error=""
        if status == 302 and location.endswith(reverse("user_detail", args=[target.public_id]))
        else f"answered {status} {location}",
    )


# The permission table's cast (tests.conftest.Cast), by the one role each of them holds.
CAST_ROLES = {
    "global_admin": "global_admin",
    "user_admin": "user_management_admin",
    "account_admin": "account_admin",
    "mpn_admin": "mpn_partner_admin",
    "billing_admin": "billing_admin",
    "member": "referrals_admin",
}


@dataclass
class UrlCount:
    """One row of the permission table, requested once as its allowed visitor."""

    name: str
    method: str
    actor: str
    status: int
    expected: int
    queries: int


def count_every_url(actors: Actors) -> list[UrlCount]:
    """Every row of the permission table (tests/test_permission_table.py), requested once as the
    role it allows, in the large organization, its SQL queries counted: pages by a session past
    the second factor, the API and SCIM by a client holding that role's roles. The row's target
    and body are made ready as the permission table's test makes them (`prepared`). Each
    request runs in a transaction rolled back after it: the dataset is left as it was. The
    directory's page cache is off: the count is the page's when it is drawn."""
    with override_settings(PAGE_CACHE_SECONDS=0):
        return _count_every_url(actors)


def _count_every_url(actors: Actors) -> list[UrlCount]:
    from types import SimpleNamespace

    from django.http import QueryDict

    from jobs.exports import request_export
    from jobs.testing import run_ready_jobs
    from tests.test_permission_table import ALLOWED, TABLE, api_visitor, prepared

    cast = {name: actors.by_role.get(key) for name, key in CAST_ROLES.items()}
    cast["global_admin"] = actors.global_admin
    csp = SimpleNamespace(organization=actors.large_organization, **cast)
    counts = []
    for row in TABLE:
        actor = cast.get(row.allowed_role)
        if actor is None or (row.target and row.target in cast and cast[row.target] is None):
            continue
        with transaction.atomic():
            if row.name == "audit_log_export_file":
                # An export of one quiet day: the walk counts the download, not a million rows.
                export = request_export(
                    actor, QueryDict("date_from=2000-01-01&date_to=2000-01-01"), "UTC"
                )
                run_ready_jobs()
                url, body = reverse(row.name, args=[export.pk]), {}
            else:
                _target, url, body = prepared(row, csp, ALLOWED)
            if row.api:
                caller = api_visitor(csp, None, row, ALLOWED)
                with CaptureQueriesContext(connection) as captured:
                    response = caller.call(row.method, url, body or None, secure=True)
            else:
                # A session of its own: a row may end the one before (sign out, a reset).
                client = signed_in_client(actor)
                client.get("/healthz", secure=True)  # the session's first request
                with CaptureQueriesContext(connection) as captured:
                    response = getattr(client, row.method)(url, body, secure=True)
            transaction.set_rollback(True)
        for person in cast.values():
            if person is not None:
                person.refresh_from_db()
        counts.append(
            UrlCount(
                row.name,
                row.method.upper(),
                row.allowed_role,
                response.status_code,
                row.expected[ALLOWED],
                len(captured.captured_queries),
            )
        )
    return counts
