"""Add users from CSV: the dry run, the import, the audit trail, the pages."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import audit, imports
from accounts.models import AuditAction, AuditEvent, User
from accounts.reauth import SESSION_KEY as PASSWORD_ENTERED
from jobs import user_imports
from jobs.models import OutgoingEmail, UserImport
from jobs.testing import run_ready_jobs
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests import imports_through_jobs as through_jobs
from tests.factories import UserFactory
from tests.jobs import sent_mail

HEADER = "First name,Last name,Email,Roles\n"
BASE_URL = "https://partnerhub.example"


def csv_text(*rows: str, header: str = HEADER) -> str:
    return header + "".join(f"{row}\n" for row in rows)


def many_rows(count: int, *, start: int = 0, roles: str = "Referrals admin; Billing admin") -> str:
    return csv_text(
        *(f"First{n},Last{n},person{n}@import.example,{roles}" for n in range(start, start + count))
    )


def errors_of(report: imports.ImportReport) -> dict[int, list[str]]:
    return {row["line"]: row["errors"] for row in report.problems}


def upload(client, text: str | bytes, name: str = "people.csv"):
    """Send the file, then let a worker check it."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    response = client.post(
        reverse("import_users"), {"file": SimpleUploadedFile(name, data, "text/csv")}
    )
    run_ready_jobs()
    return response


def latest() -> UserImport:
    return UserImport.objects.latest("created_at")


def detail_url(user_import: UserImport | None = None) -> str:
    return reverse("import_users_detail", args=[(user_import or latest()).pk])


def confirm(client):
    """Add on the check's page, then let a worker add the rows (and send the invitations)."""
    user_import = latest()
    response = client.post(
        reverse("import_users_confirm", args=[user_import.pk]), {"upload": str(user_import.pk)}
    )
    run_ready_jobs()
    return response


# The rows: each row checked as the add-user form checks one user


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("Ada,Lovelace,not-an-email,", "Email: Enter an email address, such as name@example.com."),
        (",Lovelace,ada@import.example,", "First name: this cell is empty."),
        ("Ada,,ada@import.example,", "Last name: this cell is empty."),
        ("Ada,Lovelace,,", "Email: this cell is empty."),
        (
            f"{'A' * 151},Lovelace,ada@import.example,",
            "First name: Ensure this value has at most 150 characters (it has 151).",
        ),
        ("Ada,Lovelace,ada@import.example,Wizard", "Roles: there is no role named “Wizard”."),
        ("Ada\u202e,Lovelace,ada@import.example,", "First name: Remove the invisible control"),
        ('"Ada\nB",Lovelace,ada@import.example,', "First name: Remove the invisible control"),
        ("Ada,Lovelace", "This row has 2 cells, the header 4"),
        ("Ada\x00,Lovelace,ada@import.example,", "First name: Remove the invisible control"),
    ],
)
def test_it_finds_each_kind_of_bad_row(csp, row, error):
    report = through_jobs.check(
        csv_text(row), actor=csp.global_admin, organization=csp.organization
    )

    assert report.valid == 0
    [errors] = errors_of(report).values()
    assert any(message.startswith(error) for message in errors), errors


def test_it_accepts_a_good_row_and_role_names_in_any_case(csp):
    report = through_jobs.check(
        csv_text("Ada,Lovelace,Ada@Import.example, billing ADMIN ;referrals admin;"),
        actor=csp.user_admin,
        organization=csp.organization,
    )

    assert (report.rows, report.valid, report.invalid) == (1, 1, 0)
    assert report.ready[0]["roles"] == ["Billing admin", "Referrals admin"]
    assert report.ready[0]["email"] == "ada@import.example"  # its canonical form


def test_it_finds_emails_in_use_ignoring_case_in_any_organization(csp, outsider):
    text = csv_text(
        f"A,One,{csp.member.email.upper()},",
        f"B,Two,{outsider.email},",
        "C,Three,c@import.example,",
    )

    report = through_jobs.check(text, actor=csp.global_admin, organization=csp.organization)

    assert errors_of(report) == {
        2: ["Email: A user with this email already exists."],
        3: ["Email: A user with this email already exists."],
    }


def test_it_finds_the_same_email_twice_in_the_file(csp):
    text = csv_text("A,One,same@import.example,", "B,Two,SAME@import.example,")

    report = through_jobs.check(text, actor=csp.global_admin, organization=csp.organization)

    assert report.valid == 1
    assert errors_of(report) == {3: ["Email: line 2 of this file has the same email."]}


def test_it_refuses_roles_the_admin_may_not_grant(csp):
    text = csv_text("A,One,a@import.example,Global admin", "B,Two,b@import.example,Billing admin")

    report = through_jobs.check(text, actor=csp.user_admin, organization=csp.organization)

    assert errors_of(report) == {
        2: ["Roles: Only a Global admin can grant or revoke Global admin."]
    }
    assert report.valid == 1


def test_it_refuses_csp_roles_in_a_non_csp_organization(non_csp):
    text = csv_text("A,One,a@import.example,Billing admin")

    report = through_jobs.check(text, actor=non_csp.global_admin, organization=non_csp.organization)

    assert errors_of(report) == {
        2: ["Roles: Billing admin is a CSP role: a non-CSP organization cannot grant it."]
    }


@pytest.mark.parametrize(
    "header",
    ["first name,LAST NAME,email,Roles\n", "Email,Roles,First name,Last name\n"],
)
def test_it_reads_the_header_in_any_case_and_order(csp, header):
    row = "Ada,Lovelace,ada@import.example,Referrals admin"
    if header.startswith("Email"):
        row = "ada@import.example,Referrals admin,Ada,Lovelace"

    report = through_jobs.check(
        csv_text(row, header=header), actor=csp.global_admin, organization=csp.organization
    )

    assert report.valid == 1
    assert report.ready[0]["name"] == "Ada Lovelace"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Name,Email\nAda,ada@import.example\n", imports.BAD_HEADER),
        ("First name,Last name,Email,Roles,Extra\n", imports.BAD_HEADER),
        ("", imports.EMPTY),
        (HEADER, imports.NO_ROWS),
        # over csv's cell limit
        (f"{HEADER}{'A' * 200_000},Lovelace,ada@import.example,\n", "Line 2 cannot be read"),
    ],
)
def test_the_check_refuses_a_file_it_cannot_read(csp, text, message):
    # What the upload request refuses too (below); the command and a file kept by an older
    # release reach the check with it.
    with pytest.raises(through_jobs.ImportFailed) as failed:
        through_jobs.check(text, actor=csp.global_admin, organization=csp.organization)

    assert message in str(failed.value)
    assert not UserImport.objects.get().chunks.exists()


def test_a_dry_run_adds_nothing(csp):
    users, events = User.objects.count(), AuditEvent.objects.count()

    through_jobs.check(
        csv_text("A,One,a@import.example,", "B,Two,bad,"),
        actor=csp.user_admin,
        organization=csp.organization,
    )

    assert (User.objects.count(), AuditEvent.objects.count()) == (users, events)


def test_a_dry_run_records_the_refused_roles_as_one_attempt(csp):
    rows = [f"A{n},One,a{n}@import.example,Global admin;Billing admin" for n in range(30)]

    report = through_jobs.check(
        csv_text(*rows), actor=csp.user_admin, organization=csp.organization
    )

    assert report.valid == 0
    refusal = AuditEvent.objects.refused().get()
    assert refusal.action == AuditAction.ROLE_GRANTED
    assert refusal.actor == csp.user_admin
    assert refusal.target_label == "30 users from a CSV file (checked)"
    assert refusal.reason == "30 roles in the CSV file are roles you may not grant."
    assert refusal.after["refused"] == 30
    assert len(refusal.after["first"]) == imports.REFUSALS_RECORDED
    assert refusal.after["first"][0] == {
        "line": 2,
        "email": "a0@import.example",
        "role": RoleKey.GLOBAL_ADMIN,
        "reason": "Only a Global admin can grant or revoke Global admin.",
    }
    assert not User.objects.filter(email__endswith="@import.example").exists()


def test_checking_the_same_file_again_and_again_is_one_event_with_a_count(csp):
    text = csv_text("A,One,a@import.example,Global admin")

    for _ in range(5):
        through_jobs.check(text, actor=csp.user_admin, organization=csp.organization)

    refusal = AuditEvent.objects.refused().get()
    assert refusal.repeats == 4
    assert refusal.last_repeated_at is not None


# The import


def test_it_adds_the_valid_rows_with_roles_invitations_and_audit(csp):
    text = csv_text(
        "Ada,Lovelace,ada@import.example,Billing admin;Referrals admin",
        "Bad,Row,not-an-email,",
        "Alan,Turing,alan@import.example,",
    )

    report = through_jobs.add(
        text, actor=csp.user_admin, organization=csp.organization, base_url=BASE_URL
    )

    assert (report.valid, report.invalid, report.invitations_sent) == (2, 1, 2)
    ada = User.objects.get(email="ada@import.example")
    assert ada.organization == csp.organization
    assert not ada.has_usable_password()
    assert not ada.must_change_password
    assert ada.created_by == csp.user_admin
    assert set(RoleAssignment.objects.filter(user=ada).values_list("role__key", flat=True)) == {
        RoleKey.BILLING_ADMIN,
        RoleKey.REFERRALS_ADMIN,
    }
    assert sorted(message.to[0] for message in sent_mail()) == [
        "ada@import.example",
        "alan@import.example",
    ]
    assert f"{BASE_URL}/invitation/" in sent_mail()[0].body
    created = AuditEvent.objects.filter(action=AuditAction.USER_CREATED, target=ada).get()
    assert created.actor == csp.user_admin
    assert created.after["roles"] == ["Billing admin", "Referrals admin"]
    assert created.after["email"] == "ada@import.example"
    granted = AuditEvent.objects.filter(action=AuditAction.ROLE_GRANTED, target=ada)
    assert sorted(event.after["role"] for event in granted) == ["Billing admin", "Referrals admin"]
    assert audit.verify_chains().intact


def test_it_records_refused_roles_and_adds_the_other_rows(csp):
    text = csv_text("A,One,a@import.example,Global admin", "B,Two,b@import.example,")

    report = through_jobs.add(
        text, actor=csp.user_admin, organization=csp.organization, base_url=BASE_URL
    )

    assert report.valid == 1
    assert not User.objects.filter(email="a@import.example").exists()
    # One refused attempt when the file was checked, one when it was added.
    checked, refusal = AuditEvent.objects.refused().order_by("sequence")
    assert checked.target_label == "2 users from a CSV file (checked)"
    assert refusal.action == AuditAction.ROLE_GRANTED
    assert refusal.actor == csp.user_admin
    assert refusal.target_label == "2 users from a CSV file (added)"
    assert refusal.after == {
        "refused": 1,
        "first": [
            {
                "line": 2,
                "email": "a@import.example",
                "role": RoleKey.GLOBAL_ADMIN,
                "reason": "Only a Global admin can grant or revoke Global admin.",
            }
        ],
    }
    assert audit.verify_chains().intact


def test_it_checks_again_on_import(csp):
    text = csv_text("A,One,a@import.example,", "B,Two,b@import.example,")
    assert (
        through_jobs.check(text, actor=csp.global_admin, organization=csp.organization).valid == 2
    )
    UserFactory(organization=csp.organization, email="b@import.example")

    report = through_jobs.add(
        text, actor=csp.global_admin, organization=csp.organization, base_url=BASE_URL
    )

    assert (report.valid, report.invalid) == (1, 1)
    assert report.problems[0]["errors"] == ["Email: A user with this email already exists."]


def test_each_chunk_is_one_transaction_and_a_run_again_adds_the_rest_once(csp, monkeypatch):
    real = audit.record_batch_values
    calls = []

    def fail_on_second_chunk(events):
        calls.append(len(events))
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real(events)

    monkeypatch.setattr(audit, "record_batch_values", fail_on_second_chunk)
    users = User.objects.count()

    with pytest.raises(through_jobs.ImportFailed, match="after 10 rows"):
        through_jobs.add(
            many_rows(30), actor=csp.global_admin, organization=csp.organization, chunk_size=10
        )

    # The first chunk is added with its invitations, the second rolled back whole.
    assert User.objects.count() == users + 10
    assert OutgoingEmail.objects.count() == 10
    user_import = latest()
    assert "The rows before were added" in user_import.error
    # Run again (as after a worker was killed: jobs.recovery): the rest, each row once.
    monkeypatch.setattr(audit, "record_batch_values", real)
    UserImport.objects.filter(pk=user_import.pk).update(state=UserImport.State.ADDING)
    monkeypatch.setattr("jobs.user_imports.CHUNK_SIZE", 10)
    user_imports.run_step(str(user_import.pk), user_imports.Step.ADD)

    assert User.objects.filter(email__endswith="@import.example").count() == 30
    assert RoleAssignment.objects.filter(user__email__endswith="@import.example").count() == 60
    created = AuditEvent.objects.filter(action=AuditAction.USER_CREATED)
    assert created.filter(target__email__endswith="@import.example").count() == 30
    assert OutgoingEmail.objects.count() == 30
    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.ADDED
    assert user_import.result_summary["valid"] == 30
    assert audit.verify_chains().intact


def test_it_refuses_an_admin_who_may_no_longer_add_users(csp):
    user_import = user_imports.start(
        csv_text("A,One,a@import.example,"),
        file_name="people.csv",
        actor=csp.user_admin,
        organization=csp.organization,
        origin=audit.NOWHERE,
        base_url=BASE_URL,
    )
    run_ready_jobs()
    user_imports.confirm(latest(), csp.user_admin)
    RoleAssignment.objects.filter(user=csp.user_admin).delete()

    run_ready_jobs()

    assert not User.objects.filter(email="a@import.example").exists()
    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.FAILED
    assert user_import.error.startswith("Stopped: Only a Global admin")
    refusal = AuditEvent.objects.refused().get()
    assert refusal.action == AuditAction.USER_CREATED


def test_the_query_count_does_not_grow_with_the_rows(csp, django_assert_max_num_queries):
    def queries(count: int, start: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            through_jobs.add(
                # One role each: a chunk's events (a user and a grant per row) fit one INSERT.
                many_rows(count, start=start, roles="Referrals admin"),
                actor=csp.global_admin,
                organization=csp.organization,
                base_url=BASE_URL,
            )
        return len(captured)

    few, many = queries(50, 0), queries(500, 1000)

    assert User.objects.filter(email__endswith="@import.example").count() == 550
    if connection.vendor == "postgresql":
        # One more query per 200 invitations: each batch is a job of its own (jobs.emails).
        assert many == few + (3 - 1)
    # SQLite caps the parameters of one INSERT (999), so bulk_create splits a chunk into a few
    # statements there; still a handful per chunk, never one per row.
    assert many < few + 40
    with django_assert_max_num_queries(few + 40):
        through_jobs.check(
            many_rows(500, start=5000), actor=csp.global_admin, organization=csp.organization
        )


def test_verify_audit_passes_after_an_import(csp):
    audit.record(csp.global_admin, AuditAction.USER_EDITED, organization=csp.organization)
    through_jobs.add(
        many_rows(25),
        actor=csp.global_admin,
        organization=csp.organization,
        base_url=BASE_URL,
        chunk_size=10,
    )
    audit.record(csp.global_admin, AuditAction.USER_EDITED, organization=csp.organization)

    report = audit.verify_chains(csp.organization)

    # 2 + 25 users created + 50 roles granted, one unbroken chain.
    assert report.intact
    assert report.events == AuditEvent.objects.filter(organization=csp.organization).count()
    assert report.events >= 77
    sequences = list(
        AuditEvent.objects.filter(organization=csp.organization)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, len(sequences) + 1))


def test_a_batch_holds_new_events_of_one_organization(csp, outsider):
    events = [
        audit.event_values(csp.global_admin, AuditAction.USER_EDITED, organization=org)
        for org in (csp.organization, outsider.organization)
    ]

    with pytest.raises(ValueError, match="one organization"):
        audit.record_batch_values(events)
    assert not AuditEvent.objects.filter(action=AuditAction.USER_EDITED).exists()
    with pytest.raises(TypeError):
        AuditEvent.objects.bulk_create(
            [
                audit.unsaved_event(
                    csp.global_admin, AuditAction.USER_EDITED, organization=csp.organization
                )
            ]
        )


def test_events_from_plain_values_are_chained_as_saved_ones(csp):
    """The batch's events, read back, pass the check verify_audit makes of every event (the hash
    recomputed from the model instance) and follow the events saved one at a time."""
    audit.record(csp.global_admin, AuditAction.USER_EDITED, organization=csp.organization)
    ids = audit.record_batch_values(
        [
            audit.event_values(
                csp.global_admin,
                AuditAction.USER_CREATED,
                organization=csp.organization,
                after={"email": f"p{n}@import.example", "roles": ["Sales agent"], "n": n},
                origin=audit.Origin("2001:DB8::1", "Tests"),
            )
            for n in range(3)
        ]
    )
    audit.record(csp.global_admin, AuditAction.USER_EDITED, organization=csp.organization)

    events = list(AuditEvent.objects.filter(organization=csp.organization).order_by("sequence"))
    assert [event.pk for event in events[-4:-1]] == ids
    assert all(event.hash == event.content_hash() for event in events)
    assert [event.previous_hash for event in events[1:]] == [event.hash for event in events[:-1]]
    assert events[-2].ip_address == "2001:db8::1"
    assert audit.verify_chains(csp.organization).intact


# The pages


def test_it_checks_the_file_then_adds_on_confirmation(client, csp):
    client.force_login(csp.global_admin)
    text = csv_text("Ada,Lovelace,ada@import.example,Referrals admin", "Bad,Row,nope,")

    response = upload(client, text)

    assert response.status_code == 302
    assert response.url == detail_url()
    assert not User.objects.filter(email="ada@import.example").exists()
    page = client.get(response.url)
    assert b"1 ready to add, 1 with errors" in page.content
    assert "Email: Enter an email address, such as name@example.com." in page.content.decode()

    response = confirm(client)

    assert response.status_code == 302
    assert response.url == detail_url()
    assert User.objects.filter(email="ada@import.example").exists()
    assert len(sent_mail()) == 1
    page = client.get(response.url)
    assert b"1 user added, 1 row not added. 1 invitation on its way" in page.content


def test_the_result_file_has_every_row_and_is_safe_in_a_spreadsheet(client, csp):
    client.force_login(csp.global_admin)
    upload(client, csv_text("Ada,Lovelace,ada@import.example,", "=cmd(),Row,nope,"))
    confirm(client)

    response = client.get(reverse("import_users_file", args=[latest().pk, "result"]))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="people-result.csv"' in response["Content-Disposition"]
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == [
        "Line",
        "First name",
        "Last name",
        "Email",
        "Roles",
        "Outcome",
        "Errors",
        "Warnings",
    ]
    assert rows[1][:6] == ["2", "Ada", "Lovelace", "ada@import.example", "", "added"]
    assert rows[2][1] == "'=cmd()"
    assert rows[2][5] == "not added"
    assert "Enter an email address" in rows[2][6]


def test_the_template_is_a_file_the_importer_reads_whose_example_row_is_not_added(client, csp):
    client.force_login(csp.user_admin)

    response = client.get(reverse("import_users_template"))

    assert response.status_code == 200
    report = through_jobs.check(
        imports.decode(response.content), actor=csp.user_admin, organization=csp.organization
    )
    assert (report.rows, report.valid) == (1, 0)
    assert errors_of(report) == {2: [imports.EXAMPLE_LEFT_IN]}


def test_the_example_row_left_below_real_rows_is_refused_and_the_rest_added(client, csp):
    example = ",".join(imports.EXAMPLE_ROW)
    client.force_login(csp.global_admin)
    upload(client, csv_text("Ada,Byron,ada.byron@import.example,", example))

    confirm(client)

    assert User.objects.filter(email="ada.byron@import.example").exists()
    assert not User.objects.filter(email=imports.EXAMPLE_ROW[2]).exists()


def test_the_upload_page_lists_the_role_names_a_file_may_use(client, csp, non_csp):
    client.force_login(csp.user_admin)
    page = client.get(reverse("import_users")).content.decode()
    names = page.split('data-testid="role-names"')[1].split("</ul>")[0]

    assert "<code>Billing admin</code>" in names
    assert "<code>Sales agent</code>" in names
    # A User management admin may not grant Global admin: listed, with the reason.
    assert "<code>Global admin</code>" not in names
    assert "Global admin: not by you." in names

    client.force_login(non_csp.global_admin)
    page = client.get(reverse("import_users")).content.decode()
    assert "Billing admin" not in page.split('data-testid="role-names"')[1].split("</ul>")[0]


def test_the_result_page_lists_who_was_added(client, csp):
    client.force_login(csp.global_admin)
    upload(
        client,
        csv_text("Ada,Byron,ada.byron@import.example,Sales agent", "Bad,Row,not-an-email,"),
    )

    page = client.get(confirm(client).url).content.decode()

    added = page.split('data-testid="added-rows"')[1].split("</table>")[0]
    assert "Ada Byron" in added
    assert "ada.byron@import.example" in added
    assert "Sales agent" in added
    assert "not-an-email" not in added


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Name,Email\nAda,ada@import.example\n", "The first row must name the columns"),
        ("First name,Last name,Email,Roles\nAda,Lé,a@import.example,\n".encode("latin-1"), "UTF-8"),
        (HEADER, "The file has a header but no users."),
        (b"", "empty"),
    ],
)
def test_a_bad_file_is_explained_next_to_the_field(client, csp, content, message):
    client.force_login(csp.global_admin)

    response = upload(client, content)

    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert message in " ".join(errors)
    assert not UserImport.objects.exists()


def test_a_file_over_the_size_limit_is_refused(client, csp, monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 100)
    client.force_login(csp.global_admin)

    response = upload(client, many_rows(10))

    assert response.status_code == 200
    assert imports.TOO_BIG in response.context["form"].errors["file"]


def test_a_file_over_the_row_limit_is_refused_by_its_check(client, csp, monkeypatch):
    # The request reads the first lines only, so it answers at once whatever the file's
    # size; the check counts the rows before its first chunk and its page says why it stopped.
    monkeypatch.setattr(imports, "MAX_ROWS", 5)
    client.force_login(csp.global_admin)

    response = upload(client, many_rows(6))

    assert response.status_code == 302
    user_import = latest()
    assert user_import.state == UserImport.State.FAILED
    assert not user_import.chunks.exists()
    page = client.get(response.url).content.decode()
    assert imports.TOO_MANY_ROWS in page


def test_a_line_past_the_first_that_is_not_csv_is_refused_by_its_check(client, csp):
    client.force_login(csp.global_admin)
    text = many_rows(3) + f"{'A' * 200_000},Lovelace,ada@import.example,\n"

    response = upload(client, text)

    assert response.status_code == 302
    assert latest().state == UserImport.State.FAILED
    page = client.get(response.url).content.decode()
    assert "Line 5 cannot be read as CSV" in page
    assert not User.objects.filter(email__endswith="@import.example").exists()


def test_a_first_row_that_is_not_csv_is_explained_next_to_the_field(client, csp):
    client.force_login(csp.global_admin)

    response = upload(client, f"{HEADER}{'A' * 200_000},Lovelace,ada@import.example,\n")

    assert response.status_code == 200
    assert "Line 2 cannot be read as CSV" in " ".join(response.context["form"].errors["file"])
    assert not UserImport.objects.exists()


def test_a_confirmation_of_an_older_check_adds_nothing(client, csp):
    client.force_login(csp.global_admin)
    upload(client, csv_text("Ada,Lovelace,ada@import.example,"))

    response = client.post(
        reverse("import_users_confirm", args=[latest().pk]), {"upload": "an-older-check"}
    )

    assert response.status_code == 302
    assert not User.objects.filter(email="ada@import.example").exists()


def test_granting_global_admin_asks_for_the_password_again(client, csp):
    client.force_login(csp.global_admin)
    upload(client, csv_text("Ada,Lovelace,ada@import.example,Global admin"))
    session = client.session
    session.pop(PASSWORD_ENTERED, None)
    session.save()

    response = confirm(client)

    assert response.status_code == 302
    assert response.url.startswith(reverse("confirm_password"))
    assert not User.objects.filter(email="ada@import.example").exists()


def test_a_global_admin_row_invalid_at_the_dry_run_still_asks_for_the_password(client, csp):
    """The row's email is taken at the dry run; its user is deleted before the confirmation, so
    the row would grant Global admin on confirmation: the password is asked all the same."""
    taken = UserFactory(organization=csp.organization, email="ada@import.example")
    client.force_login(csp.global_admin)
    upload(client, csv_text("Ada,Lovelace,ada@import.example,Global admin"))
    assert latest().check_summary["grants_global_admin"] is False
    taken.delete()
    session = client.session
    session.pop(PASSWORD_ENTERED, None)
    session.save()

    response = confirm(client)

    assert response.url.startswith(reverse("confirm_password"))
    assert not User.objects.filter(email="ada@import.example").exists()


def test_the_directory_links_to_the_import_only_for_those_who_may_add(client, csp):
    link = reverse("import_users")
    client.force_login(csp.user_admin)
    assert link in client.get(reverse("directory")).content.decode()
    client.force_login(csp.account_admin)
    assert link not in client.get(reverse("directory")).content.decode()


def test_a_user_management_admin_cannot_import_global_admins_through_the_page(client, csp):
    client.force_login(csp.user_admin)
    upload(client, csv_text("Ada,Lovelace,ada@import.example,Global admin"))

    response = client.get(detail_url())

    assert "Only a Global admin can grant or revoke Global admin." in response.content.decode()
    assert b"Add 0 users" not in response.content  # nothing to confirm
    confirm(client)
    assert not User.objects.filter(email="ada@import.example").exists()
    # Two attempts: the check, and Add.
    assert sorted(AuditEvent.objects.refused().values_list("target_label", flat=True)) == [
        "1 users from a CSV file (added)",
        "1 users from a CSV file (checked)",
    ]


def test_the_upload_form_works_without_javascript(client, csp):
    client.force_login(csp.global_admin)

    html = client.get(reverse("import_users")).content.decode()

    form = html[html.index("<form", html.index("2. Check the file")) :]
    assert 'enctype="multipart/form-data"' in form[: form.index(">")]
    # The progress indicator is an enhancement from a file of ours: no inline script.
    assert '<script src="/static/js/import_users.js" defer></script>' in html
    assert "<script>" not in html


def test_a_mail_server_that_fails_does_not_hide_the_users_added(client, csp, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    client.force_login(csp.global_admin)
    upload(client, csv_text("Ada,Lovelace,ada@import.example,"))

    response = confirm(client)

    ada = User.objects.get(email="ada@import.example")
    page = client.get(response.url)
    assert b"1 user added" in page.content
    # Tried again later by a worker; the user's page says it waits.
    invitation = OutgoingEmail.objects.get(user=ada)
    assert invitation.state == OutgoingEmail.State.WAITING
    assert "could not be reached" in invitation.error


def test_a_refused_row_with_a_hostile_email_is_recorded_safely(csp):
    """A row refused a role is audited with its email as typed: cut short, no NUL (which
    PostgreSQL refuses in text and JSON)."""
    email = "x\x00" + "y" * 600
    text = csv_text(f"Eve,Hostile,{email},Global admin", "Ada,Lovelace,ada@import.example,")

    report = through_jobs.add(
        text, actor=csp.user_admin, organization=csp.organization, base_url=BASE_URL
    )

    assert report.valid == 1
    refused = AuditEvent.objects.refused().get(
        action=AuditAction.ROLE_GRANTED, target_label__endswith="(added)"
    )
    [row] = refused.after["first"]
    assert row["email"] == ("x" + "y" * 600)[:320]


@pytest.mark.parametrize("text", ["=cmd()", "  =cmd()", "+1", "@SUM(A1)", "\t=x"])
def test_a_cell_that_a_spreadsheet_would_run_is_shown_as_text(text):
    assert imports._cell(text) == f"'{text}"


# Jobs: progress, coming back, who confirms, failures


def test_the_upload_answers_at_once_and_the_page_follows_the_check(client, csp):
    client.force_login(csp.global_admin)
    data = many_rows(30).encode()

    response = client.post(
        reverse("import_users"), {"file": SimpleUploadedFile("p.csv", data, "text/csv")}
    )

    user_import = latest()
    # The request read the header and the first row only: the check counts the rows.
    assert (user_import.state, user_import.rows_total) == (UserImport.State.CHECKING, 0)
    page = client.get(response.url).content.decode()
    # Without the script: the state and a Refresh link; the script polls the progress URL.
    assert "Checking: counting the rows." in page
    assert 'data-testid="refresh"' in page
    assert reverse("import_users_progress", args=[user_import.pk]) in page
    assert '<script src="/static/js/import_progress.js" defer></script>' in page
    assert "<script>" not in page
    progress = client.get(reverse("import_users_progress", args=[user_import.pk])).json()
    assert progress == {
        "state": "checking",
        "working": True,
        "rows_total": 0,
        "rows_done": 0,
        "percent": 0,
        "text": "Checking: counting the rows.",
    }

    run_ready_jobs()

    progress = client.get(reverse("import_users_progress", args=[user_import.pk])).json()
    assert (progress["state"], progress["rows_done"], progress["percent"]) == ("checked", 30, 100)
    assert b"30 ready to add" in client.get(response.url).content


def test_the_upload_page_lists_the_organizations_imports(client, csp, outsider):
    client.force_login(csp.user_admin)
    upload(client, csv_text("Ada,Lovelace,ada@import.example,"), name="mine.csv")
    client.force_login(outsider)
    upload(client, csv_text("Bob,Other,bob@import.example,"), name="theirs.csv")

    client.force_login(csp.global_admin)
    listed = client.get(reverse("import_users")).content.decode()

    table = listed.split('data-testid="recent-imports"')[1].split("</table>")[0]
    assert "mine.csv" in table
    assert "theirs.csv" not in table
    assert csp.user_admin.get_full_name() in table


def test_only_the_admin_who_checked_a_file_adds_it(client, csp):
    client.force_login(csp.user_admin)
    upload(client, csv_text("Ada,Lovelace,ada@import.example,"))
    user_import = latest()

    client.force_login(csp.global_admin)
    page = client.get(detail_url(user_import)).content.decode()
    assert 'data-testid="not-yours"' in page
    response = confirm(client)

    assert response.status_code == 302
    assert not User.objects.filter(email="ada@import.example").exists()
    user_import.refresh_from_db()
    assert user_import.state == UserImport.State.CHECKED


def test_a_confirmation_sent_twice_adds_once(client, csp):
    client.force_login(csp.global_admin)
    upload(client, csv_text("Ada,Lovelace,ada@import.example,"))
    user_import = latest()
    url = reverse("import_users_confirm", args=[user_import.pk])

    client.post(url, {"upload": str(user_import.pk)})
    client.post(url, {"upload": str(user_import.pk)})
    run_ready_jobs()

    assert User.objects.filter(email="ada@import.example").count() == 1
    assert len(sent_mail()) == 1


def test_a_file_the_job_cannot_read_fails_with_the_reason_on_the_page(client, csp, monkeypatch):
    client.force_login(csp.global_admin)
    client.post(
        reverse("import_users"),
        {"file": SimpleUploadedFile("p.csv", many_rows(6).encode(), "text/csv")},
    )
    # The limit lowered between the upload and the check (a deploy): the job says so.
    monkeypatch.setattr(imports, "MAX_ROWS", 5)
    run_ready_jobs()

    user_import = latest()
    assert user_import.state == UserImport.State.FAILED
    page = client.get(detail_url(user_import)).content.decode()
    assert 'data-testid="import-failed"' in page
    assert "The file has more than" in page
    assert not User.objects.filter(email__endswith="@import.example").exists()


def test_thousands_of_bad_rows_are_explained_and_nothing_is_added(client, csp):
    client.force_login(csp.global_admin)
    bad = csv_text(*(f"Bad,Row{n},not-an-email-{n}," for n in range(3000)))

    upload(client, bad)

    page = client.get(detail_url()).content.decode()
    assert "3000 rows: 0 ready to add, 3000 with errors." in page
    assert "No row is ready to add." in page
    assert "Rows with errors" in page
    assert not User.objects.filter(last_name__startswith="Row").exists()


def test_imported_users_passwords_are_unusable_and_each_their_own():
    passwords = {imports.unusable_password() for _ in range(1000)}
    assert len(passwords) == 1000
    user = User(email="x@example.com")
    for password in passwords:
        user.password = password
        assert not user.has_usable_password()
        assert len(password) == len(User(password=make_password(None)).password)
