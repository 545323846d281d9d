"""A user's page in the directory's side panel: the user view, asked by htmx (HX-Request),
answers the page's content without the layout, decided exactly as the full page; the directory's
names ask for it and still link to the full page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory
from tests.test_user_page import BUTTONS, action_buttons, page_of, signed_in, with_history

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def panel(client: Client, user: User, **headers: str):
    return client.get(page_of(user), headers={**HTMX, **headers})


def test_it_answers_the_panel_without_the_layout(client, csp):
    response = panel(signed_in(client, csp.global_admin), csp.member)

    html = response.content.decode()
    assert response.status_code == 200
    assert response.templates[0].name == "accounts/user/panel.html"
    assert "<html" not in html
    assert "<main" not in html
    assert "<nav" not in html  # neither the header nor the breadcrumb
    assert 'id="user-panel-title"' in html
    assert csp.member.get_full_name() in html
    assert re.search(rf'<a href="{page_of(csp.member)}"[^>]*>Open full page</a>', html)
    assert 'data-testid="user-details"' in html


def test_without_htmx_it_answers_the_full_page(client, csp):
    response = signed_in(client, csp.global_admin).get(page_of(csp.member))

    html = response.content.decode()
    assert html.startswith("<!doctype html>")
    assert 'data-testid="user-name"' in html
    assert "user-panel-title" not in html


@pytest.mark.parametrize("htmx", [True, False], ids=["panel", "full page"])
def test_both_answers_vary_with_the_htmx_header(client, csp, htmx):
    signed_in(client, csp.global_admin)

    response = panel(client, csp.member) if htmx else client.get(page_of(csp.member))

    vary = [field.strip().lower() for field in response["Vary"].split(",")]
    assert "hx-request" in vary
    assert "cookie" in vary


def test_htmx_restoring_a_page_from_history_gets_the_full_page(client, csp):
    response = panel(
        signed_in(client, csp.global_admin), csp.member, **{"HX-History-Restore-Request": "true"}
    )

    assert response.content.decode().startswith("<!doctype html>")


@pytest.mark.parametrize(("actor", "target", "shown"), BUTTONS)
def test_it_offers_the_actions_of_the_full_page(client, csp, actor, target, shown):
    signed_in(client, getattr(csp, actor))
    target_user = getattr(csp, target)

    in_panel = action_buttons(panel(client, target_user).content.decode())
    on_page = action_buttons(client.get(page_of(target_user)).content.decode())

    assert in_panel == on_page == dict.fromkeys(shown, True)


def test_its_sections_are_headed_under_the_panels_title(client, csp):
    html = panel(signed_in(client, csp.global_admin), csp.member).content.decode()
    full = client.get(page_of(csp.member)).content.decode()

    assert re.findall(r"<h(\d)", html) == ["2", "3", "3", "3", "3"]  # title; actions..history
    assert re.findall(r"<h(\d)", full.split("<main", 1)[1]) == ["1", "2", "2", "2", "2"]


# Who may see it: exactly who may see the full page (also rows of tests/test_permission_table.py)


def test_it_answers_404_for_another_organizations_user(client, csp, outsider):
    assert panel(signed_in(client, outsider), csp.member).status_code == 404


def test_it_refuses_a_role_that_does_not_see_the_directory(client, csp):
    response = panel(signed_in(client, csp.billing_admin), csp.member)

    assert response.status_code == 403
    assert "user-panel-title" not in response.content.decode()


def test_it_needs_sign_in(client, csp):
    response = client.get(page_of(csp.member), headers=HTMX)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_panel_costs_no_more_queries_with_more_roles_and_history(client, csp):
    few = with_history(UserFactory(organization=csp.organization), csp.global_admin, 3)
    many = with_history(UserFactory(organization=csp.organization), csp.global_admin, 60)
    signed_in(client, csp.global_admin)

    def queries(user: User) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert panel(client, user).status_code == 200
        return len(captured)

    assert queries(few) == queries(many)


# The directory's names


def test_each_name_in_the_directory_opens_the_panel_and_links_to_the_page(client, csp):
    html = signed_in(client, csp.global_admin).get(reverse("directory")).content.decode()

    url = page_of(csp.member)
    assert f'href="{url}" hx-get="{url}" hx-target="#user-panel" data-user-panel-link' in html
    assert html.count(' id="user-panel"') == 1
    assert "hx-push-url" not in html  # the address stays the directory's
