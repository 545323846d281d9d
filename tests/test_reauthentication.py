"""Re-authentication: granting Global admin, resetting a password and deleting a user ask for the
admin's password again when it was last entered more than 10 minutes ago (accounts.reauth)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, User
from accounts.reauth import CONFIRM_FIRST, RECENT_PASSWORD_ENTRY, SESSION_KEY
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.conftest import Cast
from tests.factories import PASSWORD
from tests.second_factor import pass_second_factor
from tests.test_add_user import GRACE, go_to_review, run_url, send_add, step_of
from tests.test_user_actions import reset_form

GA = RoleKey.GLOBAL_ADMIN.value
BILLING = RoleKey.BILLING_ADMIN.value
CONFIRM = reverse("confirm_password")


def password_entered(client: Client, minutes_ago: float) -> None:
    """Move the session's last password entry back in time."""
    session = client.session
    session[SESSION_KEY] = (timezone.now() - timedelta(minutes=minutes_ago)).timestamp()
    session.save()


def database_state() -> tuple[list, list, int]:
    """Users (with their password hashes), role assignments, and how many audit events."""
    users = list(User.objects.order_by("pk").values_list("pk", "password", "is_active"))
    assignments = list(RoleAssignment.objects.order_by("pk").values_list("user_id", "role_id"))
    return users, assignments, AuditEvent.objects.count()


def asked_to_confirm(response: HttpResponse, next_url: str) -> bool:
    parts = urlsplit(response.url)
    return (
        response.status_code == 302
        and parts.path == CONFIRM
        and parse_qs(parts.query) == {"next": [next_url]}
    )


def messages_of(response: HttpResponse) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def confirm(client: Client, response: HttpResponse, password: str = PASSWORD) -> HttpResponse:
    """Enter the password on the page the response sent the admin to."""
    return client.post(response.url, {"password": password})


# The sensitive actions, each as: (the request, where the admin is sent back, did it happen?)


def reset(client: Client, cast: Cast) -> HttpResponse:
    return client.post(
        reverse("reset_password", args=[cast.billing_admin.public_id]),
        reset_form(cast.billing_admin),
    )


def delete(client: Client, cast: Cast) -> HttpResponse:
    return client.post(reverse("delete_user", args=[cast.billing_admin.public_id]))


def grant_ga(client: Client, cast: Cast) -> HttpResponse:
    return client.post(
        reverse("edit_roles", args=[cast.billing_admin.public_id]),
        {"directory_roles": [BILLING, GA], "membership_roles": []},
    )


def add_with_ga(client: Client, cast: Cast) -> HttpResponse:
    return send_add(client)


ACTIONS: dict[str, tuple[Callable, Callable[[Client, Cast], str], Callable[[Cast], bool]]] = {
    "reset password": (
        reset,
        lambda client, cast: reverse("reset_password", args=[cast.billing_admin.public_id]),
        lambda cast: User.objects.get(pk=cast.billing_admin.pk).must_change_password,
    ),
    "delete user": (
        delete,
        lambda client, cast: reverse("delete_user", args=[cast.billing_admin.public_id]),
        lambda cast: not User.objects.filter(pk=cast.billing_admin.pk).exists(),
    ),
    "grant Global admin": (
        grant_ga,
        lambda client, cast: reverse("edit_roles", args=[cast.billing_admin.public_id]),
        lambda cast: cast.billing_admin.role_assignments.filter(role__key=GA).exists(),
    ),
    "add a user with Global admin": (
        add_with_ga,
        lambda client, cast: run_url(client, "review"),
        lambda cast: User.objects.filter(email=GRACE["email"]).exists(),
    ),
}


@pytest.fixture
def admin(client: Client, csp: Cast) -> Client:
    """The Global admin, signed in; on the Add user review with Global admin ticked too, which
    is harmless to the other actions."""
    go_to_review(client, csp.global_admin, GA)
    return client


@pytest.mark.parametrize("action", ACTIONS)
def test_within_ten_minutes_nothing_is_asked(admin, csp, action):
    act, _, happened = ACTIONS[action]
    password_entered(admin, minutes_ago=9)

    response = act(admin, csp)

    # Done: the temporary password's page (a reset, or an added user), or where the action leads.
    assert response.status_code in {200, 302}
    assert response.status_code == 200 or urlsplit(response.url).path != CONFIRM
    assert happened(csp)


@pytest.mark.parametrize("action", ACTIONS)
def test_after_ten_minutes_it_asks_and_changes_nothing(admin, csp, action):
    act, back_to, happened = ACTIONS[action]
    password_entered(admin, minutes_ago=11)
    before = database_state()

    response = act(admin, csp)

    assert asked_to_confirm(response, back_to(admin, csp))
    assert CONFIRM_FIRST in messages_of(response)
    assert database_state() == before
    assert not happened(csp)


@pytest.mark.parametrize("action", ACTIONS)
def test_once_confirmed_the_action_works(admin, csp, action):
    act, back_to, happened = ACTIONS[action]
    password_entered(admin, minutes_ago=11)

    confirmed = confirm(admin, act(admin, csp))

    assert confirmed.status_code == 302
    assert confirmed.url == back_to(admin, csp)
    assert admin.get(confirmed.url).status_code == 200  # the page the action started from
    act(admin, csp)
    assert happened(csp)


def test_the_review_comes_back_with_what_was_entered(admin, csp):
    password_entered(admin, minutes_ago=11)
    confirmed = confirm(admin, send_add(admin))

    review = admin.get(confirmed.url)

    assert step_of(review) == "review"
    page = review.content.decode()
    assert GRACE["email"] in page
    assert "Global admin" in page


def test_add_user_begins_a_new_run_and_leaves_the_one_in_progress(admin, csp):
    in_progress = run_url(admin, "review")

    response = admin.get(reverse("add_user"), follow=True)

    assert step_of(response) == "details"
    assert GRACE["email"] not in response.content.decode()
    assert step_of(admin.get(in_progress)) == "review"


def test_the_delete_page_asks_first(admin, csp):
    password_entered(admin, minutes_ago=11)
    page = reverse("delete_user", args=[csp.billing_admin.public_id])

    assert asked_to_confirm(admin.get(page), page)


def test_granting_other_roles_does_not_ask(admin, csp):
    password_entered(admin, minutes_ago=11)

    response = admin.post(
        reverse("edit_roles", args=[csp.billing_admin.public_id]),
        {"directory_roles": [BILLING, RoleKey.SALES_AGENT.value], "membership_roles": []},
    )

    assert response.url == reverse("user_detail", args=[csp.billing_admin.public_id])


def test_a_refusal_comes_before_the_question(client, csp):
    # Authentication never answers for the rulebook: who may not act is refused as before.
    client.force_login(csp.user_admin)
    password_entered(client, minutes_ago=11)

    assert reset(client, csp).status_code == 403


def test_a_session_with_no_password_entry_is_asked(admin, csp):
    session = admin.session
    del session[SESSION_KEY]
    session.save()

    assert asked_to_confirm(reset(admin, csp), ACTIONS["reset password"][1](admin, csp))


def test_signing_in_counts_as_entering_the_password(client, csp):
    client.post(reverse("login"), {"username": csp.global_admin.email, "password": PASSWORD})
    pass_second_factor(client, csp.global_admin)

    response = reset(client, csp)

    assert response.status_code == 200
    assert response.context["password"]


def test_the_confirm_page_asks_for_the_password(admin):
    page = admin.get(CONFIRM + "?next=/users/").content.decode()

    assert "Confirm your password" in page
    assert re.search(r'<label\s+for="id_password"[^>]*>\s*Password\s*<', page)
    assert re.search(r'type="submit"\s+name="confirm"\s+value="Confirm"', page)
    assert 'action="/accounts/confirm-password/?next=/users/"' in page


def test_a_wrong_password_is_a_field_error_and_confirms_nothing(admin, csp):
    password_entered(admin, minutes_ago=11)
    entered_before = admin.session[SESSION_KEY]

    response = admin.post(CONFIRM + "?next=/users/", {"password": "not-the-password"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "password": ["This is not your password. Enter it again."]
    }
    assert admin.session[SESSION_KEY] == entered_before


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/users/", "http://evil.example"]
)
def test_an_external_next_is_ignored(admin, next_url):
    response = admin.post(CONFIRM, {"password": PASSWORD, "next": next_url})

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_confirming_is_good_for_ten_minutes(admin, csp):
    password_entered(admin, minutes_ago=60)
    admin.post(CONFIRM, {"password": PASSWORD})

    entered_at = admin.session[SESSION_KEY]
    assert abs(timezone.now().timestamp() - entered_at) < 5
    assert timedelta(minutes=10) == RECENT_PASSWORD_ENTRY


def test_changing_ones_own_password_counts_as_entering_it(client, csp):
    client.force_login(csp.global_admin)
    password_entered(client, minutes_ago=30)

    client.post(
        reverse("change_password"),
        {
            "old_password": PASSWORD,
            "new_password1": "A-new-and-long-password-2026",
            "new_password2": "A-new-and-long-password-2026",
        },
    )
    response = client.post(
        reverse("reset_password", args=[csp.member.public_id]), reset_form(csp.member)
    )

    assert response.status_code == 200
    assert response.context["password"]
