"""One email identity (DOMAIN.md rule 8, issue 10 section 1): what an email is, and every path
that stores, finds or counts one using that single definition (accounts.identity)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts import identity, imports
from accounts.duplicates import LOOKALIKE_EMAIL, possible_duplicates
from accounts.identity import (
    BAD_DOMAIN,
    LOCAL_CHARACTERS,
    LOCAL_DOTS,
    canonical_email,
    email_skeleton,
    sign_in_key,
)
from accounts.models import User
from jobs.models import UserImport
from jobs.testing import run_ready_jobs
from roles.catalogue import RoleKey
from tests import imports_through_jobs as through_jobs
from tests.factories import PASSWORD, SupportStaffFactory, UserFactory
from tests.jobs import sent_mail
from tests.test_add_user import run_url

LONG_S, DOTLESS_I, KELVIN = "\u017f", "\u0131", "\u212a"
CYRILLIC_O = "\u043e"


def full_width(text: str) -> str:
    """ASCII letters, digits and @ . as their full-width forms (U+FF01 to U+FF5E)."""
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


# What an email is


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Jane.Doe@Contoso.EXAMPLE ", "jane.doe@contoso.example"),
        (f"u{LONG_S}eradmin@contoso.example", "useradmin@contoso.example"),
        (f"{LONG_S}upport@partnerhub.example", "support@partnerhub.example"),
        (f"{KELVIN}ate@contoso.example", "kate@contoso.example"),
        (full_width("Useradmin@Contoso.example"), "useradmin@contoso.example"),
        ("\ufb01nance@contoso.example", "finance@contoso.example"),  # the fi ligature
        ("ana@Bücher.example", "ana@xn--bcher-kva.example"),
        ("ana@BÜCHER.EXAMPLE", "ana@xn--bcher-kva.example"),
        ("ana@xn--bcher-kva.example", "ana@xn--bcher-kva.example"),
        ("o'brien+sales@contoso.example", "o'brien+sales@contoso.example"),
    ],
)
def test_it_folds_what_is_the_same_address_into_one_form(typed, stored):
    assert canonical_email(typed) == stored
    assert canonical_email(stored) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (f"{DOTLESS_I}ser@contoso.example", LOCAL_CHARACTERS),
        (f"gl{CYRILLIC_O}baladmin@contoso.example", LOCAL_CHARACTERS),
        ("zoë@contoso.example", LOCAL_CHARACTERS),
        ('"jane doe"@contoso.example', LOCAL_CHARACTERS),
        ("jane..doe@contoso.example", LOCAL_DOTS),
        (".jane@contoso.example", LOCAL_DOTS),
        ("jane@contoso", BAD_DOMAIN),
        ("jane@contoso..example", BAD_DOMAIN),
        ("jane@con_toso.example", BAD_DOMAIN),
        ("jane@-contoso.example", BAD_DOMAIN),
        ("jane@xn--zz.example", BAD_DOMAIN),  # not a valid A-label
        ("jane", identity.NOT_AN_EMAIL),
        ("@contoso.example", identity.NOT_AN_EMAIL),
        ("j" * 65 + "@contoso.example", identity.LOCAL_TOO_LONG),
        ("j" * 64 + "@" + "x" * 60 + ".example" * 18, identity.TOO_LONG),
    ],
)
def test_it_refuses_what_cannot_be_one_address_with_a_message_for_the_field(typed, message):
    with pytest.raises(ValidationError) as refusal:
        canonical_email(typed)

    assert refusal.value.messages == [message]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
@example(f"{full_width('a')}@{full_width('B')}.example")
def test_the_canonical_form_is_lower_case_ascii_and_stays_the_same(text):
    try:
        email = canonical_email(text)
    except ValidationError:
        return
    assert email.isascii()
    assert email == email.lower()
    assert " " not in email
    assert canonical_email(email) == email


# The database holds only one account per canonical form
# (hypothesis: for any two strings sign-in treats as the same account, the second is refused)

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class _Rollback(Exception):
    """Undoes one example's writes: every example starts from the same database."""


@contextmanager
def rolled_back() -> Iterator[None]:
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


# Ways of writing one address that fold into it: case, width, long s, Kelvin sign, spaces.
_SPELLINGS = {
    "s": ["s", "S", LONG_S, full_width("s")],
    "k": ["k", "K", KELVIN, full_width("K")],
}


def _spelled(char: str) -> st.SearchStrategy[str]:
    options = _SPELLINGS.get(char, [char, char.upper(), full_width(char), full_width(char.upper())])
    return st.sampled_from(options)


def spellings_of(email: str) -> st.SearchStrategy[str]:
    local, _, domain = email.partition("@")
    return st.tuples(
        st.sampled_from(["", " ", "\u3000"]),  # an ideographic space is a space too
        st.tuples(*(_spelled(char) for char in local)).map("".join),
        st.sampled_from(["@", full_width("@")]),
        st.sampled_from([domain, domain.upper(), full_width(domain)]),
        st.sampled_from(["", " "]),
    ).map("".join)


BASES = ["siobhan.byrne@contoso.example", "useradmin@contoso.example", "kate@fabrikam.example"]


@EXAMPLES
@given(data=st.data())
def test_two_spellings_of_one_address_make_one_account_even_past_the_forms(db, data):
    base = data.draw(st.sampled_from(BASES))
    first, second = data.draw(spellings_of(base)), data.draw(spellings_of(base))
    assert canonical_email(first) == canonical_email(second) == base
    with rolled_back():
        # Stored as every path stores it; then the second inserted raw, past every form.
        UserFactory(email=canonical_email(first))
        with pytest.raises(IntegrityError), transaction.atomic():
            UserFactory(email=second)
        assert User.objects.get_by_natural_key(second).email == base


# Text near an email: its characters, look-alikes that fold, and some that do not.
EMAILISH = st.text(
    st.sampled_from(
        [*"ab.@-_+ X0", LONG_S, KELVIN, DOTLESS_I, "ü", full_width("a"), full_width("@"), "\x00"]
    ),
    min_size=1,
    max_size=20,
)


@EXAMPLES
@given(text=st.one_of(EMAILISH, st.text(min_size=1, max_size=30)))
@example("a..b@x.example")
@example("user@xn--zz.example")
def test_a_row_the_database_accepts_is_canonical_or_reached_by_no_sign_in(db, text):
    """What SQL cannot see (dots, A-label validity) may pass the database's check; then sign-in,
    which looks up canonical forms only, never reaches it, so it cannot stand for anyone."""
    with rolled_back():
        try:
            with transaction.atomic():
                stored = UserFactory(email=text)
        except (IntegrityError, ValueError):
            return  # refused by the database (ValueError: PostgreSQL's NUL)
        try:
            canonical = canonical_email(stored.email)
        except ValidationError:
            assert not User.objects.with_email(text).exists()
            return
        assert canonical == stored.email
        assert User.objects.get_by_natural_key(text.upper()) == stored


@pytest.mark.django_db
def test_the_database_refuses_each_non_canonical_shape():
    UserFactory(email="jane@contoso.example")
    for email in (
        "Jane@contoso.example",
        " jane@contoso.example",
        f"u{LONG_S}er@contoso.example",
        f"{KELVIN}ate@contoso.example",
        "ana@bücher.example",
        "jane",
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            UserFactory(email=email)


# Sign-in


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": email, "password": password})


@EXAMPLES
@given(
    typed=st.one_of(
        st.text(max_size=60),
        st.sampled_from(
            [
                f"u{LONG_S}eradmin@contoso.example",
                f"{DOTLESS_I}ser@contoso.example",
                "nul\x00@contoso.example",
                "x" * 5000,
                "@",
                "a@b@c",
                "jane@xn--zz.example",
            ]
        ),
    )
)
def test_sign_in_never_answers_500_whatever_is_typed(db, typed):
    client = Client(raise_request_exception=False)
    with rolled_back():
        UserFactory(email="useradmin@contoso.example")
        response = sign_in(client, typed, "not-the-password")
    assert response.status_code in (200, 429)


def test_the_issue_look_alikes_imported_elsewhere_do_not_break_sign_in(client, csp, non_csp):
    """Fabrikam's Global admin imports the look-alikes of Contoso's admin and of support staff:
    refused as emails in use, and signing in as the originals still works."""
    original = UserFactory(organization=csp.organization, email="useradmin@contoso.example")
    support = SupportStaffFactory(email="support@partnerhub.example")
    rows = [
        f"Eve,One,u{LONG_S}eradmin@contoso.example,",
        f"Eve,Two,{LONG_S}upport@partnerhub.example,",
        f"Eve,Three,{full_width('useradmin')}@contoso.example,",
        "Eve,Four,USERADMIN@CONTOSO.EXAMPLE,",
        f"Eve,Five,u{DOTLESS_I}eradmin@contoso.example,",
    ]
    text = "First name,Last name,Email,Roles\n" + "\n".join(rows) + "\n"

    report = through_jobs.add(
        text, actor=non_csp.global_admin, organization=non_csp.organization, base_url="https://x"
    )

    assert (report.valid, report.invalid) == (0, 5)
    errors = [problem["errors"] for problem in report.problems]
    assert all(imports.EMAIL_IN_USE in row for row in errors[:4])
    assert errors[4] == [f"Email: {LOCAL_CHARACTERS}"]
    assert not User.objects.filter(organization=non_csp.organization, first_name="Eve").exists()
    for user in (original, support):
        assert sign_in(Client(), user.email.upper()).status_code == 302


def test_the_issue_look_alikes_typed_at_sign_in_reach_the_one_account(client, csp):
    UserFactory(organization=csp.organization, email="useradmin@contoso.example")

    response = sign_in(client, f" U{LONG_S}ERADMIN@CONTOSO.EXAMPLE")

    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_an_internationalized_domain_is_one_address_in_either_form(client, csp):
    user = UserFactory(organization=csp.organization, email=canonical_email("ana@bücher.example"))

    assert user.email == "ana@xn--bcher-kva.example"
    assert User.objects.with_email("ana@BÜCHER.example").get() == user
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email="ana@bücher.example")
    assert sign_in(Client(), "ana@Bücher.example").status_code == 302
    assert sign_in(Client(), "ana@xn--bcher-kva.example").status_code == 302


# The lockout counts look-alikes as the address they fold into


LIMIT = 5
LOCKED = 429


def test_look_alikes_do_not_multiply_the_lockout(client, csp):
    UserFactory(organization=csp.organization, email="siobhan.byrne@contoso.example")
    for _ in range(LIMIT):
        sign_in(client, "siobhan.byrne@contoso.example", "wrong")

    for look_alike in (
        f"{LONG_S}iobhan.byrne@contoso.example",
        "SIOBHAN.BYRNE@CONTOSO.EXAMPLE",
        full_width("siobhan.byrne@contoso.example"),
        f"siobhan.byrne@contoso.example{chr(0x3000)}",
    ):
        assert sign_in(client, look_alike, "wrong").status_code == LOCKED
        assert sign_in(client, look_alike).status_code == LOCKED  # the right password too


def test_text_that_is_no_email_counts_against_one_key_for_all_its_look_alikes(client, csp):
    # The dotless i cannot be folded, so these are no email: but still one key, not five.
    spellings = [
        f"s{DOTLESS_I}obhan@contoso.example",
        f"S{DOTLESS_I}OBHAN@contoso.example",
        f"s{DOTLESS_I}obhan@CONTOSO.example",
        full_width(f"s{DOTLESS_I}obhan@contoso.example"),
        f" s{DOTLESS_I}obhan@contoso.example ",
    ]
    assert len({sign_in_key(spelling) for spelling in spellings}) == 1
    for spelling in spellings[:-1]:
        assert sign_in(client, spelling, "wrong").status_code == 200
    assert sign_in(client, spellings[-1], "wrong").status_code == LOCKED  # the fifth

    assert sign_in(client, f"s{DOTLESS_I}obhan@contoso.EXAMPLE", "wrong").status_code == LOCKED


def test_a_nul_byte_or_a_huge_name_is_a_counted_failed_sign_in(client, csp):
    for _ in range(LIMIT - 1):
        response = sign_in(client, "nul\x00byte@contoso.example", "wrong")
        assert response.status_code == 200
        assert "The email or password is not right" in response.content.decode()

    assert sign_in(client, "nul\x00byte@contoso.example", "wrong").status_code == LOCKED
    assert len(sign_in_key("x" * 100_000)) < 64


# The forms: a clear message at the field, the typed input kept, nothing written


def test_the_add_user_wizard_explains_a_refused_email_and_keeps_it(client, csp):
    client.force_login(csp.global_admin)
    typed = f"{DOTLESS_I}ser@contoso.example"
    users = User.objects.count()
    client.get(reverse("add_user"), follow=True)

    response = client.post(
        run_url(client),
        {
            "add_user_wizard-current_step": "details",
            "details-first_name": "Ida",
            "details-last_name": "User",
            "details-email": typed,
        },
        follow=True,
    )

    assert response.status_code == 200
    assert response.context["wizard"]["form"].errors["email"] == [LOCAL_CHARACTERS]
    assert f'value="{typed}"' in response.content.decode()
    assert User.objects.count() == users


def test_edit_details_explains_a_refused_email_and_keeps_it(client, csp):
    client.force_login(csp.global_admin)
    typed = f"gl{CYRILLIC_O}bal@contoso.example"

    response = client.post(
        reverse("edit_user", args=[csp.member.public_id]),
        {"first_name": "A", "last_name": "B", "email": typed},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [LOCAL_CHARACTERS]
    assert f'value="{typed}"' in response.content.decode()
    assert User.objects.get(pk=csp.member.pk).email == csp.member.email


def test_edit_details_refuses_a_look_alike_that_folds_into_an_email_in_use(client, csp):
    client.force_login(csp.global_admin)
    taken = csp.user_admin.email

    response = client.post(
        reverse("edit_user", args=[csp.member.public_id]),
        {"first_name": "A", "last_name": "B", "email": full_width(taken.upper())},
    )

    assert response.status_code == 200
    assert User.objects.get(pk=csp.member.pk).email == csp.member.email


def test_the_support_admin_refuses_a_look_alike_of_an_email_in_use(client, csp, support):
    client.force_login(support)
    taken = SupportStaffFactory(email="support@partnerhub.example")

    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "organization": csp.organization.pk,
            "first_name": "Eve",
            "last_name": "Mallory",
            "email": f"{LONG_S}upport@partnerhub.example",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == [
        "A user with this email already exists."
    ]
    assert User.objects.with_email(taken.email).get() == taken


def test_forgot_password_sends_the_link_to_the_stored_address_of_a_look_alike(client, csp):

    UserFactory(organization=csp.organization, email="useradmin@contoso.example")

    client.post(reverse("password_reset"), {"email": f"u{LONG_S}eradmin@contoso.example"})

    assert [message.to for message in sent_mail()] == [["useradmin@contoso.example"]]


def test_import_users_command_finds_its_actor_by_any_spelling(csp, tmp_path, capsys):
    SupportStaffFactory(email="support@partnerhub.example")
    file = tmp_path / "people.csv"
    file.write_text("First name,Last name,Email,Roles\nAda,Lovelace,ADA@Import.example,\n")

    call_command(
        "import_users",
        csp.organization.partner_id,
        str(file),
        "--actor",
        f"{LONG_S}UPPORT@partnerhub.example",
    )

    assert User.objects.get(first_name="Ada").email == "ada@import.example"


# Look-alike addresses are flagged as possible duplicates


@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        ("globaladmin@contoso.example", f"globaladmin@c{CYRILLIC_O}ntoso.example"),
        ("mary@contoso.example", "rnary@contoso.example"),
        ("bob@contoso.example", "b0b@contoso.example"),
        ("ali@contoso.example", "a1i@contoso.example"),
    ],
)
def test_a_look_alike_email_is_a_possible_duplicate(csp, existing, typed):
    them = UserFactory(organization=csp.organization, email=existing, first_name="Zed")

    listed = possible_duplicates(csp.organization, "Quinn", "Other", canonical_email(typed))

    assert [(duplicate.user, duplicate.reasons) for duplicate in listed] == [
        (them, (LOOKALIKE_EMAIL,))
    ]


def test_a_look_alike_in_another_organization_is_not_shown(csp, outsider):
    UserFactory(organization=outsider.organization, email="globaladmin@contoso.example")

    typed = canonical_email(f"globaladmin@c{CYRILLIC_O}ntoso.example")

    assert possible_duplicates(csp.organization, "Quinn", "Other", typed) == []


def test_the_wizard_flags_a_look_alike_email(client, csp):
    them = UserFactory(organization=csp.organization, email="globaladmin@contoso.example")
    client.force_login(csp.global_admin)
    client.get(reverse("add_user"), follow=True)

    response = client.post(
        run_url(client),
        {
            "add_user_wizard-current_step": "details",
            "details-first_name": "Quinn",
            "details-last_name": "Other",
            "details-email": f"globaladmin@c{CYRILLIC_O}ntoso.example",
        },
        follow=True,
    )

    form = response.context["wizard"]["form"]
    assert [(d.user, d.reasons) for d in form.possible_duplicates] == [(them, (LOOKALIKE_EMAIL,))]
    assert LOOKALIKE_EMAIL in response.content.decode()


def test_the_csv_dry_run_flags_look_alike_emails(csp):
    UserFactory(organization=csp.organization, email="globaladmin@contoso.example")
    text = (
        "First name,Last name,Email,Roles\n"
        f"Quinn,Other,globaladmin@c{CYRILLIC_O}ntoso.example,\n"
        "Ada,Lovelace,ada@import.example,\n"
    )

    report = through_jobs.check(text, actor=csp.global_admin, organization=csp.organization)

    assert report.valid == 2  # guidance, not an error
    assert [row["line"] for row in report.lookalikes] == [2]
    assert "globaladmin@contoso.example" in report.lookalikes[0]["warnings"][0]
    assert "Warnings" in report.result_csv.splitlines()[0]
    assert "looks like" in report.result_csv.splitlines()[1]


def test_the_csv_dry_run_flags_look_alike_rows_of_the_same_file(csp):
    text = (
        "First name,Last name,Email,Roles\n"
        "Gl,Admin,boss@contoso.example,\n"
        f"Gl,Admin,boss@c{CYRILLIC_O}ntoso.example,\n"
        "Ada,Lovelace,ada@import.example,\n"
    )

    report = through_jobs.check(text, actor=csp.global_admin, organization=csp.organization)

    assert report.valid == 3
    assert [row["line"] for row in report.lookalikes] == [3]
    assert report.lookalikes[0]["warnings"] == [
        "Possible duplicate: the email looks like line 2's, boss@contoso.example."
    ]


def test_the_csv_check_page_lists_the_look_alikes(client, csp):
    from django.core.files.uploadedfile import SimpleUploadedFile

    UserFactory(organization=csp.organization, email="mary@contoso.example")
    client.force_login(csp.global_admin)
    text = "First name,Last name,Email,Roles\nQuinn,Other,rnary@contoso.example,\n"

    client.post(
        reverse("import_users"),
        {"file": SimpleUploadedFile("p.csv", text.encode(), "text/csv")},
    )
    run_ready_jobs()
    latest = UserImport.objects.latest("created_at")
    page = client.get(reverse("import_users_detail", args=[latest.pk])).content.decode()

    assert "Possible duplicates: check before adding" in page
    assert "mary@contoso.example" in page


def test_the_skeleton_compares_the_domain_in_unicode():
    assert email_skeleton(canonical_email(f"a@c{CYRILLIC_O}ntoso.example")) == email_skeleton(
        "a@contoso.example"
    )
    assert email_skeleton("a@contoso.example") != email_skeleton("a@fabrikam.example")


# The migration that introduced the canonical form


_unique = count()


def _migration_names() -> tuple[tuple[str, str], tuple[str, str]]:
    """This change's migration and the one before it, whatever numbers they end up with."""
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    (ours,) = [key for key in graph.nodes if key[0] == "accounts" and "email_identity" in key[1]]
    (before,) = [parent for parent in graph.node_map[ours].parents if parent[0] == "accounts"]
    return before, ours


@pytest.mark.django_db(transaction=True)
def test_the_migration_canonicalizes_existing_rows_and_quarantines_collisions(capsys):
    before, _ = _migration_names()
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old_apps = executor.loader.project_state(before).apps
    OldUser = old_apps.get_model("accounts", "User")
    Organization = old_apps.get_model("accounts", "PartnerOrganization")
    organization = Organization.objects.create(
        name="Old", partner_id="7777777", program_type="csp_direct"
    )

    def old_user(email: str) -> int:
        return OldUser.objects.create(
            email=email, first_name="F", last_name=f"L{next(_unique)}", organization=organization
        ).pk

    mixed_case = old_user("Jane.Doe@Contoso.EXAMPLE")
    # The oldest keeps the address: the accounts attacked were there first, and a look-alike
    # added later loses it, even one typed in the canonical form.
    victim = old_user("useradmin@contoso.example")
    later_lookalike = old_user(f"u{LONG_S}eradmin@contoso.example")
    kelvin = old_user(f"{KELVIN}ate@contoso.example")
    idn = old_user("ana@Bücher.example")
    later_canonical_idn = old_user("ana@xn--bcher-kva.example")
    dotless = old_user(f"{DOTLESS_I}ser@contoso.example")
    sessions = dict(OldUser.objects.values_list("pk", "session_generation"))

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    users = {user.pk: user for user in User.objects.all()}
    assert users[mixed_case].email == "jane.doe@contoso.example"
    assert users[victim].email == "useradmin@contoso.example"
    assert users[victim].is_active
    assert users[kelvin].email == "kate@contoso.example"
    assert users[idn].email == "ana@xn--bcher-kva.example"
    assert users[idn].is_active
    for pk in (later_lookalike, later_canonical_idn, dotless):
        assert users[pk].email == f"{users[pk].public_id}@quarantined.invalid"
        assert not users[pk].is_active
        # Their sessions end for good: reactivating them later brings none back.
        assert users[pk].session_generation != sessions[pk]
    assert users[victim].session_generation == sessions[victim]
    assert all(user.email_skeleton == email_skeleton(user.email) for user in users.values())
    assert "jane.doe" in users[mixed_case].search_text
    printed = capsys.readouterr().out
    assert f"u{LONG_S}eradmin@contoso.example" in printed
    assert "ana@xn--bcher-kva.example" in printed
    assert f"{DOTLESS_I}ser@contoso.example" in printed
    assert "Jane.Doe" not in printed  # only those moved aside are listed


@pytest.mark.django_db
def test_a_user_added_with_any_spelling_is_found_with_any_other(csp):
    from accounts.services import create_user

    new = create_user(
        csp.global_admin,
        organization=csp.organization,
        first_name="Kate",
        last_name="Kelvin",
        email=f"{KELVIN}ATE@CONTOSO.EXAMPLE",
        role_keys=[RoleKey.REFERRALS_ADMIN],
    )

    assert new.user.email == "kate@contoso.example"
    assert User.objects.with_email(full_width("kate@contoso.example")).get() == new.user


@pytest.mark.parametrize(
    ("text", "prototype"),
    [
        (LONG_S, "f"),  # TR39: the long s looks like an f
        ("0", "O"),
        ("1", "l"),
        ("I", "l"),
        ("|", "l"),
        ("m", "rn"),
        (CYRILLIC_O, "o"),
        ("\u0430", "a"),  # Cyrillic a
        ("o", "o"),  # a prototype is its own skeleton
    ],
)
def test_the_skeleton_follows_unicode_tr39(text, prototype):
    assert identity.skeleton(text) == prototype
    assert identity.skeleton(prototype) == prototype


# A file's rows share a few domains: UTS 46 runs once per domain (a cache), never changing an
# answer.


def test_a_cached_domain_answers_as_the_first_time():
    identity._canonical_domain_cached.cache_clear()
    first = canonical_email("Ada@BÜCHER.example")
    again = canonical_email("grace@BÜCHER.example")
    assert first == "ada@xn--bcher-kva.example"
    assert again == "grace@xn--bcher-kva.example"
    assert identity._canonical_domain_cached.cache_info().hits >= 1


def test_a_refused_domain_is_refused_every_time():
    identity._canonical_domain_cached.cache_clear()
    for _ in range(3):
        with pytest.raises(ValidationError) as refused:
            canonical_email("ada@-bad-.example")
        assert refused.value.messages == [BAD_DOMAIN]
    assert identity._canonical_domain_cached.cache_info().currsize == 0


def test_a_domain_longer_than_an_email_is_never_kept_in_the_cache():
    identity._canonical_domain_cached.cache_clear()
    # Characters UTS 46 ignores (the soft hyphen) make a long input of a short domain.
    long_domain = "exa\u00admple.com".replace("\u00ad", "\u00ad" * 300)
    assert canonical_email(f"ada@{long_domain}") == "ada@example.com"
    assert identity._canonical_domain_cached.cache_info().currsize == 0


def test_a_cached_skeleton_answers_as_the_first_time():
    identity._unicode_domain.cache_clear()
    assert email_skeleton("ada@xn--bcher-kva.example") == email_skeleton(
        "ada@xn--bcher-kva.example"
    )
    assert email_skeleton("ada@xn--bcher-kva.example") != email_skeleton("ada@bcher.example")
    assert identity._unicode_domain.cache_info().hits >= 1
