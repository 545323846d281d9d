"""The background-job checks of .ci/smoke: a job enqueued through one app server is done by a
worker, and its result is reachable through the other server.

Standard library only; signs in with smoke_check's sign_in and second_factor.
Usage: SMOKE_PASSWORD=... smoke_jobs.py FIRST_URL SECOND_URL
Prints PASS or FAIL per check; exits 1 when any check failed.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from smoke_check import Browser, check, failures, second_factor, sign_in, totp

# A User management admin of the demo: may import users and read the audit log.
EMAIL = "useradmin@contoso.example"

ROWS = 2500
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf(browser: Browser, base: str, path: str) -> str:
    found = TOKEN.search(browser.request(base, "GET", path).text)
    return found.group(1) if found else ""


def upload(browser: Browser, base: str, name: str, text: str) -> object:
    """Send a CSV file as the upload form does (multipart/form-data)."""
    token = csrf(browser, base, "/users/import/")
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f"{token}\r\n"
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
        f"{text}\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    return browser.request(
        base,
        "POST",
        "/users/import/",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


def progress(browser: Browser, base: str, path: str, until: str, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    state: dict = {}
    while time.monotonic() < deadline:
        response = browser.request(base, "GET", f"{path}progress/")
        if response.status == 200:
            state = json.loads(response.body)
            if state["state"] in {until, "failed"}:
                return state
        time.sleep(0.5)
    return state


def main(first: str, second: str, password: str) -> int:
    browser = Browser()
    signed_in = sign_in(browser, first, EMAIL, password)
    if not check(f"jobs: signed in on {first}", signed_in.status == 302, str(signed_in.status)):
        return 1
    # Another demo admin than smoke_check's: an app's code works once, and smoke_check has
    # just used the Global admin's code of this half-minute.
    verified = second_factor(browser, first, totp(os.environ["SMOKE_TOTP_SECRET"]))
    if not check(
        f"jobs: past the second factor on {first}",
        verified.status == 302 and "second-factor" not in verified.headers.get("Location", ""),
        f"{verified.status} {verified.headers.get('Location')}",
    ):
        return 1

    # An import of ROWS users, uploaded through the first server.
    tag = uuid.uuid4().hex[:8]
    text = "First name,Last name,Email,Roles\r\n" + "".join(
        f"Smoke{n},Person{n},smoke-{tag}-{n}@contoso.example,Referrals admin\r\n"
        for n in range(ROWS)
    )
    started = time.monotonic()
    sent = upload(browser, first, "smoke.csv", text)
    answered = time.monotonic() - started
    location = sent.headers.get("Location", "")
    check(
        f"an upload of {ROWS} rows through {first} answers at once with the import's page",
        sent.status == 302 and re.fullmatch(r"/users/import/[0-9a-f-]{36}/", location) is not None,
        f"{sent.status} {location} ({answered:.2f} s)",
    )
    if failures:
        return 1

    checked = progress(browser, second, location, "checked")
    check(
        f"a worker checked it; its progress read through {second}",
        checked.get("state") == "checked" and checked.get("rows_done") == ROWS,
        str(checked),
    )
    token = csrf(browser, second, location)
    confirmed = browser.request(
        second,
        "POST",
        f"{location}confirm/",
        form={"csrfmiddlewaretoken": token, "upload": location.strip("/").split("/")[-1]},
    )
    check(f"Add confirmed through {second}", confirmed.status == 302, str(confirmed.status))
    added = progress(browser, first, location, "added")
    check(
        f"a worker added {ROWS} users; the progress read through {first}",
        added.get("state") == "added" and added.get("rows_done") == ROWS,
        str(added),
    )
    result = browser.request(second, "GET", f"{location}result.csv")
    lines = result.text.splitlines()
    check(
        f"the result file is reachable through {second}, every row added",
        result.status == 200 and len(lines) == ROWS + 1 and all(",added," in x for x in lines[1:]),
        f"{result.status}, {len(lines)} lines",
    )
    page = browser.request(first, "GET", location)
    check(
        f"the result page through {first} says so",
        page.status == 200 and f"{ROWS} users added" in page.text.replace(",", ""),
        str(page.status),
    )

    # The audit log's export: asked through the second server, downloaded through the first.
    token = csrf(browser, second, "/audit-log/")
    asked = browser.request(
        second, "POST", "/audit-log/export/", form={"csrfmiddlewaretoken": token}
    )
    check(f"an audit export asked through {second}", asked.status == 302, str(asked.status))
    link = None
    deadline = time.monotonic() + 120
    while link is None and time.monotonic() < deadline:
        found = re.search(
            r'href="(/audit-log/exports/[0-9a-f-]{36}\.csv)"',
            browser.request(first, "GET", "/audit-log/").text,
        )
        link = found.group(1) if found else None
        if link is None:
            time.sleep(0.5)
    exported = browser.request(first, "GET", link) if link else None
    check(
        f"a worker wrote it; downloaded through {first}, with the import's events",
        exported is not None
        and exported.status == 200
        and exported.text.count("User created") >= ROWS,
        str(exported.status if exported else "no link within 120 s"),
    )
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or not os.environ.get("SMOKE_PASSWORD"):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], os.environ["SMOKE_PASSWORD"]))
