"""The page of a workspace PartnerHub has no page for yet: what it is and who may use it."""

from __future__ import annotations

import re

from django.urls import reverse

from roles import rules


def test_every_tile_leads_somewhere(client, csp):
    client.force_login(csp.global_admin)

    page = client.get(reverse("home")).content.decode()

    links = re.findall(r'<a class="stretched-link" href="([^"]+)"', page)
    assert len(links) == len(rules.workspaces_for(csp.global_admin))
    for link in links:
        assert client.get(link).status_code == 200, link


def test_it_says_what_the_workspace_is_and_who_may_use_it(client, csp):
    client.force_login(csp.billing_admin)

    page = client.get(reverse("workspace", args=["billing"])).content.decode()

    assert "Invoices and reconciliation." in page
    assert "<strong>Global admin</strong>, <strong>Billing admin</strong>" in page
    assert "Your roles include one of them." in page
    holders = page.split('data-testid="workspace-holders"')[1]
    assert csp.global_admin.get_full_name() in holders
    assert csp.billing_admin.get_full_name() in holders
    assert csp.member.get_full_name() not in holders
    assert csp.global_admin.email not in page  # a Billing admin does not see the directory


def test_someone_without_the_role_is_told_whom_to_ask_with_emails_if_they_see_the_directory(
    client, csp
):
    client.force_login(csp.mpn_admin)

    page = client.get(reverse("workspace", args=["billing"])).content.decode()

    assert "Your roles do not include any of them" in page
    assert csp.billing_admin.email in page


def test_a_workspace_that_does_not_exist_here_answers_404(client, csp, non_csp):
    client.force_login(non_csp.global_admin)
    assert client.get(reverse("workspace", args=["billing"])).status_code == 404
    assert client.get(reverse("workspace", args=["no-such-thing"])).status_code == 404
    # The workspaces that have their own page are there, not here.
    assert client.get(reverse("workspace", args=["membership"])).status_code == 404


def test_support_staff_have_no_workspace_pages(client, support):
    client.force_login(support)

    assert client.get(reverse("workspace", args=["referrals"])).status_code == 404
