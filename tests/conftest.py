"""Shared fixtures: a fixed cast of people in a CSP and a non-CSP organization."""

from __future__ import annotations

import os
from dataclasses import dataclass

import factory.random
import hypothesis
import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import Client

from accounts.models import PartnerOrganization, User
from roles.catalogue import RoleKey
from tests.factories import OrganizationFactory, SupportStaffFactory, UserFactory
from tests.second_factor import mark_verified


def pytest_configure(config: pytest.Config) -> None:
    # Django's default hasher costs ~0.2 s a hash; tests need none of that strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # On a laptop hypothesis explores new examples each run; in CI it tries the same ones every
    # time, so a run can be repeated exactly (a failure found locally becomes a fixed example).
    hypothesis.settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        hypothesis.settings.load_profile("ci")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that need PostgreSQL (row locks, real concurrency) are deselected on SQLite rather
    # than skipped: CI runs the suite on both databases and treats any skip as a failure.
    # Lighthouse's scores depend on the pages' markup, not on the database: measured once, in
    # the SQLite run, and deselected on PostgreSQL.
    # README's screenshots are taken by `make screenshots` alone (PARTNERHUB_SCREENSHOTS set).
    on_postgresql = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    elsewhere = {"lighthouse" if on_postgresql else "postgresql"}
    if not os.environ.get("PARTNERHUB_SCREENSHOTS"):
        elsewhere.add("screenshots")
    kept, deselected = [], []
    for item in items:
        marked = any(item.get_closest_marker(name) for name in elsewhere)
        (deselected if marked else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # In CI a skipped test is a test that did not run: fail the run.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and os.environ.get("CI") and exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) skipped; a skip fails the run in CI.", red=True)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _same_fake_data_every_run() -> None:
    # Faker's names differ run to run; a test that happens to meet a colliding name would be
    # flaky. Seeded, each test sees the same people every time.
    factory.random.reseed_random("partnerhub")


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # What one test left in the cache (lockout counts, the audit trail's refusal counts) must
    # not decide another's outcome; nor a page one test drew (accounts.page_cache).
    for each in caches.all():
        each.clear()


@pytest.fixture(autouse=True)
def _force_login_includes_the_second_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    # client.force_login(user) means "signed in", and signed in is both steps: the session is
    # verified with an authenticator app of the user's (given one if they have none). Tests of
    # the second step itself sign in through the pages (tests/test_second_factor.py), or call
    # Client.force_login_password_only.
    password_only = Client.force_login

    def force_login(self: Client, user: User, backend: str | None = None) -> None:
        password_only(self, user, backend)
        mark_verified(self, user)

    monkeypatch.setattr(Client, "force_login_password_only", password_only, raising=False)
    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


@dataclass
class Cast:
    """One organization's people, one per role that matters to the rulebook."""

    organization: PartnerOrganization
    global_admin: User
    second_global_admin: User
    user_admin: User
    account_admin: User
    mpn_admin: User
    billing_admin: User
    member: User  # holds a role that unlocks no user management


def make_cast(organization: PartnerOrganization) -> Cast:
    csp = organization.is_csp
    return Cast(
        organization=organization,
        global_admin=UserFactory(organization=organization, roles=[RoleKey.GLOBAL_ADMIN]),
        second_global_admin=UserFactory(organization=organization, roles=[RoleKey.GLOBAL_ADMIN]),
        user_admin=UserFactory(
            organization=organization, roles=[RoleKey.USER_MANAGEMENT_ADMIN] if csp else []
        ),
        account_admin=UserFactory(organization=organization, roles=[RoleKey.ACCOUNT_ADMIN]),
        mpn_admin=UserFactory(organization=organization, roles=[RoleKey.MPN_PARTNER_ADMIN]),
        billing_admin=UserFactory(
            organization=organization, roles=[RoleKey.BILLING_ADMIN] if csp else []
        ),
        member=UserFactory(organization=organization, roles=[RoleKey.REFERRALS_ADMIN]),
    )


@pytest.fixture
def csp(db: None) -> Cast:
    """Contoso-like: a CSP organization with one person per role."""
    return make_cast(OrganizationFactory(name="Contoso Ltd"))


@pytest.fixture
def non_csp(db: None) -> Cast:
    """Fabrikam-like: a non-CSP organization (no User management admin role exists there)."""
    return make_cast(OrganizationFactory(name="Fabrikam Inc", non_csp=True))


@pytest.fixture
def outsider(db: None) -> User:
    """A Global admin of another organization."""
    return UserFactory(
        organization=OrganizationFactory(name="Elsewhere"), roles=[RoleKey.GLOBAL_ADMIN]
    )


@pytest.fixture
def support(db: None) -> User:
    """Support staff of the partner network: is_staff, no organization, in the Support group."""
    return SupportStaffFactory()


@pytest.fixture
def run_jobs():
    """Run the background jobs waiting now, as a worker would (jobs.testing)."""
    from jobs.testing import run_ready_jobs

    return run_ready_jobs
