"""Every URL and method, for each kind of visitor: the status the rulebook makes it answer.

Visitors: anonymous; a Global admin of another organization (for a URL naming one of our users,
that user must be invisible to them: 404); a member whose role is too low; an allowed role.
test_every_url_is_in_the_table walks the URLconf and fails when a URL is missing here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.http import QueryDict
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.audit import NOWHERE
from accounts.models import AuditAction, AuditEvent
from accounts.views.user import REPLACES, password_version
from jobs import user_imports
from jobs.exports import request_export
from jobs.models import AuditExport, UserImport
from jobs.testing import run_ready_jobs
from roles.catalogue import RoleKey
from tests.conftest import Cast
from tests.factories import UserFactory

ANON, OUTSIDER, TOO_LOW, ALLOWED = "anonymous", "outsider", "too low", "allowed"


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    expected: dict[str, int]  # visitor -> status
    allowed_role: str = "global_admin"  # which of the cast is "allowed"
    too_low_role: str = "member"
    target: str | None = None  # which of the cast the URL names, if any


SIGNED_IN = 302  # anonymous: sent to sign in
NOT_MINE = 404
FORBIDDEN = 403

TABLE = [
    Row("home", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    Row("healthz", "get", {ANON: 200, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    # What a workspace without a page of its own is, and who may use it: any partner user.
    Row("workspace", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    Row("login", "get", {ANON: 200, OUTSIDER: 302, TOO_LOW: 302, ALLOWED: 302}),
    Row("logout", "post", {ANON: 302, OUTSIDER: 302, TOO_LOW: 302, ALLOWED: 302}),
    Row("directory", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200}),
    Row(
        "directory",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="mpn_admin",
        too_low_role="billing_admin",
    ),
    # The export and the Roles page show what the directory shows: the same people may see them.
    Row(
        "directory_export",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="mpn_admin",
        too_low_role="billing_admin",
    ),
    Row("directory_export", "post", {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405}),
    Row(
        "roles_overview",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="mpn_admin",
        too_low_role="billing_admin",
    ),
    Row("roles_overview", "post", {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405}),
    # Bulk actions: for those who may take one on someone (at least membership roles); the
    # MPN Partner Admin sees the directory but changes nobody. Without a choice, the
    # confirmation asks for one, applying goes back to it, and there is no result to show.
    Row(
        "bulk_confirm",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="account_admin",
        too_low_role="mpn_admin",
    ),
    Row("bulk_confirm", "post", {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405}),
    Row(
        "bulk_apply",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        allowed_role="account_admin",
        too_low_role="mpn_admin",
    ),
    Row("bulk_apply", "get", {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405}),
    Row(
        "bulk_result",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        allowed_role="user_admin",
        too_low_role="mpn_admin",
    ),
    Row("bulk_result", "post", {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405}),
    # Add user begins a run in its own address; a run this session did not begin starts over.
    Row("add_user", "get", {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: FORBIDDEN, ALLOWED: 302}),
    Row(
        "add_user",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        allowed_role="user_admin",
        too_low_role="account_admin",
    ),
    Row(
        "add_user_step",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: FORBIDDEN, ALLOWED: 302},
    ),
    Row(
        "add_user_step",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        allowed_role="user_admin",
        too_low_role="mpn_admin",
    ),
    Row(
        "access_preview", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200}
    ),
    Row(
        "user_detail",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="mpn_admin",
        target="billing_admin",
    ),
    Row(
        "edit_user",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        too_low_role="account_admin",
        target="billing_admin",
    ),
    Row(
        "edit_user",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        too_low_role="mpn_admin",
        target="billing_admin",
    ),
    Row(
        "edit_roles",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="account_admin",
        too_low_role="mpn_admin",
        target="billing_admin",
    ),
    Row(
        "edit_roles_preview",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="account_admin",
        too_low_role="mpn_admin",
        target="billing_admin",
    ),
    Row(
        "edit_roles",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        too_low_role="mpn_admin",
        target="billing_admin",
    ),
    Row(
        "reset_password",
        "post",
        # Allowed: the new temporary password's page is the answer.
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        too_low_role="user_admin",
        target="billing_admin",
    ),
    Row(
        "reset_password",
        "get",
        # The page that asks to confirm, saying what a reset ends.
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        too_low_role="user_admin",
        target="billing_admin",
    ),
    Row(
        "deactivate_user",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="account_admin",
        target="billing_admin",
    ),
    Row(
        "deactivate_user",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        allowed_role="user_admin",
        too_low_role="account_admin",
        target="billing_admin",
    ),
    Row(
        "reactivate_user",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        too_low_role="mpn_admin",
        target="billing_admin",
    ),
    Row(
        "delete_user",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        too_low_role="account_admin",
        target="billing_admin",
    ),
    Row(
        "delete_user",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        allowed_role="user_admin",
        too_low_role="mpn_admin",
        target="billing_admin",
    ),
    Row("audit_log", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200}),
    Row(
        "audit_log",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="account_admin",
    ),
    # Asking for the export enqueues its job (302 back to the page); the file is its requester's
    # only (another admin's answers 404, like one that does not exist: EXPORT_URLS below).
    Row(
        "audit_log_export",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        too_low_role="account_admin",
    ),
    Row(
        "audit_log_export",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405},
    ),
    Row(
        "audit_log_export_file",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="mpn_admin",
    ),
    Row("profile", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    Row("change_password", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    # The admin's password change is the page above (tests/test_sessions.py).
    Row("admin_password_change", "get", {ANON: 302, OUTSIDER: 302, TOO_LOW: 302, ALLOWED: 302}),
    # Anyone signed in may sign their own other sessions out; it names nobody else.
    Row(
        "sign_out_everywhere", "post", {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: 302, ALLOWED: 302}
    ),
    Row("sign_out_everywhere", "get", {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405}),
    Row(
        "membership",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="mpn_admin",
        too_low_role="account_admin",
    ),
    Row(
        "purchase_maps",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        allowed_role="mpn_admin",
        too_low_role="user_admin",
    ),
    Row(
        "purchase_maps",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405},
    ),
    # Add users from CSV. An import of the organization, checked, named by the later URLs:
    # another organization's answers 404 (IMPORT_URLS below).
    Row("import_users", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200}),
    Row(
        "import_users",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="account_admin",
    ),
    Row(
        "import_users_detail",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        too_low_role="mpn_admin",
    ),
    Row(
        "import_users_detail", "post", {ANON: SIGNED_IN, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405}
    ),
    Row(
        "import_users_progress",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="account_admin",
    ),
    Row(
        "import_users_confirm",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        allowed_role="user_admin",
        too_low_role="account_admin",
    ),
    Row(
        "import_users_confirm",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405},
    ),
    Row(
        "import_users_file",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
    ),
    Row(
        "import_users_template",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="billing_admin",
    ),
    Row(
        "user_added",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="mpn_admin",
        target="billing_admin",
    ),
    Row(
        "resend_invitation",
        "post",
        # Allowed, then refused by the service with a message: this user has a password.
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        allowed_role="user_admin",
        too_low_role="account_admin",
        target="billing_admin",
    ),
    Row(
        "resend_invitation",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405},
        target="billing_admin",
    ),
    # Forgot password? and invitations: anonymous pages, the same for everyone (a link that
    # does not work is a page that says so).
    Row("password_reset", "get", {ANON: 200, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    Row("password_reset", "post", {ANON: 302, OUTSIDER: 302, TOO_LOW: 302, ALLOWED: 302}),
    Row("password_reset_done", "get", {ANON: 200, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    Row("password_reset_confirm", "get", {ANON: 200, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    Row("password_reset_complete", "get", {ANON: 200, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    Row("accept_invitation", "get", {ANON: 200, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    Row("accept_invitation", "post", {ANON: 200, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    Row("confirm_password", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
]

# POST bodies that make the allowed request a real, valid one.
BODIES = {
    "edit_user": lambda target: {
        "first_name": target.first_name,
        "last_name": "Renamed",
        "email": target.email,
    },
    "edit_roles": lambda target: {
        "directory_roles": [RoleKey.BILLING_ADMIN],
        "membership_roles": [RoleKey.REFERRALS_ADMIN],
    },
    "purchase_maps": lambda target: {"confirm": "on"},
    "reset_password": lambda target: {REPLACES: password_version(target)},
    "password_reset": lambda target: {"email": "nobody@example.com"},
}

# The arguments of URLs that name no user of the cast: emailed links (here, ones that do not work).
URL_ARGS = {
    "add_user_step": ["0b6f4d4e-8a43-4c0e-9a59-2f0f5b1f7c11", "details"],
    "password_reset_confirm": ["MQ", "set-password"],
    "accept_invitation": ["MQ", "set-password"],
    "workspace": ["billing"],
}

# The URLs that name an import of the organization, and what they add after its id.
IMPORT_URLS = {
    "import_users_detail": [],
    "import_users_progress": [],
    "import_users_confirm": [],
    "import_users_file": ["check"],
}


def checked_import(csp: Cast, uploader) -> UserImport:
    """A file of one user, checked by a worker, waiting for its uploader's confirmation."""
    user_import = user_imports.start(
        "First name,Last name,Email,Roles\nAda,Lovelace,ada@import.example,\n",
        file_name="people.csv",
        actor=uploader,
        organization=csp.organization,
        origin=NOWHERE,
        base_url="https://partnerhub.example",
    )
    run_ready_jobs()
    return user_import


def written_export(requester) -> AuditExport:
    """The requester's audit export, written by a worker."""
    export = request_export(requester, QueryDict(), "UTC")
    run_ready_jobs()
    return export


# The Django admin is the support staff's: every URL of it sends a partner user (or anyone
# not staff) to the admin's own sign-in. Checked in test_the_admin_is_for_support_staff_only.
ADMIN_NAMESPACE = "admin"


def url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace != ADMIN_NAMESPACE:
                assert pattern.name, f"every URL has a name: {pattern.pattern}"
                names.add(pattern.name)

    walk(get_resolver().url_patterns, None)
    return names


def test_every_url_is_in_the_table():
    assert url_names() == {row.name for row in TABLE}


def visitor(client, csp: Cast, outsider, row: Row, kind: str):
    if kind == OUTSIDER:
        client.force_login(outsider)
    elif kind == TOO_LOW:
        client.force_login(getattr(csp, row.too_low_role))
    elif kind == ALLOWED:
        client.force_login(getattr(csp, row.allowed_role))


def cases() -> list:
    return [
        pytest.param(row, kind, status, id=f"{row.method} {row.name} as {kind} ({status})")
        for row in TABLE
        for kind, status in row.expected.items()
    ]


@pytest.mark.parametrize(("row", "kind", "status"), cases())
def test_permission_table(client, csp, outsider, row, kind, status):
    target = getattr(csp, row.target) if row.target else None
    if row.name == "reactivate_user":
        target.is_active = False
        target.save(update_fields=["is_active"])
    body = BODIES[row.name](target) if row.method == "post" and row.name in BODIES else {}
    if row.name == "audit_log_export_file":
        url = reverse(row.name, args=[written_export(getattr(csp, row.allowed_role)).pk])
    elif row.name not in IMPORT_URLS:
        url = reverse(row.name, args=[target.public_id] if target else URL_ARGS.get(row.name, []))
    else:
        user_import = checked_import(csp, getattr(csp, row.allowed_role))
        url = reverse(row.name, args=[user_import.pk, *IMPORT_URLS[row.name]])
        body = {"upload": str(user_import.pk)} if row.method == "post" else {}
    visitor(client, csp, outsider, row, kind)

    refused_before = AuditEvent.objects.refused().count()

    response = getattr(client, row.method)(url, body)

    assert response.status_code == status, response.content[:500]
    if status == FORBIDDEN:
        # Every refused page is one refused attempt in the audit trail, naming what was
        # attempted and by whom.
        [event] = AuditEvent.objects.refused().order_by("pk")[refused_before:]
        assert event.action in AuditAction.values
        assert event.actor == response.wsgi_request.user


@pytest.mark.parametrize(
    "name",
    [
        "admin:index",
        "admin:accounts_user_changelist",
        "admin:roles_globaladmingrantrequest_changelist",
    ],
)
def test_the_admin_is_for_support_staff_only(client, csp, support, name):
    url = reverse(name)
    assert client.get(url).status_code == 302
    client.force_login(csp.global_admin)
    assert client.get(url).status_code == 302
    client.force_login(support)
    assert client.get(url).status_code == 200


def test_a_random_user_id_answers_404_like_another_organizations(client, csp):
    client.force_login(csp.global_admin)
    missing = UserFactory.build().public_id

    assert client.get(reverse("user_detail", args=[missing])).status_code == 404
