"""Export the directory as filtered: CSV (name, email, status, roles, created, last sign-in),
formula-safe, streamed in chunks, the same few queries for 10 users or 100."""

from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.views import directory
from roles.catalogue import RoleKey
from tests.factories import OrganizationFactory, UserFactory

URL = reverse("directory_export")


def exported(response) -> list[list[str]]:
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="users-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_it_exports_the_columns_of_the_issue(client, csp):
    seen = timezone.now() - timedelta(days=3)
    UserFactory(
        organization=csp.organization,
        first_name="Ana",
        last_name="Lopez",
        email="ana@export.example",
        last_login=seen,
        roles=[RoleKey.SALES_AGENT, RoleKey.BILLING_ADMIN],
    )
    client.force_login(csp.mpn_admin)

    rows = exported(client.get(URL, {"q": "ana@export"}))

    assert rows[0] == directory.EXPORT_HEADER
    assert rows[0] == ["Name", "Email", "Status", "Roles", "Created", "Last sign-in"]
    name, email, status, roles, created, last_sign_in = rows[1]
    assert (name, email, status) == ("Ana Lopez", "ana@export.example", "Active")
    assert roles == "Billing admin; Sales agent"  # the catalogue's order
    assert created.endswith("+00:00")
    assert last_sign_in == seen.astimezone(UTC).isoformat(timespec="seconds")
    assert len(rows) == 2


def test_it_exports_every_user_the_filters_match_not_one_page(client, csp, outsider):
    for number in range(30):
        UserFactory(organization=csp.organization, last_name=f"Many{number:02}")
    pending = UserFactory(organization=csp.organization, email="pending@export.example")
    pending.set_unusable_password()
    pending.save(update_fields=["password"])
    client.force_login(csp.global_admin)

    everyone = exported(client.get(URL))
    no_role = exported(client.get(URL, {"role": "none", "q": "many"}))
    invited = exported(client.get(URL, {"status": "pending"}))

    assert len(everyone) == 1 + 7 + 30 + 1
    assert outsider.email not in {row[1] for row in everyone}
    assert len(no_role) == 1 + 30
    assert [row[1:3] for row in invited[1:]] == [["pending@export.example", "Pending invitation"]]


def test_it_keeps_the_directorys_sort(client, csp):
    client.force_login(csp.global_admin)

    by_email = exported(client.get(URL, {"sort": "-email"}))

    emails = [row[1] for row in by_email[1:]]
    assert emails == sorted(emails, reverse=True)


def test_cells_cannot_inject_formulas_into_a_spreadsheet(client, csp):
    UserFactory(organization=csp.organization, first_name="=cmd|' /C calc'!A0", last_name="x")
    UserFactory(organization=csp.organization, first_name="@SUM(A1)", last_name="y")
    client.force_login(csp.global_admin)

    rows = exported(client.get(URL))

    names = {row[0] for row in rows[1:]}
    assert {"'=cmd|' /C calc'!A0 x", "'@SUM(A1) y"} <= names
    assert not any(cell[:1] in {"=", "+", "-", "@", "\t", "\r"} for row in rows for cell in row)


def test_a_filter_with_an_error_goes_back_to_the_page_that_says_so(client, csp):
    client.force_login(csp.global_admin)

    response = client.get(URL, {"status": "everyone"})

    assert response.status_code == 302
    assert response.url == f"{reverse('directory')}?status=everyone"


def test_the_page_links_to_the_export_of_what_it_shows(client, csp):
    client.force_login(csp.global_admin)

    page = client.get(reverse("directory"), {"role": "none", "per_page": "50"}).content.decode()

    assert f'href="{URL}?role=none&amp;sort=name"' in page


def test_it_is_refused_to_those_who_may_not_see_the_directory(client, csp):
    client.force_login(csp.billing_admin)

    assert client.get(URL).status_code == 403


def test_chunks_keep_each_users_roles(client, csp, monkeypatch):
    # Chunks of 3: every chunk's roles come from its own query, and no row loses its roles.
    monkeypatch.setattr(directory, "EXPORT_CHUNK_SIZE", 3)
    for number in range(8):
        UserFactory(
            organization=csp.organization,
            last_name=f"Chunked{number}",
            roles=[RoleKey.HELPDESK_AGENT],
        )
    client.force_login(csp.global_admin)

    rows = exported(client.get(URL, {"q": "chunked"}))

    assert [row[3] for row in rows[1:]] == ["Helpdesk agent"] * 8


def _queries(client, users: int, chunk_size: int, monkeypatch) -> int:
    monkeypatch.setattr(directory, "EXPORT_CHUNK_SIZE", chunk_size)
    organization = OrganizationFactory()
    admin = UserFactory(organization=organization, roles=[RoleKey.GLOBAL_ADMIN])
    for _ in range(users):
        UserFactory(organization=organization, roles=[RoleKey.REFERRALS_ADMIN, RoleKey.SALES_AGENT])
    client.force_login(admin)
    client.get(URL)  # the session is warm
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"role": RoleKey.REFERRALS_ADMIN})
        assert len(exported(response)) == users + 1
    return len(queries)


@pytest.mark.parametrize("chunk_size", [2000, 40])
def test_the_query_count_grows_with_chunks_never_with_users(client, db, monkeypatch, chunk_size):
    few = _queries(client, 10, chunk_size, monkeypatch)
    many = _queries(client, 39, chunk_size, monkeypatch)

    assert few == many
    assert many <= 6
