"""manage.py global_admin_report: organizations outside the Global admin guidance (rule 9)."""

from __future__ import annotations

import csv
import io

from django.core.management import call_command

from roles.catalogue import RoleKey
from roles.rules import RECOMMENDED_MAX_GLOBAL_ADMINS, RECOMMENDED_MIN_GLOBAL_ADMINS
from tests.factories import OrganizationFactory, UserFactory

GA = [RoleKey.GLOBAL_ADMIN]


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("global_admin_report", *args, stdout=out)
    return out.getvalue()


def organization_with(global_admins: int, name: str, **extra: object):
    organization = OrganizationFactory(name=name, **extra)
    for _ in range(global_admins):
        UserFactory(organization=organization, roles=GA)
    return organization


def test_the_guidance_is_at_least_two_and_fewer_than_five():
    assert (RECOMMENDED_MIN_GLOBAL_ADMINS, RECOMMENDED_MAX_GLOBAL_ADMINS) == (2, 4)


def test_it_lists_organizations_with_one_or_more_than_four_active_global_admins(db):
    lonely = organization_with(1, "Lonely Ltd")
    crowded = organization_with(5, "Crowded Inc", non_csp=True)
    organization_with(2, "Two Fine")
    organization_with(4, "Four Fine")

    output = report()

    assert "Lonely Ltd" in output
    assert lonely.partner_id in output
    assert "Crowded Inc" in output
    assert crowded.partner_id in output
    assert "Non-CSP" in output
    assert "Two Fine" not in output
    assert "Four Fine" not in output
    assert "2 organization(s) outside the guidance" in output


def test_only_active_global_admins_count(db):
    organization = organization_with(1, "Half Gone")
    UserFactory(organization=organization, roles=GA, is_active=False)
    UserFactory(organization=organization, roles=[RoleKey.ACCOUNT_ADMIN])

    rows = list(csv.reader(io.StringIO(report("--format", "csv"))))

    assert rows[1][1:] == ["Half Gone", organization.get_program_type_display(), "1"]


def test_csv_has_a_header_and_one_row_per_organization(db):
    lonely = organization_with(1, "Lonely Ltd")
    organization_with(6, "Crowded Inc")

    rows = list(csv.reader(io.StringIO(report("--format", "csv"))))

    assert rows[0] == ["partner ID", "name", "program type", "active Global admins"]
    # Fewest first: those nearest to losing their last admin head the list.
    assert rows[1] == [lonely.partner_id, "Lonely Ltd", lonely.get_program_type_display(), "1"]
    assert rows[2][1:] == ["Crowded Inc", rows[2][2], "6"]
    assert len(rows) == 3


def test_a_name_that_a_spreadsheet_would_run_is_kept_as_text(db):
    organization_with(1, "=HYPERLINK(1)")

    rows = list(csv.reader(io.StringIO(report("--format", "csv"))))

    assert rows[1][1] == "'=HYPERLINK(1)"


def test_it_says_so_when_every_organization_follows_the_guidance(db):
    organization_with(3, "Fine Ltd")

    assert "Every organization has 2 to 4 active Global admins." in report()


def test_it_is_one_query_however_many_organizations(db, django_assert_num_queries):
    for number in range(5):
        organization_with(1, f"Organization {number}")

    with django_assert_num_queries(1):
        report()
