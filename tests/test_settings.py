"""Settings come from the environment; production refuses to start misconfigured.

Settings are read once, at import, so each case runs manage.py in a fresh process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management.utils import get_random_secret_key
from django.test import override_settings
from django.urls import reverse

from tests.factories import PASSWORD

PROJECT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": get_random_secret_key() + get_random_secret_key(),
    "DJANGO_ALLOWED_HOSTS": "partnerhub.example.com",
}


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    # Start from this environment without any of the project's own variables.
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name != "DATABASE_URL"
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={**clean, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_development_needs_no_variables():
    result = manage("check")

    assert result.returncode == 0, result.stderr


def test_deploy_check_passes_with_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", **{**PRODUCTION, "DJANGO_SECRET_KEY": ""})

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = manage("check", **{**PRODUCTION, "DJANGO_ALLOWED_HOSTS": ""})

    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS is not set" in result.stderr


def test_a_debug_flag_that_is_not_a_boolean_is_refused():
    result = manage("check", DJANGO_DEBUG="maybe")

    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false" in result.stderr


@pytest.mark.parametrize(
    ("url", "engine"),
    [
        (None, "django.db.backends.sqlite3"),
        ("", "django.db.backends.sqlite3"),
        ("postgres://partnerhub@db.internal:5432/partnerhub", "django.db.backends.postgresql"),
    ],
)
def test_database_url_chooses_the_database(url, engine):
    code = (
        "from django.conf import settings; d = settings.DATABASES['default'];"
        "print(d['ENGINE'], d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    )
    environment = {"DATABASE_URL": url} if url is not None else {}

    result = manage("shell", "-c", code, **environment)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == [engine, "600", "True"]


def test_tests_use_a_fast_password_hasher():
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Headers and cookies in production

# The policy, directive by directive (django-csp writes them in no fixed order).
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}


def directives(header: str) -> dict[str, str]:
    """A Content-Security-Policy header as {directive: sources}."""
    pairs = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: sources for name, sources in pairs}


# The settings that decide the security headers and cookie flags of a response.
SECURITY_SETTINGS = [
    "DEBUG",
    "CONTENT_SECURITY_POLICY",
    "X_FRAME_OPTIONS",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
]


@pytest.fixture(scope="module")
def production_security_settings() -> dict[str, object]:
    """The security settings as production computes them, read in a fresh process."""
    code = (
        "import json; from django.conf import settings;"
        f"print(json.dumps({{n: getattr(settings, n) for n in {SECURITY_SETTINGS!r}}}))"
    )
    result = manage("shell", "-c", code, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.splitlines()[-1])
    # JSON has no tuples; Django wants the header and value as a pair.
    values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


def test_production_cookies_are_secure_http_only_and_same_site(production_security_settings):
    production = production_security_settings

    assert production["DEBUG"] is False
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SESSION_COOKIE_SAMESITE"] in {"Lax", "Strict"}
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SAMESITE"] in {"Lax", "Strict"}


def test_production_responses_carry_the_security_headers_and_cookie_flags(
    client, csp, production_security_settings
):
    with override_settings(**production_security_settings):
        # Behind the load balancer, as production runs: TLS ended there and said so.
        https = {"X-Forwarded-Proto": "https"}
        sign_in_page = client.get(reverse("login"), headers=https)
        signed_in = client.post(
            reverse("login"),
            {"username": csp.global_admin.email, "password": PASSWORD},
            headers=https,
        )
        plain_http = client.get(reverse("home"))

    headers = sign_in_page.headers
    assert sign_in_page.status_code == 200
    assert directives(headers["Content-Security-Policy"]) == CSP
    assert "unsafe-" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    csrf_cookie = sign_in_page.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf_cookie["secure"] is True
    assert csrf_cookie["samesite"] == "Lax"

    assert signed_in.status_code == 302
    assert directives(signed_in.headers["Content-Security-Policy"]) == CSP
    session_cookie = signed_in.cookies[settings.SESSION_COOKIE_NAME]
    assert session_cookie["secure"] is True
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"] == "Lax"

    assert plain_http.status_code == 301
    assert plain_http.url.startswith("https://")
