"""/healthz: 200 when the database and the cache answer, 503 with nothing more otherwise."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import override_settings
from redis.exceptions import ConnectionError as RedisConnectionError

URL = "/healthz"
UNAVAILABLE = {"status": "unavailable"}

# A Redis cache on a port nobody listens on: every command fails at once.
REDIS_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def test_it_works(client, db):
    response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response.headers["Cache-Control"]


def test_it_rejects_post(client, db):
    assert client.post(URL).status_code == 405


def test_it_answers_503_when_the_cache_server_is_down(client, db, caplog):
    with override_settings(CACHES=REDIS_DOWN):
        response = client.get(URL)

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert "the cache does not answer" in caplog.text


def test_it_answers_503_when_the_cache_loses_what_is_written(client, db):
    with mock.patch("partnerhub.views.cache.get", return_value=None):
        response = client.get(URL)

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE


def test_it_answers_503_when_the_database_does_not_answer(client, db, caplog):
    with mock.patch(
        "partnerhub.views._database_answers", side_effect=OperationalError("server closed")
    ):
        response = client.get(URL)

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert "the database does not answer" in caplog.text


@pytest.mark.parametrize("failing", ["_database_answers", "_cache_answers"])
def test_support_staff_get_no_more_detail_than_anyone(client, support, failing):
    # Knowing who asks needs the session, kept in the very database and cache being checked:
    # the detail goes to the log, never to the response.
    client.force_login(support)
    with mock.patch(f"partnerhub.views.{failing}", side_effect=RedisConnectionError("down")):
        response = client.get(URL)

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert b"down" not in response.content


def test_it_makes_no_query_but_its_own(client, db, django_assert_num_queries):
    with django_assert_num_queries(1):
        client.get(URL)
