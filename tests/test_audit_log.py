"""Settings > Audit log: who reads it, what each reads, its filters, its CSV export."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import audit, services
from accounts.audit import Origin
from accounts.history import sentences
from accounts.membership import purchase_maps
from accounts.models import AuditAction, AuditEvent, AuditOutcome, PartnerOrganization
from accounts.views.audit_log import CSV_HEADER, PAGE_SIZE
from jobs.models import AuditExport
from jobs.testing import run_ready_jobs
from roles import rules
from roles import services as roles_services
from roles.catalogue import RoleKey
from tests.conftest import Cast
from tests.factories import OrganizationFactory, UserFactory

URL = reverse("audit_log")
EXPORT_URL = reverse("audit_log_export")


def event(
    organization: PartnerOrganization,
    action: str = AuditAction.USER_EDITED,
    *,
    actor_label: str = "Ada Admin <ada@example.com>",
    target_label: str = "Tom Target <tom@example.com>",
    at: datetime | None = None,
    **fields: object,
) -> AuditEvent:
    """An audit event written directly, for the times and labels a test needs."""
    return AuditEvent.objects.create(
        organization=organization,
        action=action,
        outcome=fields.pop("outcome", AuditOutcome.DONE),
        actor_label=actor_label,
        target_label=target_label,
        **({"created_at": at} if at else {}),
        **fields,
    )


def listed(response) -> list[AuditEvent]:
    return [entry.event for entry in response.context["entries"]]


def actions_listed(response) -> set[str]:
    return {found.action for found in listed(response)}


def exported(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def export(client, filters: dict | None = None):
    """Ask for the export as the page's button does, let a worker write it, download it."""
    query = f"?{urlencode(filters)}" if filters else ""
    asked = client.post(EXPORT_URL + query)
    assert asked.status_code == 302
    run_ready_jobs()
    written = AuditExport.objects.latest("created_at")
    assert written.state == AuditExport.State.READY, written.error
    return client.get(reverse("audit_log_export_file", args=[written.pk]))


@pytest.fixture
def history(csp: Cast) -> None:
    """One event of each kind in the organization, through the services where there is one."""
    origin = Origin(ip_address="203.0.113.7", user_agent="Firefox")
    services.create_user(
        csp.user_admin,
        organization=csp.organization,
        first_name="Nina",
        last_name="New",
        email="nina@example.com",
        role_keys=[RoleKey.REFERRALS_ADMIN],
        origin=origin,
    )
    purchase_maps(csp.mpn_admin, origin=origin)
    audit.record(
        None,
        AuditAction.ORGANIZATION_EDITED,
        organization=csp.organization,
        actor_label="Support <support@example.com>",
        target_label=str(csp.organization),
        before={"name": "Old name"},
        after={"name": csp.organization.name},
    )


# Who reads it


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("global_admin", 200),
        ("user_admin", 200),
        ("account_admin", 403),
        ("mpn_admin", 403),
        ("member", 403),
    ],
)
def test_it_is_for_global_and_user_management_admins(client, csp, who, status):
    client.force_login(getattr(csp, who))

    assert client.get(URL).status_code == status
    assert client.post(EXPORT_URL).status_code == (302 if status == 200 else status)


def test_a_refusal_says_who_may(client, csp):
    client.force_login(csp.account_admin)

    page = client.get(URL).content.decode()

    assert "Only a Global admin or User management admin can see the audit log." in page


def test_support_staff_use_the_support_admin_instead(client, support, csp):
    event(None)  # an event of no organization: support's, never shown here
    client.force_login(support)

    assert client.get(URL).status_code == 403
    assert client.post(EXPORT_URL).status_code == 403
    assert not AuditExport.objects.exists()


def test_it_needs_sign_in(client, db):
    for response in (client.get(URL), client.post(EXPORT_URL)):
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_a_global_admin_reads_every_event(client, csp, history):
    client.force_login(csp.global_admin)

    assert actions_listed(client.get(URL)) == {
        AuditAction.USER_CREATED,
        AuditAction.ROLE_GRANTED,
        AuditAction.MAPS_PURCHASED,
        AuditAction.ORGANIZATION_EDITED,
    }


def test_a_user_management_admin_reads_user_management_events_only(client, csp, history):
    client.force_login(csp.user_admin)
    response = client.get(URL)

    assert actions_listed(response) == {AuditAction.USER_CREATED, AuditAction.ROLE_GRANTED}
    offered = {value for value, _ in response.context["form"].fields["action"].choices if value}
    assert offered == {action for action in AuditAction.values if action[:5] in {"user.", "role."}}


def test_the_rulebook_says_which_actions_each_reads(csp, support):
    assert rules.audit_actions_visible_to(csp.global_admin) is None
    assert AuditAction.MAPS_PURCHASED not in rules.audit_actions_visible_to(csp.user_admin)
    assert AuditAction.ROLE_REVOKED in rules.audit_actions_visible_to(csp.user_admin)
    assert rules.audit_actions_visible_to(csp.account_admin) == frozenset()
    assert rules.audit_actions_visible_to(support) == frozenset()


def test_another_organizations_events_never_appear(client, csp, outsider):
    event(csp.organization, actor_label="Ours")
    event(outsider.organization, actor_label="Theirs")
    event(None, actor_label="Nobody's")
    client.force_login(csp.global_admin)

    assert [found.actor_label for found in listed(client.get(URL))] == ["Ours"]
    rows = exported(export(client))
    assert [row[4] for row in rows[1:]] == ["Ours"]


def test_the_settings_menu_offers_it_to_those_who_may(client, csp):
    client.force_login(csp.user_admin)
    assert f'href="{URL}"' in client.get(reverse("home")).content.decode()

    client.force_login(csp.account_admin)
    assert f'href="{URL}"' not in client.get(reverse("home")).content.decode()


# The page


def test_it_lists_newest_first_with_outcome_and_change_in_words(client, csp):
    event(csp.organization, at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC), actor_label="First")
    event(
        csp.organization,
        AuditAction.ROLE_GRANTED,
        at=datetime(2025, 3, 2, 9, 0, tzinfo=UTC),
        actor_label="Second",
        outcome=AuditOutcome.REFUSED,
        reason="Only a Global admin can grant or revoke Global admin.",
        after={"role": RoleKey.GLOBAL_ADMIN},
        ip_address="198.51.100.4",
    )
    client.force_login(csp.global_admin)

    response = client.get(URL)
    page = response.content.decode()

    assert [found.actor_label for found in listed(response)] == ["Second", "First"]
    assert "2 Mar 2025, 09:00" in page  # the one format, in UTC without the browser's zone
    assert "Refused" in page
    assert "Why: <bdi>Only a Global admin can grant or revoke Global admin.</bdi>" in page
    assert "Roles: +&nbsp;<bdi>Global admin</bdi>" in page
    assert "198.51.100.4" in page


def test_hostile_text_is_shown_escaped(client, csp):
    hostile = '<script>alert("x")</script>\n\u202egnp.exe'
    event(
        csp.organization,
        actor_label=hostile,
        target_label='O\'Brien "quoted"',
        before={"first_name": hostile},
        after={"first_name": "<img src=x onerror=alert(1)>"},
    )
    client.force_login(csp.global_admin)

    page = client.get(URL).content.decode()

    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "O&#x27;Brien &quot;quoted&quot;" in page
    # A right-to-left override stays inside its own isolated run of text.
    assert "<bdi>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\n\u202egnp.exe</bdi>" in page


def test_paging_keeps_the_filters(client, csp):
    paged = UserFactory(organization=csp.organization, first_name="Paged", last_name="Person")
    for number in range(PAGE_SIZE + 3):
        event(csp.organization, actor=paged, actor_label=f"Paged admin {number}")
    event(csp.organization, actor_label="Someone else")
    client.force_login(csp.global_admin)

    filters = {"person": paged.email, "action": AuditAction.USER_EDITED}
    response = client.get(URL, filters)
    page = response.content.decode()

    assert response.context["count_text"] == f"{PAGE_SIZE + 3} events"
    assert len(listed(response)) == PAGE_SIZE
    older_link = re.search(r'href="\?([^"]*before=[^"]*)"', page).group(1).replace("&amp;", "&")
    last_shown = listed(response)[-1]
    assert older_link == (
        f"person={paged.email.replace('@', '%40')}&action=user.edited&before={last_shown.public_id}"
    )
    older = client.get(f"{URL}?{older_link}")
    assert [found.actor_label for found in listed(older)] == [
        "Paged admin 2",
        "Paged admin 1",
        "Paged admin 0",
    ]
    assert "before=" not in older.content.decode()  # the oldest page
    # Newer goes back to the page before, the same events in the same order.
    newer_link = re.search(r'href="\?([^"]*after=[^"]*)"', older.content.decode()).group(1)
    newer = client.get(f"{URL}?{newer_link.replace('&amp;', '&')}")
    assert listed(newer) == listed(response)
    export_link = re.search(r'action="([^"]*)" data-testid="export-csv"', page).group(1)
    assert export_link.replace("&amp;", "&") == (
        f"{EXPORT_URL}?person={paged.email.replace('@', '%40')}&action=user.edited"
    )


def test_a_person_filter_merges_what_they_did_and_what_was_done_to_them(client, csp):
    # On PostgreSQL the page is two index ranges merged (as actor, as target): every event of
    # the person once, in the log's order, across pages, with one count.
    person = UserFactory(organization=csp.organization, first_name="Merged", last_name="Person")
    other = UserFactory(organization=csp.organization)
    at = datetime(2025, 5, 1, 12, tzinfo=UTC)
    expected = []
    for number in range(PAGE_SIZE + 5):
        actor, target = [(person, other), (other, person), (person, person)][number % 3]
        expected.append(
            event(
                csp.organization,
                actor=actor,
                target=target,
                actor_label=f"Event {number}",
                # Some events share an instant: the id breaks the tie on both sides.
                at=at.replace(minute=number // 2),
            )
        )
    event(csp.organization, actor=other, target=other, actor_label="Not theirs")
    client.force_login(csp.global_admin)

    first = client.get(URL, {"person": person.email})
    older_link = re.search(r'href="\?([^"]*before=[^"]*)"', first.content.decode()).group(1)
    older = client.get(f"{URL}?{older_link.replace('&amp;', '&')}")

    assert first.context["count_text"] == f"{PAGE_SIZE + 5} events"
    assert older.context["count_text"] == f"{PAGE_SIZE + 5} events"
    assert listed(first) + listed(older) == expected[::-1]
    newer_link = re.search(r'href="\?([^"]*after=[^"]*)"', older.content.decode()).group(1)
    assert listed(client.get(f"{URL}?{newer_link.replace('&amp;', '&')}")) == listed(first)


def test_a_page_past_the_last_event_says_so_and_still_counts(client, csp):
    last = event(csp.organization)
    client.force_login(csp.global_admin)

    response = client.get(URL, {"before": str(last.public_id)})

    assert listed(response) == []
    assert response.context["count_text"] == "1 event"


def test_a_page_deep_in_the_log_follows_the_order_of_time_then_id(client, csp):
    # Events written in the same microsecond keep their order by id across pages: none is
    # shown twice or skipped.
    at = datetime(2025, 5, 1, 12, tzinfo=UTC)
    for number in range(2 * PAGE_SIZE + 5):
        event(csp.organization, actor_label=f"Same time {number}", at=at)
    client.force_login(csp.global_admin)

    seen, url = [], URL
    while url:
        response = client.get(url)
        seen += [found.actor_label for found in listed(response)]
        found = re.search(r'href="(\?[^"]*before=[^"]*)"', response.content.decode())
        url = URL + found.group(1).replace("&amp;", "&") if found else None

    assert seen == [f"Same time {number}" for number in reversed(range(2 * PAGE_SIZE + 5))]


def test_the_count_is_capped(client, csp, monkeypatch):
    monkeypatch.setattr("accounts.views.audit_log.COUNT_CAP", 3)
    for _ in range(4):
        event(csp.organization)
    event(csp.organization, AuditAction.ROLE_GRANTED)
    event(csp.organization, AuditAction.ROLE_GRANTED)
    client.force_login(csp.global_admin)

    assert client.get(URL).context["count_text"] == "3+ events"
    assert client.get(URL, {"action": AuditAction.ROLE_GRANTED}).context["count_text"] == (
        "2 events"
    )


@pytest.mark.parametrize(
    ("filters", "counted"),
    [
        ({"action": AuditAction.ROLE_GRANTED}, "2+ events"),
        ({"date_from": "2000-01-01"}, "2+ events"),
        ({"person": "the Global admin"}, "2+ events"),
        ({}, "9 events"),
    ],
)
def test_a_filters_matches_are_counted_to_their_own_cap(client, csp, monkeypatch, filters, counted):
    # The whole log to COUNT_CAP, a filter's matches to MATCH_COUNT_CAP, as the directory.
    monkeypatch.setattr("accounts.views.audit_log.MATCH_COUNT_CAP", 2)
    for _ in range(6):
        event(csp.organization)
    for _ in range(3):
        event(csp.organization, AuditAction.ROLE_GRANTED, actor=csp.global_admin)
    client.force_login(csp.global_admin)
    if "person" in filters:
        filters = {"person": csp.global_admin.email}

    assert client.get(URL, filters).context["count_text"] == counted
    # Past the oldest event the page is empty and the count is its own query: the same cap.
    oldest = AuditEvent.objects.order_by("created_at", "id").first()
    past_the_end = client.get(URL, {**filters, "before": oldest.public_id})
    assert listed(past_the_end) == []
    assert past_the_end.context["count_text"] == counted


def test_a_cursor_from_another_organization_finds_nothing(client, csp, outsider):
    theirs = event(outsider.organization)
    event(csp.organization)
    client.force_login(csp.global_admin)

    assert listed(client.get(URL, {"before": theirs.public_id})) == []
    assert len(listed(client.get(URL, {"before": "not-an-id"}))) >= 1


# The filters


@pytest.fixture
def dated(csp: Cast) -> None:
    people = {
        name: UserFactory(
            organization=csp.organization,
            first_name=name.split()[0],
            last_name=name.split()[1],
            email=f"{name.split()[0].lower()}@example.com",
        )
        for name in ("Ada Admin", "Tom Target", "Ben Boss", "Cy Clerk")
    }
    people["ada.lovelace@example.com"] = people["Ada Admin"]
    for day, actor, target, action in [
        (1, "Ada Admin", "Tom Target", AuditAction.USER_CREATED),
        (2, "Ben Boss", "ada.lovelace@example.com", AuditAction.ROLE_GRANTED),
        (3, "Ben Boss", "Cy Clerk", AuditAction.USER_DELETED),
    ]:
        event(
            csp.organization,
            action,
            actor=people[actor],
            target=people[target],
            actor_label=actor,
            target_label=target,
            at=datetime(2025, 5, day, 23, 59, 59, tzinfo=UTC),
        )


@pytest.mark.parametrize(
    ("filters", "actors_and_targets"),
    [
        (
            # By email, in any case: as actor or as target.
            {"person": "ADA@example.com"},
            {("Ada Admin", "Tom Target"), ("Ben Boss", "ada.lovelace@example.com")},
        ),
        ({"person": "cy@example.com"}, {("Ben Boss", "Cy Clerk")}),
        ({"action": AuditAction.ROLE_GRANTED}, {("Ben Boss", "ada.lovelace@example.com")}),
        ({"date_from": "2025-05-03"}, {("Ben Boss", "Cy Clerk")}),
        ({"date_to": "2025-05-01"}, {("Ada Admin", "Tom Target")}),
        (
            {"date_from": "2025-05-02", "date_to": "2025-05-02"},
            {("Ben Boss", "ada.lovelace@example.com")},
        ),
        (
            {"person": "ben@example.com", "date_to": "2025-05-02"},
            {("Ben Boss", "ada.lovelace@example.com")},
        ),
    ],
)
def test_each_filter(client, csp, dated, filters, actors_and_targets):
    client.force_login(csp.global_admin)

    response = client.get(URL, filters)

    assert {(found.actor_label, found.target_label) for found in listed(response)} == (
        actors_and_targets
    )
    rows = exported(export(client, filters))
    assert {(row[4], row[5]) for row in rows[1:]} == actors_and_targets


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"date_from": "2025-13-45"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2025-05-03", "date_to": "2025-05-01"}, "date_to"),
        ({"action": "user.exploded"}, "action"),
        ({"person": "x" * 10_000}, "person"),
        ({"person": "ada"}, "person"),  # not an email
        ({"person": "nobody-at-all@example.com"}, "person"),  # nobody of the organization
        ({"person": "nul\x00byte"}, "person"),  # PostgreSQL refuses NUL in text: never sent
    ],
)
def test_bad_filters_are_refused_at_the_field_and_kept(client, csp, dated, filters, field):
    client.force_login(csp.global_admin)

    response = client.get(URL, filters)

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert listed(response) == []
    assert 'data-testid="export-csv"' not in response.content.decode()
    assert f'value="{filters[field]}"' in response.content.decode() or field == "action"


def test_the_last_day_there_is_does_not_break_the_page(client, csp, dated):
    client.force_login(csp.global_admin)

    response = client.get(URL, {"date_from": "0001-01-01", "date_to": "9999-12-31"})

    assert response.status_code == 200
    assert len(listed(response)) == 3


def test_a_user_management_admin_cannot_ask_for_membership_events(client, csp, history):
    client.force_login(csp.user_admin)

    response = client.get(URL, {"action": AuditAction.MAPS_PURCHASED})

    assert response.context["form"].errors["action"] == ["Choose one of the listed actions."]
    assert listed(response) == []
    assert "MAPS purchased" not in response.content.decode()
    asked = client.post(f"{EXPORT_URL}?action={AuditAction.MAPS_PURCHASED}")
    assert asked.status_code == 302
    assert asked.url == f"{URL}?action=membership.maps_purchased"
    assert not AuditExport.objects.exists()


# The export


def test_the_export_is_a_csv_download_of_the_filtered_events(client, csp, history):
    client.force_login(csp.global_admin)

    response = export(client, {"action": AuditAction.USER_CREATED})
    rows = exported(response)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    filename = rf"audit-log-{csp.organization.partner_id}-\d{{4}}-\d{{2}}-\d{{2}}\.csv"
    assert re.fullmatch(f'attachment; filename="{filename}"', response["Content-Disposition"])
    assert rows[0] == [
        "Time (UTC)",
        "Action",
        "Outcome",
        "Reason",
        "Actor",
        "Target",
        "Before",
        "After",
        "IP address",
        "User agent",
        "Repeated within a minute",
        "Change",
    ]
    assert len(rows) == 2
    time, action, outcome, reason, actor, target, before, after, ip, agent, repeated, change = rows[
        1
    ]
    assert datetime.fromisoformat(time).utcoffset().total_seconds() == 0
    assert (action, outcome, reason) == ("User created", "Done", "")
    assert actor == str(csp.user_admin)
    assert target.startswith("Nina New")
    assert json.loads(before) == {}
    assert json.loads(after)["roles"] == ["Referrals admin"]  # machine-readable
    assert "Roles: Referrals admin" in change  # and in words
    assert (ip, agent, repeated) == ("203.0.113.7", "Firefox", "")


def test_a_user_management_admins_export_leaves_out_membership_events(client, csp, history):
    client.force_login(csp.user_admin)

    rows = exported(export(client))

    assert {row[1] for row in rows[1:]} == {"User created", "Role granted"}


def test_cells_cannot_inject_formulas_into_a_spreadsheet(client, csp):
    event(csp.organization, actor_label="=cmd|' /C calc'!A0", target_label="+1")
    event(csp.organization, actor_label="-1", target_label="@x", user_agent="\tTab")
    event(csp.organization, actor_label="\rReturn", target_label="Plain name")
    client.force_login(csp.global_admin)

    rows = exported(export(client))
    cells = {cell for row in rows[1:] for cell in (row[4], row[5], row[9])}

    assert {"'=cmd|' /C calc'!A0", "'+1", "'-1", "'@x", "'\tTab", "'\rReturn"} <= cells
    assert "Plain name" in cells
    assert not any(cell[:1] in {"=", "+", "-", "@", "\t", "\r"} for row in rows for cell in row)


def test_a_newline_stays_inside_its_cell(client, csp):
    event(
        csp.organization,
        actor_label="Line one\nLine two, with a comma",
        after={"last_name": 'Quote " and\r\nbreak'},
    )
    client.force_login(csp.global_admin)

    rows = exported(export(client))

    assert len(rows) == 2
    assert all(len(row) == len(CSV_HEADER) for row in rows)
    assert rows[1][4] == "Line one\nLine two, with a comma"
    assert json.loads(rows[1][7]) == {"last_name": 'Quote " and\r\nbreak'}


# Queries


def _queries(client, url: str, events: int) -> int:
    organization = OrganizationFactory()
    admin = UserFactory(organization=organization, roles=[RoleKey.USER_MANAGEMENT_ADMIN])
    for _ in range(events):
        audit.record(
            admin,
            AuditAction.ROLE_GRANTED,
            organization=organization,
            target=admin,
            after={"role": "Referrals admin"},
        )
    client.force_login(admin)
    client.get(url)  # the session is warm
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200
        if response.streaming:
            assert len(exported(response)) == events + 1
    return len(queries)


@pytest.mark.parametrize("url", [URL])
def test_the_query_count_does_not_grow_with_events(client, db, url):
    few, many = _queries(client, url, 5), _queries(client, url, 120)

    assert few == many
    assert many <= 6


def test_users_deleted_since_still_show_by_name(client, csp):
    gone = UserFactory(organization=csp.organization, first_name="Gone", last_name="Away")
    services.delete_user(csp.global_admin, gone)
    client.force_login(csp.global_admin)

    assert "Gone Away" in client.get(URL).content.decode()


# Before and after, in words


def test_roles_granted_and_revoked_read_as_sentences_on_the_page_and_in_the_export(client, csp):
    # The member holds Referrals admin: it goes, Sales agent comes.
    roles_services.change_roles(csp.global_admin, csp.member, [RoleKey.SALES_AGENT])
    client.force_login(csp.global_admin)

    page = client.get(URL).content.decode()
    rows = exported(export(client))

    assert "Roles: +&nbsp;<bdi>Sales agent</bdi>" in page
    assert "Roles: &minus;&nbsp;<bdi>Referrals admin</bdi>" in page
    assert '{"role"' not in page
    changes = {row[1]: (row[7], row[-1]) for row in rows[1:]}
    assert changes["Role granted"] == ('{"role": "Sales agent"}', "Roles: + Sales agent")
    assert changes["Role revoked"] == (
        '{"role": "Referrals admin"}',
        "Roles: \u2212 Referrals admin",
    )


def test_a_list_that_changed_names_what_was_added_and_removed(csp):
    changed = AuditEvent(
        action=AuditAction.USER_EDITED,
        before={"roles": ["Billing admin", "Sales agent"], "last_name": "Lee"},
        after={"roles": ["Sales agent", "Helpdesk agent"], "last_name": "Li"},
    )

    assert sentences(changed) == (
        "Last name: from Lee to Li; Roles: + Helpdesk agent, \u2212 Billing admin"
    )


def test_the_support_admin_shows_the_change_in_words(client, csp, support):
    roles_services.grant_role(csp.global_admin, csp.member, RoleKey.SALES_AGENT)
    granted = AuditEvent.objects.get(action=AuditAction.ROLE_GRANTED)
    client.force_login(support)

    listing = client.get(reverse("admin:accounts_auditevent_changelist")).content.decode()
    detail = client.get(
        reverse("admin:accounts_auditevent_change", args=[granted.pk])
    ).content.decode()

    assert "Roles: + Sales agent" in listing
    assert "Roles: + Sales agent" in detail


# The export is a job


def test_the_export_is_written_in_parts_every_event_once_in_order(client, csp, monkeypatch):
    monkeypatch.setattr("jobs.exports.PART_ROWS", 7)
    for n in range(30):
        event(csp.organization, actor_label=f"Actor {n:02}")
    client.force_login(csp.global_admin)

    rows = exported(export(client))

    assert [row[4] for row in rows[1:]] == [f"Actor {n:02}" for n in reversed(range(30))]
    written = AuditExport.objects.get()
    assert written.rows == 30
    assert written.file.parts.count() == 1 + 5  # the header, then 30 rows by 7
    page = client.get(URL).content.decode()
    assert reverse("audit_log_export_file", args=[written.pk]) in page


def test_an_export_is_its_requesters_only(client, csp):
    event(csp.organization)
    client.force_login(csp.global_admin)
    export(client)
    written = AuditExport.objects.get()

    client.force_login(csp.second_global_admin)

    assert client.get(reverse("audit_log_export_file", args=[written.pk])).status_code == 404
    assert "Your exports" not in client.get(URL).content.decode()


def test_an_export_whose_requester_lost_the_role_fails_and_says_why(client, csp):
    client.force_login(csp.user_admin)
    client.post(EXPORT_URL)
    csp.user_admin.role_assignments.all().delete()
    client.force_login(csp.global_admin)

    run_ready_jobs()

    written = AuditExport.objects.get()
    assert written.state == AuditExport.State.FAILED
    assert written.error == "You may no longer read the audit log: nothing exported."
    assert written.file is None
