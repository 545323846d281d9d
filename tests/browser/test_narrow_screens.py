"""On a phone's screen (390 x 844): no page is wider than the screen, signed out or signed in as
a Global admin, with names and emails as long as they come (one word of 132 letters, an email of
115), in every state a person meets (errors, empty lists, each step of Add user and of the CSV
import). Right-to-left names keep the text beside them in its order.

The pages come from the permission table (tests/test_permission_table.py): every GET row a
Global admin or a signed-out visitor gets a page from is walked here, so a new page in the table
fails this test until it is walked too.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from accounts.audit import NOWHERE
from accounts.invitations import invitation_path
from accounts.models import PartnerOrganization, User
from jobs import user_imports
from jobs.testing import run_ready_jobs
from roles.catalogue import RoleKey
from tests.browser.conftest import BROWSER_TEST, sign_in
from tests.factories import PASSWORD, UserFactory
from tests.second_factor import give_authenticator_app, next_code
from tests.test_permission_table import ALLOWED, ANON, TABLE

pytestmark = BROWSER_TEST

PHONE = {"width": 390, "height": 844}
LONG = "Maximiliana" * 12  # 132 letters, not one place to break
LONG_EMAIL_NAME = "maximiliana" * 5  # 55 letters
LONG_DOMAIN = f"{'sub' * 20}.contoso.example"  # 60 letters
RTL_NAME = "\u05d3\u05e0\u05d9\u05d0\u05dc"  # Daniel, in Hebrew letters

# What the permission table lists that is no page to look at: files, fragments, scripts.
NOT_PAGES = {
    "healthz": "plain text for load balancers",
    "directory_export": "a CSV file",
    "import_users_file": "a CSV file",
    "import_users_template": "a CSV file",
    "audit_log_export_file": "a CSV file",
    "access_preview": "a fragment of the roles step, walked with it",
    "edit_roles_preview": "a fragment of Edit roles, walked with it",
    "js-i18n-catalog": "the passkey script's translations",
}


# The page's width against the screen's and, when wider, the elements that stick out or that
# text spills out of (the innermost ones, outside any box that scrolls by itself), to fix.
WIDTH = """() => {
    const screen = window.innerWidth;
    // Inside a box that scrolls by itself; an absolute element escapes those between it and
    // its containing block (visually hidden text in a scrolling table, for one).
    const scrolls = (e) => {
        const absolute = getComputedStyle(e).position === "absolute";
        for (let a = absolute ? e.offsetParent : e.parentElement; a && a !== document.body;
             a = a.parentElement) {
            if (getComputedStyle(a).overflowX !== "visible") return true;
        }
        return false;
    };
    // Past the edge: the element's box, or text it holds spilling out of it.
    const spills = (e) => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1
        && getComputedStyle(e).overflowX === "visible";
    const out = [...document.body.querySelectorAll("*")].filter(
        (e) => (e.getBoundingClientRect().right > screen + 1 || spills(e)) && !scrolls(e));
    const culprits = out.filter((e) => ![...e.children].some((c) => out.includes(c)));
    return {
        scroll: document.documentElement.scrollWidth,
        screen: screen,
        culprits: culprits.slice(0, 5).map((e) => e.tagName.toLowerCase()
            + (e.id ? "#" + e.id : "")
            + [...e.classList].map((c) => "." + c).join("")
            + ` (to ${Math.round(e.getBoundingClientRect().right)} px)`),
    };
}"""


def table_pages() -> set[str]:
    """The URL names of the permission table a Global admin, or someone signed out, opens."""
    return {
        row.name
        for row in TABLE
        if row.method == "get"
        and not row.api
        and 200 in (row.expected[ALLOWED], row.expected[ANON])
        and row.name not in NOT_PAGES
    }


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport=PHONE)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def long_user(organization: PartnerOrganization, tag: str, roles: list[str], **fields) -> User:
    """Someone whose name and email are as long as they come; `tag` tells them apart."""
    return UserFactory(
        organization=organization,
        first_name=LONG,
        last_name=LONG,
        email=f"{LONG_EMAIL_NAME}.{tag}@{LONG_DOMAIN}",
        roles=roles,
        **fields,
    )


@pytest.fixture
def long_admin(demo):
    """A Global admin of Contoso whose name, email and colleagues are as long as they come."""
    contoso = PartnerOrganization.objects.get(partner_id="1234567")
    admin = long_user(contoso, "admin", [RoleKey.GLOBAL_ADMIN])
    UserFactory(organization=contoso, first_name=RTL_NAME, last_name="Levi", roles=[])
    return admin


def add_user_steps(page: object, base: str, email: str, check: Callable[[str, str], None]) -> None:
    """Add user with long details, checking each page on the way: details, details with
    possible duplicates, roles, review, and the user added with an invitation."""
    page.goto(base + reverse("add_user"))
    check("add_user", "Add user: details")
    page.get_by_label("First name").fill(LONG)
    page.get_by_label("Last name").fill(LONG)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Next").click()
    # The long-named colleagues share the name: the step lists them as possible duplicates.
    expect(page.get_by_text("add anyway").first).to_be_visible()
    check("add_user_step", "Add user: possible duplicates")
    page.get_by_label(re.compile("add anyway")).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Step 2 of 3").first).to_be_visible()
    check("add_user_step", "Add user: roles")
    page.get_by_label("MPN Partner Admin").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_test_id("review-details")).to_be_visible()
    check("add_user_step", "Add user: review")
    page.get_by_role("radio", name=re.compile("invitation", re.IGNORECASE)).check()
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("heading", name="Add user")).to_have_count(0)
    check("user_added", "Add user: added, invitation sent")


def test_no_page_is_wider_than_a_phone(phone, demo, long_admin):
    contoso = long_admin.organization
    colleague = long_user(contoso, "colleague", [RoleKey.MPN_PARTNER_ADMIN])
    give_authenticator_app(colleague)
    invitee = long_user(contoso, "invitee", [])
    invitee.set_unusable_password()
    invitee.save(update_fields=["password"])
    app = give_authenticator_app(long_admin)
    uidb64 = urlsafe_base64_encode(force_bytes(colleague.pk))
    long_csv = (
        "First name,Last name,Email,Roles\n"
        f"{LONG},{LONG},{LONG_EMAIL_NAME}.imported@{LONG_DOMAIN},{'Referrals admin' * 4}\n"
        f"{LONG},,{LONG_EMAIL_NAME},Chief of everything\n"
    )
    user_import = user_imports.start(
        long_csv,
        file_name=f"{LONG}.csv",
        actor=long_admin,
        organization=contoso,
        origin=NOWHERE,
        base_url=demo,
    )

    walked: set[str] = set()
    too_wide: list[str] = []

    def check(name: str, description: str) -> None:
        """The page shown now is no wider than the screen."""
        page_url = phone.url.removeprefix(demo)
        walked.add(name)
        width = phone.evaluate(WIDTH)
        if width["scroll"] > width["screen"]:
            too_wide.append(
                f"{description} ({page_url}): {width['scroll']} px wide, past the edge: "
                + ", ".join(width["culprits"])
            )

    def visit(name: str, description: str, path: str | None = None) -> None:
        phone.goto(demo + (path or reverse(name)))
        check(name, description)

    # Signed out.
    visit("login", "Sign in")
    phone.get_by_label("Email").fill(long_admin.email)
    phone.get_by_label("Password").fill("not-the-password")
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_load_state()
    check("login", "Sign in, a wrong password")
    visit("password_reset", "Forgot password")
    visit("password_reset_done", "Forgot password: the link is sent")
    token = default_token_generator.make_token(colleague)
    visit(
        "password_reset_confirm",
        "Forgot password: choose a new password",
        reverse("password_reset_confirm", args=[uidb64, token]),
    )
    visit("password_reset_complete", "Forgot password: done")
    visit("accept_invitation", "Invitation: choose a password", invitation_path(invitee))
    visit(
        "accept_invitation",
        "Invitation: a link that does not work",
        reverse("accept_invitation", args=["MQ", "not-a-token"]),
    )

    # The second step of sign-in, then signed in.
    phone.goto(demo + reverse("login"))
    phone.get_by_label("Email").fill(long_admin.email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.locator("input[name=code]")).to_be_visible()
    check("second_factor", "Second step of sign-in")
    phone.locator("input[name=code]").fill(next_code(app))
    phone.get_by_role("button", name="Verify").click()
    expect(phone.get_by_test_id("signed-in-as")).to_be_visible()

    visit("home", "Home")
    visit("workspace", "A workspace without a page", reverse("workspace", args=["billing"]))
    visit("directory", "User management")
    visit("directory", "User management, searching", reverse("directory") + "?q=maximiliana")
    visit("directory", "User management, no results", reverse("directory") + "?q=nobody-at-all")
    visit(
        "directory",
        "User management, filters to correct",
        reverse("directory") + "?role=superuser&status=all",
    )
    visit("roles_overview", "Roles")
    bulk = reverse("bulk_confirm") + "?action=deactivate&scope=matching&status=active"
    visit("bulk_confirm", "Bulk action: confirm", bulk)
    visit(
        "bulk_confirm",
        "Bulk action: to correct",
        reverse("bulk_confirm") + "?action=assign_role&scope=picked",
    )
    phone.goto(
        demo + reverse("bulk_confirm") + "?action=reactivate&scope=matching&status=deactivated"
    )
    phone.get_by_test_id("bulk-apply").click()
    expect(phone.get_by_test_id("bulk-result")).to_be_visible()
    check("bulk_result", "Bulk action: the result")

    add_user_steps(phone, demo, f"{LONG_EMAIL_NAME}.added@{LONG_DOMAIN}", check)

    for name in (
        "user_detail",
        "edit_user",
        "edit_roles",
        "reset_password",
        "deactivate_user",
        "delete_user",
        "reset_second_factor",
    ):
        visit(name, f"{name} of a long-named colleague", reverse(name, args=[colleague.public_id]))
    visit("user_detail", "A user's page, the invitation pending", f"/users/{invitee.public_id}/")

    visit("import_users", "Add users from CSV")
    visit(
        "import_users_progress",
        "Add users from CSV: the check's progress",
        reverse("import_users_progress", args=[user_import.pk]),
    )
    run_ready_jobs()
    visit(
        "import_users_detail",
        "Add users from CSV: the check",
        reverse("import_users_detail", args=[user_import.pk]),
    )

    visit("audit_log", "Audit log")
    visit(
        "audit_log",
        "Audit log, filtered",
        reverse("audit_log") + f"?person={colleague.email}&action=user.created",
    )
    visit("audit_log", "Audit log, to correct", reverse("audit_log") + "?date_from=2026-02-31")
    visit("profile", "My profile")
    visit("change_password", "Change password")
    visit("confirm_password", "Confirm your password", reverse("confirm_password") + "?next=/")
    visit("sign_in_methods", "Sign-in methods")
    visit("add_passkey", "Add a passkey")
    visit("enrol_authenticator_app", "Add an authenticator app")
    phone.goto(demo + reverse("sign_in_methods"))
    phone.get_by_role("button", name="Make new recovery codes").click()
    expect(phone.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    check("recovery_codes", "New recovery codes")
    visit("api_clients", "API clients")
    phone.get_by_label("Name").fill(LONG)
    phone.get_by_label("User management admin").check()
    phone.get_by_role("button", name="Create client").click()
    expect(phone.get_by_test_id("api-client-token")).to_be_visible()
    check("api_clients", "API clients: a token shown once")
    visit("membership", "Membership")

    # Wrapped, not cut: the long name is all there, over several lines.
    phone.goto(f"{demo}/users/{colleague.public_id}/")
    heading = phone.get_by_test_id("user-name")
    expect(heading).to_contain_text(f"{LONG} {LONG}")
    assert heading.bounding_box()["height"] > 3 * 30

    assert not too_wide, "Wider than a 390 px screen:\n" + "\n".join(too_wide)
    not_walked = table_pages() - walked
    assert not not_walked, f"Pages of the permission table not walked at 390 px: {not_walked}"


def test_a_right_to_left_name_does_not_reorder_the_text_beside_it(page, demo, long_admin):
    sign_in(page, demo, long_admin.email, PASSWORD)
    page.goto(f"{demo}/users/?q=levi")

    # The name's cell (the first, for an admin who may act on users, is the row's checkbox).
    row = page.get_by_test_id("directory").locator("tbody tr").first
    cell = row.locator("td", has=page.get_by_role("link")).first
    expect(cell.locator("bdi")).to_have_text(f"{RTL_NAME} Levi")
