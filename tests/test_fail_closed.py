"""Failing closed: when something breaks, the answer is a plain 500 and nothing half-done.

A permission check that raises (a bug, a lost database) must never read as "allowed": the
request stops with the plain error page, which tells nothing of the cause, and the database
keeps no part of the change. A database connection dropped between requests (a failover, an
idle timeout) costs at most the request in flight: CONN_HEALTH_CHECKS replaces it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from accounts.models import AuditEvent, User
from roles import rules
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.test_add_user import GRACE, go_to_review, send_add

# Text that must never reach the page: the exception's message and its type.
SECRET = "rulebook exploded near row 42"


def _raising(*args: Any, **kwargs: Any) -> rules.Decision:
    raise RuntimeError(SECRET)


@pytest.fixture
def failing_client() -> Client:
    """A client that gets the 500 page, as a browser would, instead of the exception."""
    return Client(raise_request_exception=False)


def table_sizes() -> tuple[int, int, int]:
    return User.objects.count(), RoleAssignment.objects.count(), AuditEvent.objects.count()


def assert_plain_500(response: Any) -> None:
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page
    for leak in (SECRET, "RuntimeError", "Traceback", "roles/rules.py"):
        assert leak not in page


def test_the_500_page_renders_without_request_context_or_database(db, django_assert_num_queries):
    # Django's server_error renders 500.html with an empty context: the page must need nothing.
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))

    assert_plain_500(response)
    assert "{%" not in response.content.decode()


def test_a_permission_check_that_raises_answers_the_plain_500_page(
    failing_client, csp, monkeypatch
):
    failing_client.force_login(csp.global_admin)
    monkeypatch.setattr(rules, "can", _raising)

    response = failing_client.get(reverse("directory"))

    assert_plain_500(response)
    # The error page is under the same policy as every other page.
    assert "Content-Security-Policy" in response.headers


def test_a_permission_check_that_raises_while_adding_a_user_writes_nothing(
    failing_client, csp, monkeypatch
):
    go_to_review(failing_client, csp.global_admin, RoleKey.MPN_PARTNER_ADMIN)
    before = table_sizes()
    real_can = rules.can

    def can_failing_in_the_service(actor: Any, action: Any, organization: Any = None) -> Any:
        # The view asks without an organization; create_user asks with it, inside its
        # transaction, after taking the organization's lock: fail there, mid-change.
        if organization is not None:
            raise RuntimeError(SECRET)
        return real_can(actor, action, organization)

    monkeypatch.setattr(rules, "can", can_failing_in_the_service)
    response = send_add(failing_client)

    assert_plain_500(response)
    assert table_sizes() == before
    assert not User.objects.filter(email=GRACE["email"]).exists()

    # One request failed, nothing else: the same Add, sent again, adds the user once.
    monkeypatch.setattr(rules, "can", real_can)
    retried = send_add(failing_client)

    assert retried.status_code == 200  # the temporary password's page
    assert User.objects.filter(email=GRACE["email"]).count() == 1


# The database connection


def _wsgi_get(path: str, session_cookie: str) -> tuple[int, bytes]:
    """GET a page through Django's WSGI handler, as a server would.

    Django's test client skips the request_started/request_finished work on database
    connections (close_old_connections), and that work is what runs the health check; a
    server's handler does it.
    """
    environ = RequestFactory().get(path, HTTP_COOKIE=f"sessionid={session_cookie}").environ
    statuses: list[str] = []
    result = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    try:
        body = b"".join(result)
    finally:
        result.close()  # request_finished, as a server sends it
    return int(statuses[0].split()[0]), body


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate_from_another_connection(pid: int) -> None:
    """Kill the app's database session from outside, as a failover or a DBA would."""
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0] is True
    finally:
        other.close()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_database_connection_killed_between_requests_is_replaced(client, csp):
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    client.force_login(csp.global_admin)
    session = client.cookies["sessionid"].value
    url = reverse("directory")

    first_status, _ = _wsgi_get(url, session)
    killed = _backend_pid()  # the persistent connection the request used (CONN_MAX_AGE)
    _terminate_from_another_connection(killed)
    status, body = _wsgi_get(url, session)

    assert first_status == 200
    assert status == 200, body.decode()[:500]
    assert csp.global_admin.email.encode() in body
    assert _backend_pid() != killed
