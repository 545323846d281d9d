"""Throughput under load: gunicorn serving the app, wrk requesting one signed-in page at a time.

The User management page is compared with a trivial signed-in view of the same app, in the same
run, on the same machine: the ratio says how much of the server's capacity the page itself costs,
whatever the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

HOST = "127.0.0.1"
PORT = 8101
WORKERS = 2
CONNECTIONS = 2
ROUNDS = 2

# wrk runs this: every request carries the session cookie, and says it came over HTTPS the way
# the load balancer in front of production does (production settings redirect plain HTTP).
LUA = """
wrk.headers["Cookie"] = "{cookie}"
wrk.headers["X-Forwarded-Proto"] = "https"
"""
# A path ending in DRAWN is asked with a new number after it on every request: a new address
# each time, so the directory is drawn for every one of them, never served from its page cache
# (accounts.page_cache), as after a change in the organization.
DRAWN = "drawn="
LUA_DRAWN = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, wrk.path .. counter)
end
"""


@dataclass
class LoadResult:
    """What wrk measured for one page."""

    path: str
    requests_per_second: float
    median_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors
    seconds: float


def wrk_path(install: bool) -> str | None:
    """wrk, installed from Debian when missing if allowed and running as root."""
    found = shutil.which("wrk")
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("Installing wrk (apt-get install -y wrk)...", flush=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "wrk"],  # noqa: S607 (Debian's, from PATH)
        check=False,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("wrk")


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(path: str, output: str) -> LoadResult:
    """Reads wrk's report (run with --latency)."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", output)
    median = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if not (rps and total and median and p99):
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    errors = int(bad.group(1)) if bad else 0
    errors += sum(int(n) for n in socket.groups()) if socket else 0
    return LoadResult(
        path=path,
        requests_per_second=float(rps.group(1)),
        median_ms=_milliseconds(median.group(1)),
        p99_ms=_milliseconds(p99.group(1)),
        requests=int(total.group(1)),
        errors=errors,
        seconds=_milliseconds(total.group(2) + total.group(3)) / 1000,
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Server:
    """gunicorn serving the bench URLconf with the current (production-like) environment.

    The project's gunicorn.conf.py applies (gunicorn reads it from the working directory), with
    the bench's workers and address, and no worker recycling: a restart would fall on whichever
    page had served more requests.
    """

    def __init__(self, port: int = PORT) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)

    def __enter__(self) -> Server:
        with socket.socket() as probe:
            if probe.connect_ex((HOST, self.port)) == 0:
                raise RuntimeError(f"{HOST}:{self.port} is taken: is another server running?")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(  # noqa: S603 (the venv's gunicorn)
            [
                str(gunicorn),
                "partnerhub.wsgi:application",
                "--workers",
                str(WORKERS),
                "--bind",
                f"{HOST}:{self.port}",
                "--max-requests",
                "0",
                "--log-level",
                "warning",
            ],
            cwd=settings.BASE_DIR,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_until_up()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"gunicorn stopped:\n{self.log.read().decode()[-2000:]}")
            try:
                self.status("/healthz", {})
                return  # any answer will do
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer within 30 seconds")

    def status(self, path: str, headers: dict[str, str]) -> tuple[int, str]:
        """The status (and Location) of a GET, redirects not followed, as if over HTTPS behind
        the load balancer."""
        request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
            self.url(path), headers={**headers, "X-Forwarded-Proto": "https"}
        )
        try:
            response = urllib.request.build_opener(_NoRedirect).open(request, timeout=30)
            return response.status, ""
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", "")

    def check_signed_in(self, path: str, cookie: str) -> None:
        """The page answers 200 with the cookie (not a redirect to the sign-in page)."""
        status, location = self.status(path, {"Cookie": cookie})
        if status != 200:
            raise RuntimeError(f"{path} answered {status} {location} to the session cookie")


def alternate(
    wrk: str, server: Server, paths: list[str], cookie: str, seconds: int, rounds: int = ROUNDS
) -> list[LoadResult]:
    """Each path in turn, `rounds` times, `seconds / rounds` each time; results summed per path.

    Alternating spreads a change in the machine's other load (it may be shared) over every
    path, instead of letting it fall on whichever path ran at that moment.
    """
    runs: dict[str, list[LoadResult]] = {path: [] for path in paths}
    for _ in range(rounds):
        for path in paths:
            runs[path].append(run_wrk(wrk, server, path, cookie, max(1, seconds // rounds)))
    results = []
    for path, parts in runs.items():
        requests, elapsed = sum(p.requests for p in parts), sum(p.seconds for p in parts)
        results.append(
            LoadResult(
                path=path,
                requests_per_second=requests / elapsed,
                median_ms=statistics.median(p.median_ms for p in parts),
                p99_ms=max(p.p99_ms for p in parts),
                requests=requests,
                errors=sum(p.errors for p in parts),
                seconds=elapsed,
            )
        )
    return results


def run_wrk(wrk: str, server: Server, path: str, cookie: str, seconds: int) -> LoadResult:
    """A short warm-up, then `seconds` of `CONNECTIONS` connections requesting `path`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.format(cookie=cookie.replace('"', "")))
        if path.endswith(DRAWN):
            script.write(LUA_DRAWN)
    try:
        base = [wrk, "-t1", f"-c{CONNECTIONS}", "-s", script.name, "--latency"]
        subprocess.run(  # noqa: S603 (wrk, our arguments)
            [*base, "-d2s", server.url(path)], check=True, capture_output=True, timeout=60
        )
        done = subprocess.run(  # noqa: S603 (wrk, our arguments)
            [*base, f"-d{seconds}s", "--timeout", "10s", server.url(path)],
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(script.name)
    return parse_wrk(path, done.stdout)
