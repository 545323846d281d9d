"""Hostile text in every text field: refused with a field error, or stored and shown escaped.

Names and searches are typed by people, pasted from anywhere, or sent by a script. Whatever
arrives (markup, quotes, line breaks, direction overrides, NUL bytes, 10,000 characters,
emoji), the answer is never a 500, and no page ever carries it as markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count

import pytest
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.forms.add_user import DetailsForm
from accounts.forms.user import UserDetailsForm
from accounts.services import create_user
from roles.catalogue import RoleKey
from tests.factories import UserFactory
from tests.test_add_user import run_url

# Pieces of hostile text; the strategies mix them with arbitrary text.
MARKUP = '<script>alert("x")</script>'
ATTRIBUTE_BREAKOUT = "\"'><img src=x onerror=alert(1)>"
FRAGMENTS = [
    MARKUP,
    ATTRIBUTE_BREAKOUT,
    "O'Brien",
    '"quoted"',
    "&amp;",
    "{{ user.password }}",
    "{% debug %}",
    "line\nbreak",
    "carriage\r\nreturn",
    "\u202eevil\u202c",  # right-to-left override
    "\u200f",  # right-to-left mark
    "nul\x00byte",
    "😀🎉👩‍👩‍👧",
    "Zoë Müller",
    " ",
    "x" * 10_000,
]
# Text that passes the forms' one-line checks, so that examples reach the save and the pages.
_ONE_LINE = [f for f in FRAGMENTS if f.isprintable() and f.strip() and len(f) < 150]
one_line_text = st.lists(
    st.one_of(
        st.sampled_from(_ONE_LINE),
        st.text(
            st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=12
        ),
    ),
    min_size=1,
    max_size=4,
).map("".join)
hostile_text = st.one_of(
    st.sampled_from(FRAGMENTS),
    one_line_text,
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=4).map("".join),
)

# Each example hits the database several times: a handful of examples per test keeps the file
# well under a minute on SQLite, and the fixed fragments are tried first (explicit examples).
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Never a markup tag of ours: the pages' own scripts are <script src=...>, never <script>.
RAW_MARKUP = ("<script>", "<img src=x")

_unique = count()


class _Rollback(Exception):
    """Raised to undo one example's writes: every example starts from the same database."""


@contextmanager
def rolled_back() -> Iterator[None]:
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def assert_shown_safely(html: str, *values: str) -> None:
    for raw in RAW_MARKUP:
        assert raw not in html
    for value in values:
        assert escape(value) in html


def page_of(client, url: str, **params: str) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def admin_client(client, csp):
    client.force_login(csp.global_admin)
    return client


# Add user: the details step


@pytest.mark.parametrize("text", FRAGMENTS)
def test_the_add_user_details_step_answers_every_fragment(admin_client, csp, text):
    admin_client.get(reverse("add_user"), follow=True)
    response = admin_client.post(
        run_url(admin_client),
        {
            "add_user_wizard-current_step": "details",
            "details-first_name": text,
            "details-last_name": text,
            "details-email": f"hostile{next(_unique)}@contoso.example",
        },
        follow=True,
    )

    assert response.status_code == 200  # the roles step, or the details again with errors
    assert_shown_safely(response.content.decode())


@EXAMPLES
@given(first_name=hostile_text, last_name=hostile_text)
def test_added_names_are_refused_or_shown_escaped(admin_client, csp, first_name, last_name):
    email = f"hostile{next(_unique)}@contoso.example"
    data = {"first_name": first_name, "last_name": last_name, "email": email}
    form = DetailsForm(data, organization=csp.organization)
    if not form.is_valid():
        # Refused at a field, with a message saying why; never a form-wide failure.
        assert set(form.errors) <= {"first_name", "last_name", "different_person"}
        event("refused by the form")
        return
    event("saved and shown")
    with rolled_back():
        added = create_user(
            csp.global_admin,
            organization=csp.organization,
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
            email=form.cleaned_data["email"],
            role_keys=[RoleKey.REFERRALS_ADMIN],
        ).user
        added.refresh_from_db()

        user_page = page_of(admin_client, reverse("user_detail", args=[added.public_id]))
        directory = page_of(admin_client, reverse("directory"))

        assert_shown_safely(user_page, added.first_name, added.last_name)
        assert_shown_safely(directory, added.get_full_name())


# Edit details


@EXAMPLES
@given(first_name=hostile_text, last_name=hostile_text)
def test_edited_names_are_refused_or_shown_escaped(admin_client, csp, first_name, last_name):
    with rolled_back():
        target = UserFactory(organization=csp.organization, roles=[RoleKey.REFERRALS_ADMIN])
        data = {"first_name": first_name, "last_name": last_name, "email": target.email}
        expected_valid = UserDetailsForm(data).is_valid()

        response = admin_client.post(reverse("edit_user", args=[target.public_id]), data)

        if not expected_valid:
            assert response.status_code == 200
            assert response.context["form"].errors
            assert set(response.context["form"].errors) <= {"first_name", "last_name"}
            assert_shown_safely(response.content.decode())
            event("refused by the form")
            return
        event("saved and shown")
        assert response.status_code == 302, response.context["form"].errors
        target.refresh_from_db()
        user_page = page_of(admin_client, reverse("user_detail", args=[target.public_id]))
        directory = page_of(admin_client, reverse("directory"))

        assert_shown_safely(user_page, target.first_name, target.last_name)
        assert_shown_safely(directory, target.get_full_name())


@pytest.mark.parametrize(
    "email",
    [
        '"<script>"@contoso.example',
        "a@contoso.example\n",
        "a\x00@contoso.example",
        "\u202ea@contoso.example",
        "😀@contoso.example",
        "a" * 10_000 + "@contoso.example",
        "o'brien@contoso.example",
    ],
)
def test_hostile_emails_are_refused_or_shown_escaped(admin_client, csp, email):
    target = csp.member
    data = {"first_name": "Hostile", "last_name": "Email", "email": email}

    response = admin_client.post(reverse("edit_user", args=[target.public_id]), data)

    if response.status_code == 200:
        assert set(response.context["form"].errors) == {"email"}
        assert_shown_safely(response.content.decode())
        return
    assert response.status_code == 302
    target.refresh_from_db()
    assert_shown_safely(page_of(admin_client, response.url), target.email)


# Searches


def _search_pages() -> list[tuple[str, str]]:
    """(URL name, query parameter) of each page that searches by typed text."""
    pages = [("directory", "q")]
    try:
        reverse("audit_log")
    except NoReverseMatch:  # the audit log is not part of every version of PartnerHub
        return pages
    return [*pages, ("audit_log", "person")]


@pytest.mark.parametrize(("url_name", "parameter"), _search_pages())
@EXAMPLES
@given(query=hostile_text)
def test_searches_answer_any_text_escaped(admin_client, csp, url_name, parameter, query):
    html = page_of(admin_client, reverse(url_name), **{parameter: query})

    assert_shown_safely(html)


def test_a_user_with_a_hostile_name_is_found_and_shown_escaped(admin_client, csp):
    # Stored past the forms, as an older version might have: the pages still escape it.
    member = csp.member
    member.first_name, member.last_name = MARKUP, ATTRIBUTE_BREAKOUT
    member.save()

    html = page_of(admin_client, reverse("directory"), q="script")

    assert_shown_safely(html, MARKUP, ATTRIBUTE_BREAKOUT)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("admin:roles_roleassignment_add", {"user": "abc", "role": "1"}),
        (
            "admin:accounts_user_changelist",
            {"action": "deactivate_selected", "_selected_action": ["abc"], "index": 0},
        ),
        (
            "admin:roles_globaladmingrantrequest_changelist",
            {"action": "approve_selected", "_selected_action": ["x"], "post": "yes"},
        ),
    ],
)
def test_junk_in_the_support_admin_is_never_a_500(client, support, name, data):
    client.force_login(support)
    client.raise_request_exception = False

    response = client.post(reverse(name), data)

    assert response.status_code in {200, 302}
