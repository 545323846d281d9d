"""The membership workspace: benefits, competencies, and buying the partner action pack (MAPS)."""

from __future__ import annotations

import re
from datetime import date
from unittest import mock

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts import services
from accounts.membership import MapsAlreadyPurchased, purchase_maps
from accounts.models import (
    AuditAction,
    AuditEvent,
    AuditOutcome,
    Benefit,
    Competency,
    CompetencyLevel,
    CompetencyStatus,
    MapsPurchase,
    PartnerOrganization,
)
from roles import rules
from roles.rules import RuleRefused

URL = reverse("membership")
PURCHASE = reverse("purchase_maps")
TODAY = date(2026, 11, 23)  # in membership year 2027
YEAR = 2027
ONLY_WHO_MAY_USE = "Only a Global admin or MPN Partner Admin can use the membership workspace."
ONLY_WHO_MAY_BUY = "Only a Global admin or MPN Partner Admin can purchase MAPS."
CONFIRMED = {"confirm": "on", "membership_year": str(YEAR)}


@pytest.fixture(autouse=True)
def today():
    """Every test runs on TODAY, unless it moves the date itself."""
    with mock.patch("django.utils.timezone.localdate", return_value=TODAY) as localdate:
        yield localdate


def benefit(organization: PartnerOrganization, name: str, quantity: int = 10, used: int = 0):
    return Benefit.objects.create(
        organization=organization,
        name=name,
        description=f"What {name} gives.",
        quantity=quantity,
        used=used,
    )


def competency(organization: PartnerOrganization, name: str, **fields: object) -> Competency:
    return Competency.objects.create(
        organization=organization,
        name=name,
        level=fields.get("level", CompetencyLevel.GOLD),
        status=fields.get("status", CompetencyStatus.ACTIVE),
        earned_on=fields.get("earned_on", date(2021, 3, 4)),
        renews_on=fields.get("renews_on", date(2027, 3, 4)),
    )


def purchases_events() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(action=AuditAction.MAPS_PURCHASED)


# Who may


# DOMAIN.md: the membership workspace and MAPS purchase are for Global admin and MPN Partner Admin.
WHO_MAY = [
    ("csp", "global_admin", 200),
    ("csp", "second_global_admin", 200),
    ("csp", "user_admin", 403),
    ("csp", "account_admin", 403),
    ("csp", "mpn_admin", 200),
    ("csp", "billing_admin", 403),
    ("csp", "member", 403),
    ("non_csp", "global_admin", 200),
    ("non_csp", "second_global_admin", 200),
    ("non_csp", "user_admin", 403),  # holds no role: the role does not exist outside CSP
    ("non_csp", "account_admin", 403),
    ("non_csp", "mpn_admin", 200),
    ("non_csp", "billing_admin", 403),  # likewise
    ("non_csp", "member", 403),
]


@pytest.mark.parametrize(("program", "who", "status"), WHO_MAY)
def test_it_is_for_global_admins_and_mpn_partner_admins(client, request, program, who, status):
    client.force_login(getattr(request.getfixturevalue(program), who))

    assert client.get(URL).status_code == status


@pytest.mark.parametrize(("program", "who", "status"), WHO_MAY)
def test_only_they_may_purchase_maps(client, request, program, who, status):
    cast = request.getfixturevalue(program)
    client.force_login(getattr(cast, who))

    response = client.post(PURCHASE, CONFIRMED)

    assert response.status_code == (302 if status == 200 else 403)
    bought = MapsPurchase.objects.filter(organization=cast.organization, membership_year=YEAR)
    assert bought.exists() == (status == 200)


def test_a_refusal_names_the_roles_that_may_and_who_holds_them(client, csp):
    client.force_login(csp.account_admin)

    response = client.get(URL)

    assert response.status_code == 403
    assertContains(response, ONLY_WHO_MAY_USE, status_code=403)
    assertContains(response, csp.global_admin.email, status_code=403)
    assertContains(response, csp.mpn_admin.email, status_code=403)


def test_a_refused_purchase_is_recorded_and_explained(client, csp):
    client.force_login(csp.member)

    response = client.post(PURCHASE, CONFIRMED, REMOTE_ADDR="203.0.113.9")

    assertContains(response, ONLY_WHO_MAY_BUY, status_code=403)
    # Whom to ask, by name and role; not their email, to someone who cannot see the directory.
    assertContains(
        response,
        f"<bdi>{csp.mpn_admin.get_full_name()}</bdi></span> (MPN Partner Admin)",
        status_code=403,
    )
    assertNotContains(response, csp.mpn_admin.email, status_code=403)
    event = purchases_events().get()
    assert event.outcome == AuditOutcome.REFUSED
    assert event.actor == csp.member
    assert event.organization == csp.organization
    assert event.reason == ONLY_WHO_MAY_BUY
    assert event.after == {"membership_year": YEAR}
    assert event.ip_address == "203.0.113.9"
    assert not MapsPurchase.objects.exists()


def test_a_refused_user_sees_nothing_of_the_workspace_even_with_a_form_error(client, csp):
    benefit(csp.organization, "Azure credits (USD)")
    client.force_login(csp.member)

    response = client.post(PURCHASE, {"membership_year": str(YEAR)})

    assert response.status_code == 403
    assertNotContains(response, "Azure credits", status_code=403)


@pytest.mark.parametrize(("method", "url"), [("get", URL), ("post", PURCHASE), ("get", PURCHASE)])
def test_it_needs_sign_in(client, db, method, url):
    response = getattr(client, method)(url, CONFIRMED if method == "post" else {})

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not MapsPurchase.objects.exists()


def test_support_staff_are_not_allowed(client, support):
    client.force_login(support)

    response = client.get(URL)

    assertContains(response, "Support staff work in the support admin", status_code=403)


def test_support_staff_cannot_purchase_and_the_attempt_is_recorded(client, support):
    client.force_login(support)

    response = client.post(PURCHASE, CONFIRMED)

    assert response.status_code == 403
    assert not MapsPurchase.objects.exists()
    event = purchases_events().get()
    assert (event.outcome, event.actor, event.organization) == (
        AuditOutcome.REFUSED,
        support,
        None,
    )


def test_purchase_rejects_get(client, csp):
    client.force_login(csp.mpn_admin)

    assert client.get(PURCHASE).status_code == 405


def test_the_workspace_rejects_post(client, csp):
    client.force_login(csp.mpn_admin)

    assert client.post(URL, CONFIRMED).status_code == 405
    assert not MapsPurchase.objects.exists()


# What it shows


def test_it_shows_the_benefits_with_what_is_used(client, csp):
    benefit(csp.organization, "Azure credits (USD)", quantity=3500, used=1200)
    benefit(csp.organization, "Technical presales hours", quantity=10, used=2)
    client.force_login(csp.mpn_admin)

    response = client.get(URL)

    page = response.content.decode()
    assert re.search(r"<h1[^>]*>Membership</h1>", page)
    assert "Azure credits (USD)" in page
    assert "What Azure credits (USD) gives." in page
    assert "1200 / 3500" in page
    assert "Technical presales hours" in page
    assert "2 / 10" in page


def test_it_shows_the_competencies(client, csp):
    competency(
        csp.organization,
        "Cloud Platform",
        level=CompetencyLevel.GOLD,
        status=CompetencyStatus.ACTIVE,
        earned_on=date(2019, 10, 1),
        renews_on=date(2027, 10, 1),
    )
    competency(
        csp.organization,
        "Security",
        level=CompetencyLevel.SILVER,
        status=CompetencyStatus.EXPIRING,
    )
    competency(csp.organization, "Data Analytics", status=CompetencyStatus.LAPSED)
    client.force_login(csp.global_admin)

    page = client.get(URL).content.decode()

    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td>([^<]+)</td>\s*<td><span[^>]*>([^<]+)<", page)
    assert rows == [
        ("Cloud Platform", "Gold", "Active"),
        ("Data Analytics", "Gold", "Lapsed"),
        ("Security", "Silver", "Expiring soon"),
    ]
    assert "1 Oct 2019" in page
    assert "1 Oct 2027" in page


def test_it_says_when_there_is_nothing_yet(client, csp):
    client.force_login(csp.mpn_admin)

    response = client.get(URL)

    assertContains(response, "No benefits yet.")
    assertContains(response, "No competencies yet.")


def test_it_shows_nothing_of_another_organization(client, csp, outsider):
    benefit(outsider.organization, "Elsewhere's benefit")
    competency(outsider.organization, "Elsewhere's competency")
    purchase_maps(outsider)
    benefit(csp.organization, "Our benefit")
    client.force_login(csp.mpn_admin)

    response = client.get(URL)

    assertContains(response, "Our benefit")
    assertNotContains(response, "Elsewhere")
    assertNotContains(response, outsider.get_full_name())
    assert response.context["purchase"] is None
    assertContains(response, "Purchase MAPS")


@pytest.mark.parametrize(
    ("day", "says"),
    [
        (date(2026, 11, 23), "Membership year 2027 (1 Jul 2026 to 30 Jun 2027)"),
        (date(2027, 6, 30), "Membership year 2027 (1 Jul 2026 to 30 Jun 2027)"),
        (date(2027, 7, 1), "Membership year 2028 (1 Jul 2027 to 30 Jun 2028)"),
    ],
)
def test_it_offers_maps_for_the_current_membership_year(client, csp, today, day, says):
    today.return_value = day
    client.force_login(csp.mpn_admin)

    page = client.get(URL).content.decode()

    year = says.split()[2]
    assert says in re.sub(r"<[^>]+>", "", page)
    assert f"I confirm the purchase of MAPS for membership year {year}" in page
    assert re.search(r'type="submit"\s+name="purchase_maps"\s+value="Purchase MAPS"', page)
    assert f'action="{PURCHASE}"' in page


def test_the_confirmation_box_is_labelled(client, csp):
    client.force_login(csp.mpn_admin)

    page = client.get(URL).content.decode()

    assert re.search(r'<input type="checkbox" name="confirm"[^>]*id="id_confirm"', page)
    assert re.search(r'<label\s+for="id_confirm"[^>]*>\s*I confirm the purchase of MAPS', page)


def test_the_page_has_no_inline_script_or_style(client, csp):
    benefit(csp.organization, "Azure credits (USD)", quantity=3500, used=1200)
    client.force_login(csp.mpn_admin)

    page = client.get(URL).content.decode()

    assert "style=" not in page
    assert "<style" not in page
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))


def test_it_makes_the_same_number_of_queries_however_much_there_is(client, csp):
    client.force_login(csp.mpn_admin)
    benefit(csp.organization, "Benefit 0")
    competency(csp.organization, "Competency 0")
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200

    for n in range(1, 8):
        benefit(csp.organization, f"Benefit {n}")
        competency(csp.organization, f"Competency {n}")
    purchase_maps(csp.mpn_admin)
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).status_code == 200

    assert len(many) == len(few)
    assert len(few) <= 8


# Buying MAPS


def test_it_purchases_maps_and_records_it(client, csp):
    client.force_login(csp.mpn_admin)

    response = client.post(PURCHASE, CONFIRMED, REMOTE_ADDR="203.0.113.7")

    assertRedirects(response, URL)
    purchase = MapsPurchase.objects.get()
    assert purchase.organization == csp.organization
    assert purchase.membership_year == YEAR
    assert purchase.purchased_by == csp.mpn_admin
    event = purchases_events().get()
    assert event.outcome == AuditOutcome.DONE
    assert event.actor == csp.mpn_admin
    assert event.organization == csp.organization
    assert event.after == {"membership_year": YEAR}
    assert event.ip_address == "203.0.113.7"


def test_after_the_purchase_the_page_says_who_bought_it_and_when(client, csp):
    client.force_login(csp.mpn_admin)

    response = client.post(PURCHASE, CONFIRMED, follow=True)

    assertContains(response, f"MAPS is purchased for membership year {YEAR}.")
    purchase = MapsPurchase.objects.get()
    listed = re.search(r'data-testid="maps-purchase">(.*?)</p>', response.content.decode(), re.S)
    assert csp.mpn_admin.get_full_name() in listed.group(1)
    assert f"{purchase.purchased_at:%-d %b %Y, %H:%M}</time> (UTC)" in listed.group(1)
    assertNotContains(response, 'name="confirm"')


def test_another_admin_sees_the_purchase_instead_of_the_form(client, csp):
    purchase_maps(csp.mpn_admin)
    client.force_login(csp.global_admin)

    response = client.get(URL)

    assertContains(response, f"by <bdi>{csp.mpn_admin.get_full_name()}</bdi>")
    assertNotContains(response, "I confirm the purchase")


def test_a_purchase_by_a_user_since_deleted_still_shows(client, csp):
    purchase_maps(csp.mpn_admin)
    services.delete_user(csp.global_admin, csp.mpn_admin)
    client.force_login(csp.global_admin)

    response = client.get(URL)

    assertContains(response, "by a user who has since been deleted")


def test_a_second_purchase_is_refused_with_a_message_and_writes_nothing(client, csp):
    purchase_maps(csp.mpn_admin)
    client.force_login(csp.global_admin)

    response = client.post(PURCHASE, CONFIRMED)

    assert response.status_code == 200
    assertContains(response, f"MAPS is already purchased for membership year {YEAR}.")
    assert MapsPurchase.objects.get().purchased_by == csp.mpn_admin
    assert purchases_events().count() == 1


def test_a_purchase_last_year_does_not_stop_this_years(client, csp):
    MapsPurchase.objects.create(
        organization=csp.organization, membership_year=YEAR - 1, purchased_by=csp.mpn_admin
    )
    client.force_login(csp.mpn_admin)

    assertContains(client.get(URL), "I confirm the purchase")
    assertRedirects(client.post(PURCHASE, CONFIRMED), URL)
    assert set(MapsPurchase.objects.values_list("membership_year", flat=True)) == {
        YEAR - 1,
        YEAR,
    }


def test_a_confirmation_without_the_year_is_for_the_current_year(client, csp):
    client.force_login(csp.mpn_admin)

    response = client.post(PURCHASE, {"confirm": "on"})

    assertRedirects(response, URL)
    assert MapsPurchase.objects.get().membership_year == YEAR


def test_without_the_confirmation_nothing_is_bought(client, csp):
    client.force_login(csp.mpn_admin)

    response = client.post(PURCHASE, {"membership_year": str(YEAR)})

    assert response.status_code == 200
    assert response.context["form"].errors == {"confirm": ["Tick the box to confirm the purchase."]}
    assertContains(response, "Tick the box to confirm the purchase.")
    assert not MapsPurchase.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_confirmation_for_a_year_that_has_ended_buys_nothing(client, csp, today):
    # The page was opened on 30 June, for membership year 2027, and sent on 1 July.
    today.return_value = date(2027, 7, 1)
    client.force_login(csp.mpn_admin)

    response = client.post(PURCHASE, {"confirm": "on", "membership_year": "2027"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "A new membership year has begun: confirm the purchase for membership year 2028." in page
    assert not MapsPurchase.objects.exists()
    # Asked again, about the year that has begun, with the box unticked.
    assert 'name="membership_year" value="2028"' in page
    assert re.search(r'<input type="checkbox" name="confirm"(?![^>]*checked)[^>]*>', page)
    assert "I confirm the purchase of MAPS for membership year 2028" in page


# The service


def test_the_service_returns_the_purchase(csp):
    purchase = purchase_maps(csp.global_admin)

    assert (purchase.organization, purchase.membership_year, purchase.purchased_by) == (
        csp.organization,
        YEAR,
        csp.global_admin,
    )


def test_the_service_refuses_a_second_purchase_with_a_clear_message(csp):
    purchase_maps(csp.global_admin)

    with pytest.raises(
        MapsAlreadyPurchased, match=r"^MAPS is already purchased for membership year 2027\.$"
    ):
        purchase_maps(csp.mpn_admin)

    assert MapsPurchase.objects.count() == 1
    assert purchases_events().count() == 1


def test_the_unique_constraint_settles_a_race(csp):
    purchase_maps(csp.global_admin)

    # As if another request bought MAPS between this one's check and its insert.
    with (
        mock.patch.object(QuerySet, "exists", return_value=False),
        pytest.raises(MapsAlreadyPurchased),
    ):
        purchase_maps(csp.mpn_admin)

    assert MapsPurchase.objects.count() == 1
    assert purchases_events().count() == 1


def test_the_service_records_a_refusal(csp):
    with pytest.raises(RuleRefused, match="Only a Global admin or MPN Partner Admin"):
        purchase_maps(csp.account_admin)

    assert not MapsPurchase.objects.exists()
    event = purchases_events().get()
    assert (event.outcome, event.actor) == (AuditOutcome.REFUSED, csp.account_admin)


def test_an_admin_demoted_a_moment_ago_buys_nothing(csp):
    actor = csp.mpn_admin
    assert rules.held_roles(actor)  # what the request saw when it began
    actor.role_assignments.all().delete()

    with pytest.raises(RuleRefused):
        purchase_maps(actor)

    assert not MapsPurchase.objects.exists()


def test_a_deactivated_admin_buys_nothing(csp):
    actor = csp.mpn_admin
    services.deactivate_user(csp.global_admin, actor)
    actor.is_active = True  # the stale copy a request still holds

    with pytest.raises(RuleRefused):
        purchase_maps(actor)

    assert not MapsPurchase.objects.exists()
