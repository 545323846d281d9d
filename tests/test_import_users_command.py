"""manage.py import_users PARTNER_ID FILE.csv [--dry-run] [--actor EMAIL], for support staff."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditAction, AuditEvent, User
from tests.jobs import sent_mail

ROWS = (
    "First name,Last name,Email,Roles\n"
    "Ada,Lovelace,ada@import.example,Account admin;Billing admin\n"
    "Bad,Row,not-an-email,\n"
)


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(ROWS, encoding="utf-8")
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_users", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_adds_users_in_the_support_staff_members_name(csp, support, csv_file):
    out, _ = run(csp.organization.partner_id, str(csv_file), "--actor", support.email)

    assert "1 users added" in out
    assert "line 3 (not-an-email): Email: Enter an email address, such as name@example.com." in out
    ada = User.objects.get(email="ada@import.example")
    assert ada.organization == csp.organization
    assert not ada.has_usable_password()
    created = AuditEvent.objects.get(action=AuditAction.USER_CREATED, target=ada)
    assert created.actor == support
    assert created.user_agent == "manage.py import_users"
    assert [message.to for message in sent_mail()] == [["ada@import.example"]]
    verify = io.StringIO()
    call_command("verify_audit", stdout=verify)
    assert verify.getvalue().startswith("intact")


def test_a_dry_run_writes_nothing_and_needs_no_actor(csp, csv_file):
    events = AuditEvent.objects.count()

    out, err = run(csp.organization.partner_id, str(csv_file), "--dry-run")

    assert "Dry run, no user added: 2 rows, 1 ready to add, 1 with errors." in out
    assert "Checking [##############################] 2/2 rows" in err
    assert not User.objects.filter(email="ada@import.example").exists()
    assert AuditEvent.objects.count() == events
    assert sent_mail() == []


def test_it_refuses_to_write_without_an_actor(csp, csv_file):
    with pytest.raises(CommandError, match="--actor EMAIL"):
        run(csp.organization.partner_id, str(csv_file))


def test_the_actor_must_be_support_staff(csp, csv_file):
    with pytest.raises(CommandError, match="not an active support staff member"):
        run(csp.organization.partner_id, str(csv_file), "--actor", csp.global_admin.email)


def test_it_names_an_unknown_partner_id(db, csv_file):
    with pytest.raises(CommandError, match="No organization has the partner ID 999999"):
        run("999999", str(csv_file))


def test_it_explains_a_bad_header(csp, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Name,Email\nAda,ada@import.example\n", encoding="utf-8")

    with pytest.raises(CommandError, match="The first row must name the columns"):
        run(csp.organization.partner_id, str(path), "--dry-run")


def test_it_explains_a_missing_file(csp, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run(csp.organization.partner_id, str(tmp_path / "nowhere.csv"), "--dry-run")


def test_csp_roles_are_refused_in_a_non_csp_organization(non_csp, support, csv_file):
    out, _ = run(non_csp.organization.partner_id, str(csv_file), "--actor", support.email)

    assert "Billing admin is a CSP role" in out
    assert "0 users added" in out
    # One refused attempt for the check, one for the addition (each reads the file anew).
    check, refusal = AuditEvent.objects.refused().order_by("sequence")
    assert check.target_label.endswith("(checked)")
    assert refusal.actor == support
    assert refusal.after["refused"] == 1
    assert [row["role"] for row in refusal.after["first"]] == ["billing_admin"]


def test_a_global_admin_row_waits_for_a_second_support_staff_member(csp, support, tmp_path):
    # DOMAIN.md rule 12: support staff ask for Global admin in the admin, where another approves.
    path = tmp_path / "admins.csv"
    path.write_text(
        "First name,Last name,Email,Roles\nAda,Lovelace,ada@import.example,Global admin\n",
        encoding="utf-8",
    )

    out, _ = run(csp.organization.partner_id, str(path), "--actor", support.email)

    assert "takes effect only when a second support staff member approves it" in out
    assert "0 users added" in out
    assert not User.objects.filter(email="ada@import.example").exists()
    [refused_role] = AuditEvent.objects.refused().order_by("sequence").last().after["first"]
    assert refused_role["role"] == "global_admin"
