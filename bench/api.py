"""The REST API and SCIM, server-side: p95 of listing a page of users (GET /api/v1/users/)
and of SCIM's `userName eq` filter (what Entra ID and Okta send before creating a user), as
the large organization's API client holding Global admin, in-process like the pages.

Self-contained on purpose: `python -m bench` calls describe() once and adds its lines to the
report's notes. Targets (issue "REST API and SCIM"): each p95 <= 20 ms at 1,000,000 users, and
the same number of queries for any organization's size.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from urllib.parse import quote

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

TARGET_P95_MS = 20.0
WARMUP = 3


def _p95(durations: list[float]) -> float:
    ordered = sorted(durations)
    return ordered[max(0, min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1))]


def _time(client: Client, url: str, token: str, requests: int) -> tuple[float, float, int]:
    """Median and p95 in ms, and the queries of one request, after a warm-up."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    for _ in range(WARMUP):
        response = client.get(url, secure=True, **headers)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.content[:200]!r}")
    with CaptureQueriesContext(connection) as captured:
        client.get(url, secure=True, **headers)
    queries = len(captured.captured_queries)
    durations = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, secure=True, **headers)
        durations.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:  # a refusal is fast: it must not count as a timing
            raise RuntimeError(f"{url} answered {response.status_code} while timed")
    return statistics.median(durations), _p95(durations), queries


def describe(actors: object, *, requests: int = 300) -> list[str]:
    """Measure both calls with a client created (then revoked) for the run; the report's lines."""
    from accounts.models import User
    from api.clients import create_client, revoke_client
    from api.models import ApiClient
    from roles.catalogue import RoleKey

    admin = actors.global_admin
    ApiClient.objects.filter(organization=admin.organization, name="Bench").delete()
    new = create_client(
        admin,
        name="Bench",
        role_keys=[RoleKey.GLOBAL_ADMIN],
        expires_at=timezone.now() + timedelta(hours=1),
    )
    # A user in the middle of the organization: an index lookup, not the first row.
    members = User.objects.in_organization(admin.organization).order_by("pk")
    sample = members[members.count() // 2]
    calls = [
        # The floor: the token, the creator's powers, the rate limit and the rulebook, no data.
        ("REST: the roles (the floor)", "/api/v1/roles/"),
        ("REST: a page of users (50)", "/api/v1/users/"),
        (
            "SCIM: userName eq (one user)",
            "/scim/v2/Users?filter=" + quote(f'userName eq "{sample.email}"'),
        ),
    ]
    lines = []
    client = Client()
    # The bench calls faster than a client may (600 a minute): its client is not rate limited.
    unlimited = override_settings(PARTNERHUB_API_REQUESTS_PER_MINUTE=10**9)
    unlimited.enable()
    try:
        for label, url in calls:
            try:
                median, p95, queries = _time(client, url, new.token, requests)
            except Exception as error:  # the rest of the run still reports
                lines.append(f"{label}: failed: {error}")
                continue
            verdict = "meets" if p95 <= TARGET_P95_MS else "misses"
            target = "" if "floor" in label else f" ({verdict} the {TARGET_P95_MS:.0f} ms target)"
            lines.append(
                f"{label}: median {median:.1f} ms, p95 {p95:.1f} ms{target}, {queries} queries, "
                f"{requests} requests"
            )
            print(f"  {lines[-1]}", flush=True)
    finally:
        unlimited.disable()
        revoke_client(admin, new.client)
    return lines
