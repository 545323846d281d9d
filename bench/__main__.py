"""`python -m bench [options]` (what `make bench` runs): load, measure, report. See README.md."""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/partnerhub_bench"


FULL_USERS = 1_000_000
QUICK_USERS = 50_000
# The largest organization's share of the users: 100,000 of a million (the issue: at least 8%).
LARGE_SHARE = 0.10
USERS_PER_ORGANIZATION = 500


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="50,000 users and audit events, fewer requests, shorter load test (a few minutes)",
    )
    parser.add_argument("--users", type=int, default=None, help="users (default 1,000,000)")
    parser.add_argument(
        "--audit-events", type=int, default=None, help="audit events (default: as many as users)"
    )
    parser.add_argument(
        "--organizations", type=int, default=None, help="organizations (default: users / 500)"
    )
    parser.add_argument(
        "--large-org",
        type=int,
        default=None,
        help="users of the large organization, the largest (default: 10%% of the users)",
    )
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="no VACUUM after loading (the tables as a server without autovacuum leaves them)",
    )
    parser.add_argument("--seed", type=int, default=2026, help="the dataset's random seed")
    parser.add_argument(
        "--requests", type=int, default=None, help="requests per page, in-process (200; quick 60)"
    )
    parser.add_argument(
        "--duration", type=int, default=None, help="seconds of wrk per page (10; quick 6)"
    )
    parser.add_argument(
        "--import-rows", type=int, default=10_000, help="rows of the bulk add CSV (10,000)"
    )
    parser.add_argument(
        "--jobs",
        action="store_true",
        help="measure only the background jobs (bench/jobs.py): import, emails, audit export",
    )
    parser.add_argument("--jobs-import-rows", type=int, default=100_000, help="(100,000)")
    parser.add_argument("--jobs-emails", type=int, default=10_000, help="(10,000)")
    parser.add_argument("--jobs-audit-events", type=int, default=1_000_000, help="(1,000,000)")
    parser.add_argument("--skip-load", action="store_true", help="measure the loaded dataset")
    parser.add_argument("--skip-server", action="store_true", help="no gunicorn/wrk")
    parser.add_argument("--skip-import", action="store_true", help="no bulk add timing")
    parser.add_argument(
        "--no-install", action="store_true", help="never apt-get install wrk when it is missing"
    )
    parser.add_argument(
        "--results", type=Path, default=Path(__file__).parent / "results", help="where to write"
    )
    args = parser.parse_args(argv)
    if args.users is None:
        args.users = QUICK_USERS if args.quick else FULL_USERS
    if args.audit_events is None:
        args.audit_events = args.users
    if args.organizations is None:
        args.organizations = max(10, args.users // USERS_PER_ORGANIZATION)
    if args.large_org is None:
        args.large_org = max(1, int(args.users * LARGE_SHARE))
    if args.requests is None:
        args.requests = 60 if args.quick else 200
    if args.duration is None:
        args.duration = 6 if args.quick else 10
    return args


def production_like_environment() -> None:
    """Debug off, a fresh secret key, the bench URLconf; set before Django reads settings."""
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    # Production refuses to start without the key that encrypts authenticator secrets; the
    # bench signs in without a second factor's secret (force_login), so a fresh key will do.
    os.environ.setdefault(
        "PARTNERHUB_MFA_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    )
    # testserver: the in-process test client's host.
    os.environ["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1,testserver"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    # The bench plays the load balancer: it says the request came over HTTPS
    # (X-Forwarded-Proto), which the app believes only behind a trusted proxy.
    os.environ["PARTNERHUB_TRUSTED_PROXIES"] = "1"


def ensure_database() -> None:
    """Creates the database named in DATABASE_URL when the server does not have it yet."""
    import psycopg2
    from django.conf import settings
    from psycopg2 import sql

    db = settings.DATABASES["default"]
    params = {k.lower(): db[k] for k in ("HOST", "PORT", "USER", "PASSWORD") if db.get(k)}
    try:
        psycopg2.connect(dbname=db["NAME"], **params).close()
    except psycopg2.OperationalError as error:
        if "does not exist" not in str(error):
            raise
        server = psycopg2.connect(dbname="postgres", **params)
        server.autocommit = True
        with server.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
        server.close()
        print(f"Created database {db['NAME']}.", flush=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    production_like_environment()
    started_at, started = datetime.now(UTC), time.perf_counter()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("The bench needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    ensure_database()

    from django.db.models import Count

    from accounts.models import AuditEvent, PartnerOrganization, User
    from bench import bulk_add, dataset, measure, report, serve
    from roles.models import RoleAssignment

    print(f"Database: {settings.DATABASES['default']['NAME']}", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if args.jobs:
        from bench import jobs

        return jobs.run(
            args.jobs_import_rows, args.jobs_emails, args.jobs_audit_events, args.results
        )

    loaded = None
    if not args.skip_load:
        print(
            f"Loading {args.users:,} users in {args.organizations:,} organizations "
            f"(the large one: {args.large_org:,}) and {args.audit_events:,} audit events...",
            flush=True,
        )
        loaded = dataset.load(
            args.users, args.organizations, args.large_org, args.seed, args.audit_events
        )
        if not args.no_vacuum:
            vacuum_started = time.perf_counter()
            dataset.vacuum()
            loaded.seconds += time.perf_counter() - vacuum_started
        print(
            f"Loaded {loaded.users:,} users, {loaded.role_assignments:,} role assignments, "
            f"{loaded.audit_events:,} audit events in {loaded.organizations:,} organizations "
            f"in {loaded.seconds:.1f} s.",
            flush=True,
        )
    actors = dataset.find_actors()
    surname, fragment, no_hit = "smith", "ia.garc", "zzqxv"
    large_users = User.objects.in_organization(actors.large_organization)
    largest = (
        User.objects.partner_users()
        .values("organization")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("n", flat=True)[:2]
    )
    counts = {
        "organizations": PartnerOrganization.objects.count(),
        "partner users": User.objects.partner_users().count(),
        "role assignments": RoleAssignment.objects.count(),
        "audit events": AuditEvent.objects.count(),
        "users of the large organization (the one measured)": large_users.count(),
        "users of the next largest organization": list(largest)[-1],
        "audit events of the large organization": AuditEvent.objects.in_organization(
            actors.large_organization
        ).count(),
        "Global admins of the large organization": large_users.filter(
            role_assignments__role__key="global_admin"
        ).count(),
        f'"{surname}" in the large organization': large_users.search(surname).count(),
        f'"{fragment}" in the large organization': large_users.search(fragment).count(),
        f'"{surname}" across all organizations': User.objects.search(surname).count(),
    }

    print(f"Measuring pages in-process, interleaved, up to {args.requests} rounds:", flush=True)
    timings = measure.measure(
        actors,
        requests=args.requests,
        surname=surname,
        fragment=fragment,
        no_hit=no_hit,
        progress=True,
    )
    change = measure.time_change_to_global_admin(actors)
    timings.append(change)
    print(
        f"  {change.scenario.label}: median {change.median_ms:.1f} ms, p95 {change.p95_ms:.1f}"
        f" ms, {change.queries} queries",
        flush=True,
    )
    check = measure.time_last_global_admin_check(actors)
    print(f"  last-Global-admin check: p95 {check.p95_ms:.3f} ms", flush=True)
    print("Counting the queries of every URL of the permission table...", flush=True)
    urls = measure.count_every_url(actors)

    # The REST API and SCIM (bench/api.py), measured like the pages, reported in the notes.
    from bench import api as api_bench

    print("Measuring the REST API and SCIM:", flush=True)
    api_lines = api_bench.describe(actors, requests=args.requests)

    notes = [
        *api_lines,
        "median and p95 of pages: server-side, in-process (Django test client: middleware, view, "
        "templates, database; no network), the pages interleaved (one request of each per "
        "round), after 3 warm-up requests; cold: the median of "
        f"{measure.COLD_RUNS} first requests on a new database connection; queries: SQL "
        "queries of one request.",
        "The machine row: the same pure Python (bench/measure.py, machine_task) timed once per "
        "round between the pages. Its code never changes, so its spread is the machine's (other "
        "tenants on its cores, the clock): a page whose median is M ms can expect a p95 of about "
        "M times that ratio here, whatever its code. The targets are judged on the pages' own "
        "p95s.",
        "The directory and audit log pages are requested as the large organization's Global "
        "admin (the User management admin where said); the support admin's pages and the plain "
        "admin as support staff (the Support group, not a superuser). The plain admin searches "
        "the same organization with the same page size (25).",
        "Users are stored in the order they joined, organizations interleaved. Vacuum: "
        + report.vacuum_state(),
        "The machine's 2 cores may be shared with other work while the bench runs: the load "
        "average is in the Machine section; the ratios compare pages measured in the same run.",
    ]
    load: tuple | str | None = None
    if args.skip_server:
        load = "skipped (--skip-server)"
    else:
        wrk = serve.wrk_path(install=not args.no_install)
        if wrk is None:
            load = "not measured: wrk is missing (as root: apt-get install -y wrk)"
        else:
            try:
                load = load_test(serve, wrk, actors, args.duration)
            except Exception as error:  # the rest of the run still reports
                load = f"failed: {error}"
                print(f"  load test failed: {error}", flush=True)
            notes.append(
                f"Load: gunicorn with {serve.WORKERS} workers on {serve.HOST}:{serve.PORT}, "
                f"DJANGO_DEBUG=false, static collected; wrk with {serve.CONNECTIONS} connections, "
                f"{args.duration} s per page in {serve.ROUNDS} turns taken in alternation with "
                "the other pages, each after 2 s of warm-up; latency columns are wrk's median "
                "(the median of the turns') and p99 (the highest). The User management page is "
                "asked at one address (served from its page cache after the first request, as "
                "between two changes in the organization) and at a new address every request "
                "(drawn every time, as after a change). In-process pages are timed drawn (the "
                "page cache off)."
            )

    imports = None
    if not args.skip_import:
        print(f"Timing import_users on {args.import_rows:,} rows...", flush=True)
        try:
            imports = bulk_add.time_import(args.import_rows)
        except Exception as error:  # the rest of the run still reports
            imports = [
                bulk_add.ImportTiming("Bulk add", args.import_rows, None, f"failed: {error}")
            ]
        notes.append(
            "Bulk add: `python manage.py import_users PARTNER_ID FILE.csv` run as a command "
            "(Python start-up included) into a fresh organization, invitations into memory."
        )

    connection.close()
    elapsed = time.perf_counter() - started
    notes.append(f"The whole run took {elapsed / 60:.1f} minutes.")
    notes.append(
        "Why a target is missed, and what would meet it: bench/README.md, "
        '"Where the targets are missed".'
    )
    table = report.rows(timings, load, imports, check=check, urls=urls)
    text = report.document(
        table, report.dataset_lines(loaded, counts), notes, started_at, urls=urls
    )
    users = loaded.users if loaded else counts["partner users"]
    path = report.write(text, args.results, users, started_at)
    print()
    print(text)
    print(f"Written to {path}")
    return 0


def load_test(serve, wrk: str, actors, seconds: int) -> tuple:
    """The trivial view, the User management page (served from its page cache after the first
    request, as between two changes) and the same page drawn for every request, in turn, under
    the same gunicorn."""
    from django.conf import settings

    from bench.measure import signed_in_client

    client = signed_in_client(actors.global_admin)
    name = settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}"
    paths = ["/bench/ok/", "/users/", f"/users/?{serve.DRAWN}"]
    with serve.Server() as server:
        for path in paths:
            server.check_signed_in(path, cookie)
        print(f"  wrk {', '.join(paths)}, {seconds} s each...", flush=True)
        results = serve.alternate(wrk, server, paths, cookie, seconds)
    for result in results:
        print(
            f"  {result.path}: {result.requests_per_second:.1f} requests/s, "
            f"median {result.median_ms:.1f} ms, errors {result.errors}",
            flush=True,
        )
    return tuple(results)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
