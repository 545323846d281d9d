"""Server-side timings: pages requested in-process with Django's test client, one at a time.

Each request goes through the whole middleware stack, the view, the templates and the database;
no network and no browser. The SQL queries of one request are counted (after a warm-up, so
per-process caches such as content types are already filled).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.dataset import Actors

# A page is given at most this many seconds of requests (after its warm-up), however many were
# asked for: a slow page still gets measured, and the run stays bounded.
TIME_BUDGET_SECONDS = 25.0
MIN_REQUESTS = 20


@dataclass(frozen=True)
class Scenario:
    """One page as one person: what the table shows a row for."""

    key: str
    label: str
    url: str
    actor: str  # "global_admin" or "support"


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


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (p95: fraction=0.95)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def scenarios(actors: Actors, *, surname: str, fragment: str, no_hit: str) -> list[Scenario]:
    """The pages the bench measures, for the loaded dataset."""
    directory = reverse("directory")
    admin_list = reverse("admin:accounts_user_changelist")
    reference_list = reverse("reference_admin:accounts_user_changelist")
    sample = reverse("user_detail", args=[actors.sample_user.public_id])

    def q(url: str, query: str) -> str:
        return f"{url}?{urlencode({'q': query})}"

    return [
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
        Scenario("user_detail", "A user's page (user_detail)", sample, "global_admin"),
        Scenario("admin_list", "Support admin: user list", admin_list, "support"),
        Scenario(
            "admin_search",
            f'Support admin: search "{surname}"',
            q(admin_list, surname),
            "support",
        ),
        Scenario("reference_list", "Plain Django admin: user list", reference_list, "support"),
        Scenario(
            "reference_search",
            f'Plain Django admin: search "{surname}"',
            q(reference_list, surname),
            "support",
        ),
    ]


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
    """A signed-in test client per actor (signed_in_client)."""
    return {
        name: signed_in_client(user)
        for name, user in (("global_admin", actors.global_admin), ("support", actors.support))
    }


def time_page(client: Client, scenario: Scenario, *, requests: int, warmup: int = 3) -> Timing:
    """Requests the page `requests` times (fewer if it uses up its time budget); times each."""
    for _ in range(warmup):
        response = client.get(scenario.url, secure=True)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(scenario.url, secure=True)
    # Counted now: captured_queries reads the connection's log, which later requests empty.
    queries = len(captured.captured_queries)
    if response.status_code != 200:
        raise RuntimeError(f"{scenario.url} answered {response.status_code}, not 200")
    durations: list[float] = []
    deadline = time.perf_counter() + TIME_BUDGET_SECONDS
    while len(durations) < requests:
        started = time.perf_counter()
        client.get(scenario.url, secure=True)
        durations.append((time.perf_counter() - started) * 1000)
        if started > deadline and len(durations) >= MIN_REQUESTS:
            break
    return Timing(
        scenario=scenario,
        requests=len(durations),
        median_ms=statistics.median(durations),
        p95_ms=percentile(durations, 0.95),
        queries=queries,
        status=response.status_code,
        bytes=len(response.content),
    )


def measure(
    actors: Actors,
    *,
    requests: int = 300,
    surname: str = "smith",
    fragment: str = "ia.garc",
    no_hit: str = "zzqxv",
    only: set[str] | None = None,
    progress: bool = False,
) -> list[Timing]:
    """Times every scenario (or those named in `only`) and returns their timings, in order."""
    clients = signed_in_clients(actors)
    timings = []
    for scenario in scenarios(actors, surname=surname, fragment=fragment, no_hit=no_hit):
        if only is not None and scenario.key not in only:
            continue
        try:
            timing = time_page(clients[scenario.actor], scenario, requests=requests)
        except Exception as error:  # one broken page must not lose the whole run
            timing = Timing(
                scenario, 0, 0.0, 0.0, 0, 0, 0, error=f"{type(error).__name__}: {error}"
            )
        if progress and timing.error:
            print(f"  {scenario.label}: failed: {timing.error}", flush=True)
        elif progress:
            print(
                f"  {scenario.label}: median {timing.median_ms:.1f} ms, p95 {timing.p95_ms:.1f}"
                f" ms, {timing.queries} queries ({timing.requests} requests)",
                flush=True,
            )
        timings.append(timing)
    return timings
