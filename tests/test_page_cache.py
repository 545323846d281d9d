"""The directory's page cache (accounts.page_cache): served again until anything in the
organization changes, each response with its own CSRF token, never one viewer's page to another.

Every way the organization's users can change is asked here, through the product's own paths
(services, pages, the import's job, a sign-in): after each, the next request shows the change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.messages.constants import SUCCESS
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import MessageEncoder
from django.contrib.messages.storage.session import SessionStorage
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import page_cache, services
from accounts.models import User
from accounts.page_cache import CSRF_PLACEHOLDER
from roles import services as role_services
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.conftest import Cast
from tests.factories import UserFactory
from tests.imports_through_jobs import add

# Served from the cache: the session, the viewer, and their roles with the organization's version.
SERVED = 3
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _get(client: Client, path: str = "", **headers: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("directory") + path, **headers)
    assert response.status_code == 200
    page = response.content.decode()
    assert CSRF_PLACEHOLDER not in page
    return page, len(queries.captured_queries)


def _without_tokens(page: str) -> str:
    return TOKEN.sub('name="csrfmiddlewaretoken" value=""', page)


def test_the_second_request_is_served_without_drawing_the_page(client, csp):
    client.force_login(csp.global_admin)
    drawn, drawing_queries = _get(client)
    served, serving_queries = _get(client)
    assert serving_queries == SERVED < drawing_queries
    assert _without_tokens(served) == _without_tokens(drawn)


def test_each_response_carries_its_own_working_csrf_token(csp):
    client = Client(enforce_csrf_checks=True)
    client.force_login(csp.global_admin)
    first, _ = _get(client)
    served, _ = _get(client)
    tokens = TOKEN.findall(first) + TOKEN.findall(served)
    assert tokens
    assert len(set(tokens)) == len(tokens)
    # The served page's token is accepted: signing out with it works (a 403 would not).
    response = client.post(reverse("logout"), {"csrfmiddlewaretoken": TOKEN.findall(served)[0]})
    assert response.status_code == 302


def test_with_the_cache_off_every_request_draws_the_page(client, csp, settings):
    settings.PAGE_CACHE_SECONDS = 0
    client.force_login(csp.global_admin)
    _, first = _get(client)
    _, second = _get(client)
    assert first == second > SERVED


def test_viewers_never_share_a_page(csp):
    admin, reader = Client(), Client()
    admin.force_login(csp.global_admin)
    reader.force_login(csp.mpn_admin)
    admin_page, _ = _get(admin)
    reader_page, _ = _get(reader)
    # The Global admin may tick users for a bulk action; the MPN Partner Admin reads only.
    assert "data-bulk-user" in admin_page
    assert "data-bulk-user" not in reader_page
    assert csp.mpn_admin.get_full_name() in reader_page.split('data-testid="signed-in-as"')[1]


def test_each_address_has_its_own_page(client, csp):
    client.force_login(csp.global_admin)
    everyone, _ = _get(client)
    searched, _ = _get(client, f"?q={csp.member.email}")
    assert _row(everyone, csp.global_admin.email)
    assert _row(searched, csp.global_admin.email) is None
    assert _row(searched, csp.member.email)
    # htmx asks for the same address: its own entry too (the markup may differ).
    _get(client, "?sort=email", HTTP_HX_REQUEST="true")
    _, served_to_htmx = _get(client, "?sort=email", HTTP_HX_REQUEST="true")
    _, not_htmx = _get(client, "?sort=email")
    assert served_to_htmx == SERVED
    assert not_htmx > SERVED


def test_the_time_zone_and_the_theme_are_part_of_the_page(client, csp):
    client.force_login(csp.global_admin)
    _get(client)
    client.cookies["partnerhub_tz"] = "Asia/Tokyo"
    page, queries = _get(client)
    assert queries > SERVED
    assert "Asia/Tokyo" in page
    User.objects.filter(pk=csp.global_admin.pk).update(theme_preference="dark")
    page, queries = _get(client)
    assert queries > SERVED
    assert 'data-theme-preference="dark"' in page


def test_a_page_with_a_message_is_drawn_and_its_message_shown_once(client, csp):
    client.force_login(csp.global_admin)
    _get(client)
    # A message waits in the session, as after a change that returns to the directory.
    session = client.session
    session[SessionStorage.session_key] = json.dumps(
        [Message(SUCCESS, "The member is deleted.")], cls=MessageEncoder
    )
    session.save()
    with_message, queries = _get(client)
    assert "The member is deleted." in with_message
    assert queries > SERVED
    after, _ = _get(client)
    assert "The member is deleted." not in after


def _row(page: str, email: str) -> str | None:
    """The directory's row of the user with this email, or None."""
    for row in re.findall(r"<tr role=\"row\">.*?</tr>", page, re.S):
        if f"<bdi>{email}</bdi>" in row:
            return row
    return None


def _rename_member(csp: Cast, first_name: str, last_name: str) -> None:
    services.update_user_details(
        csp.global_admin,
        csp.member,
        first_name=first_name,
        last_name=last_name,
        email=csp.member.email,
    )


def _member_renamed(csp: Cast) -> tuple[str, Callable[[str | None], bool]]:
    _rename_member(csp, "Renamed", "Person")
    return csp.member.email, lambda row: row is not None and "Renamed Person" in row


def _user_added(csp: Cast) -> tuple[str, Callable[[str | None], bool]]:
    services.create_user(
        csp.global_admin,
        organization=csp.organization,
        first_name="Newly",
        last_name="Added",
        email="newly.added@example.com",
    )
    return "newly.added@example.com", lambda row: row is not None


def _member_deactivated(csp: Cast) -> tuple[str, Callable[[str | None], bool]]:
    services.deactivate_user(csp.global_admin, csp.member)
    return csp.member.email, lambda row: row is not None and "Deactivated" in row


def _role_granted(csp: Cast) -> tuple[str, Callable[[str | None], bool]]:
    role_services.grant_role(csp.global_admin, csp.member, RoleKey.BILLING_ADMIN)
    return csp.member.email, lambda row: row is not None and "Billing admin" in row


def _member_deleted(csp: Cast) -> tuple[str, Callable[[str | None], bool]]:
    services.delete_user(csp.global_admin, csp.member)
    return csp.member.email, lambda row: row is None


def _member_signed_in(csp: Cast) -> tuple[str, Callable[[str | None], bool]]:
    Client().force_login(csp.member)
    return csp.member.email, lambda row: row is not None and ">Never<" not in row


def _written_without_an_event(csp: Cast) -> tuple[str, Callable[[str | None], bool]]:
    UserFactory(organization=csp.organization, email="seeded@example.com")
    return "seeded@example.com", lambda row: row is not None


def _imported(csp: Cast) -> tuple[str, Callable[[str | None], bool]]:
    add(
        "First name,Last name,Email,Roles\nIm,Ported,im.ported@example.com,\n",
        actor=csp.global_admin,
        organization=csp.organization,
    )
    return "im.ported@example.com", lambda row: row is not None


CHANGES = {
    "details edited": _member_renamed,
    "user added": _user_added,
    "user deactivated": _member_deactivated,
    "role granted": _role_granted,
    "user deleted": _member_deleted,
    "a user signed in": _member_signed_in,
    "a user written without an audit event": _written_without_an_event,
    "users imported from a file": _imported,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_every_change_in_the_organization_shows_on_the_next_request(client, csp, change):
    client.force_login(csp.global_admin)
    before, _ = _get(client)
    _, served = _get(client)
    assert served == SERVED  # the page is in the cache
    email, shows_the_change = change(csp)
    after, queries = _get(client)
    assert queries > SERVED, "the change did not make a new key"
    assert not shows_the_change(_row(before, email))
    assert shows_the_change(_row(after, email))


def test_a_page_drawn_in_a_rolled_back_transaction_never_stands_for_a_later_change(client, csp):
    """The version holds the chain head's hash: a change rolled back and another committed in its
    place take the same position in the chain, never the same hash."""
    client.force_login(csp.global_admin)
    with transaction.atomic():
        _rename_member(csp, "Rolled", "Back")
        rolled_back, _ = _get(client)
        transaction.set_rollback(True)
    assert "Rolled Back" in rolled_back
    csp.member.refresh_from_db()
    _rename_member(csp, "Kept", "Name")
    page, _ = _get(client)
    assert "Kept Name" in page
    assert "Rolled Back" not in page


def test_another_organizations_change_keeps_the_page(client, csp, non_csp):
    client.force_login(csp.global_admin)
    _get(client)
    services.update_user_details(
        non_csp.global_admin,
        non_csp.member,
        first_name="Elsewhere",
        last_name="Changed",
        email=non_csp.member.email,
    )
    _, queries = _get(client)
    assert queries == SERVED


def test_a_cache_that_does_not_answer_costs_the_drawing_not_the_page(client, csp, settings, caplog):
    client.force_login(csp.global_admin)
    # Set up with a Redis where nothing listens (the discard port): every read and write of
    # the cache fails at once.
    settings.CACHES = {
        **settings.CACHES,
        "pages": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    page, queries = _get(client)
    assert _row(page, csp.member.email)
    assert queries > SERVED
    assert "The page cache could not be read" in caplog.text
    assert "The page cache could not keep a page" in caplog.text


def test_a_page_larger_than_the_cache_keeps_is_drawn_every_time(client, csp, monkeypatch):
    monkeypatch.setattr(page_cache, "LARGEST", 1_000)
    client.force_login(csp.global_admin)
    _, first = _get(client)
    _, second = _get(client)
    assert first == second > SERVED


def test_text_shaped_like_the_placeholder_in_the_address_never_becomes_the_token(client, csp):
    """A search box draws back what the address said: a crafted link must not make it show the
    admin's CSRF token (which Search would then put in the address, the history and logs)."""
    client.force_login(csp.global_admin)
    for guess in ("\x00csrf-token\x00", f"\x00csrf-{'0' * 32}\x00"):
        page = client.get(reverse("directory"), {"q": guess}).content.decode()
        [token, *_] = TOKEN.findall(page)
        search_box = re.search(r'<input[^>]*id="id_q"[^>]*>', page).group(0)
        assert token not in search_box


def test_a_sign_in_stamped_before_the_latest_one_still_shows(client, csp):
    """Two sign-ins at once, or app servers whose clocks differ: the one committed last may carry
    the earlier time. The latest five sign-ins are in the version, not the latest alone."""
    User.objects.filter(pk=csp.second_global_admin.pk).update(
        last_login=timezone.now() + timedelta(minutes=2)
    )
    client.force_login(csp.global_admin)
    _get(client)
    Client().force_login(csp.member)  # stamped now: before the second Global admin's
    page, _ = _get(client)
    assert ">Never<" not in _row(page, csp.member.email)


def test_the_rulebook_is_asked_on_every_request_though_the_page_is_kept(client, csp):
    client.force_login(csp.user_admin)
    _get(client)
    _get(client)  # served from the cache
    # The role taken away behind the services' back: no event, the same version, the same key.
    RoleAssignment.objects.filter(user=csp.user_admin).delete()
    assert client.get(reverse("directory")).status_code == 403
