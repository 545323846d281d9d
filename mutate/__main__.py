"""`make mutate`: break the rulebook and the services one named mutation at a time, and check
that the tests notice.

Each mutation of mutate/mutations.py is applied to a copy of the project in a temporary
directory (the working tree is never written to), the mutation's tests run there with
`pytest -x`, and the mutation is killed when they fail. Prints each outcome, the score and the
survivors, each with why it is equivalent (or UNEXPECTED when the list gives no reason).

    python -m mutate                 # every mutation; PostgreSQL ones only with DATABASE_URL
    python -m mutate -k lock_        # those whose name contains "lock_"
    python -m mutate --list          # the mutations, without running anything
    python -m mutate --report FILE   # also write the outcome as a Markdown table
    python -m mutate --shard 1/2     # every second mutation, from the first (two at once)

Mutations marked `postgresql` run with the DATABASE_URL of the environment (the tests create
their own test_ database there); the others run on SQLite, in memory.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mutate.mutations import MUTATIONS, RULES, Mutation

ROOT = Path(__file__).resolve().parent.parent
# Not copied: environments, caches, and what tests never read.
SKIPPED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    "db.sqlite3",
    "staticfiles",
    "screenshots",
    "test-results",
    "results",
)
TIMEOUT = 900  # seconds for one mutation's tests; a mutation that hangs them counts as killed


@dataclass
class Outcome:
    mutation: Mutation
    killed: bool
    seconds: float
    detail: str  # the first failing test, or why it counts as killed


def mutated_source(mutation: Mutation, source: str) -> str:
    """The file's text with the mutation's edits applied; each original must occur exactly once
    (within the named function when `within` is given), so the list fails loudly when the code
    it mutates has changed."""
    start, end = 0, len(source)
    if mutation.within:
        if source.count(mutation.within) != 1:
            raise SystemExit(f"{mutation.name}: {mutation.within!r} is not once in {mutation.file}")
        start = source.index(mutation.within)
        following = source.find("\ndef ", start + len(mutation.within))
        end = following if following != -1 else len(source)
    for original, replacement in mutation.edits:
        region = source[start:end]
        if region.count(original) != 1:
            where = f" within {mutation.within!r}" if mutation.within else ""
            raise SystemExit(
                f"{mutation.name}: {original!r} occurs {region.count(original)} times{where} "
                f"in {mutation.file}, not once: update mutate/mutations.py"
            )
        at = start + region.index(original)
        source = source[:at] + replacement + source[at + len(original) :]
        end += len(replacement) - len(original)
    compile(source, mutation.file, "exec")  # a mutation must still be Python
    return source


def pytest_command(mutation: Mutation) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "--no-header",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        *(["--reuse-db"] if mutation.postgresql else []),
        *mutation.tests,
    ]


def environment(mutation: Mutation) -> dict[str, str]:
    env = dict(os.environ)
    # Every run compiles the copy's sources afresh: a stale .pyc of another mutation of the same
    # size and second would otherwise be imported instead.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("CI", None)  # a deselected or skipped test is no failure here
    if not mutation.postgresql:
        env.pop("DATABASE_URL", None)
    return env


def first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ")[0]
    return output.strip().splitlines()[-1] if output.strip() else ""


def run_tests(mutation: Mutation, copy: Path) -> tuple[int, str]:
    try:
        finished = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
            pytest_command(mutation),
            cwd=copy,
            env=environment(mutation),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {TIMEOUT} s"
    return finished.returncode, finished.stdout + finished.stderr


def run(mutation: Mutation, copy: Path) -> Outcome:
    target = copy / mutation.file
    original = target.read_text()
    started = time.monotonic()
    target.write_text(mutated_source(mutation, original))
    try:
        code, output = run_tests(mutation, copy)
    finally:
        target.write_text(original)
    seconds = time.monotonic() - started
    if code == 0:
        return Outcome(mutation, False, seconds, "")
    if code in (2, 3, 4):  # interrupted, internal error, usage error: not a verdict
        raise SystemExit(f"{mutation.name}: pytest could not run (exit {code}):\n{output}")
    return Outcome(mutation, True, seconds, first_failure(output))


def check_baseline(copy: Path, mutations: list[Mutation]) -> None:
    """Every test file named must pass unmutated, or every mutation would look killed."""
    for postgresql in sorted({m.postgresql for m in mutations}):
        tests = sorted({test for m in mutations if m.postgresql == postgresql for test in m.tests})
        probe = Mutation("baseline", RULES, (), tests=tuple(tests), postgresql=postgresql)
        code, output = run_tests(probe, copy)
        if code != 0:
            raise SystemExit(f"The tests fail without any mutation:\n{output}")


def report(outcomes: list[Outcome], skipped: list[Mutation]) -> str:
    killed = [o for o in outcomes if o.killed]
    survivors = [o for o in outcomes if not o.killed]
    score = 100 * len(killed) / len(outcomes) if outcomes else 0.0
    lines = [
        f"{len(killed)} of {len(outcomes)} mutations killed ({score:.1f}%), "
        f"{len(survivors)} survived"
        + (f"; {len(skipped)} not run (PostgreSQL: set DATABASE_URL)" if skipped else ""),
    ]
    for outcome in survivors:
        reason = outcome.mutation.equivalent or "UNEXPECTED: no test noticed; write one"
        lines.append(f"  survived {outcome.mutation.name}: {reason}")
    return "\n".join(lines)


def markdown(outcomes: list[Outcome], skipped: list[Mutation], argv: list[str]) -> str:
    rows = [
        f"| `{o.mutation.name}` | {o.mutation.file} | {o.mutation.why} | "
        + ("killed by `" + o.detail.removeprefix("FAILED ").removeprefix("ERROR ") + "`") * o.killed
        + ("**survived**: " + (o.mutation.equivalent or "UNEXPECTED")) * (not o.killed)
        + " |"
        for o in outcomes
    ]
    rows += [f"| `{m.name}` | {m.file} | {m.why} | not run (PostgreSQL) |" for m in skipped]
    return "\n".join(
        [
            f"Run on {datetime.date.today().isoformat()}: `python -m mutate {' '.join(argv)}`",
            "",
            "```",
            report(outcomes, skipped),
            "```",
            "",
            "| mutation | file | the rule it breaks | outcome |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
        ]
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutate", description=__doc__.split("\n")[0])
    parser.add_argument("-k", dest="keyword", default="", help="only names containing this")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    parser.add_argument("--report", type=Path, help="also write the outcome as Markdown here")
    parser.add_argument("--shard", default="1/1", help="i/n: run every n-th mutation from the i-th")
    options = parser.parse_args(argv)

    shard, shards = (int(part) for part in options.shard.split("/"))
    chosen = [m for m in MUTATIONS[shard - 1 :: shards] if options.keyword in m.name]
    names = [m.name for m in MUTATIONS]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise SystemExit(f"Mutation names must be unique: {sorted(duplicates)}")
    for mutation in chosen:  # fail before running anything when the list is out of date
        mutated_source(mutation, (ROOT / mutation.file).read_text())
    if options.list:
        for mutation in chosen:
            print(f"{mutation.name:60} {mutation.file:22} {mutation.why}")
        return 0

    # Stopped by a signal, the temporary copy is still removed (as on Ctrl-C).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    has_postgresql = os.environ.get("DATABASE_URL", "").startswith("postgres")
    skipped = [m for m in chosen if m.postgresql and not has_postgresql]
    to_run = [m for m in chosen if m not in skipped]
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="partnerhub-mutate-") as directory:
        copy = Path(directory) / "project"
        shutil.copytree(ROOT, copy, ignore=SKIPPED)
        print(f"{len(to_run)} mutations; checking that their tests pass unmutated...", flush=True)
        check_baseline(copy, to_run)
        for number, mutation in enumerate(to_run, 1):
            outcome = run(mutation, copy)
            outcomes.append(outcome)
            verdict = "killed  " if outcome.killed else "SURVIVED"
            print(
                f"[{number:3}/{len(to_run)}] {verdict} {mutation.name} "
                f"({outcome.seconds:.0f} s) {outcome.detail}",
                flush=True,
            )
    print()
    print(report(outcomes, skipped))
    if options.report:
        options.report.write_text(markdown(outcomes, skipped, argv))
    unexpected = [o for o in outcomes if not o.killed and not o.mutation.equivalent]
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
