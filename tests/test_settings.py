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
from cryptography.fernet import Fernet
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
    # Behind one load balancer that terminates TLS, as docs/deploy.md sets it up.
    "PARTNERHUB_TRUSTED_PROXIES": "1",
    "PARTNERHUB_MFA_KEYS": Fernet.generate_key().decode(),
}
# The variables settings read besides DJANGO_*: none of this machine's may leak into a case.
SETTINGS_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "LOG_FORMAT",
    "PARTNERHUB_TRUSTED_PROXIES",
    "PARTNERHUB_BASE_URL",
    "PARTNERHUB_SESSION_IDLE_MINUTES",
    "PARTNERHUB_SESSION_MAX_HOURS",
    "PARTNERHUB_MAX_REQUEST_BYTES",
    "PARTNERHUB_MFA_KEYS",
    "PARTNERHUB_MFA_ISSUER",
    "PARTNERHUB_WEBAUTHN_ORIGINS",
}


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    # Start from this environment without any of the project's own variables.
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name not in SETTINGS_VARIABLES
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


def test_production_refuses_to_start_without_the_second_factor_key():
    result = manage("check", **{**PRODUCTION, "PARTNERHUB_MFA_KEYS": ""})

    assert result.returncode != 0
    assert "PARTNERHUB_MFA_KEYS is not set" in result.stderr


def test_production_refuses_a_second_factor_key_that_is_not_a_fernet_key():
    result = manage("check", **{**PRODUCTION, "PARTNERHUB_MFA_KEYS": "not-a-key"})

    assert result.returncode != 0
    assert "must be a Fernet key" in result.stderr


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


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("postgres://p@db.internal:5432/p", "-c max_parallel_workers_per_gather=0"),
        (
            "postgres://p@db.internal:5432/p?options=-c%20statement_timeout%3D5000",
            "-c statement_timeout=5000 -c max_parallel_workers_per_gather=0",
        ),
        (
            "postgres://p@db.internal:5432/p?options=-c%20max_parallel_workers_per_gather%3D1",
            "-c max_parallel_workers_per_gather=1",
        ),
        ("sqlite:///tmp/x.sqlite3", None),
    ],
)
def test_postgresql_connections_start_no_parallel_workers_unless_the_url_says(url, options):
    code = (
        "from django.conf import settings;"
        "print(repr(settings.DATABASES['default'].get('OPTIONS', {}).get('options')))"
    )

    result = manage("shell", "-c", code, DATABASE_URL=url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == repr(options)


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


# Redis, email, proxies, logs: the settings of a deployment with several app servers


def read_settings(*names: str, **environment: str) -> dict[str, object]:
    """The named settings as a fresh process computes them from this environment."""
    code = (
        "import json; from django.conf import settings;"
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}, default=str))"
    )
    result = manage("shell", "-c", code, **environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


STATELESS = ("CACHES", "SESSION_ENGINE", "AXES_HANDLER")


def test_without_redis_the_cache_is_local_and_sessions_and_failures_are_in_the_database():
    values = read_settings(*STATELESS)

    assert values["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")
    assert values["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"
    assert values["AXES_HANDLER"] == "axes.handlers.database.AxesDatabaseHandler"


def test_with_redis_the_cache_sessions_and_sign_in_failures_live_in_redis():
    values = read_settings(*STATELESS, REDIS_URL="redis://cache.internal:6379/2")

    cache = values["CACHES"]["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://cache.internal:6379/2"
    assert values["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"
    assert values["AXES_HANDLER"] == "axes.handlers.cache.AxesCacheHandler"


def test_the_deploy_check_passes_with_redis():
    # django-axes checks that its cache handler has a cache that processes share.
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, REDIS_URL="redis://r:6379/0"
    )

    assert result.returncode == 0, result.stderr


def test_a_redis_url_that_is_not_one_is_refused():
    result = manage("check", REDIS_URL="http://cache.internal:6379")

    assert result.returncode != 0
    assert "REDIS_URL must be redis://" in result.stderr


EMAIL = (
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT",
    "DEFAULT_FROM_EMAIL",
    "SERVER_EMAIL",
)


def test_email_is_printed_in_development_and_sent_by_smtp_in_production():
    development = read_settings(*EMAIL)
    production = read_settings(*EMAIL, **PRODUCTION)

    assert development["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert production["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (production["EMAIL_HOST"], production["EMAIL_PORT"]) == ("localhost", 25)


def test_the_email_url_and_senders_come_from_the_environment():
    values = read_settings(
        *EMAIL,
        EMAIL_URL="smtp://mailer%40partnerhub.example:p%40ss%2Fword@smtp.example.com:587/?tls=true",
        DJANGO_DEFAULT_FROM_EMAIL="PartnerHub <noreply@partnerhub.example>",
        DJANGO_SERVER_EMAIL="errors@partnerhub.example",
    )

    assert values == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer@partnerhub.example",
        "EMAIL_HOST_PASSWORD": "p@ss/word",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10,
        "DEFAULT_FROM_EMAIL": "PartnerHub <noreply@partnerhub.example>",
        "SERVER_EMAIL": "errors@partnerhub.example",
    }


def test_the_older_email_backend_variable_still_chooses_the_backend():
    values = read_settings(
        "EMAIL_BACKEND",
        **PRODUCTION,
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )

    assert values == {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("console:", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        ("locmem:", {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}),
        ("dummy:", {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}),
        ("smtp://mail.internal", {"EMAIL_HOST": "mail.internal", "EMAIL_PORT": 25}),
        ("smtp://mail.internal/?tls=true", {"EMAIL_PORT": 587, "EMAIL_USE_TLS": True}),
        ("smtp://mail.internal:2525?timeout=3", {"EMAIL_PORT": 2525, "EMAIL_TIMEOUT": 3}),
        ("smtps://mail.internal", {"EMAIL_PORT": 465, "EMAIL_USE_SSL": True}),
        ("smtp://mail.internal?ssl=on", {"EMAIL_PORT": 465, "EMAIL_USE_SSL": True}),
    ],
)
def test_email_urls(url, expected):
    from partnerhub.settings import parse_email_url

    parsed = parse_email_url(url)

    assert {name: parsed[name] for name in expected} == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("smpt://mail.internal", "EMAIL_URL must start with one of"),
        ("smtp://mail.internal?tls=true&ssl=true", "not both"),
        ("smtp://mail.internal?tls=maybe", "tls must be true or false"),
        ("smtp://mail.internal?use_tls=true", "unknown options: use_tls"),
        ("smtp://mail.internal?timeout=soon", "timeout must be seconds"),
        ("smtp://mail.internal:port", "EMAIL_URL:"),
    ],
)
def test_an_email_url_that_cannot_be_right_is_refused(url, message):
    from django.core.exceptions import ImproperlyConfigured

    from partnerhub.settings import parse_email_url

    with pytest.raises(ImproperlyConfigured, match=message):
        parse_email_url(url)


def test_a_bad_email_url_stops_start_up_without_showing_the_password():
    result = manage("check", EMAIL_URL="smpt://user:hunter2@mail.internal")

    assert result.returncode != 0
    assert "EMAIL_URL must start with one of" in result.stderr
    assert "hunter2" not in result.stderr


def test_the_base_url_for_links_in_emails():
    assert read_settings("PARTNERHUB_BASE_URL") == {"PARTNERHUB_BASE_URL": "http://127.0.0.1:8000"}
    # Production: https and the first allowed host, unless set.
    assert read_settings("PARTNERHUB_BASE_URL", **PRODUCTION) == {
        "PARTNERHUB_BASE_URL": "https://partnerhub.example.com"
    }
    chosen = read_settings("PARTNERHUB_BASE_URL", PARTNERHUB_BASE_URL="https://hub.example/")
    assert chosen == {"PARTNERHUB_BASE_URL": "https://hub.example"}


def test_the_request_body_limit_comes_from_the_environment():
    names = ("PARTNERHUB_MAX_REQUEST_BYTES", "DATA_UPLOAD_MAX_MEMORY_SIZE")
    assert read_settings(*names) == dict.fromkeys(names, 1024 * 1024)
    chosen = read_settings(*names, PARTNERHUB_MAX_REQUEST_BYTES="65536")
    assert chosen == dict.fromkeys(names, 65536)
    result = manage("check", PARTNERHUB_MAX_REQUEST_BYTES="1MB")
    assert result.returncode != 0
    assert "PARTNERHUB_MAX_REQUEST_BYTES must be a whole number" in result.stderr


@pytest.mark.parametrize("url", ["hub.example", "ftp://hub.example", "https://hub.example/app"])
def test_a_base_url_that_is_not_a_scheme_and_host_is_refused(url):
    result = manage("check", PARTNERHUB_BASE_URL=url)

    assert result.returncode != 0
    assert "PARTNERHUB_BASE_URL must be a scheme and host" in result.stderr


def test_without_a_trusted_proxy_forwarded_headers_are_not_believed():
    values = read_settings(
        "PARTNERHUB_TRUSTED_PROXIES",
        "SECURE_PROXY_SSL_HEADER",
        **{**PRODUCTION, "PARTNERHUB_TRUSTED_PROXIES": ""},
    )

    assert values == {"PARTNERHUB_TRUSTED_PROXIES": 0, "SECURE_PROXY_SSL_HEADER": None}


def test_behind_a_trusted_proxy_its_https_header_is_believed():
    values = read_settings("PARTNERHUB_TRUSTED_PROXIES", "SECURE_PROXY_SSL_HEADER", **PRODUCTION)

    assert values == {
        "PARTNERHUB_TRUSTED_PROXIES": 1,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_a_proxy_count_that_is_not_a_number_is_refused(value):
    result = manage("check", PARTNERHUB_TRUSTED_PROXIES=value)

    assert result.returncode != 0
    assert "PARTNERHUB_TRUSTED_PROXIES must be a whole number" in result.stderr


def test_logs_are_json_in_production_and_text_in_development():
    assert read_settings("LOG_FORMAT") == {"LOG_FORMAT": "text"}
    assert read_settings("LOG_FORMAT", **PRODUCTION) == {"LOG_FORMAT": "json"}
    assert read_settings("LOG_FORMAT", LOG_FORMAT="json") == {"LOG_FORMAT": "json"}


def test_an_unknown_log_format_is_refused():
    result = manage("check", LOG_FORMAT="yaml")

    assert result.returncode != 0
    assert "LOG_FORMAT must be json or text" in result.stderr


def test_static_files_get_hashed_compressed_names_in_production():
    values = read_settings("STORAGES", **PRODUCTION)

    backend = values["STORAGES"]["staticfiles"]["BACKEND"]
    assert backend == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_error_reports_hide_credentials_inside_urls(settings):
    from django.views.debug import get_default_exception_reporter_filter

    settings.EMAIL_URL = "smtp://mailer:hunter2@smtp.example:587/?tls=true"
    settings.REDIS_URL = "redis://:hunter2@cache.internal:6379/0"
    settings.CACHES = {"default": {"LOCATION": settings.REDIS_URL}}

    shown = get_default_exception_reporter_filter().get_safe_settings()

    assert "hunter2" not in repr(shown)
