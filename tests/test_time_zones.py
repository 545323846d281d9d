"""One date and time format everywhere, in the viewer's time zone (the browser's, by a cookie)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent
from partnerhub.time_zones import COOKIE
from tests.test_audit_log import event

URL = reverse("audit_log")


@pytest.fixture
def late_event(csp) -> AuditEvent:
    # 23:30 UTC on 1 May is 2 May in Tokyo, still 1 May in New York.
    return event(
        csp.organization,
        AuditAction.USER_EDITED,
        at=datetime(2025, 5, 1, 23, 30, tzinfo=UTC),
        actor_label="Late Actor",
    )


def test_times_are_in_utc_without_the_browsers_zone(client, csp, late_event):
    client.force_login(csp.global_admin)

    page = client.get(URL).content.decode()

    assert '<time datetime="2025-05-01T23:30:00+00:00">1 May 2025, 23:30</time>' in page
    assert "Times are in UTC." in page


def test_times_are_in_the_zone_the_browser_said(client, csp, late_event):
    client.cookies[COOKIE] = "Asia%2FTokyo"
    client.force_login(csp.global_admin)

    page = client.get(URL).content.decode()

    assert '<time datetime="2025-05-02T08:30:00+09:00">2 May 2025, 08:30</time>' in page
    assert "Times are in Asia/Tokyo." in page
    assert "Time (Asia/Tokyo)" in page


@pytest.mark.parametrize("cookie", ["Not/AZone", "../../etc/passwd", "<script>", "x" * 5000])
def test_a_cookie_that_is_no_zone_is_ignored(client, csp, late_event, cookie):
    client.cookies[COOKIE] = cookie
    client.force_login(csp.global_admin)

    response = client.get(URL)

    assert response.status_code == 200
    assert "Times are in UTC." in response.content.decode()


@pytest.mark.parametrize(
    ("zone", "day", "found"),
    [("Asia/Tokyo", "2025-05-02", True), ("America/New_York", "2025-05-01", True)],
)
def test_the_date_filter_takes_days_in_the_viewers_zone(client, csp, late_event, zone, day, found):
    client.cookies[COOKIE] = zone
    client.force_login(csp.global_admin)

    response = client.get(URL, {"date_from": day, "date_to": day})

    assert ("Late Actor" in response.content.decode()) is found
    other = "2025-05-01" if day == "2025-05-02" else "2025-05-02"
    assert (
        "Late Actor" not in client.get(URL, {"date_from": other, "date_to": other}).content.decode()
    )


def test_the_date_filter_states_its_format(client, csp):
    client.force_login(csp.global_admin)

    page = client.get(URL, {"date_from": "01/05/2025"}).content.decode()

    assert "A day as YYYY-MM-DD, in UTC" in page
    assert "Enter a date as YYYY-MM-DD, such as 2025-07-01." in page


def test_the_first_and_last_days_of_the_calendar_filter_nothing_in_any_zone(
    client, csp, late_event
):
    client.cookies[COOKIE] = "Pacific/Kiritimati"  # UTC+14: the first midnight is not in UTC
    client.force_login(csp.global_admin)

    response = client.get(URL, {"date_from": "0001-01-01", "date_to": "9999-12-31"})

    assert response.status_code == 200
    assert "Late Actor" in response.content.decode()


def test_a_users_page_shows_times_in_the_same_format(client, csp):
    client.cookies[COOKIE] = "Europe/Paris"
    client.force_login(csp.global_admin)
    member = csp.member
    member.created_at = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    member.save(update_fields=["created_at"])

    page = client.get(reverse("user_detail", args=[member.public_id])).content.decode()

    assert '<time datetime="2025-01-15T13:00:00+01:00">15 Jan 2025, 13:00</time>' in page
    assert "Times are shown in Europe/Paris" in page
