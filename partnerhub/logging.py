"""Log records that carry the request id, written as one JSON object per line in production.

The request id lives in a context variable that partnerhub.middleware.RequestIdMiddleware sets
for the length of a request, so any logger, ours or a library's, gets it without being passed
the request. This module imports nothing of Django: gunicorn's configuration uses it too.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

# "-" outside a request: start-up, management commands, gunicorn's own messages.
NO_REQUEST = "-"
request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)

FORMATS = ("json", "text")
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


# A one-time token in a path (an invitation's or a password reset's link, Django's
# "<timestamp>-<hmac>"): whoever reads the log could use it until it expires.
ONE_TIME_TOKEN = re.compile(r"/[0-9a-z]{1,13}-[0-9a-f]{20,}(?=/|$)")


def loggable_path(path: str) -> str:
    """The path as a log line may show it: one-time tokens replaced."""
    return ONE_TIME_TOKEN.sub("/<token>", path)


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to every record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def json_formatter() -> JsonFormatter:
    """time, level, logger, message, request_id, then whatever the record was given as extra."""
    return JsonFormatter(
        ["asctime", "levelname", "name", "message", "request_id"],
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt=DATE_FORMAT,
    )


class AccessLogFormatter(logging.Formatter):
    """gunicorn's access log (off unless GUNICORN_ACCESS_LOG is set) as JSON lines, built from
    the request's atoms gunicorn passes as the record's arguments: a format string could not
    escape a quote or a backslash in a path or a user agent."""

    FIELDS = {
        "remote_addr": "h",
        "method": "m",
        "path": "U",
        "status": "s",
        "bytes": "B",
        "duration_ms": "M",
        "request_id": "{x-request-id}o",
        "user_agent": "a",
    }

    def format(self, record: logging.LogRecord) -> str:
        atoms = record.args if isinstance(record.args, Mapping) else {}
        fields = {
            "time": self.formatTime(record, DATE_FORMAT),
            "level": record.levelname,
            "logger": record.name,
        }
        for name, atom in self.FIELDS.items():
            # Header atoms ({name}o) are keyed in lower case.
            value = atoms.get(atom.lower() if atom.startswith("{") else atom, "-")
            # gunicorn put a backslash before every double quote; JSON escapes on its own.
            fields[name] = value.replace('\\"', '"') if isinstance(value, str) else value
        if isinstance(fields["path"], str):
            fields["path"] = loggable_path(fields["path"])
        return json.dumps(fields)


def text_formatter() -> logging.Formatter:
    """One readable line per record, for a developer's terminal."""
    return logging.Formatter(TEXT_FORMAT)


def log_format(debug: bool) -> str:
    """LOG_FORMAT from the environment ("json" or "text"); JSON in production by default."""
    chosen = os.environ.get("LOG_FORMAT", "").strip().lower()
    if not chosen:
        return "text" if debug else "json"
    if chosen not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be json or text, not {chosen!r}.")
    return chosen


def logging_config(format_name: str, level: str, loggers: dict | None = None) -> dict:
    """A logging.config.dictConfig dictionary: everything to stdout, in the chosen format."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "partnerhub.logging.RequestIdFilter"}},
        "formatters": {
            "json": {"()": "partnerhub.logging.json_formatter"},
            "text": {"()": "partnerhub.logging.text_formatter"},
            "access": {"()": "partnerhub.logging.AccessLogFormatter"},
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": format_name,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": loggers or {},
    }
