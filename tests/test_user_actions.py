"""The actions of the user page (accounts.views.user): edit details, reset password,
deactivate, reactivate and delete. Who may is the rulebook's; these tests hold the pages to it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import AuditAction, AuditEvent, AuditOutcome, User
from accounts.views.user import REPLACES, password_version
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.conftest import Cast
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

GA_ONLY = ["Global admin"]
GA_OR_UMA = ["Global admin", "User management admin"]


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def url(name: str, user: User) -> str:
    return reverse(name, args=[user.public_id])


def reset_form(user: User) -> dict[str, str]:
    """The Reset password form of the user's page: it names the password it replaces."""
    # As the page shows it now (a user that no longer exists: as last seen).
    return {REPLACES: password_version(User.objects.filter(pk=user.pk).first() or user)}


def messages_of(response: HttpResponse) -> list[str]:
    """The messages' text; names and emails in them are isolated (<bdi>), tags left out here."""
    return [re.sub(r"</?bdi>", "", str(message)) for message in get_messages(response.wsgi_request)]


def database_state() -> dict[str, list]:
    """Everything these pages may change, to compare before and after a refused request."""
    return {
        "users": list(
            User.objects.order_by("pk").values(
                "pk", "email", "first_name", "last_name", "is_active", "password"
            )
        ),
        "roles": list(RoleAssignment.objects.order_by("pk").values_list("user_id", "role_id")),
        # Changes only: a refusal is recorded as a refused attempt (tests/test_refusals.py).
        "audit": list(
            AuditEvent.objects.exclude(outcome=AuditOutcome.REFUSED)
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
    }


def deactivated(user: User) -> User:
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.refresh_from_db()
    return user


# Who may use which page: (url name, method, target prepared from the cast, what it may do).


@dataclass(frozen=True)
class Page:
    name: str
    method: str
    target: Callable[[Cast], User]
    allowed: tuple[str, ...]  # the cast's actors who may
    needs: list[str]  # the role names the 403 page says it needs
    success: int  # the status of an allowed request


def a_member(cast: Cast) -> User:
    # Not one of the cast, who act: a deactivated actor would be signed out.
    return UserFactory(organization=cast.organization, roles=[RoleKey.REFERRALS_ADMIN])


def a_deactivated_member(cast: Cast) -> User:
    return deactivated(a_member(cast))


PAGES = [
    Page("edit_user", "get", a_member, ("global_admin", "user_admin"), GA_OR_UMA, 200),
    Page("edit_user", "post", a_member, ("global_admin", "user_admin"), GA_OR_UMA, 302),
    Page("reset_password", "post", a_member, ("global_admin",), GA_ONLY, 200),
    Page("deactivate_user", "post", a_member, ("global_admin", "user_admin"), GA_OR_UMA, 302),
    Page(
        "reactivate_user",
        "post",
        a_deactivated_member,
        ("global_admin", "user_admin"),
        GA_OR_UMA,
        302,
    ),
    Page("delete_user", "get", a_member, ("global_admin", "user_admin"), GA_OR_UMA, 200),
    Page("delete_user", "post", a_member, ("global_admin", "user_admin"), GA_OR_UMA, 302),
]
ACTORS = ["global_admin", "user_admin", "account_admin", "mpn_admin", "billing_admin", "member"]
SEES_DIRECTORY = {"global_admin", "user_admin", "account_admin", "mpn_admin"}
SEE_DIRECTORY_ROLES = [
    "Global admin",
    "User management admin",
    "Account admin",
    "MPN Partner Admin",
]


def page_id(page: Page) -> str:
    return f"{page.method.upper()} {page.name}"


def request(client: Client, page: Page, target: User) -> HttpResponse:
    data = {"first_name": "Ann", "last_name": "Lee", "email": "ann.lee@example.com"}
    if page.name == "reset_password":
        data = reset_form(target)
    if page.method == "get":
        return client.get(url(page.name, target))
    return client.post(url(page.name, target), data)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
@pytest.mark.parametrize("actor", ACTORS)
def test_who_may_use_each_page(client, csp, page, actor):
    target = page.target(csp)

    response = request(signed_in(client, getattr(csp, actor)), page, target)

    if actor in page.allowed:
        assert response.status_code == page.success
        return
    assert response.status_code == 403
    # The 403 page says which roles may: those of the action, or of the directory itself.
    expected = page.needs if actor in SEES_DIRECTORY else SEE_DIRECTORY_ROLES
    assert response.context["role_names"] == expected
    assert "It needs one of these roles" in response.content.decode()


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_a_user_management_admin_may_not_act_on_a_global_admin(client, csp, page):
    target = csp.second_global_admin
    if page.name == "reactivate_user":
        target = deactivated(target)
    before = database_state()

    response = request(signed_in(client, csp.user_admin), page, target)

    assert response.status_code == 403
    expected = "Only a Global admin can change a user who holds Global admin."
    if page.name == "reset_password":
        expected = "Only a Global admin can reset passwords."
    assert response.context["reason"] == expected
    assert database_state() == before


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_another_organizations_user_answers_404(client, csp, outsider, page):
    target = page.target(csp)
    before = database_state()

    response = request(signed_in(client, outsider), page, target)

    assert response.status_code == 404
    assert database_state() == before


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_a_user_that_does_not_exist_answers_404(client, csp, page):
    missing = User(public_id=uuid.uuid4())

    assert request(signed_in(client, csp.global_admin), page, missing).status_code == 404


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_it_needs_sign_in(client, csp, page):
    target = page.target(csp)
    before = database_state()

    response = request(client, page, target)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert database_state() == before


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_support_staff_are_refused(client, csp, support, page):
    assert request(signed_in(client, support), page, page.target(csp)).status_code == 403


def test_reactivate_rejects_get(client, csp):
    target = deactivated(csp.member)
    before = database_state()

    response = signed_in(client, csp.global_admin).get(url("reactivate_user", target))

    assert response.status_code == 405
    assert database_state() == before


@pytest.mark.parametrize("name", ["reset_password", "deactivate_user"])
def test_a_get_asks_to_confirm_and_changes_nothing(client, csp, name):
    before = database_state()

    page = signed_in(client, csp.global_admin).get(url(name, csp.member)).content.decode()

    assert '<form method="post">' in page
    assert url("user_detail", csp.member) in page  # Cancel
    assert database_state() == before


@pytest.mark.parametrize("name", ["reset_password", "deactivate_user", "reactivate_user"])
def test_a_get_without_sign_in_is_sent_to_sign_in(client, csp, name):
    response = client.get(url(name, csp.member))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Edit details


def details(first_name: str = "Ann", last_name: str = "Lee", email: str = "ann@example.com"):
    return {"first_name": first_name, "last_name": last_name, "email": email}


def test_edit_details_shows_the_current_details(client, csp):
    response = signed_in(client, csp.user_admin).get(url("edit_user", csp.member))

    html = response.content.decode()
    assert f'value="{csp.member.first_name}"' in html
    assert f'value="{csp.member.email}"' in html
    for label in ("First name", "Last name", "Email", "Save"):
        assert label in html


def test_edit_details_saves_and_records(client, csp):
    response = signed_in(client, csp.user_admin).post(
        url("edit_user", csp.member), details(email="  Ann.Lee@Example.COM ")
    )

    assert response.status_code == 302
    assert response["Location"] == url("user_detail", csp.member)
    member = User.objects.get(pk=csp.member.pk)
    assert (member.first_name, member.last_name, member.email) == (
        "Ann",
        "Lee",
        "ann.lee@example.com",
    )
    event = AuditEvent.objects.get(action=AuditAction.USER_EDITED)
    assert event.actor == csp.user_admin
    assert event.after["first_name"] == "Ann"
    assert messages_of(response) == ["Ann's details are saved."]


def test_a_global_admin_edits_another_global_admin(client, csp):
    response = signed_in(client, csp.global_admin).post(
        url("edit_user", csp.second_global_admin), details()
    )

    assert response.status_code == 302
    assert User.objects.get(pk=csp.second_global_admin.pk).first_name == "Ann"


def test_anyone_who_may_edit_may_edit_their_own_details(client, csp):
    response = signed_in(client, csp.user_admin).post(url("edit_user", csp.user_admin), details())

    assert response.status_code == 302
    assert User.objects.get(pk=csp.user_admin.pk).first_name == "Ann"


BAD_DETAILS = [
    ("first_name", "", "This field is required."),
    ("first_name", "A" * 151, "at most 150 characters"),
    ("last_name", "L" * 151, "at most 150 characters"),
    ("email", "not-an-email", "Enter an email address, such as name@example.com."),
    ("email", "a" * 64 + "@" + "x" * 60 + ".example" * 18, "at most 254 characters"),
    ("first_name", "Ann\x00", "control characters"),
    ("last_name", "Lee\x07Smith", "control characters"),
    ("first_name", "Ann\nMarie", "control characters"),
    ("last_name", "Lee\u202eevil", "control characters"),  # a direction override
    ("email", "ann\x00@example.com", "control characters"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_DETAILS)
def test_bad_details_keep_the_input_and_write_nothing(client, csp, field, value, message):
    data = {**details(first_name="Annabel"), field: value}
    before = database_state()

    response = signed_in(client, csp.global_admin).post(url("edit_user", csp.member), data)

    assert response.status_code == 200
    form = response.context["form"]
    assert any(message in error for error in form.errors[field])
    assert len(form.errors[field]) == 1  # one clear message, not two
    assert form[field].value() == value or form[field].value() == value.strip()
    assert form["first_name"].value() == data["first_name"]
    assert database_state() == before


def test_an_email_in_use_is_refused_on_the_email_field(client, csp, outsider):
    # Emails are unique across the whole product, ignoring case (rule 8).
    before = database_state()

    response = signed_in(client, csp.global_admin).post(
        url("edit_user", csp.member), details(email=outsider.email.upper())
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["A user with this email already exists."]}
    assert response.context["form"]["email"].value() == outsider.email.upper()
    assert database_state() == before


def test_the_users_own_email_in_another_case_is_fine(client, csp):
    response = signed_in(client, csp.global_admin).post(
        url("edit_user", csp.member), details(email=csp.member.email.upper())
    )

    assert response.status_code == 302


def test_hostile_text_is_stored_as_typed_and_shown_escaped(client, csp):
    hostile = {
        "first_name": "<script>alert('x')</script>",
        "last_name": 'Smith" onmouseover="x \u200fevil\u200f',
        "email": "hostile@example.com",
    }

    signed_in(client, csp.global_admin).post(url("edit_user", csp.member), hostile)
    html = client.get(url("user_detail", csp.member)).content.decode()

    member = User.objects.get(pk=csp.member.pk)
    assert (member.first_name, member.last_name) == (hostile["first_name"], hostile["last_name"])
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert 'Smith" onmouseover' not in html
    assert "Smith&quot; onmouseover=&quot;x \u200fevil\u200f" in html
    edit_page = client.get(url("edit_user", csp.member)).content.decode()
    assert "<script>alert" not in edit_page


def test_a_refusal_meanwhile_is_shown_on_the_form(client, csp, monkeypatch):
    # Allowed when the form was shown; the User management admin lost the role meanwhile.
    real = services.update_user_details

    def demoted_meanwhile(actor: User, *args: object, **kwargs: object) -> User:
        RoleAssignment.objects.filter(user=actor).delete()
        return real(actor, *args, **kwargs)

    monkeypatch.setattr(services, "update_user_details", demoted_meanwhile)

    response = signed_in(client, csp.user_admin).post(url("edit_user", csp.member), details())

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Only a Global admin or User management admin can edit a user's name or email."
    ]
    assert User.objects.get(pk=csp.member.pk).first_name != "Ann"
    assert AuditEvent.objects.get().outcome == AuditOutcome.REFUSED


# Reset password


def test_reset_password_shows_the_new_password_once(client, csp):
    signed_in(client, csp.global_admin)

    response = client.post(url("reset_password", csp.member), reset_form(csp.member))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    password = response.context["password"]
    assert response.context["new_user"] is False
    member = User.objects.get(pk=csp.member.pk)
    assert member.check_password(password)
    assert not member.check_password(PASSWORD)
    assert member.must_change_password
    assert AuditEvent.objects.get().action == AuditAction.PASSWORD_RESET
    # Kept nowhere: not in the session store, a cookie or the address.
    assert password not in str(dict(client.session.items()))
    assert not any(password in morsel.value for morsel in client.cookies.values())


def test_reloading_the_shown_password_resets_nothing_and_shows_nothing(client, csp):
    # Reloading the page sends the same form again: the password it named is gone.
    signed_in(client, csp.global_admin)
    page = client.get(url("reset_password", csp.member)).content.decode()
    form = dict(re.findall(r'<input type="hidden" name="(replaces)" value="([^"]+)">', page))
    assert form == reset_form(csp.member)  # the page's form names the password it replaces
    password = client.post(url("reset_password", csp.member), form).context["password"]

    again = client.post(url("reset_password", csp.member), form)

    assert again.status_code == 302
    assert again["Location"] == url("user_detail", csp.member)
    assert User.objects.get(pk=csp.member.pk).check_password(password)
    assert AuditEvent.objects.filter(action=AuditAction.PASSWORD_RESET).count() == 1
    page = client.get(again["Location"]).content.decode()
    assert "Nothing was reset" in page
    assert password not in page


def test_a_reset_form_without_the_password_it_replaces_resets_nothing(client, csp):
    signed_in(client, csp.global_admin)
    before = database_state()

    response = client.post(url("reset_password", csp.member))

    assert response.status_code == 302
    assert database_state() == before


def test_a_global_admin_resets_another_global_admins_password(client, csp):
    response = signed_in(client, csp.global_admin).post(
        url("reset_password", csp.second_global_admin), reset_form(csp.second_global_admin)
    )

    assert response.status_code == 200


def test_nobody_resets_their_own_password_here(client, csp):
    before = database_state()

    response = signed_in(client, csp.global_admin).post(url("reset_password", csp.global_admin))

    assert response.status_code == 403
    assert response.context["reason"] == "Change your own password from My profile."
    assert database_state() == before


# Deactivate and reactivate


def test_deactivate_stops_the_user(client, csp):
    response = signed_in(client, csp.user_admin).post(url("deactivate_user", csp.member))

    assert response.status_code == 302
    assert response["Location"] == url("user_detail", csp.member)
    assert not User.objects.get(pk=csp.member.pk).is_active
    assert messages_of(response) == [
        f"{csp.member.get_full_name()} is deactivated and can no longer sign in."
    ]
    assert AuditEvent.objects.get().action == AuditAction.USER_DEACTIVATED


def test_reactivate_lets_the_user_back(client, csp):
    target = deactivated(csp.member)

    response = signed_in(client, csp.global_admin).post(url("reactivate_user", target))

    assert response.status_code == 302
    assert User.objects.get(pk=target.pk).is_active
    assert messages_of(response) == [f"{target.get_full_name()} is active again and can sign in."]


def test_deactivating_a_deactivated_user_or_reactivating_an_active_one_is_refused(client, csp):
    signed_in(client, csp.global_admin)

    assert client.post(url("reactivate_user", csp.member)).status_code == 403
    assert client.post(url("deactivate_user", deactivated(csp.member))).status_code == 403


@pytest.mark.parametrize("name", ["deactivate_user", "delete_user"])
def test_nobody_deactivates_or_deletes_themselves(client, csp, name):
    before = database_state()

    response = signed_in(client, csp.global_admin).post(url(name, csp.global_admin))

    assert response.status_code == 403
    assert response.context["reason"] == "You cannot deactivate or delete your own account."
    assert database_state() == before


@pytest.mark.parametrize("name", ["deactivate_user", "delete_user"])
@pytest.mark.parametrize("actor", ["self", "user_admin"])
def test_the_last_global_admin_cannot_be_deactivated_or_deleted(client, csp, name, actor):
    deactivated(csp.second_global_admin)
    last = csp.global_admin
    before = database_state()

    response = signed_in(client, last if actor == "self" else csp.user_admin).post(url(name, last))

    assert response.status_code == 403
    assert database_state() == before
    assert User.objects.get(pk=last.pk).is_active


def test_a_refusal_meanwhile_is_explained_on_the_user_page(client, csp, monkeypatch):
    # Allowed when the page was shown; another admin deactivated the user meanwhile.
    real = services.deactivate_user

    def deactivated_meanwhile(actor: User, target: User, **kwargs: object) -> User:
        User.objects.filter(pk=target.pk).update(is_active=False)
        return real(actor, target, **kwargs)

    monkeypatch.setattr(services, "deactivate_user", deactivated_meanwhile)

    response = signed_in(client, csp.global_admin).post(url("deactivate_user", csp.member))

    assert response.status_code == 302
    assert response["Location"] == url("user_detail", csp.member)
    assert messages_of(response) == ["This user is already deactivated."]
    refusal = AuditEvent.objects.get()
    assert (refusal.outcome, refusal.reason) == (
        AuditOutcome.REFUSED,
        "This user is already deactivated.",
    )


# Delete


def test_delete_asks_to_confirm(client, csp):
    response = signed_in(client, csp.user_admin).get(url("delete_user", csp.member))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Delete user" in html
    assert csp.member.get_full_name() in html
    assert "cannot be undone" in html
    assert '<button type="submit" class="btn btn-danger">Delete</button>' in html
    assert f'href="{url("user_detail", csp.member)}">Cancel</a>' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert User.objects.filter(pk=csp.member.pk).exists()


def test_delete_removes_the_user_and_goes_to_the_directory(client, csp):
    response = signed_in(client, csp.user_admin).post(url("delete_user", csp.member))

    assert response.status_code == 302
    assert response["Location"] == reverse("directory")
    assert not User.objects.filter(pk=csp.member.pk).exists()
    assert messages_of(response) == [
        f"{csp.member.get_full_name()} ({csp.member.email}) is deleted."
    ]
    event = AuditEvent.objects.get()
    assert (event.action, event.target_label) == (AuditAction.USER_DELETED, str(csp.member))


def test_a_user_deleted_meanwhile_is_explained_in_the_directory(client, csp, monkeypatch):
    real = services.delete_user

    def deleted_meanwhile(actor: User, target: User, **kwargs: object) -> None:
        User.objects.filter(pk=target.pk).delete()
        return real(actor, target, **kwargs)

    monkeypatch.setattr(services, "delete_user", deleted_meanwhile)

    response = signed_in(client, csp.global_admin).post(url("delete_user", csp.member))

    assert response.status_code == 302
    assert response["Location"] == reverse("directory")
    assert messages_of(response) == ["This user no longer exists."]
