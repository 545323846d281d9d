"""PartnerHub settings: one module, configured from the environment.

Development needs no variables at all: debug is on, the database is a SQLite file in the project.
Production sets DJANGO_DEBUG=false, and must then also set DJANGO_SECRET_KEY and
DJANGO_ALLOWED_HOSTS, or start-up stops with a message saying which is missing.
"""

import base64
import hashlib
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from partnerhub.logging import log_format, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ImproperlyConfigured(f"{name} must be a whole number, 0 or more, not {value!r}.")
    return int(value)


# EMAIL_URL schemes. smtp is plain or STARTTLS (?tls=true), smtps is TLS from the first byte.
EMAIL_SCHEMES = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
EMAIL_OPTIONS = {"tls", "ssl", "timeout"}


def parse_email_url(url: str) -> dict[str, object]:
    """Django's EMAIL_* settings from a URL: smtp://user:password@host:587/?tls=true,
    smtps://host, console:, locmem:, dummy:. Anything else is refused, never guessed at."""
    # Parsed here rather than with dj-email-url: that package has had no release since 2022
    # and silently ignores an unknown scheme, which would lose every email without a word.
    parts = urlsplit(url)
    if parts.scheme not in EMAIL_SCHEMES:
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with one of {', '.join(EMAIL_SCHEMES)}, "
            f"not {url.split(':')[0]!r}."
        )
    config: dict[str, object] = {"EMAIL_BACKEND": EMAIL_SCHEMES[parts.scheme]}
    if not parts.scheme.startswith("smtp"):
        return config
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - EMAIL_OPTIONS
    if unknown:
        raise ImproperlyConfigured(f"EMAIL_URL has unknown options: {', '.join(sorted(unknown))}.")
    use_ssl = parts.scheme == "smtps" or _email_flag(query, "ssl")
    use_tls = _email_flag(query, "tls")
    if use_ssl and use_tls:
        raise ImproperlyConfigured("EMAIL_URL: choose TLS (STARTTLS) or SSL, not both.")
    timeout = query.get("timeout", "10")
    if not timeout.isdigit():
        raise ImproperlyConfigured(f"EMAIL_URL: timeout must be seconds, not {timeout!r}.")
    try:
        port = parts.port
    except ValueError as error:
        raise ImproperlyConfigured(f"EMAIL_URL: {error}.") from None
    config.update(
        EMAIL_HOST=parts.hostname or "localhost",
        EMAIL_PORT=port or (465 if use_ssl else 587 if use_tls else 25),
        EMAIL_HOST_USER=unquote(parts.username or ""),
        EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
        EMAIL_USE_TLS=use_tls,
        EMAIL_USE_SSL=use_ssl,
        # A stuck mail server must not hold a web worker forever.
        EMAIL_TIMEOUT=int(timeout),
    )
    return config


def _email_flag(query: dict[str, str], name: str) -> bool:
    value = query.get(name, "false").lower()
    if value not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise ImproperlyConfigured(f"EMAIL_URL: {name} must be true or false, not {value!r}.")
    return value in {"1", "true", "yes", "on"}


# Debug is on unless the environment turns it off: a laptop runs with no variables set, and
# production is the place that sets DJANGO_DEBUG=false (docs and the README say so).
DEBUG = env_bool("DJANGO_DEBUG", default=True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. With DJANGO_DEBUG=false PartnerHub refuses to start "
            "without a secret key: set DJANGO_SECRET_KEY to a long random value."
        )
    # Development only: this key signs nothing that leaves the laptop.
    SECRET_KEY = "django-insecure-development-only-key-never-used-with-debug-off"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS is not set. With DJANGO_DEBUG=false list the host names "
            "PartnerHub answers to, separated by commas."
        )
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# How many reverse proxies (load balancers) stand in front of the app servers. 0: clients connect
# directly, and what they write in X-Forwarded-For, X-Forwarded-Proto or X-Request-ID is not
# believed. N: the client's address is the Nth address from the right of X-Forwarded-For (each
# proxy appends the address it received the request from), and X-Forwarded-Proto says https.
PARTNERHUB_TRUSTED_PROXIES = env_int("PARTNERHUB_TRUSTED_PROXIES", 0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "formtools",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "bootstrap",
    "heroicons",
    "django_htmx",
    "csp",
    "partnerhub",
    "accounts",
    "roles",
    "api",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "mfa",
    "django_otp",
    "django_otp_webauthn",
    "jobs",
    "axes",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    # First: the request id is known to every later log line, and every request is logged.
    "partnerhub.middleware.RequestIdMiddleware",
    # Next, before anything reads a body: too long (413) or of unknown length (411) is refused
    # from the request's declared length (partnerhub.request_size).
    "partnerhub.request_size.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files too carry the policy.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.htmx: whether a page was asked for by htmx (the side panel), to answer a partial.
    "django_htmx.middleware.HtmxMiddleware",
    # request.user.is_verified(): whether this session passed its second factor (django-otp's
    # middleware, answered from the session: mfa.middleware.VerifiedSessionMiddleware).
    "mfa.middleware.VerifiedSessionMiddleware",
    # Signed in but not past the second factor: only the second step, enrolment and sign-out.
    "mfa.middleware.SecondFactorRequiredMiddleware",
    # Times in the browser's time zone, when it said which (static/js/time-zone.js).
    "partnerhub.time_zones.TimeZoneMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    # Records every page the rulebook refuses (a RuleRefused leaving a view) before the 403.
    "accounts.middleware.RefusalAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages: a session that timed out is signed out with a message saying why.
    "accounts.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into our lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "partnerhub.urls"
WSGI_APPLICATION = "partnerhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.tz",
                "partnerhub.context_processors.navigation",
            ],
        },
    },
]

# DATABASE_URL selects the database (postgres://user@host:5432/name in production and CI);
# without it (or with it empty), a SQLite file beside manage.py.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=600,
        conn_health_checks=True,
    )
}
# No parallel query on PostgreSQL: every query of a page is an index walk of a few milliseconds,
# which PostgreSQL would hand to parallel workers when it expects many rows, though a LIMIT
# stops it early. The directory's "Sales agent, never signed in" took 9.5 ms that way (two
# workers started for each request, on a 2-core server), 1.1 ms without. Sent as a connection
# option, after any DATABASE_URL gives (?options=...); one that already sets it is kept.
NO_PARALLEL_QUERY = "-c max_parallel_workers_per_gather=0"
if "postgresql" in DATABASES["default"]["ENGINE"] or "postgis" in DATABASES["default"]["ENGINE"]:
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _given = str(_options.get("options", ""))
    if "max_parallel_workers_per_gather" not in _given:
        _options["options"] = f"{_given} {NO_PARALLEL_QUERY}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Emails are unique ignoring case, by a functional unique constraint that the check does not see
# (accounts_user_email_unique_ignoring_case), and sign-in looks them up ignoring case.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
# An index's INCLUDE columns are for PostgreSQL, where the pages' plans read them; SQLite (tests
# and development) builds the same index without them (accounts_audit_org_when_idx).
SILENCED_SYSTEM_CHECKS += ["models.W040"]
# django-axes first: a locked-out sign-in name is refused before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The second factor (the mfa app). Authenticator apps' secrets are encrypted with
# PARTNERHUB_MFA_KEYS: Fernet keys separated by commas, the first encrypts, all decrypt, so a key
# is rotated by putting a new one first (mfa.crypto). Production refuses to start without one.
PARTNERHUB_MFA_KEYS = env_list("PARTNERHUB_MFA_KEYS")
if not PARTNERHUB_MFA_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "PARTNERHUB_MFA_KEYS is not set. With DJANGO_DEBUG=false PartnerHub refuses to start "
            "without the key that encrypts authenticator apps' secrets: set it to the output of "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'."
        )
    # Development only, derived from the development secret key: a laptop needs no variable.
    PARTNERHUB_MFA_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"partnerhub-mfa:{SECRET_KEY}".encode()).digest()
        ).decode()
    ]
for _key in PARTNERHUB_MFA_KEYS:
    try:
        Fernet(_key.encode())
    except ValueError:
        raise ImproperlyConfigured(
            "Each key of PARTNERHUB_MFA_KEYS must be a Fernet key (32 url-safe base64 bytes)."
        ) from None
# The name authenticator apps show beside the account, and the passkey's relying party.
PARTNERHUB_MFA_ISSUER = os.environ.get("PARTNERHUB_MFA_ISSUER", "PartnerHub").strip()
# One step (30 s) of clock drift either way; drift is not learned, so the window never widens.
OTP_TOTP_SYNC = False

# Sign-in lockout (django-axes): 5 failed sign-ins for one email lock it for 15 minutes. By the
# email only, not the address: many partner users share an office's address. Failures are kept
# in the database, so every app server sees them; a completed sign-in clears them. Completed
# means past the second factor (mfa.views, mfa.passkeys clear the count there): the right
# password alone clears nothing, or a script holding a stolen password would sign in again
# after every four wrong codes and never reach the fifth (DOMAIN.md rule 10).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_FORM_FIELD = "username"
# Emails compare ignoring case (DOMAIN.md rule 8): USER@ and user@ share one count.
AXES_USERNAME_CALLABLE = "accounts.lockout.sign_in_name"
AXES_RESET_ON_SUCCESS = False
# Axes keeps the POST of each failure (AccessAttempt.post_data: in a dump, on the admin's page):
# never the password, and never a code of the second step either. A refused code is not always
# a wrong one (a right recovery code while its throttle waits, one mistyped by a character).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]
# Attempts during a lockout do not extend it: someone guessing cannot keep the owner out.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.lockout.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no banner on every manage.py command
# The client's address as the audit trail sees it (through the trusted proxies), for axes' logs.
AXES_CLIENT_IP_CALLABLE = "accounts.audit.client_address"
# axes.W006 asks to lock by address too. Locking by email is the decision above: rotating the
# browser or cookies does not escape it, and an office behind one address is not locked out.
SILENCED_SYSTEM_CHECKS += ["axes.W006"]

# Sessions end after PARTNERHUB_SESSION_IDLE_MINUTES without a request and, however active,
# PARTNERHUB_SESSION_MAX_HOURS after sign-in (accounts.middleware.SessionTimeoutMiddleware).
# The cookie and the stored session expire that long after their last write too, so a session
# the middleware never sees again (a browser closed for good) does not outlive it by much.
PARTNERHUB_SESSION_IDLE_MINUTES = env_int("PARTNERHUB_SESSION_IDLE_MINUTES", 60)
PARTNERHUB_SESSION_MAX_HOURS = env_int("PARTNERHUB_SESSION_MAX_HOURS", 12)
for _name in ("PARTNERHUB_SESSION_IDLE_MINUTES", "PARTNERHUB_SESSION_MAX_HOURS"):
    if not globals()[_name]:
        raise ImproperlyConfigured(f"{_name} must be 1 or more: a session cannot last no time.")
SESSION_COOKIE_AGE = PARTNERHUB_SESSION_MAX_HOURS * 60 * 60

# A new password: at least 12 characters and hard to guess by zxcvbn's estimate
# (accounts.passwords), not like the person's name or email, not a common password. No
# composition rules (Django's "entirely numeric" check is one): zxcvbn judges digits too.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "accounts.passwords.StrengthValidator"},
]

LANGUAGE_CODE = "en-us"
# The server's zone; each request shows times in the browser's (partnerhub.time_zones).
TIME_ZONE = "UTC"
# One date and time format everywhere, Django's own pages included (the support admin).
FORMAT_MODULE_PATH = ["partnerhub.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed names in production (after collectstatic); plain files while
        # developing, so that no collectstatic is needed on a laptop.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}

# Request bodies: at most PARTNERHUB_MAX_REQUEST_BYTES, refused from the declared length before
# anything reads them (partnerhub.request_size); only the CSV import takes more (its 32 MB file,
# 200,000 rows, kept in the database and read by a worker).
# Django's own limit on the form fields it parses is the same number; a file up to the import's
# limit stays in memory (never written to a temporary file on disk), since nothing larger is
# let in.
PARTNERHUB_MAX_REQUEST_BYTES = env_int("PARTNERHUB_MAX_REQUEST_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = PARTNERHUB_MAX_REQUEST_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 33 * 1024 * 1024

# Messages stay on the server: one of them may carry a temporary password, shown once.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Django's form renderer, with selects and inputs drawn in Python (partnerhub.forms_rendering).
FORM_RENDERER = "partnerhub.forms_rendering.WidgetRenderer"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Redis, when REDIS_URL is set, holds the cache, the sessions' cached copies and the sign-in
# failure counts, so that any app server can answer any request. Without it: memory of this
# process for the cache, and the database for sessions and failures (one server, or a laptop).
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    if urlsplit(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            "REDIS_URL must be redis://host:6379/0, rediss://... (TLS) or unix:///path.sock."
        )
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "partnerhub",
            # A Redis that does not answer fails the request in a second, not a minute.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    # Every session is written to the database and to Redis, read from Redis: losing Redis
    # loses no session.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    # Failures counted in Redis (atomic INCR) rather than in axes' table, which every
    # failed sign-in would otherwise write to.
    AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Drawn User management pages (accounts.page_cache): in each process's memory, never in Redis,
# on every set-up. Their keys come from the database, so each process is as current as any
# other; kept apart, a flood of distinct addresses fills at most MAX_ENTRIES pages of this
# process (8 MB of 25-user pages, 25 MB of 100-user ones) and never evicts the sessions or
# sign-in failure counts Redis holds.
CACHES["pages"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "partnerhub-pages",
    "OPTIONS": {"MAX_ENTRIES": 100},
}

# Error reports (the debug page, emails to admins) hide credentials in EMAIL_URL or REDIS_URL.
DEFAULT_EXCEPTION_REPORTER_FILTER = "partnerhub.reporting.ExceptionReporterFilter"

# Email: EMAIL_URL, else the console in development and an SMTP server on this machine in
# production (Django's own default); tests keep mail in memory (pytest-django does that).
EMAIL_URL = os.environ.get("EMAIL_URL", "").strip() or ("console:" if DEBUG else "smtp://localhost")
_email = parse_email_url(EMAIL_URL)
# The older way, still honoured: a backend's dotted path, over EMAIL_URL's choice.
_email["EMAIL_BACKEND"] = (
    os.environ.get("DJANGO_EMAIL_BACKEND", "").strip() or _email["EMAIL_BACKEND"]
)
globals().update(_email)  # EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, ...
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "PartnerHub <noreply@localhost>")
# The sender of the error reports Django mails to ADMINS.
SERVER_EMAIL = os.environ.get("DJANGO_SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# Where links in emails point when no request says (management commands): scheme and host.
# Production defaults to https:// and the first allowed host.
PARTNERHUB_BASE_URL = os.environ.get("PARTNERHUB_BASE_URL", "").strip().rstrip("/")
if not PARTNERHUB_BASE_URL:
    PARTNERHUB_BASE_URL = (
        "http://127.0.0.1:8000" if DEBUG else f"https://{ALLOWED_HOSTS[0].lstrip('.')}"
    )
_base = urlsplit(PARTNERHUB_BASE_URL)
if _base.scheme not in {"http", "https"} or not _base.hostname or _base.path or _base.query:
    raise ImproperlyConfigured(
        "PARTNERHUB_BASE_URL must be a scheme and host, like https://partnerhub.example.com, "
        f"not {PARTNERHUB_BASE_URL!r}."
    )

# Passkeys and security keys (django-otp-webauthn): a second factor only, never instead of the
# password. The relying party is PARTNERHUB_BASE_URL's host, and a passkey is accepted only from
# that origin (plus PARTNERHUB_WEBAUTHN_ORIGINS). In development any origin the site is reached at
# on this machine is accepted too (mfa.passkeys), for runserver on another port and the tests.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_NAME = PARTNERHUB_MFA_ISSUER
OTP_WEBAUTHN_RP_ID_CALLABLE = "mfa.passkeys.relying_party_id"
OTP_WEBAUTHN_HELPER_CLASS = "mfa.passkeys.PasskeyHelper"
OTP_WEBAUTHN_ALLOWED_ORIGINS = (
    ["http://localhost:8000"] if DEBUG else [PARTNERHUB_BASE_URL]
) + env_list("PARTNERHUB_WEBAUTHN_ORIGINS")
PARTNERHUB_WEBAUTHN_LOCAL_ORIGINS = DEBUG

# Background jobs (jobs/): Django's task framework (the django-tasks backport) with its database
# backend, so a job is enqueued in the transaction of the change that needs it and any number of
# workers (manage.py run_worker) on any number of machines share the one database.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A job left running by a worker that stopped sending its heartbeat this long ago (killed, its
# machine gone) runs again (jobs.recovery); a job that stopped this many times fails.
JOBS_STALE_AFTER_SECONDS = env_int("JOBS_STALE_AFTER_SECONDS", 60)
JOBS_HEARTBEAT_SECONDS = env_int("JOBS_HEARTBEAT_SECONDS", 10)
JOBS_MAX_RUNS = 5
# Rows of a CSV import checked or added in one transaction (jobs.user_imports): 500 rows hold
# the organization's lock for well under a second on PostgreSQL, even on a busy machine.
JOBS_IMPORT_CHUNK_SIZE = env_int("JOBS_IMPORT_CHUNK_SIZE", 500) or 500
# Jobs adding one checked file side by side, sharing its chunks, on PostgreSQL (one on SQLite):
# with as many workers free, the database writes on as many cores (jobs.user_imports).
JOBS_IMPORT_PARTS = env_int("JOBS_IMPORT_PARTS", 2) or 1

# How long a drawn directory page is kept (accounts.page_cache, the "pages" cache): its key
# changes with every change in the organization, so this bounds only what no key sees (a change
# made outside PartnerHub, a filter relative to the clock). 0: never kept.
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 60)

X_FRAME_OPTIONS = "DENY"
# Lax, not Strict: a link to PartnerHub from mail or another site should land signed in; every
# change is a POST, which Lax never sends cross-site.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The CSRF cookie stays readable by scripts (Django's default): HttpOnly would buy nothing, since
# the token is in every form anyway, and a script that could read it could read the form.
CSRF_COOKIE_HTTPONLY = False
# Django's defaults, written out so that the tests and the deploy check pin them.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Content-Security-Policy (django-csp): our own files only, nothing inline, never framed.
# Bootstrap's CSS draws checkboxes and selects with data: SVG images, hence img-src data:.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

# The REST API and SCIM (api/): API clients' bearer tokens only, never a session (a cookie alone
# never authenticates a call); JSON in and out; the rulebook decides every call in the views.
PARTNERHUB_API_REQUESTS_PER_MINUTE = env_int("PARTNERHUB_API_REQUESTS_PER_MINUTE", 600)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ClientTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.IsApiClient"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.rest_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PartnerHub API",
    "DESCRIPTION": (
        "Users, their roles and the audit trail of a partner organization, for an API client "
        "created in Settings > API clients. Every call is decided by the rulebook as a person "
        "holding the client's roles would be. SCIM 2.0 provisioning is at /scim/v2/."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The Swagger UI's files come from the drf-spectacular-sidecar package, served by us:
    # no CDN, and the page's script is a file of its own (the split view), as our CSP wants.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

if PARTNERHUB_TRUSTED_PROXIES:
    # Behind a load balancer that terminates TLS and says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Logs go to stdout, where the platform collects them: one JSON object per line in production
# (LOG_FORMAT=json|text chooses), readable lines in development; each carries the request id.
try:
    LOG_FORMAT = log_format(DEBUG)
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from None
LOGGING = logging_config(LOG_FORMAT, os.environ.get("DJANGO_LOG_LEVEL", "INFO"))
