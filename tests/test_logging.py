"""Every request gets an id, returned in X-Request-ID and carried by every log line it causes;
each request is logged once; production logs are one JSON object per line."""

from __future__ import annotations

import io
import json
import logging
import uuid
from unittest import mock

import pytest
from django.test import override_settings
from django.urls import reverse

from partnerhub.logging import (
    NO_REQUEST,
    RequestIdFilter,
    json_formatter,
    log_format,
    request_id,
    text_formatter,
)

BEHIND_A_PROXY = override_settings(PARTNERHUB_TRUSTED_PROXIES=1)


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "partnerhub.request"]


def test_a_response_carries_a_new_request_id(client, db):
    first = client.get(reverse("login")).headers["X-Request-ID"]
    second = client.get(reverse("login")).headers["X-Request-ID"]

    assert uuid.UUID(first) != uuid.UUID(second)


def test_the_load_balancers_request_id_is_kept(client, db):
    with BEHIND_A_PROXY:
        response = client.get(reverse("login"), headers={"X-Request-ID": "Root=1-abc-123"})

    assert response.headers["X-Request-ID"] == "Root=1-abc-123"


@pytest.mark.parametrize(
    "incoming", ["", "x" * 200, "two words", "<script>", "id\u00e9", "-leading-dash"]
)
def test_an_insane_request_id_is_replaced(client, db, incoming):
    with BEHIND_A_PROXY:
        response = client.get(reverse("login"), headers={"X-Request-ID": incoming})

    assert response.headers["X-Request-ID"] != incoming
    uuid.UUID(response.headers["X-Request-ID"])


def test_without_a_proxy_in_front_the_clients_request_id_is_not_believed(client, db):
    response = client.get(reverse("login"), headers={"X-Request-ID": "chosen-by-the-client"})

    assert response.headers["X-Request-ID"] != "chosen-by-the-client"


def test_each_request_is_logged_once_with_its_id(client, csp, caplog):
    client.force_login(csp.global_admin)
    caplog.set_level(logging.INFO, logger="partnerhub.request")

    response = client.get(reverse("directory"), {"q": "secret@example.com"})

    [line] = request_lines(caplog)
    assert line.method == "GET"
    assert line.path == "/users/"
    assert line.status == 200
    assert line.duration_ms >= 0
    assert line.user_id == csp.global_admin.pk
    assert line.request_id == response.headers["X-Request-ID"]
    # Searches carry names and emails: the query string stays out of the log.
    assert "secret" not in line.getMessage()


def test_a_one_time_link_is_logged_without_its_token(client, csp, caplog):
    from accounts.invitations import invitation_path

    csp.member.set_unusable_password()
    csp.member.save(update_fields=["password"])
    path = invitation_path(csp.member)
    token = path.rstrip("/").rsplit("/", 1)[1]
    caplog.set_level(logging.INFO, logger="partnerhub.request")

    client.get(path)

    [line] = request_lines(caplog)
    assert token not in line.getMessage()
    assert token not in line.path
    assert line.path.endswith("/<token>/")


def test_gunicorns_access_log_leaves_one_time_tokens_out():
    from partnerhub.logging import AccessLogFormatter

    atoms = {"U": "/accounts/reset/MQ/cvb3c8-0123456789abcdef0123456789abcdef/", "s": "302"}
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, "%(h)s", (atoms,), None
    )

    fields = json.loads(AccessLogFormatter().format(record))

    assert fields["path"] == "/accounts/reset/MQ/<token>/"


def test_an_anonymous_request_is_logged_without_a_user(client, db, caplog):
    caplog.set_level(logging.INFO, logger="partnerhub.request")

    client.get(reverse("login"))

    [line] = request_lines(caplog)
    assert line.user_id is None
    assert line.status == 200


def test_logging_the_request_costs_no_query(client, csp, settings):
    # The user is logged only when the request loaded it anyway: the middleware adds no query.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(csp.global_admin)
    counts = []
    for middleware in (
        settings.MIDDLEWARE,
        [
            name
            for name in settings.MIDDLEWARE
            if name != "partnerhub.middleware.RequestIdMiddleware"
        ],
    ):
        with override_settings(MIDDLEWARE=middleware), CaptureQueriesContext(connection) as queries:
            client.get("/healthz")
        counts.append(len(queries))

    assert counts[0] == counts[1]


class Collect(logging.Handler):
    """Keeps the records it handles, stamped by the handler's filters as a real handler's are."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_log_line_written_during_the_request_carries_its_id(client, db):
    collect = Collect()
    logging.getLogger().addHandler(collect)
    try:
        with BEHIND_A_PROXY, mock.patch("partnerhub.views.cache.get", return_value=None):
            client.get("/healthz", headers={"X-Request-ID": "lb-id-42"})
    finally:
        logging.getLogger().removeHandler(collect)

    [failure] = [r for r in collect.records if r.name == "partnerhub.views"]
    assert failure.request_id == "lb-id-42"
    assert request_id.get() == NO_REQUEST  # and forgotten once the request is answered


def test_djangos_own_line_about_a_404_carries_the_request_id_too(client, db):
    # Django logs a 4xx or 5xx after the middleware has returned.
    collect = Collect()
    logging.getLogger().addHandler(collect)
    try:
        response = client.get("/no-such-page/")
    finally:
        logging.getLogger().removeHandler(collect)

    [not_found] = [r for r in collect.records if r.name == "django.request"]
    assert not_found.request_id == response.headers["X-Request-ID"]
    assert request_id.get() == NO_REQUEST


def test_the_filter_stamps_the_current_request_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    token = request_id.set("abc123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)

    assert record.request_id == "abc123"


def make_record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("partnerhub.request", logging.INFO, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    RequestIdFilter().filter(record)
    return record


def test_a_json_line_has_time_level_logger_message_request_id_and_the_extras():
    token = request_id.set("req-1")
    try:
        line = json_formatter().format(make_record("GET / 200", status=200, user_id=7))
    finally:
        request_id.reset(token)

    assert "\n" not in line
    fields = json.loads(line)
    assert fields["level"] == "INFO"
    assert fields["logger"] == "partnerhub.request"
    assert fields["message"] == "GET / 200"
    assert fields["request_id"] == "req-1"
    assert fields["status"] == 200
    assert fields["user_id"] == 7
    assert "time" in fields


def test_an_exception_stays_inside_its_json_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), None)
        import sys

        record.exc_info = sys.exc_info()
    RequestIdFilter().filter(record)

    line = json_formatter().format(record)

    assert len(line.splitlines()) == 1
    assert "ValueError: boom" in json.loads(line)["exc_info"]


def test_a_text_line_is_readable():
    line = text_formatter().format(make_record("GET / 200"))

    assert line.endswith("INFO partnerhub.request [-] GET / 200")


@pytest.mark.parametrize(
    ("environment", "debug", "expected"),
    [
        ("", True, "text"),
        ("", False, "json"),
        ("json", True, "json"),
        ("TEXT", False, "text"),
    ],
)
def test_the_log_format_is_json_in_production_unless_chosen(
    monkeypatch, environment, debug, expected
):
    monkeypatch.setenv("LOG_FORMAT", environment)

    assert log_format(debug) == expected


def test_an_unknown_log_format_is_refused(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")

    with pytest.raises(ValueError, match="LOG_FORMAT must be json or text"):
        log_format(True)


def test_the_configured_handler_writes_json_lines(monkeypatch):
    import logging.config

    from partnerhub.logging import logging_config

    stream = io.StringIO()
    config = logging_config("json", "INFO")
    config["handlers"]["stdout"]["stream"] = stream
    config["root"] = {"handlers": [], "level": "INFO"}
    config["loggers"] = {"partnerhub.test": {"handlers": ["stdout"], "propagate": False}}
    logging.config.dictConfig(config)
    logging.getLogger("partnerhub.test").info("one %s", "line", extra={"path": "/x"})

    fields = json.loads(stream.getvalue())
    assert fields["message"] == "one line"
    assert fields["path"] == "/x"
    assert fields["request_id"] == NO_REQUEST


def test_gunicorns_access_log_is_json_even_with_quotes_in_the_request():
    from partnerhub.logging import AccessLogFormatter

    # As gunicorn passes them: its SafeAtoms put a backslash before each double quote.
    atoms = {
        "h": "203.0.113.9",
        "m": "GET",
        "U": '/users/\\"x\\',
        "s": "200",
        "B": 512,
        "M": 12,
        "{x-request-id}o": "abc123",
        "a": 'Mozilla \\"quoted\\"',
    }
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, "%(h)s", (atoms,), None
    )

    fields = json.loads(AccessLogFormatter().format(record))

    assert fields["path"] == '/users/"x\\'
    assert fields["user_agent"] == 'Mozilla "quoted"'
    assert fields["request_id"] == "abc123"
    assert fields["status"] == "200"
    assert fields["duration_ms"] == 12
