"""Profile a CSV import's check and addition in this process (no worker), with cProfile.

    DATABASE_URL=postgres://... python -m bench.profile_import --rows 10000 [--sort tottime]

Creates a fresh organization (as bench/jobs.py does), checks and adds a generated file of
`--rows` valid rows, prints each step's rows/s and the functions that took the most time. For
finding where the addition spends its time; the rates are `make bench BENCH_ARGS=--jobs`'s.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import time


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_import")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-profile", action="store_true", help="time only")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)

    from accounts.audit import Origin, verify_chains
    from bench.jobs import ROLE_CHOICES, _organization
    from jobs import user_imports
    from jobs.models import UserImport

    organization, admin = _organization("profile")
    rng = random.Random(7)  # noqa: S311 (test data)
    domain = f"import-{organization.partner_id}.example"
    text = "First name,Last name,Email,Roles\n" + "".join(
        f"First{n},Last{n},person{n}@{domain},{rng.choice(ROLE_CHOICES)}\n"
        for n in range(args.rows)
    )
    user_import = user_imports.start(
        text,
        file_name="profile.csv",
        actor=admin,
        organization=organization,
        origin=Origin(ip_address="203.0.113.9", user_agent="profile"),
        base_url="https://partnerhub.example",
    )
    UserImport.objects.filter(pk=user_import.pk).update(state=UserImport.State.CHECKING)
    for step in (user_imports.Step.CHECK, user_imports.Step.ADD):
        if step is user_imports.Step.ADD:
            user_import.refresh_from_db()
            user_imports.confirm(user_import, admin)
        profiler = None if args.no_profile else cProfile.Profile()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        user_imports.run_step(str(user_import.pk), step)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        user_import.refresh_from_db()
        print(f"{step}: {args.rows / seconds:,.0f} rows/s ({seconds:.2f} s), {user_import.state}")
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
    report = verify_chains(organization)
    print(f"audit chain: {'intact' if report.intact else report.breaks[0]}")


if __name__ == "__main__":
    main()
