"""Every page of PartnerHub passes axe-core's check (WCAG 2.1 A and AA, best practices), as the
person who sees it, in the states that change its markup: errors, empty results, disabled choices.

PAGES is the list to extend: one Visit per page and state. A visit names the person, the page
(a URL, or a function that drives the browser to the state) and what it is. The test signs each
person in once and walks their pages, checking each in light and dark (the system's colour
scheme) on a laptop's screen (1366 x 800) and a phone's (390 x 844); it fails with every
violation of every page, by page and mode.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from accounts.invitations import invitation_path
from accounts.models import User
from jobs.testing import run_ready_jobs
from mfa.models import AuthenticatorApp
from tests.browser.accessibility import Violation, describe
from tests.browser.conftest import (
    BROWSER_TEST,
    DEMO_PASSWORD,
    enter_code,
    open_account_menu,
    sign_in,
    sign_out,
)

pytestmark = BROWSER_TEST

Drive = Callable[[object, str], None]  # (page, the live server's URL): goes to the state


@dataclass(frozen=True)
class Person:
    """Who looks at the pages: a demo sign-in, or nobody (signed out)."""

    name: str
    email: str | None = None
    django_admin: bool = False  # signs in at the Django admin's own sign-in page
    temporary_password: bool = False  # signs in while they must choose a new password


@dataclass(frozen=True)
class Visit:
    """One page in one state, as one person sees it."""

    who: Person
    target: str | Drive  # a path ("/users/?q=smith") or a function that drives to the state
    description: str
    # Rules switched off for this page only, each with the reason in a comment where it is set.
    disabled_rules: tuple[str, ...] = ()


SIGNED_OUT = Person("signed out")
GLOBAL_ADMIN = Person("Global admin", "globaladmin@contoso.example")
USER_ADMIN = Person("User management admin", "useradmin@contoso.example")
ACCOUNT_ADMIN = Person("Account admin", "accountadmin@contoso.example")
MPN_ADMIN = Person("MPN Partner Admin", "mpnadmin@contoso.example")
BILLING_ADMIN = Person("Billing admin", "billing@contoso.example")
NEW_USER = Person(
    "a user with a temporary password", "zoe.muller@contoso.example", temporary_password=True
)
NON_CSP_ADMIN = Person("Global admin, non-CSP", "globaladmin@fabrikam.example")
SUPPORT = Person("support staff", "support@partnerhub.example", django_admin=True)

# The Django admin's pages are Django's templates, fixed by ours only narrowly (templates/admin/,
# static/css/admin.css). One rule is switched off there, for admin pages only: "label-title-only"
# (a best practice, not WCAG) wants visible text beside the list's search box, whose label is
# Django's magnifier icon with the text "Search" and the Search button beside it. Its name is
# right; a copy of Django's search form template to add text would drift from Django's.
DJANGO_ADMIN_RULES = ("label-title-only",)

# The API's documentation page is Swagger UI's markup, a developer's tool served from the
# drf-spectacular-sidecar package; its colours are fixed by ours (static/css/api-docs.css).
# Three rules are switched off there only, as their markup is Swagger UI's:
# "nested-interactive" (each operation's summary is a button holding the copy-path button),
# "heading-order" (its section headings skip a level) and "region" (it draws its title outside
# the main landmark it draws).
SWAGGER_UI_RULES = ("nested-interactive", "heading-order", "region")


def at(url_name: str, *, user: str | None = None, query: str = "") -> Drive:
    """Open the page of a URL name; `user` is the email of the user it is about."""

    def drive(page: object, base_url: str) -> None:
        args = [User.objects.get(email=user).public_id] if user else []
        page.goto(base_url + reverse(url_name, args=args) + (f"?{query}" if query else ""))

    return drive


def add_user_details(first: str, last: str, email: str, *, shows: str = "Step 2 of 3") -> Drive:
    """Add user, the details step sent with these details; the next page shows `shows`."""

    def drive(page: object, base_url: str) -> None:
        page.goto(base_url + reverse("add_user"))
        page.get_by_label("First name").fill(first)
        page.get_by_label("Last name").fill(last)
        page.get_by_label("Email").fill(email)
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_text(shows).first).to_be_visible()

    return drive


def add_user_review(first: str, last: str, email: str) -> Drive:
    """Add user, at the review, with these details and one role."""

    def drive(page: object, base_url: str) -> None:
        add_user_details(first, last, email)(page, base_url)
        page.get_by_label("MPN Partner Admin").check()
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_test_id("review-details")).to_be_visible()

    return drive


def add_user_choosing(sign_in_choice: str, first: str, last: str, email: str) -> Drive:
    """Add this user; where the review asks how they sign in first, choose sign_in_choice."""

    def drive(page: object, base_url: str) -> None:
        add_user_review(first, last, email)(page, base_url)
        choice = page.get_by_role("radio", name=re.compile(sign_in_choice, re.IGNORECASE))
        if choice.count():
            choice.check()
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.get_by_role("heading", name="Add user")).to_have_count(0)

    return drive


def add_user_password_reloaded(page: object, base_url: str) -> None:
    """Add a user with a temporary password, then reload the page that showed it."""
    dorothy = ("Dorothy", "Vaughan", "dorothy.vaughan@contoso.example")
    add_user_choosing("temporary password", *dorothy)(page, base_url)
    page.reload()
    expect(page.get_by_test_id("password-not-shown-again")).to_be_visible()


def sign_in_wrong_password(page: object, base_url: str) -> None:
    sign_in(page, base_url, "globaladmin@contoso.example", "not-the-password")


def sign_in_locked_out(page: object, base_url: str) -> None:
    for _ in range(5):  # AXES_FAILURE_LIMIT: the fifth failure locks the email
        sign_in(page, base_url, "someone.locked.out@contoso.example", "not-the-password")
    expect(page.get_by_test_id("lockout-message")).to_be_visible()


def signed_out(page: object, base_url: str) -> None:
    """Signed in, then out: the sign-in page says so."""
    sign_in(page, base_url, "billing@contoso.example")
    sign_out(page)
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def sign_in_deactivated(page: object, base_url: str) -> None:
    """A deactivated user types the right password: told so, and whom to ask."""
    from tests.factories import PASSWORD, UserFactory

    contoso = User.objects.get(email="globaladmin@contoso.example").organization
    gone = UserFactory(organization=contoso, is_active=False)
    sign_in(page, base_url, gone.email, PASSWORD)
    expect(page.get_by_text("Your account is deactivated")).to_be_visible()


def password_only(page: object, base_url: str, email: str) -> None:
    """Signed in with the password alone, in a browser that was signed out."""
    page.context.clear_cookies()
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def second_step(page: object, base_url: str) -> None:
    password_only(page, base_url, "mpnadmin@contoso.example")


def second_step_wrong_code(page: object, base_url: str) -> None:
    password_only(page, base_url, "mpnadmin@contoso.example")
    page.locator("input[name=code]").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("This code is not right")).to_be_visible()


def first_enrolment(page: object, base_url: str) -> None:
    AuthenticatorApp.objects.filter(user__email="kenji.tanaka@contoso.example").delete()
    password_only(page, base_url, "kenji.tanaka@contoso.example")
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()


def new_recovery_codes(page: object, base_url: str) -> None:
    page.goto(base_url + reverse("sign_in_methods"))
    page.get_by_role("button", name="Make new recovery codes").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()


def settings_menu_open(page: object, base_url: str) -> None:
    """The signed-in person's menu in the header, open."""
    page.goto(base_url + "/")
    open_account_menu(page)
    expect(page.get_by_role("link", name="My profile")).to_be_visible()


def admin_change_page(page: object, base_url: str) -> None:
    user = User.objects.get(email="john.smith@contoso.example")
    page.goto(f"{base_url}{reverse('admin:accounts_user_change', args=[user.pk])}")


def invitation_link(page: object, base_url: str) -> None:
    """An invited user opens their link: the page to choose a password."""
    user = User.objects.get(email="john.smith@contoso.example")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    page.goto(base_url + invitation_path(user))
    expect(page.get_by_role("button", name=re.compile("password", re.IGNORECASE))).to_be_visible()


def reset_link(page: object, base_url: str) -> None:
    """A user opens the link "Forgot password?" emailed: the page to choose a new password."""
    user = User.objects.get(email="jon.smith@contoso.example")
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    page.goto(base_url + reverse("password_reset_confirm", args=[uidb64, token]))
    expect(page.get_by_role("button", name=re.compile("password", re.IGNORECASE))).to_be_visible()


IMPORT_FILE = (
    "First name,Last name,Email,Roles\n"
    "Ada,Lovelace,ada.lovelace@contoso.example,Referrals admin\n"
    "Eve,,not-an-email,Chief of everything\n"
    # A Cyrillic o in the domain: listed as a possible duplicate of the demo Global admin.
    "Gloria,Admin,globaladmin@c\u043entoso.example,\n"
)


def import_checking(page: object, base_url: str) -> None:
    """Add users from CSV: a file sent, waiting for a worker to check it (the progress page)."""
    page.goto(base_url + reverse("import_users"))
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": IMPORT_FILE.encode()}]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_test_id("import-progress")).to_contain_text("Checking: counting the rows.")


def import_checked(page: object, base_url: str) -> None:
    """Add users from CSV: a file with good rows, a bad one and a look-alike email, checked
    by a worker while the progress page waits; its script loads the check when it is done."""
    import_checking(page, base_url)
    run_ready_jobs()
    expect(page.get_by_role("heading", name="Check of people.csv")).to_be_visible()
    expect(page.get_by_test_id("lookalike-rows")).to_contain_text("globaladmin@contoso.example")


def import_done(page: object, base_url: str) -> None:
    """Add users from CSV: the checked file added, the outcome shown."""
    import_checked(page, base_url)
    page.get_by_role("button", name=re.compile(r"^Add 2 ")).click()
    run_ready_jobs()
    expect(page.get_by_role("heading", name="Users added from people.csv")).to_be_visible()


def audit_log_exported(page: object, base_url: str) -> None:
    """The audit log with an export asked for and written: its link listed."""
    page.goto(base_url + reverse("audit_log"))
    page.get_by_role("button", name="Export to CSV").click()
    run_ready_jobs()
    page.get_by_role("link", name="Refresh").click()
    expect(
        page.get_by_test_id("exports").get_by_role("link", name=re.compile(r"\.csv$"))
    ).to_be_visible()


def bulk_actions_ticked(page: object, base_url: str) -> None:
    """The directory with two users ticked: the bulk actions unfolded and joined to the bar."""
    page.goto(base_url + reverse("directory"))
    boxes = page.locator("[data-bulk-user]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(page.get_by_label("Action for the selected users")).to_be_visible()


def bulk_result(page: object, base_url: str) -> None:
    """A bulk action applied (everyone deactivated reactivated): what happened to each."""
    page.goto(base_url + reverse("bulk_confirm") + BULK_REACTIVATE)
    page.get_by_test_id("bulk-apply").click()
    expect(page.get_by_test_id("bulk-result")).to_be_visible()


def side_panel(email: str) -> Drive:
    """User management, searching for the user by email, their page open in the side panel."""

    def drive(page: object, base_url: str) -> None:
        user = User.objects.get(email=email)
        page.goto(base_url + reverse("directory") + f"?q={email}")
        page.get_by_role("link", name=user.get_full_name(), exact=True).click()
        expect(page.get_by_role("dialog", name=user.get_full_name())).to_be_visible()
        expect(page.get_by_test_id("user-panel-title")).to_be_focused()

    return drive


BULK_REACTIVATE = "?action=reactivate&scope=matching&status=deactivated"
BULK_DEACTIVATE = "?action=deactivate&scope=matching&status=active"


def api_client_created(page: object, base_url: str) -> None:
    page.goto(base_url + "/settings/api-clients/")
    page.get_by_label("Name").fill("Entra ID provisioning")
    page.get_by_label("User management admin").check()
    page.get_by_role("button", name="Create client").click()
    expect(page.get_by_test_id("api-client-token")).to_be_visible()


def api_client_to_correct(page: object, base_url: str) -> None:
    page.goto(base_url + "/settings/api-clients/")
    page.get_by_role("button", name="Create client").click()
    expect(page.get_by_text("This field is required.").first).to_be_visible()


NOWHERE = f"/users/{uuid.UUID(int=0)}/"

PAGES: list[Visit] = [
    Visit(SIGNED_OUT, "/accounts/login/", "Sign in"),
    Visit(SIGNED_OUT, sign_in_wrong_password, "Sign in, with an error"),
    Visit(SIGNED_OUT, sign_in_locked_out, "Sign in, locked out"),
    Visit(SIGNED_OUT, signed_out, "Sign in, after signing out"),
    Visit(SIGNED_OUT, sign_in_deactivated, "Sign in, a deactivated account"),
    Visit(SIGNED_OUT, "/accounts/password-reset/", "Forgot password"),
    Visit(SIGNED_OUT, "/accounts/password-reset/sent/", "Forgot password: the link is sent"),
    Visit(SIGNED_OUT, reset_link, "Forgot password: choose a new password"),
    Visit(SIGNED_OUT, "/accounts/reset/done/", "Forgot password: done"),
    Visit(SIGNED_OUT, invitation_link, "Invitation: choose a password"),
    Visit(SIGNED_OUT, "/invitation/MQ/not-a-token/", "Invitation: a link that does not work"),
    Visit(SIGNED_OUT, second_step, "Second step of sign-in"),
    Visit(SIGNED_OUT, second_step_wrong_code, "Second step of sign-in, a wrong code"),
    Visit(SIGNED_OUT, first_enrolment, "Set up an authenticator app, at first sign-in"),
    Visit(GLOBAL_ADMIN, "/", "Home"),
    Visit(GLOBAL_ADMIN, settings_menu_open, "Home, the Settings menu open"),
    Visit(GLOBAL_ADMIN, "/users/", "User management"),
    Visit(GLOBAL_ADMIN, "/users/?q=smith", "User management, searching"),
    Visit(GLOBAL_ADMIN, "/users/?q=nobody-matches", "User management, no results"),
    Visit(
        GLOBAL_ADMIN,
        "/users/?role=sales_agent&status=active&last_sign_in=never&per_page=50",
        "User management, filtered",
    ),
    Visit(GLOBAL_ADMIN, "/users/?status=pending", "User management, pending invitations"),
    Visit(GLOBAL_ADMIN, "/users/?role=superuser&status=all", "User management, filters to correct"),
    Visit(GLOBAL_ADMIN, "/users/roles/", "Roles"),
    Visit(GLOBAL_ADMIN, "/users/import/", "Add users from CSV"),
    Visit(GLOBAL_ADMIN, import_checking, "Add users from CSV: the check's progress"),
    Visit(GLOBAL_ADMIN, import_checked, "Add users from CSV: the check"),
    Visit(GLOBAL_ADMIN, import_done, "Add users from CSV: the outcome"),
    Visit(GLOBAL_ADMIN, "/users/add/", "Add user: details"),
    Visit(
        GLOBAL_ADMIN,
        add_user_details(" ", "Bowen", "globaladmin@contoso.example", shows="already exists"),
        "Add user: details with errors",
    ),
    Visit(
        GLOBAL_ADMIN,
        add_user_details("Jon", "Smith", "jon.smith.2@contoso.example", shows="add anyway"),
        "Add user: possible duplicates",
    ),
    Visit(
        GLOBAL_ADMIN,
        add_user_details("Katherine", "Johnson", "katherine.johnson@contoso.example"),
        "Add user: roles",
    ),
    Visit(
        GLOBAL_ADMIN,
        add_user_review("Katherine", "Johnson", "katherine.johnson@contoso.example"),
        "Add user: review",
    ),
    Visit(
        GLOBAL_ADMIN,
        add_user_choosing(
            "temporary password", "Katherine", "Johnson", "katherine.johnson@contoso.example"
        ),
        "Add user: the temporary password",
    ),
    Visit(
        GLOBAL_ADMIN,
        add_user_choosing("invitation", "Grace", "Hopper", "grace.hopper@contoso.example"),
        "Add user: user added, invitation sent",
    ),
    Visit(GLOBAL_ADMIN, add_user_password_reloaded, "Add user: the temporary password reloaded"),
    Visit(
        GLOBAL_ADMIN,
        at("user_detail", user="grace.hopper@contoso.example"),
        "A user's page, invitation pending",
    ),
    Visit(
        GLOBAL_ADMIN,
        at("reset_password", user="grace.hopper@contoso.example"),
        "Reset password: asks first, an invitation in flight",
    ),
    Visit(GLOBAL_ADMIN, at("deactivate_user", user="john.smith@contoso.example"), "Deactivate"),
    Visit(GLOBAL_ADMIN, at("user_detail", user="john.smith@contoso.example"), "A user's page"),
    Visit(GLOBAL_ADMIN, side_panel("john.smith@contoso.example"), "A user in the side panel"),
    Visit(
        GLOBAL_ADMIN,
        side_panel("globaladmin@contoso.example"),
        "The last Global admin in the side panel (actions disabled, with the reason)",
    ),
    Visit(
        GLOBAL_ADMIN,
        at("user_detail", user="globaladmin@contoso.example"),
        "The last Global admin's page (actions disabled, with the reason)",
    ),
    Visit(GLOBAL_ADMIN, at("edit_user", user="john.smith@contoso.example"), "Edit details"),
    Visit(GLOBAL_ADMIN, at("edit_roles", user="john.smith@contoso.example"), "Edit roles"),
    Visit(GLOBAL_ADMIN, at("delete_user", user="john.smith@contoso.example"), "Delete user"),
    Visit(GLOBAL_ADMIN, at("confirm_password", query="next=/users/"), "Confirm your password"),
    Visit(GLOBAL_ADMIN, "/audit-log/", "Audit log"),
    Visit(GLOBAL_ADMIN, "/settings/api-clients/", "API clients"),
    Visit(GLOBAL_ADMIN, api_client_to_correct, "API clients: a form to correct"),
    Visit(GLOBAL_ADMIN, api_client_created, "API clients: a token shown once"),
    Visit(SIGNED_OUT, "/api/v1/docs/", "API documentation (Swagger UI)", SWAGGER_UI_RULES),
    Visit(
        GLOBAL_ADMIN,
        "/audit-log/?person=john.smith%40contoso.example&action=user.created",
        "Audit log, filtered",
    ),
    Visit(GLOBAL_ADMIN, audit_log_exported, "Audit log, an export written"),
    Visit(GLOBAL_ADMIN, "/audit-log/?date_from=2026-02-31", "Audit log, a filter to correct"),
    Visit(GLOBAL_ADMIN, "/profile/", "My profile"),
    Visit(GLOBAL_ADMIN, "/profile/password/", "Change password"),
    Visit(GLOBAL_ADMIN, "/profile/sign-in-methods/", "Sign-in methods"),
    Visit(GLOBAL_ADMIN, "/profile/sign-in-methods/passkey/", "Add a passkey"),
    Visit(GLOBAL_ADMIN, "/accounts/second-factor/authenticator-app/", "Add an authenticator app"),
    Visit(GLOBAL_ADMIN, new_recovery_codes, "New recovery codes"),
    Visit(
        GLOBAL_ADMIN,
        at("reset_second_factor", user="john.smith@contoso.example"),
        "Reset second factor",
    ),
    Visit(GLOBAL_ADMIN, "/membership/", "Membership"),
    Visit(GLOBAL_ADMIN, "/workspaces/billing/", "A workspace without a page of its own"),
    Visit(GLOBAL_ADMIN, NOWHERE, "Page not found (404)"),
    Visit(USER_ADMIN, "/", "Home"),
    Visit(
        USER_ADMIN,
        add_user_details(
            "Ada", "Lovelace", "ada.lovelace@contoso.example", shows="Only a Global admin can"
        ),
        "Add user: roles, Global admin disabled",
    ),
    Visit(USER_ADMIN, "/audit-log/", "Audit log, user-management events"),
    Visit(USER_ADMIN, "/users/bulk/" + BULK_DEACTIVATE, "Bulk action: confirm, some skipped"),
    Visit(USER_ADMIN, "/users/bulk/?action=assign_role&scope=picked", "Bulk action: to correct"),
    Visit(USER_ADMIN, "/users/bulk/?action=reactivate&scope=matching&status=active", "Bulk: no-op"),
    Visit(USER_ADMIN, bulk_actions_ticked, "User management: two users ticked, bulk actions"),
    Visit(USER_ADMIN, bulk_result, "Bulk action: the result"),
    Visit(
        USER_ADMIN,
        at("user_detail", user="globaladmin@contoso.example"),
        "A Global admin's page: why nothing can be done",
    ),
    Visit(
        ACCOUNT_ADMIN,
        at("edit_roles", user="chidi.okonkwo@contoso.example"),
        "Edit roles, directory roles disabled",
    ),
    Visit(MPN_ADMIN, "/", "Home"),
    Visit(MPN_ADMIN, "/users/", "User management, read only"),
    Visit(MPN_ADMIN, "/users/roles/", "Roles, read only"),
    Visit(
        MPN_ADMIN,
        at("user_detail", user="john.smith@contoso.example"),
        "A user's page, read only",
    ),
    Visit(MPN_ADMIN, "/membership/", "Membership, Purchase MAPS"),
    Visit(MPN_ADMIN, "/users/add/", "Not allowed (403)"),
    Visit(BILLING_ADMIN, "/", "Home"),
    Visit(BILLING_ADMIN, "/users/", "Not allowed (403), no user management"),
    Visit(BILLING_ADMIN, "/workspaces/referrals/", "A workspace their roles do not open"),
    Visit(NEW_USER, "/profile/password/", "Change password, forced at first sign-in"),
    Visit(NON_CSP_ADMIN, "/", "Home, non-CSP organization"),
    Visit(NON_CSP_ADMIN, at("edit_roles", user="ingrid.solberg@fabrikam.example"), "Edit roles"),
    Visit(SUPPORT, "/", "Home of support staff"),
    Visit(SUPPORT, "/admin/", "Django admin: index", DJANGO_ADMIN_RULES),
    Visit(SUPPORT, "/admin/accounts/user/", "Django admin: users", DJANGO_ADMIN_RULES),
    Visit(SUPPORT, "/admin/api/apiclient/", "Django admin: API clients", DJANGO_ADMIN_RULES),
    Visit(SUPPORT, admin_change_page, "Django admin: change a user", DJANGO_ADMIN_RULES),
    Visit(
        SUPPORT,
        "/admin/accounts/user/?partner_id=1234567",
        "Django admin: users of one organization",
        DJANGO_ADMIN_RULES,
    ),
    Visit(SUPPORT, "/admin/accounts/auditevent/", "Django admin: audit events", DJANGO_ADMIN_RULES),
    Visit(
        SUPPORT,
        "/admin/accounts/partnerorganization/",
        "Django admin: organizations",
        DJANGO_ADMIN_RULES,
    ),
]

PEOPLE = list(dict.fromkeys(visit.who for visit in PAGES))


def sign_in_as(page: object, base_url: str, person: Person) -> None:
    if person.email is None:
        return
    if person.temporary_password:
        User.objects.filter(email=person.email).update(must_change_password=True)
    if person.django_admin:
        page.goto(f"{base_url}/admin/login/")
        page.locator("#id_username").fill(person.email)
        page.locator("#id_password").fill(DEMO_PASSWORD)
        page.locator("input[type=submit]").click()
        enter_code(page, person.email)
        expect(page.locator("#site-name")).to_be_visible()
    else:
        sign_in(page, base_url, person.email)
        expect(page.get_by_test_id("signed-in-as")).to_be_visible()


# Each page is checked in four modes: light and dark (the system setting, which the pages'
# dark mode follows: Playwright's color_scheme), on a laptop's screen and on a phone's. The
# order goes from one mode to the next with one change each.
MODES = (
    ("light", "1366x800"),
    ("light", "390x844"),
    ("dark", "390x844"),
    ("dark", "1366x800"),
)
SCREENS = {"1366x800": {"width": 1366, "height": 800}, "390x844": {"width": 390, "height": 844}}

# The theme the page shows: Bootstrap's data-bs-theme on <html>, when the page sets one.
THEME = "() => document.documentElement.getAttribute('data-bs-theme')"


def at_rest(page: object) -> None:
    """Wait until no animation runs: a colour caught halfway through a transition (a button's
    hover after a click, a menu collapsing as the screen narrows) is neither colour."""
    page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")


def in_mode(page: object, scheme: str, screen: str) -> None:
    """The page as it is now, on this screen, with the system set to this colour scheme."""
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size(SCREENS[screen])
    at_rest(page)
    # The system's change reaches the page's listener as an event: give it a moment to land
    # (on a timeout the assertion below says what the page shows).
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(
            "(scheme) => [null, scheme].includes("
            "document.documentElement.getAttribute('data-bs-theme'))",
            arg=scheme,
            timeout=2_000,
        )
    at_rest(page)
    theme = page.evaluate(THEME)
    # A page that sets a theme follows the system's setting as it changes, as the pages'
    # dark mode does (the people in the demo keep the default: follow the system).
    assert theme in (None, scheme), (
        f"{page.url}: data-bs-theme is {theme!r} with the system set to {scheme}: the page "
        "must follow matchMedia('(prefers-color-scheme: dark)') and its changes"
    )


@pytest.mark.parametrize("person", PEOPLE, ids=lambda person: person.name)
def test_every_page_passes_the_accessibility_check(axe, page, demo, person):
    # Signed in once; each page is brought to its state once (at light, 1366 x 800), then
    # checked in each mode in place: the colour scheme and the viewport are emulated exactly
    # as a new context would start with them, and the page follows the change as it follows
    # a person switching their system to dark or turning their phone.
    sign_in_as(page, demo, person)
    problems: dict[str, list[Violation]] = {}
    for visit in (visit for visit in PAGES if visit.who == person):
        page.emulate_media(color_scheme="light")
        page.set_viewport_size(SCREENS["1366x800"])
        if callable(visit.target):
            visit.target(page, demo)
        else:
            page.goto(demo + visit.target)
        page.wait_for_load_state()
        for scheme, screen in MODES:
            in_mode(page, scheme, screen)
            found = axe.violations(page, disabled_rules=visit.disabled_rules)
            if found:
                where = f"{visit.description}, {scheme}, {screen}"
                problems[f"{where} ({page.url.removeprefix(demo)})"] = found
    assert not problems, f"Accessibility violations seen by {person.name}:\n{describe(problems)}"
