"""The story of DOMAIN.md, from the new user's side: an admin adds them with a temporary password;
they sign in with it, must choose a new one before anything else, and then see exactly the
workspaces their roles unlock."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.http import urlencode
from pytest_django.asserts import assertContains, assertRedirects

from accounts import services
from accounts.models import MapsPurchase, User
from roles import rules
from roles.catalogue import RoleKey
from roles.rules import Workspace
from tests.conftest import Cast
from tests.second_factor import pass_second_factor

NEW_PASSWORD = "Quiet-harbour-lantern-7"
CHANGE_PASSWORD = reverse("change_password")


def add_user(
    cast: Cast, *role_keys: str, email: str = "new.person@example.com"
) -> tuple[User, str]:
    """An admin adds a user, as the add-user flow does: returns the user and the temporary
    password the admin was shown."""
    new = services.create_user(
        cast.global_admin,
        organization=cast.organization,
        first_name="Noor",
        last_name="Haddad",
        email=email,
        role_keys=role_keys,
    )
    return new.user, new.temporary_password


def sign_in(client: Client, email: str, password: str):
    """Both steps of sign-in (the second with the authenticator app the user was given: the
    enrolment that comes first is tests/test_second_factor.py's); the password's answer."""
    response = client.post(reverse("login"), {"username": email, "password": password})
    if response.status_code == 302:
        pass_second_factor(client, User.objects.get(email=email))
    return response


def forced_to_change(path: str) -> str:
    """Where a GET of the path is sent while the password must be changed."""
    return f"{CHANGE_PASSWORD}?{urlencode({'next': path})}"


def change_password(client: Client, temporary: str, url: str = CHANGE_PASSWORD, **kwargs):
    return client.post(
        url,
        {"old_password": temporary, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        **kwargs,
    )


def workspace_tiles(page: str) -> list[str]:
    """The data-workspace of each tile in the home page's list of workspaces."""
    listing = re.search(r'<ul[^>]*data-testid="workspaces"[^>]*>(.*?)</ul>', page, re.S)
    return re.findall(r'data-workspace="([^"]+)"', listing.group(1)) if listing else []


@pytest.fixture
def newcomer(client, csp) -> tuple[User, str]:
    """An MPN Partner Admin just added, signed in with the temporary password."""
    user, temporary = add_user(csp, RoleKey.MPN_PARTNER_ADMIN)
    response = sign_in(client, user.email, temporary)
    assert response.status_code == 302
    return user, temporary


def test_a_new_user_must_change_the_temporary_password(csp):
    user, temporary = add_user(csp, RoleKey.MPN_PARTNER_ADMIN)

    assert user.must_change_password
    assert user.check_password(temporary)


def test_the_temporary_password_signs_in(client, newcomer):
    user, _ = newcomer

    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize("url_name", ["home", "directory", "profile", "membership"], ids=str)
def test_every_page_leads_to_the_password_change(client, newcomer, url_name):
    path = reverse(url_name)

    response = client.get(path)

    assertRedirects(response, forced_to_change(path), fetch_redirect_response=False)


def test_signing_in_lands_on_the_password_change(client, newcomer):
    response = client.get(reverse("home"), follow=True)

    assert response.redirect_chain == [(forced_to_change("/"), 302)]
    assertContains(response, "Choose a new password: your temporary password works only once.")


@pytest.mark.parametrize(
    "url_name", ["home", "directory", "profile", "membership", "purchase_maps"], ids=str
)
def test_posting_to_another_page_does_not_get_around_it(client, newcomer, url_name):
    response = client.post(reverse(url_name), {"confirm": "on", "membership_year": "2027"})

    assertRedirects(response, CHANGE_PASSWORD, fetch_redirect_response=False)
    assert not MapsPurchase.objects.exists()


def test_another_users_page_does_not_get_around_it(client, newcomer, csp):
    path = reverse("user_detail", args=[csp.member.public_id])

    response = client.get(path)

    assertRedirects(response, forced_to_change(path), fetch_redirect_response=False)


def test_signing_out_still_works(client, newcomer):
    response = client.post(reverse("logout"))

    assertRedirects(response, reverse("login"), fetch_redirect_response=False)
    assert "_auth_user_id" not in client.session


def test_the_temporary_password_cannot_be_kept(client, newcomer):
    user, temporary = newcomer

    response = client.post(
        CHANGE_PASSWORD,
        {"old_password": temporary, "new_password1": temporary, "new_password2": temporary},
    )

    assertContains(response, "Choose a password other than your temporary password.")
    assert User.objects.get(pk=user.pk).must_change_password
    assert client.get(reverse("home")).status_code == 302


def test_after_the_change_the_page_first_asked_for_opens(client, newcomer):
    user, temporary = newcomer
    client.get(reverse("directory"))

    response = change_password(client, temporary, forced_to_change(reverse("directory")))

    assertRedirects(response, reverse("directory"))
    assert not User.objects.get(pk=user.pk).must_change_password


def test_the_whole_story(client, csp):
    # The admin adds an MPN Partner Admin and is shown the temporary password once.
    user, temporary = add_user(csp, RoleKey.MPN_PARTNER_ADMIN)

    # The new user signs in with it and is sent to choose a new password, whatever they open.
    assertRedirects(sign_in(client, user.email, temporary), reverse("home"), target_status_code=302)
    for name in ("home", "directory", "profile"):
        assert client.get(reverse(name)).url == forced_to_change(reverse(name))

    # They choose a new password and land on home, with the workspaces their role unlocks.
    response = change_password(client, temporary, forced_to_change("/"), follow=True)

    assert response.redirect_chain == [("/", 302)]
    assertContains(response, "Your password is changed.")
    assert workspace_tiles(response.content.decode()) == ["user_management", "membership"]
    for name in ("directory", "profile", "membership"):
        assert client.get(reverse(name)).status_code == 200

    # The temporary password worked once; the new one signs in from now on.
    client.logout()
    assert sign_in(client, user.email, temporary).status_code == 200
    assert sign_in(client, user.email, NEW_PASSWORD).status_code == 302
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.parametrize(
    ("program", "role_keys", "tiles"),
    [
        ("csp", [RoleKey.MPN_PARTNER_ADMIN], ["user_management", "membership"]),
        ("non_csp", [RoleKey.MPN_PARTNER_ADMIN], ["user_management", "membership"]),
        ("csp", [RoleKey.GLOBAL_ADMIN], [workspace.value for workspace in Workspace]),
        (
            "non_csp",
            [RoleKey.GLOBAL_ADMIN],
            [
                "user_management",
                "account_settings",
                "membership",
                "referrals",
                "incentives",
                "business_profile",
                "analytics",
            ],
        ),
        ("csp", [RoleKey.BILLING_ADMIN], ["billing"]),
        (
            "csp",
            [RoleKey.SALES_AGENT, RoleKey.REFERRALS_ADMIN],
            ["customers", "leads", "referrals"],
        ),
        ("csp", [], []),
        ("non_csp", [], []),
    ],
)
def test_after_the_change_home_shows_exactly_the_workspaces_of_the_roles(
    client, request, program, role_keys, tiles
):
    cast = request.getfixturevalue(program)
    user, temporary = add_user(cast, *role_keys)
    sign_in(client, user.email, temporary)

    change_password(client, temporary)
    page = client.get(reverse("home")).content.decode()

    assert workspace_tiles(page) == tiles
    assert tiles == [workspace.value for workspace in rules.workspaces_for(user)]


def test_a_user_without_roles_sees_no_workspace_and_whom_to_ask(client, csp):
    user, temporary = add_user(csp)
    sign_in(client, user.email, temporary)

    change_password(client, temporary)
    response = client.get(reverse("home"))

    assert 'data-testid="workspaces"' not in response.content.decode()
    assertContains(response, "Ask an admin of your organization")
    assert client.get(reverse("membership")).status_code == 403
    assert client.get(reverse("profile")).status_code == 200


def test_a_password_reset_forces_the_change_again(client, csp):
    user, temporary = add_user(csp, RoleKey.MPN_PARTNER_ADMIN)
    sign_in(client, user.email, temporary)
    change_password(client, temporary)

    reset = services.reset_password(csp.global_admin, user)

    # The reset ended the session; the new temporary password leads to the change again.
    assert client.get(reverse("home")).status_code == 302
    sign_in(client, user.email, reset)
    assert client.get(reverse("home")).url == forced_to_change("/")
