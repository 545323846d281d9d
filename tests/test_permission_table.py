"""Every URL and method, for each kind of visitor: the status the rulebook makes it answer.

Visitors: anonymous; a Global admin of another organization (for a URL naming one of our users,
that user must be invisible to them: 404); a member whose role is too low; an allowed role.
test_every_url_is_in_the_table walks the URLconf and fails when a URL is missing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.http import QueryDict
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.audit import NOWHERE
from accounts.models import AuditAction, AuditEvent
from accounts.views.user import REPLACES, password_version
from api.scim import SEARCH_REQUEST
from api.scim_schemas import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA
from jobs import user_imports
from jobs.exports import request_export
from jobs.models import AuditExport, UserImport
from jobs.testing import run_ready_jobs
from roles.catalogue import RoleKey
from roles.models import Role, RoleAssignment
from tests.api_clients import ApiCaller, make_client
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
    api: bool = False  # called with an API client's token holding the role's roles, not signed in
    headers: dict[str, str] = field(default_factory=dict)  # e.g. htmx's, for a page's partial

    @property
    def label(self) -> str:
        return f"{self.method} {self.name}" + (" (htmx)" if self.headers else "")


SIGNED_IN = 302  # anonymous: sent to sign in
NO_TOKEN = 401  # an API or SCIM call without a token
API_CLIENT = "api_client"  # a row's target: a client of the organization, not a user
NOT_MINE = 404
FORBIDDEN = 403
HTMX = {"HX-Request": "true"}  # what htmx sends: the side panel's request for a user's page

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
    # The header's search: those who may search the directory (with a search of several
    # matches, it answers with the directory searching for them).
    Row(
        "find_user",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        allowed_role="mpn_admin",
        too_low_role="billing_admin",
    ),
    Row("find_user", "post", {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405}),
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
    # The same page's content for the directory's side panel (htmx): decided exactly alike.
    Row(
        "user_detail",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="mpn_admin",
        target="billing_admin",
        headers=HTMX,
    ),
    Row(
        "user_detail",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        too_low_role="billing_admin",
        target="global_admin",
        headers=HTMX,
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
    # Anyone signed in chooses their own theme; it names nobody else.
    Row("profile_theme", "post", {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: 302, ALLOWED: 302}),
    Row("profile_theme", "get", {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405}),
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
    # Settings > API clients: Global admins only. Creating asks for the password again first
    # (the form comes back, 200); revoking names a client of the organization (target).
    Row("api_clients", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200}),
    Row(
        "api_clients",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        too_low_role="user_admin",
    ),
    Row(
        "revoke_api_client",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        too_low_role="user_admin",
        target=API_CLIENT,
    ),
    Row(
        "revoke_api_client",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405},
        target=API_CLIENT,
    ),
    # The REST API and SCIM, called by API clients (api=True): the visitors are clients holding
    # the roles of the cast member named, or no token at all (401); the outsider is a client of
    # another organization holding Global admin. The OpenAPI document and its page are public.
    *[
        Row(name, "get", {ANON: 200, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}, api=True)
        for name in ("api_schema", "api_docs")
    ],
    Row(
        "api_users",
        "get",
        {ANON: NO_TOKEN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="mpn_admin",
        too_low_role="billing_admin",
        api=True,
    ),
    Row(
        "api_users",
        "post",
        {ANON: NO_TOKEN, OUTSIDER: 201, TOO_LOW: FORBIDDEN, ALLOWED: 201},
        allowed_role="user_admin",
        too_low_role="account_admin",
        api=True,
    ),
    Row(
        "api_users",
        "delete",
        {ANON: NO_TOKEN, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405},
        api=True,
    ),
    Row(
        "api_user",
        "get",
        {ANON: NO_TOKEN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="mpn_admin",
        too_low_role="billing_admin",
        target="billing_admin",
        api=True,
    ),
    Row(
        "api_user",
        "patch",
        {ANON: NO_TOKEN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="account_admin",
        target="billing_admin",
        api=True,
    ),
    Row(
        "api_user",
        "delete",
        {ANON: NO_TOKEN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 204},
        allowed_role="user_admin",
        too_low_role="mpn_admin",
        target="billing_admin",
        api=True,
    ),
    Row(
        "api_user_deactivate",
        "post",
        {ANON: NO_TOKEN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="account_admin",
        target="billing_admin",
        api=True,
    ),
    Row(
        "api_user_reactivate",
        "post",
        {ANON: NO_TOKEN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        too_low_role="mpn_admin",
        target="billing_admin",
        api=True,
    ),
    Row(
        "api_user_role",
        "put",
        {ANON: NO_TOKEN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="account_admin",
        too_low_role="mpn_admin",
        target="billing_admin",
        api=True,
    ),
    Row(
        "api_user_role",
        "delete",
        {ANON: NO_TOKEN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="account_admin",
        too_low_role="mpn_admin",
        target="billing_admin",
        api=True,
    ),
    Row(
        "api_roles",
        "get",
        {ANON: NO_TOKEN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="mpn_admin",
        api=True,
    ),
    Row(
        "api_audit_events",
        "get",
        {ANON: NO_TOKEN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="account_admin",
        api=True,
    ),
    # SCIM: a client whose roles may add users provisions (a User management admin's); the
    # discovery endpoints answer any client. Groups are the roles: none is added or removed.
    Row(
        "scim_users",
        "get",
        {ANON: NO_TOKEN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="account_admin",
        api=True,
    ),
    Row(
        "scim_users",
        "post",
        {ANON: NO_TOKEN, OUTSIDER: 201, TOO_LOW: FORBIDDEN, ALLOWED: 201},
        allowed_role="user_admin",
        too_low_role="account_admin",
        api=True,
    ),
    *[
        Row(
            name,
            "post",
            {ANON: NO_TOKEN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
            allowed_role="user_admin",
            too_low_role="mpn_admin",
            api=True,
        )
        for name in ("scim_users_search", "scim_search")
    ],
    *[
        Row(
            "scim_user",
            method,
            {ANON: NO_TOKEN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: status},
            allowed_role="user_admin",
            too_low_role="account_admin",
            target="billing_admin",
            api=True,
        )
        for method, status in (("get", 200), ("put", 200), ("patch", 200), ("delete", 204))
    ],
    Row(
        "scim_groups",
        "get",
        {ANON: NO_TOKEN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="mpn_admin",
        api=True,
    ),
    Row(
        "scim_groups",
        "post",
        {ANON: NO_TOKEN, OUTSIDER: 501, TOO_LOW: FORBIDDEN, ALLOWED: 501},
        allowed_role="global_admin",
        too_low_role="account_admin",
        api=True,
    ),
    Row(
        "scim_group",
        "get",
        {ANON: NO_TOKEN, OUTSIDER: 200, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="member",
        api=True,
    ),
    Row(
        "scim_group",
        "patch",
        # Adding the billing admin to Referrals admin: a membership role.
        {ANON: NO_TOKEN, OUTSIDER: 400, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        allowed_role="user_admin",
        too_low_role="account_admin",
        target="billing_admin",
        api=True,
    ),
    *[
        Row(
            "scim_group",
            method,
            {ANON: NO_TOKEN, OUTSIDER: 501, TOO_LOW: 501, ALLOWED: 501},
            allowed_role="user_admin",
            too_low_role="global_admin",
            api=True,
        )
        for method in ("put", "delete")
    ],
    *[
        Row(
            name,
            "get",
            {ANON: NO_TOKEN, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200},
            too_low_role="member",
            api=True,
        )
        for name in (
            "scim_service_provider_config",
            "scim_resource_types",
            "scim_resource_type",
            "scim_schemas",
            "scim_schema",
        )
    ],
    Row(
        "scim_service_provider_config",
        "post",
        {ANON: NO_TOKEN, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405},
        api=True,
    ),
    # The second factor. Signed in here means past it: the second step sends on (302), the
    # recovery codes were shown already (302, and the file is gone: 404), a method that is
    # not one's own is not found (404). tests/test_second_factor.py signs in step by step.
    Row("second_factor", "get", {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: 302, ALLOWED: 302}),
    Row("second_factor", "post", {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: 302, ALLOWED: 302}),
    Row(
        "enrol_authenticator_app",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200},
    ),
    Row("recovery_codes", "get", {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: 302, ALLOWED: 302}),
    Row(
        "recovery_codes_download",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: 404, TOO_LOW: 404, ALLOWED: 404},
    ),
    Row(
        "recovery_codes_download",
        "post",
        {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405},
    ),
    Row("sign_in_methods", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    Row("sign_in_methods", "post", {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405}),
    Row(
        "remove_sign_in_method",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: 404, TOO_LOW: 404, ALLOWED: 404},
    ),
    Row(
        "remove_sign_in_method",
        "get",
        {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405},
    ),
    Row("new_recovery_codes", "post", {ANON: SIGNED_IN, OUTSIDER: 302, TOO_LOW: 302, ALLOWED: 302}),
    Row("new_recovery_codes", "get", {ANON: 405, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405}),
    Row("add_passkey", "get", {ANON: SIGNED_IN, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    # Passkeys' endpoints (django-otp-webauthn's script calls them): JSON, 401 before sign-in;
    # completing without beginning is a bad request (400).
    Row(
        "credential-registration-begin",
        "post",
        {ANON: 401, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200},
    ),
    Row(
        "credential-registration-complete",
        "post",
        {ANON: 401, OUTSIDER: 400, TOO_LOW: 400, ALLOWED: 400},
    ),
    Row(
        "credential-authentication-begin",
        "post",
        {ANON: 401, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200},
    ),
    Row(
        "credential-authentication-complete",
        "post",
        {ANON: 401, OUTSIDER: 400, TOO_LOW: 400, ALLOWED: 400},
    ),
    Row(
        "credential-authentication-begin",
        "get",
        {ANON: 401, OUTSIDER: 405, TOO_LOW: 405, ALLOWED: 405},
    ),
    Row("js-i18n-catalog", "get", {ANON: 200, OUTSIDER: 200, TOO_LOW: 200, ALLOWED: 200}),
    # A Global admin resets another user's second factor (rule 10): like a password reset.
    Row(
        "reset_second_factor",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        too_low_role="user_admin",
        target="billing_admin",
    ),
    Row(
        "reset_second_factor",
        "post",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 302},
        too_low_role="account_admin",
        target="billing_admin",
    ),
    Row(
        "reset_second_factor",
        "get",
        {ANON: SIGNED_IN, OUTSIDER: NOT_MINE, TOO_LOW: FORBIDDEN, ALLOWED: 200},
        too_low_role="member",
        target="billing_admin",
    ),
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
    "profile_theme": lambda target: {"theme_preference": "dark"},
    "reset_password": lambda target: {REPLACES: password_version(target)},
    "api_users": lambda target: {
        "email": "new.person@example.com",
        "first_name": "New",
        "last_name": "Person",
        "roles": [RoleKey.REFERRALS_ADMIN],
    },
    "api_user": lambda target: {"last_name": "Renamed"},
    "scim_users": lambda target: {
        "schemas": [USER_SCHEMA],
        "userName": "new.person@example.com",
        "name": {"givenName": "New", "familyName": "Person"},
        "active": True,
    },
    "scim_users_search": lambda target: {"schemas": [SEARCH_REQUEST], "filter": "active eq true"},
    "scim_search": lambda target: {"schemas": [SEARCH_REQUEST], "count": 10},
    "scim_user": lambda target: (
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "value": {"name.familyName": "Renamed"}}],
        }
        if target is None
        else {
            "schemas": [USER_SCHEMA],
            "userName": target.email,
            "name": {"givenName": target.first_name, "familyName": "Renamed"},
            "active": True,
        }
    ),
    "scim_group": lambda target: {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "add", "path": "members", "value": [{"value": str(target.public_id)}]}
        ],
    },
    "scim_groups": lambda target: {"schemas": [GROUP_SCHEMA], "displayName": "New role"},
    "password_reset": lambda target: {"email": "nobody@example.com"},
}

# The arguments of URLs that name no user of the cast: emailed links (here, ones that do not work).
URL_ARGS = {
    "add_user_step": ["0b6f4d4e-8a43-4c0e-9a59-2f0f5b1f7c11", "details"],
    "password_reset_confirm": ["MQ", "set-password"],
    "accept_invitation": ["MQ", "set-password"],
    "workspace": ["billing"],
    "scim_group": [RoleKey.REFERRALS_ADMIN],
    "scim_resource_type": ["User"],
    "scim_schema": [USER_SCHEMA],
    "remove_sign_in_method": ["app", 999999],
}

# The roles of each member of the cast: those an API client is given to visit as them.
CAST_ROLES = {
    "global_admin": [RoleKey.GLOBAL_ADMIN],
    "user_admin": [RoleKey.USER_MANAGEMENT_ADMIN],
    "account_admin": [RoleKey.ACCOUNT_ADMIN],
    "mpn_admin": [RoleKey.MPN_PARTNER_ADMIN],
    "billing_admin": [RoleKey.BILLING_ADMIN],
    "member": [RoleKey.REFERRALS_ADMIN],
}

# The URLs in django-otp-webauthn's namespace (its script finds them there).
NAMESPACE = {
    name: "otp_webauthn"
    for name in (
        "credential-registration-begin",
        "credential-registration-complete",
        "credential-authentication-begin",
        "credential-authentication-complete",
        "js-i18n-catalog",
    )
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
        pytest.param(row, kind, status, id=f"{row.label} as {kind} ({status})")
        for row in TABLE
        for kind, status in row.expected.items()
    ]


def url_of(row: Row, csp: Cast, target) -> str:
    if row.target == API_CLIENT:
        return reverse(row.name, args=[target.public_id])
    if row.name == "api_user_role":
        # Billing admin holds Billing admin: granting it is a no-op, revoking a change; both
        # are decided as a directory role would be. Referrals admin is a membership role.
        role = RoleKey.REFERRALS_ADMIN if row.method == "put" else RoleKey.BILLING_ADMIN
        return reverse(row.name, args=[target.public_id, role])
    name = f"{NAMESPACE[row.name]}:{row.name}" if row.name in NAMESPACE else row.name
    if row.name in URL_ARGS:
        return reverse(name, args=URL_ARGS[row.name])
    return reverse(name, args=[target.public_id] if target else [])


def body_of(row: Row, target) -> dict:
    if row.name not in BODIES or row.method in {"get", "delete"}:
        return {}
    if row.name == "scim_group" and row.method != "patch":
        return {"schemas": [GROUP_SCHEMA], "displayName": "Renamed role"}
    if row.name == "scim_user":
        return BODIES[row.name](None if row.method == "patch" else target)
    return BODIES[row.name](target)


def prepared(row: Row, csp: Cast, kind: str) -> tuple[object, str, dict]:
    """The row's target (made ready for the request), its URL and its body. Shared with
    tests/test_query_counts_every_url.py, which walks the same rows."""
    if row.target == API_CLIENT:
        target, _ = make_client(csp.global_admin, [RoleKey.REFERRALS_ADMIN], name="Payroll")
    else:
        target = getattr(csp, row.target) if row.target else None
    if row.name in {"reactivate_user", "api_user_reactivate"}:
        target.is_active = False
        target.save(update_fields=["is_active"])
    if row.name == "audit_log_export_file":
        url = reverse(row.name, args=[written_export(getattr(csp, row.allowed_role)).pk])
        return target, url, body_of(row, target)
    if row.name in IMPORT_URLS:
        user_import = checked_import(csp, getattr(csp, row.allowed_role))
        url = reverse(row.name, args=[user_import.pk, *IMPORT_URLS[row.name]])
        return target, url, {"upload": str(user_import.pk)} if row.method == "post" else {}
    url = url_of(row, csp, target)
    if row.name == "find_user":
        url += "?q=person"  # a search, not only the way back to the directory
    if row.name == "api_user_role" and row.method == "delete" and kind != TOO_LOW:
        # Revoking a directory role needs a User management admin: the allowed client here
        # (an Account admin's roles) is refused that one, so it revokes a membership role.
        RoleAssignment.objects.create(
            user=target, role=Role.objects.get(key=RoleKey.REFERRALS_ADMIN)
        )
        url = reverse(row.name, args=[target.public_id, RoleKey.REFERRALS_ADMIN])
    return target, url, body_of(row, target)


@pytest.mark.parametrize(("row", "kind", "status"), cases())
def test_permission_table(client, csp, outsider, row, kind, status):
    _target, url, body = prepared(row, csp, kind)

    refused_before = AuditEvent.objects.refused().count()

    if row.api:
        caller = api_visitor(csp, outsider, row, kind)
        response = caller.call(row.method, url, body or None)
    else:
        visitor(client, csp, outsider, row, kind)
        response = getattr(client, row.method)(url, body, headers=row.headers)

    assert response.status_code == status, response.content[:500]
    if row.api and status >= 400:
        assert response["Content-Type"].startswith(("application/json", "application/scim+json"))
    if status == FORBIDDEN:
        # Every refused page is one refused attempt in the audit trail, naming what was
        # attempted and by whom.
        [event] = AuditEvent.objects.refused().order_by("pk")[refused_before:]
        assert event.action in AuditAction.values
        if row.api:
            assert event.actor is None
            assert event.actor_label == str(caller.api_client)
        else:
            assert event.actor == response.wsgi_request.user


def api_visitor(csp: Cast, outsider, row: Row, kind: str) -> ApiCaller:
    """A caller with the token of a client holding the visitor's roles (none for anonymous)."""
    if kind == ANON:
        return ApiCaller(None)
    if kind == OUTSIDER:
        api_client, token = make_client(outsider, [RoleKey.GLOBAL_ADMIN], name="Outsider")
    else:
        role = row.too_low_role if kind == TOO_LOW else row.allowed_role
        api_client, token = make_client(csp.global_admin, CAST_ROLES[role], name=kind)
    caller = ApiCaller(token)
    caller.api_client = api_client
    return caller


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
