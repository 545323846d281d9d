"""Sign-in with email and password, sign-out, and the home dashboard."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts import services
from tests.factories import PASSWORD


def sign_in(client, email: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": email, "password": password})


def labels(page: str) -> dict[str, str]:
    """Each form label's text, by the id of the field it labels."""
    found = re.findall(r'<label\s+for="([^"]+)"[^>]*>\s*([^<*]+?)\s*<', page)
    return dict(found)


def test_the_sign_in_page_asks_for_email_and_password(client, db):
    page = client.get(reverse("login")).content.decode()

    assert labels(page) == {"id_username": "Email", "id_password": "Password"}
    assert re.search(r'type="submit"\s+name="sign_in"\s+value="Sign in"', page)


def test_it_signs_in_by_email_in_any_case(client, csp):
    response = sign_in(client, csp.global_admin.email.upper())

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_a_wrong_password_keeps_the_email_and_says_so(client, csp):
    response = sign_in(client, csp.global_admin.email, "not-the-password")

    page = response.content.decode()
    assert response.status_code == 200
    assert "The email or password is not right" in page
    assert f'value="{csp.global_admin.email}"' in page


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(client, db):
    response = sign_in(client, "nobody@example.com", "not-the-password")

    assert "The email or password is not right" in response.content.decode()


def test_the_session_key_changes_at_sign_in(client, csp):
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key

    sign_in(client, csp.global_admin.email)

    assert client.session.session_key != before


def test_a_deactivated_user_cannot_sign_in(client, csp):
    services.deactivate_user(csp.global_admin, csp.member)

    response = sign_in(client, csp.member.email)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_deactivated_user_with_the_right_password_is_told_whom_to_ask(client, csp):
    services.deactivate_user(csp.global_admin, csp.member)

    page = sign_in(client, csp.member.email).content.decode()

    assert "Your account is deactivated" in page
    assert csp.global_admin.get_full_name() in page  # may reactivate: someone to ask
    assert csp.global_admin.email not in page  # names only: the directory is not theirs now
    assert csp.mpn_admin.get_full_name() not in page  # may not reactivate anyone


def test_a_wrong_password_for_a_deactivated_user_reveals_nothing(client, csp):
    services.deactivate_user(csp.global_admin, csp.member)

    page = sign_in(client, csp.member.email, "not-the-password").content.decode()

    assert "deactivated" not in page
    assert "The email or password is not right" in page


def test_a_deactivated_users_right_password_still_counts_toward_the_lockout(client, csp):
    services.deactivate_user(csp.global_admin, csp.member)

    for _ in range(5):
        sign_in(client, csp.member.email)
    response = sign_in(client, csp.member.email)

    assert response.status_code == 429
    assert "deactivated" not in response.content.decode()


def test_sign_out_says_so(client, csp):
    client.force_login(csp.member)

    response = client.post(reverse("logout"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("login")
    assert "You are signed out." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_home_dashboard_greets_the_user_with_organization_and_roles(client, csp):
    client.force_login(csp.mpn_admin)

    page = client.get(reverse("home")).content.decode()

    assert csp.organization.name in page
    assert "MPN Partner Admin" in page
    assert "Membership" in page  # the workspace the role unlocks


def test_a_user_without_roles_is_told_whom_to_ask(client, csp):
    csp.member.role_assignments.all().delete()
    client.force_login(csp.member)

    page = client.get(reverse("home")).content.decode()

    assert "Ask an admin of your organization" in page


def test_support_staff_are_pointed_to_the_support_admin(client, support):
    client.force_login(support)

    page = client.get(reverse("home")).content.decode()

    assert reverse("admin:index") in page


def test_home_needs_sign_in(client, db):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_home_costs_the_same_queries_for_one_role_or_many(
    client, csp, django_assert_max_num_queries
):
    client.force_login(csp.global_admin)
    client.get(reverse("home"))  # warm the session
    # Session, user, roles (the second factor is read from the session).
    with django_assert_max_num_queries(4):
        client.get(reverse("home"))


def test_sign_out_is_a_post_and_ends_the_session(client, csp):
    client.force_login(csp.global_admin)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", ["/healthz"])
def test_the_health_check_answers_when_the_database_does(client, db, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_navigation_offers_the_support_admin_to_support_staff_only(client, csp, support):
    link = f'href="{reverse("admin:index")}">'

    client.force_login(support)
    assert link in client.get(reverse("home")).content.decode()
    client.force_login(csp.global_admin)
    assert link not in client.get(reverse("home")).content.decode()
