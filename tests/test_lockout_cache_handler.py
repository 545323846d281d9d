"""The sign-in lockout with REDIS_URL set: django-axes' cache handler counts failures in the
shared cache instead of its table, and the lockout behaves exactly as with the database.

These run on a local-memory cache: the handler's code path is the same as on Redis, and
.ci/smoke proves the sharing between two servers on a real Redis.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD
from tests.second_factor import pass_second_factor
from tests.test_lockout import LIMIT, LOCKED, WRONG, fail, sign_in, signed_in
from tests.test_user_actions import reset_form


@pytest.fixture(autouse=True)
def _failures_in_the_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "lockout-cache-handler",
        }
    }
    settings.AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
    cache.clear()
    yield
    cache.clear()


def test_the_production_setting_names_this_handler():
    # partnerhub/settings.py chooses it when REDIS_URL is set (tests/test_settings.py runs that).
    assert settings.AXES_HANDLER == "axes.handlers.cache.AxesCacheHandler"


def test_five_failures_lock_the_email_and_the_right_password_too(client, csp):
    for _ in range(LIMIT - 1):
        assert sign_in(client, csp.member.email, WRONG).status_code == 200

    assert sign_in(client, csp.member.email, WRONG).status_code == LOCKED
    assert sign_in(client, csp.member.email, PASSWORD).status_code == LOCKED
    assert not signed_in(client)


def test_failures_are_counted_in_the_cache_not_the_table(client, csp):
    fail(client, csp.member.email, 2)

    assert not AccessAttempt.objects.exists()


def test_failures_on_two_servers_add_up(csp):
    # Two clients stand for two app servers: the count is the cache's, not a process's.
    first, second = Client(), Client()
    fail(first, csp.member.email, 2)
    fail(second, csp.member.email, LIMIT - 3)

    assert sign_in(second, csp.member.email, WRONG).status_code == LOCKED


def test_failures_count_for_the_email_in_any_case(client, csp):
    email = csp.member.email
    for variant in (email, email.upper(), email.title(), email, email.upper()):
        sign_in(client, variant, WRONG)

    assert sign_in(client, email).status_code == LOCKED


def test_a_success_before_the_limit_clears_the_count(client, csp):
    # A success is a completed sign-in, the second step passed: the password alone clears
    # nothing (test_second_factor_attacks.py).
    fail(client, csp.member.email, LIMIT - 1)
    assert sign_in(client, csp.member.email).status_code == 302
    pass_second_factor(client, csp.member)
    client.post(reverse("logout"))

    assert fail(client, csp.member.email, LIMIT - 1).status_code == 200
    assert sign_in(client, csp.member.email).status_code == 302


def test_the_lockout_is_per_email(client, csp):
    fail(client, csp.member.email, LIMIT)

    assert sign_in(client, csp.global_admin.email).status_code == 302


def test_a_password_reset_by_an_admin_lets_a_locked_out_user_in(client, csp):
    fail(client, csp.member.email, LIMIT)
    admin = Client()
    admin.force_login(csp.global_admin)

    shown = admin.post(
        reverse("reset_password", args=[csp.member.public_id]), reset_form(csp.member)
    )
    temporary = shown.context["password"]

    sign_in(client, csp.member.email, temporary)
    assert signed_in(client)
