"""The checks of .ci/smoke, against two app servers that share one PostgreSQL and one Redis.

Standard library only. Each request carries what the load balancer would add (X-Forwarded-Proto:
https, X-Forwarded-For, X-Request-ID), because the servers run as production does behind it:
PARTNERHUB_TRUSTED_PROXIES=1, secure cookies, HTTPS redirect on. Cookies are kept by hand:
http.cookiejar never returns a Secure cookie over plain http, which is all loopback speaks.

Usage: SMOKE_PASSWORD=... SMOKE_TOTP_SECRET=... smoke_check.py FIRST_URL SECOND_URL LOG_FILE...
(the demo accounts' password and authenticator app secret, in the environment rather than on a
command line ps shows).
Prints PASS or FAIL per check; exits 1 when any check failed.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import http.client
import json
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

# seed_demo's Global admin of Contoso.
EMAIL = "globaladmin@contoso.example"
NAME = "Megan Bowen"
CLIENT_ADDRESS = "203.0.113.9"  # documentation range: the "browser" behind the balancer
HASHED_STATIC = re.compile(r'(?:href|src)="(/static/[^"]+\.[0-9a-f]{12}\.(?:css|js))"')
LOCKED = 429
FAILURE_LIMIT = 5

failures: list[str] = []


def check(name: str, passed: bool, detail: str = "") -> bool:
    print(f"{'PASS' if passed else 'FAIL'}  {name}{'' if passed else f': {detail}'}", flush=True)
    if not passed:
        failures.append(name)
    return passed


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Browser:
    """A browser's cookies, and requests as the load balancer forwards them to one server."""

    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        base: str,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        behind_balancer: bool = True,
        body: bytes | None = None,
    ) -> Response:
        parts = urlsplit(base)
        sent = {"Host": parts.netloc, "User-Agent": "partnerhub-smoke"}
        if behind_balancer:
            sent.update({"X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT_ADDRESS})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if body is not None:
            # Django checks a secure POST's Origin against the host it was sent to.
            sent["Origin"] = f"https://{parts.netloc}"
        sent.update(headers or {})
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            response = Response(answer.status, answer.headers, answer.read())
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response


def wait_until_healthy(base: str, seconds: float = 60) -> Response | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            response = Browser().request(base, "GET", "/healthz")
            if response.status == 200:
                return response
        except OSError:
            pass
        time.sleep(0.5)
    return None


def sign_in(browser: Browser, base: str, email: str, password: str) -> Response:
    page = browser.request(base, "GET", "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    form = {
        "csrfmiddlewaretoken": token.group(1) if token else "",
        "username": email,
        "password": password,
    }
    return browser.request(base, "POST", "/accounts/login/", form=form)


def totp(secret: str, at: float | None = None) -> str:
    """The authenticator app's code now (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    step = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def second_factor(browser: Browser, base: str, code: str) -> Response:
    page = browser.request(base, "GET", "/accounts/second-factor/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    form = {"csrfmiddlewaretoken": token.group(1) if token else "", "code": code}
    return browser.request(base, "POST", "/accounts/second-factor/", form=form)


def main(first: str, second: str, password: str, log_files: list[str]) -> int:
    for base in (first, second):
        health = wait_until_healthy(base)
        check(
            f"/healthz answers 200 on {base}",
            health is not None and json.loads(health.body) == {"status": "ok"},
            "no 200 within 60 s",
        )
    if failures:
        return 1

    plain = Browser().request(first, "GET", "/accounts/login/", behind_balancer=False)
    check(
        "plain HTTP is redirected to HTTPS",
        plain.status == 301 and plain.headers.get("Location", "").startswith("https://"),
        f"{plain.status} {plain.headers.get('Location')}",
    )

    # Signed in on one server, the session works on the other.
    browser = Browser()
    signed_in = sign_in(browser, first, EMAIL, password)
    check(
        f"sign-in on {first}",
        signed_in.status == 302 and "sessionid" in browser.cookies,
        f"{signed_in.status}, cookies {sorted(browser.cookies)}",
    )
    session_cookie = " ".join(signed_in.headers.get_all("Set-Cookie") or [])
    check(
        "the session cookie is Secure, HttpOnly, SameSite=Lax",
        all(flag in session_cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax")),
        session_cookie,
    )
    # The password alone opens nothing: every page sends to the second step.
    before = browser.request(second, "GET", "/users/")
    check(
        "before the second factor, /users/ sends to the second step",
        before.status == 302
        and before.headers.get("Location", "").startswith("/accounts/second-factor/"),
        f"{before.status} {before.headers.get('Location')}",
    )
    verified = second_factor(browser, second, totp(os.environ["SMOKE_TOTP_SECRET"]))
    check(
        f"the authenticator app's code passes the second step on {second}",
        verified.status == 302 and "second-factor" not in verified.headers.get("Location", ""),
        f"{verified.status} {verified.headers.get('Location')}",
    )
    request_id = f"smoke-{uuid.uuid4()}"
    directory = browser.request(second, "GET", "/users/", headers={"X-Request-ID": request_id})
    check(
        f"the session answers on {second}: /users/ shows {NAME}",
        directory.status == 200 and NAME in directory.text,
        f"{directory.status}",
    )

    headers = directory.headers
    csp = headers.get("Content-Security-Policy", "")
    check(
        "Content-Security-Policy without unsafe-*",
        "default-src 'self'" in csp and "unsafe-" not in csp,
        csp,
    )
    expected = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    for name, value in expected.items():
        check(f"{name}: {value}", headers.get(name) == value, str(headers.get(name)))
    hsts = headers.get("Strict-Transport-Security", "")
    check("Strict-Transport-Security over HTTPS", hsts.startswith("max-age="), hsts)
    check(
        "the load balancer's X-Request-ID comes back",
        headers.get("X-Request-ID") == request_id,
        str(headers.get("X-Request-ID")),
    )
    fresh = Browser().request(first, "GET", "/healthz").headers.get("X-Request-ID", "")
    check("a request without one gets a new request id", bool(re.fullmatch("[0-9a-f]{32}", fresh)))

    # Static files: hashed names, compressed when asked, cached for long.
    page = Browser().request(first, "GET", "/accounts/login/").text
    assets = HASHED_STATIC.findall(page)
    if check("pages link static files by hashed names", bool(assets), "no hashed /static/ link"):
        asset = Browser().request(second, "GET", assets[0], headers={"Accept-Encoding": "gzip, br"})
        encoding = asset.headers.get("Content-Encoding")
        check(
            f"{assets[0]} is served compressed",
            asset.status == 200 and encoding in {"gzip", "br"},
            f"{asset.status}, Content-Encoding {encoding}",
        )
        if encoding == "gzip":
            check("the compressed file unpacks", len(gzip.decompress(asset.body)) > 0)
        cache_control = asset.headers.get("Cache-Control", "")
        check(
            "hashed files are cached for long", "max-age=31536000" in cache_control, cache_control
        )

    # Sign-in failures counted in Redis: failures on both servers add up to a lockout.
    stranger, unknown = Browser(), f"smoke-{uuid.uuid4().hex[:8]}@example.com"
    statuses = [
        sign_in(stranger, (first, second)[attempt % 2], unknown, "wrong-password").status
        for attempt in range(FAILURE_LIMIT)
    ]
    check(
        "sign-in failures on both servers add up to a lockout",
        statuses == [200] * (FAILURE_LIMIT - 1) + [LOCKED],
        str(statuses),
    )

    # Logs: one JSON object per line, the request line carrying the balancer's request id.
    text = "\n".join(Path(name).read_text(encoding="utf-8") for name in log_files)
    lines = [line for line in text.splitlines() if line.strip()]
    records, not_json = [], []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            not_json.append(line.strip())
    check(
        f"every log line is JSON ({len(lines)} lines)",
        bool(lines) and not not_json,
        f"{len(not_json)} not: {not_json[:3]}",
    )
    logged = [
        r
        for r in records
        if r.get("request_id") == request_id and r.get("logger") == "partnerhub.request"
    ]
    check(
        "the request is logged once with its id, status, duration and user",
        len(logged) == 1
        and logged[0].get("path") == "/users/"
        and logged[0].get("status") == 200
        and "duration_ms" in logged[0]
        and logged[0].get("user_id") is not None,
        str(logged),
    )
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) < 4 or not os.environ.get("SMOKE_PASSWORD"):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], os.environ["SMOKE_PASSWORD"], sys.argv[3:]))
