"""Settings > My profile, and changing one's own password."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import HASH_SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts.models import User
from roles.catalogue import SPECS, RoleKey
from tests.factories import PASSWORD, UserFactory

PROFILE = reverse("profile")
CHANGE_PASSWORD = reverse("change_password")
NEW_PASSWORD = "Tangerine-lighthouse-42"

CAST = [
    "global_admin",
    "second_global_admin",
    "user_admin",
    "account_admin",
    "mpn_admin",
    "billing_admin",
    "member",
]


def change(client: Client, url: str = CHANGE_PASSWORD, *, follow: bool = False, **fields: str):
    """Post the change-password form: the right current password and a good new one, unless
    the test says otherwise."""
    data = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    return client.post(url, {**data, **fields}, follow=follow)


def labels(page: str) -> dict[str, str]:
    """Each form label's text, by the id of the field it labels."""
    return dict(re.findall(r'<label\s+for="([^"]+)"[^>]*>\s*([^<*]+?)\s*<', page))


def field_errors(response, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])


def signed_in_user_id(client: Client) -> int | None:
    """Who the next request of this client is signed in as, asked of the server."""
    user = client.get(reverse("home")).wsgi_request.user
    return user.pk if user.is_authenticated else None


# My profile


@pytest.mark.parametrize("program", ["csp", "non_csp"])
@pytest.mark.parametrize("who", CAST)
def test_it_shows_every_partner_user_their_details_and_roles(client, request, program, who):
    cast = request.getfixturevalue(program)
    user = getattr(cast, who)
    client.force_login(user)

    response = client.get(PROFILE)

    assert response.status_code == 200
    assert re.search(r"<h1[^>]*>My profile</h1>", response.content.decode())
    assertContains(response, user.get_full_name())
    assertContains(response, user.email)
    assertContains(response, cast.organization.name)
    assertContains(response, f'href="{CHANGE_PASSWORD}">Change password</a>', html=False)
    for key in user.role_assignments.values_list("role__key", flat=True):
        assertContains(response, SPECS[key].name)
        assertContains(response, SPECS[key].unlocks)


def test_it_says_what_the_roles_unlock(client, csp):
    client.force_login(csp.mpn_admin)

    page = client.get(PROFILE).content.decode()

    assert "MPN Partner Admin" in page
    assert "Membership workspace: benefits, competencies, MAPS purchase." in page
    assert "Your roles unlock: User management, Membership." in page


def test_a_user_without_roles_is_told_whom_to_ask(client, non_csp):
    # In a non-CSP organization the cast's user admin holds no role (the role does not exist).
    client.force_login(non_csp.user_admin)

    response = client.get(PROFILE)

    assertContains(response, "You hold no roles yet.")
    assertNotContains(response, "Your roles unlock")


def test_a_csp_role_held_in_a_non_csp_organization_unlocks_nothing(client, non_csp):
    user = UserFactory(organization=non_csp.organization, roles=[RoleKey.BILLING_ADMIN])
    client.force_login(user)

    response = client.get(PROFILE)

    assertContains(response, "Billing admin")
    assertContains(response, "it unlocks nothing in a non-CSP organization")
    assertNotContains(response, SPECS[RoleKey.BILLING_ADMIN].unlocks)
    assertNotContains(response, "Your roles unlock")


def test_support_staff_are_sent_to_the_support_admin(client, support):
    client.force_login(support)

    response = client.get(PROFILE)

    assertRedirects(response, reverse("admin:index"))


def test_it_needs_sign_in(client, db):
    response = client.get(PROFILE)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_rejects_post(client, csp):
    client.force_login(csp.member)

    assert client.post(PROFILE).status_code == 405


def test_it_shows_no_one_elses_details(client, csp, outsider):
    client.force_login(csp.member)

    page = client.get(PROFILE).content.decode()

    assert csp.global_admin.email not in page
    assert outsider.email not in page
    assert outsider.organization.name not in page


def test_it_makes_the_same_number_of_queries_however_many_roles(client, csp):
    one_role = csp.member
    many_roles = UserFactory(
        organization=csp.organization,
        roles=[
            RoleKey.ACCOUNT_ADMIN,
            RoleKey.MPN_PARTNER_ADMIN,
            RoleKey.BILLING_ADMIN,
            RoleKey.SALES_AGENT,
            RoleKey.REFERRALS_ADMIN,
        ],
    )

    counts = []
    for user in (one_role, many_roles):
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(PROFILE).status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert counts[0] <= 5


def test_the_profile_page_has_no_inline_script_or_style(client, csp):
    client.force_login(csp.global_admin)

    page = client.get(PROFILE).content.decode()

    assert "style=" not in page
    assert "<style" not in page
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))


# Change password: the page


def test_the_page_asks_for_the_current_password_and_the_new_one_twice(client, csp):
    client.force_login(csp.member)

    response = client.get(CHANGE_PASSWORD)

    page = response.content.decode()
    assert response.status_code == 200
    assert labels(page) == {
        "id_old_password": "Old password",
        "id_new_password1": "New password",
        "id_new_password2": "New password confirmation",
    }
    assert re.search(r'type="submit"\s+name="change_password"\s+value="Change password"', page)
    assert "temporary password works only once" not in page
    # Django's validators explain themselves beside the new password.
    assert "at least 12 characters" in page


def test_it_needs_sign_in_to_change_a_password(client, db):
    response = client.get(CHANGE_PASSWORD)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_rejects_other_methods(client, csp):
    client.force_login(csp.member)

    assert client.put(CHANGE_PASSWORD).status_code == 405


# Change password: success


def test_it_changes_the_password(client, csp):
    client.force_login(csp.member)

    response = change(client)

    assertRedirects(response, reverse("home"))
    user = User.objects.get(pk=csp.member.pk)
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(PASSWORD)
    assert not user.must_change_password


def test_it_says_so(client, csp):
    client.force_login(csp.member)

    response = change(client, follow=True)

    assertContains(response, "Your password is changed.")


def test_this_session_stays_signed_in(client, csp):
    client.force_login(csp.member)
    before = client.session.session_key

    change(client)

    assert signed_in_user_id(client) == csp.member.pk
    # A new session key, as at sign-in, carrying the new password's hash.
    assert client.session.session_key != before
    user = User.objects.get(pk=csp.member.pk)
    assert client.session[HASH_SESSION_KEY] == user.get_session_auth_hash()


def test_the_users_other_sessions_end(client, csp):
    elsewhere = Client()
    assert (
        elsewhere.post(
            reverse("login"), {"username": csp.member.email, "password": PASSWORD}
        ).status_code
        == 302
    )
    assert signed_in_user_id(elsewhere) == csp.member.pk
    client.force_login(csp.member)

    change(client)

    assert signed_in_user_id(elsewhere) is None
    assert elsewhere.get(PROFILE).status_code == 302


def test_the_new_password_signs_in_and_the_old_one_no_more(client, csp):
    client.force_login(csp.member)
    change(client)
    client.logout()

    old = client.post(reverse("login"), {"username": csp.member.email, "password": PASSWORD})
    new = client.post(reverse("login"), {"username": csp.member.email, "password": NEW_PASSWORD})

    assert old.status_code == 200
    assert new.status_code == 302


@pytest.mark.parametrize("next_url", ["/users/", "/profile/", "/membership/?tab=benefits"], ids=str)
def test_it_returns_to_a_safe_next_page(client, csp, next_url):
    client.force_login(csp.global_admin)

    response = change(client, f"{CHANGE_PASSWORD}?next={next_url}")

    assert response.status_code == 302
    assert response.url == next_url


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        "https:///evil.example",
    ],
)
def test_it_goes_home_instead_of_an_unsafe_next_page(client, csp, next_url):
    client.force_login(csp.global_admin)

    response = change(client, CHANGE_PASSWORD, next=next_url)

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_next_in_the_address_is_kept_by_the_form(client, csp):
    client.force_login(csp.global_admin)

    page = client.get(f"{CHANGE_PASSWORD}?next=/users/").content.decode()

    assert f'action="{CHANGE_PASSWORD}?next=/users/"' in page


def test_support_staff_may_change_their_own_password(client, support):
    client.force_login(support)

    response = change(client)

    assertRedirects(response, reverse("home"))
    assert User.objects.get(pk=support.pk).check_password(NEW_PASSWORD)


# Change password: failures


def assert_unchanged(user: User) -> None:
    user = User.objects.get(pk=user.pk)
    assert user.check_password(PASSWORD)


def test_a_wrong_current_password_is_refused(client, csp):
    client.force_login(csp.member)

    response = change(client, old_password="not-my-password")

    assert response.status_code == 200
    assert field_errors(response, "old_password") == [
        "This is not your old password. Enter it again."
    ]
    assertContains(response, "This is not your old password.")
    assert_unchanged(csp.member)
    assert signed_in_user_id(client) == csp.member.pk


def test_two_different_new_passwords_are_refused(client, csp):
    client.force_login(csp.member)

    response = change(client, new_password2="Tangerine-lighthouse-43")

    assert field_errors(response, "new_password2") == ["The two new passwords do not match."]
    assert_unchanged(csp.member)


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("Sh0rt!", "This password is too short. It must contain at least 12 characters."),
        ("password123", "This password is too common."),
        (
            "aaaaaaaaaaaa",
            'This password would be easy to guess. Repeats like "aaa" are easy to guess. Add '
            "another word or two. Uncommon words are better. Avoid repeated words and characters.",
        ),
    ],
)
def test_a_weak_new_password_is_refused_by_djangos_validators(client, csp, password, says):
    client.force_login(csp.member)

    response = change(client, new_password1=password, new_password2=password)

    assert says in field_errors(response, "new_password2")
    assert_unchanged(csp.member)


def test_a_password_like_the_users_email_is_refused(client, csp):
    user = UserFactory(organization=csp.organization, email="bartholomew.quint@example.com")
    client.force_login(user)

    response = change(client, new_password1="bartholomew.quint", new_password2="bartholomew.quint")

    assert "The password is too similar to the email." in field_errors(response, "new_password2")
    assert_unchanged(user)


def test_an_empty_form_asks_for_every_field(client, csp):
    client.force_login(csp.member)

    response = client.post(CHANGE_PASSWORD, {})

    errors = response.context["form"].errors
    assert set(errors) == {"old_password", "new_password1", "new_password2"}
    assert_unchanged(csp.member)


def test_the_passwords_typed_are_not_sent_back(client, csp):
    client.force_login(csp.member)

    response = change(client, new_password2="Tangerine-lighthouse-43")

    page = response.content.decode()
    assert PASSWORD not in page
    assert NEW_PASSWORD not in page


# A temporary password


def test_a_user_with_a_temporary_password_is_told_it_works_once(client, csp):
    User.objects.filter(pk=csp.member.pk).update(must_change_password=True)
    client.force_login(csp.member)

    response = client.get(CHANGE_PASSWORD)

    assertContains(response, "Choose a new password: your temporary password works only once.")
    assertContains(response, "The temporary password you were given.")


def test_the_new_password_must_not_be_the_temporary_one(client, csp):
    User.objects.filter(pk=csp.member.pk).update(must_change_password=True)
    client.force_login(csp.member)

    response = change(client, new_password1=PASSWORD, new_password2=PASSWORD)

    assert field_errors(response, "new_password2") == [
        "Choose a password other than your temporary password."
    ]
    user = User.objects.get(pk=csp.member.pk)
    assert user.must_change_password
    assert user.check_password(PASSWORD)


def test_changing_a_temporary_password_clears_the_flag(client, csp):
    User.objects.filter(pk=csp.member.pk).update(must_change_password=True)
    client.force_login(csp.member)

    response = change(client)

    assertRedirects(response, reverse("home"))
    assert not User.objects.get(pk=csp.member.pk).must_change_password


def test_the_change_password_page_has_no_inline_script_or_style(client, csp):
    client.force_login(csp.member)

    page = client.get(CHANGE_PASSWORD).content.decode()

    assert "style=" not in page
    assert "<style" not in page
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))


def test_a_next_address_cannot_inject_markup(client, csp):
    client.force_login(csp.member)

    page = client.get(CHANGE_PASSWORD, {"next": '"><script>alert(1)</script>'}).content.decode()

    assert "<script>alert(1)" not in page
