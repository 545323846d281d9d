"""The shell around every page: the left navigation of what the roles unlock (the current page
marked), the theme preference on <html>, and the My profile switch that saves it."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts.models import User
from tests.factories import PASSWORD
from tests.second_factor import give_authenticator_app

PROFILE = reverse("profile")
THEME = reverse("profile_theme")


def nav_links(html: str) -> dict[str, bool]:
    """The navigation's links: label -> whether it is marked as the current page."""
    nav = re.search(r'<nav class="ph-nav.*?</nav>', html, re.S).group(0)
    return {
        label: bool(current)
        for current, label in re.findall(
            r'<a class="ph-nav-link"[^>]*?( aria-current="page")?>.*?<span>([^<]+)</span>',
            nav,
            re.S,
        )
    }


def test_the_navigation_lists_what_a_global_admins_roles_unlock(client, csp):
    client.force_login(csp.global_admin)

    links = nav_links(client.get(reverse("home")).content.decode())

    assert links["Home"] is True
    for label in ("User management", "Roles", "Membership", "Billing", "Audit log", "API clients"):
        assert links[label] is False
    assert "Support admin" not in links


def test_the_navigation_holds_only_what_a_billing_admin_may_open(client, csp):
    client.force_login(csp.billing_admin)

    links = nav_links(client.get(reverse("home")).content.decode())

    assert list(links) == ["Home", "Billing"]


def test_the_current_workspace_is_marked_on_its_sub_pages(client, csp):
    client.force_login(csp.global_admin)

    user_page = reverse("user_detail", args=[csp.member.public_id])
    assert nav_links(client.get(user_page).content.decode())["User management"] is True
    roles = nav_links(client.get(reverse("roles_overview")).content.decode())
    assert roles["Roles"] is True
    assert roles["User management"] is False


def test_a_password_only_session_gets_no_navigation_and_no_search(client, csp):
    give_authenticator_app(csp.global_admin)
    client.post(
        reverse("login"), {"username": csp.global_admin.email, "password": PASSWORD}
    )  # the password alone: the second step is next

    response = client.get(reverse("second_factor"))

    assert response.status_code == 200
    assertNotContains(response, 'class="ph-nav')
    assertNotContains(response, 'role="search"')
    assertNotContains(response, reverse("directory"))
    assertContains(response, "Sign out")


def test_signed_out_pages_follow_the_system(client, db):
    response = client.get(reverse("login"))

    assertContains(response, 'data-theme-preference="system"')
    assertNotContains(response, "data-bs-theme=")
    assertNotContains(response, 'class="ph-nav')


@pytest.mark.parametrize("choice", ["light", "dark", "system"])
def test_the_theme_is_saved_and_rendered_on_every_page(client, csp, choice):
    client.force_login(csp.member)

    response = client.post(THEME, {"theme_preference": choice})

    assertRedirects(response, PROFILE)
    assert User.objects.get(pk=csp.member.pk).theme_preference == choice
    label = choice.capitalize()
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Your theme is saved: {label}."
    ]
    home = client.get(reverse("home")).content.decode()
    assert f'data-theme-preference="{choice}"' in home
    # A fixed choice is drawn from the server too, before any script runs.
    assert (f'data-bs-theme="{choice}"' in home) is (choice != "system")
    profile = client.get(PROFILE).content.decode()
    assert re.search(rf'value="{choice}"[^>]*checked', profile)


def test_a_theme_that_is_not_a_choice_is_refused_at_its_field_and_nothing_is_saved(client, csp):
    client.force_login(csp.member)

    response = client.post(THEME, {"theme_preference": "purple"})

    assert response.status_code == 200
    assertContains(response, "Select a valid choice. purple is not one of the available choices.")
    assert User.objects.get(pk=csp.member.pk).theme_preference == "system"
    assert list(get_messages(response.wsgi_request)) == []


def test_a_missing_theme_is_refused_at_its_field(client, csp):
    client.force_login(csp.member)

    response = client.post(THEME, {})

    assertContains(response, "This field is required.")
    assert User.objects.get(pk=csp.member.pk).theme_preference == "system"


def test_support_staff_have_no_profile_theme_page(client, support):
    client.force_login(support)

    assert client.post(THEME, {"theme_preference": "dark"})["Location"] == reverse("admin:index")
    assert User.objects.get(pk=support.pk).theme_preference == "system"
