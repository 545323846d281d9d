"""gunicorn's settings for PartnerHub, from the environment: `gunicorn -c gunicorn.conf.py`.

The app is partnerhub.wsgi. Every variable is optional; docs/deploy.md lists them.
"""

from __future__ import annotations

import multiprocessing
import os

from partnerhub.logging import logging_config

wsgi_app = "partnerhub.wsgi:application"

# PORT is what most platforms set; GUNICORN_BIND wins when both are set (e.g. a unix socket).
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# Sync workers: each holds one request at a time, and a request here is short and mostly waits
# on PostgreSQL. Two per core plus one, capped so that a big machine does not open more database
# connections than PostgreSQL allows (each worker keeps one open, CONN_MAX_AGE).
workers = int(os.environ.get("WEB_CONCURRENCY") or min(multiprocessing.cpu_count() * 2 + 1, 12))

# A request still running after this is killed and its worker replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM (a deploy), requests in flight get this long to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Longer than the load balancer's idle timeout, so the balancer, not gunicorn, closes idle
# connections (otherwise a request can arrive on a connection gunicorn is closing: a 502).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# A worker is replaced after this many requests (with jitter, so not all at once): a slow leak
# never grows for long.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10

# The load balancer's addresses, whose X-Forwarded-Proto gunicorn believes for its own
# wsgi.url_scheme. It passes every X-Forwarded-* header on to Django whoever sent it, and Django
# believes them with PARTNERHUB_TRUSTED_PROXIES set: so only the balancer may reach the app
# servers (docs/deploy.md, "The network").
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Every request is logged once, by PartnerHub (partnerhub.middleware: method, path, status,
# duration, user id, request id), so gunicorn's access log is off. GUNICORN_ACCESS_LOG=- turns it
# on, as JSON with the request id, e.g. to see requests that never reached Django.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # written as JSON (logconfig_dict)
errorlog = "-"
# gunicorn's control socket (gunicornc) is not used; one fixed path in the home directory would
# also be shared by two servers on one machine.
control_socket_disable = True
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# gunicorn's own messages in the same format as the app's: JSON lines unless debugging.
_debug = os.environ.get("DJANGO_DEBUG", "true").strip().lower() not in {"0", "false", "no", "off"}
_format = os.environ.get("LOG_FORMAT", "").strip().lower() or ("text" if _debug else "json")
logconfig_dict = logging_config(
    _format if _format in {"json", "text"} else "json",
    loglevel.upper(),
    loggers={
        "gunicorn.error": {"level": loglevel.upper(), "propagate": True},
        # Its own JSON fields (partnerhub.logging.AccessLogFormatter), with the request id.
        "gunicorn.access": {
            "level": "INFO",
            "propagate": False,
            "handlers": ["access" if accesslog else "nowhere"],
        },
    },
)
logconfig_dict["handlers"]["access"] = {
    "class": "logging.StreamHandler",
    "stream": "ext://sys.stdout",
    "formatter": "access",
}
logconfig_dict["handlers"]["nowhere"] = {"class": "logging.NullHandler"}
