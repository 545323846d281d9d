"""Settings > User management > Add user: details, roles, review, Add; and its access preview.

The wizard is driven as a browser drives it: Add user begins a run at its own address; each POST
to it names its step in the management form ("add_user_wizard-current_step"), sends the step's
fields as "<step>-<field>", and is answered with a redirect to the step to show, which is followed.
"""

from __future__ import annotations

import json
import re
from uuid import UUID

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, AuditOutcome, PartnerOrganization, User
from accounts.reauth import SESSION_KEY
from accounts.views import add_user as add_user_views
from accounts.views.add_user import RUNS, step_url
from roles.catalogue import CATALOGUE, SPECS, RoleKey
from roles.rules import RuleRefused
from tests.factories import PASSWORD, OrganizationFactory, UserFactory
from tests.jobs import sent_mail

URL = reverse("add_user")
# A run's address for those refused before any run is looked at.
SOME_RUN = step_url(UUID("3f1c2a9e-5b7d-4e8f-9a10-1b2c3d4e5f60"), "details")
PREVIEW = reverse("access_preview")
MANAGEMENT = "add_user_wizard-current_step"

GA = RoleKey.GLOBAL_ADMIN
UMA = RoleKey.USER_MANAGEMENT_ADMIN
MPN = RoleKey.MPN_PARTNER_ADMIN
REFERRALS = RoleKey.REFERRALS_ADMIN
BILLING = RoleKey.BILLING_ADMIN
HELPDESK = RoleKey.HELPDESK_AGENT

GRACE = {"first_name": "Grace", "last_name": "Hopper", "email": "grace.hopper@contoso.example"}


def sent(step: str, back_to: str | None = None, **fields: object) -> dict[str, object]:
    """The POST body of a step, as its page sends it (with Back when back_to is given)."""
    data: dict[str, object] = {MANAGEMENT: step}
    data.update({f"{step}-{name}": value for name, value in fields.items()})
    if back_to:
        data["wizard_goto_step"] = back_to
    return data


def run_url(client, step: str = "details") -> str:
    """The address of a step of the run begun last in the client's session."""
    return step_url(UUID(client.session[RUNS][-1]), step)


def post(client, data: dict[str, object], *, url: str | None = None, follow: bool = True):
    """Sends a step of the current run, and follows the redirect to the step shown next."""
    return client.post(url or run_url(client), data, follow=follow)


def send_details(client, **fields: object):
    return post(client, sent("details", **{**GRACE, **fields}))


def send_roles(client, *keys: str):
    return post(client, sent("roles", roles=list(keys)))


def send_add(client, sign_in: str = "temporary_password", *, follow: bool = False):
    """Add: the answer itself (the temporary password page, or a redirect), unless follow."""
    return post(client, sent("review", sign_in=sign_in), follow=follow)


def shown_password(response) -> str | None:
    """The temporary password a page shows, if it shows one."""
    found = re.search(r'id="temporary-password" value="([^"]+)"', response.content.decode())
    return found.group(1) if found else None


def step_of(response) -> str:
    return response.context["wizard"]["steps"].current


def form_of(response):
    return response.context["wizard"]["form"]


def start(client, admin: User):
    client.force_login(admin)
    return client.get(URL, follow=True)


def go_to_review(client, admin: User, *role_keys: str, **details: object):
    start(client, admin)
    assert step_of(send_details(client, **details)) == "roles"
    response = send_roles(client, *role_keys)
    assert step_of(response) == "review", form_of(response).errors
    return response


def nothing_written(organization: PartnerOrganization, users_before: int) -> bool:
    return (
        User.objects.in_organization(organization).count() == users_before
        and not AuditEvent.objects.in_organization(organization).filter(outcome="done").exists()
    )


def checkbox(page: str, key: str) -> str:
    """The <input> tag of a role's checkbox on the roles step."""
    match = re.search(rf'<input type="checkbox"[^>]*value="{key}"[^>]*>', page)
    assert match, f"no checkbox for {key}"
    return match.group(0)


# The whole flow


def test_a_global_admin_adds_a_user_with_roles(client, csp):
    page = start(client, csp.global_admin).content.decode()
    assert "<h1" in page
    assert "Add user" in page
    assert "Step 1 of 3: Details" in page

    roles_page = send_details(client)
    assert step_of(roles_page) == "roles"
    assert "Step 2 of 3: Roles" in roles_page.content.decode()

    review = send_roles(client, MPN, BILLING)
    assert step_of(review) == "review"
    review_page = review.content.decode()
    assert "Step 3 of 3: Review" in review_page
    assert "grace.hopper@contoso.example" in review_page
    assert "MPN Partner Admin" in review_page
    assert "Billing admin" in review_page
    assert "Purchase MAPS" in review_page  # the access preview

    response = send_add(client)

    added = User.objects.get(email="grace.hopper@contoso.example")
    assert response.status_code == 200
    assert added.check_password(shown_password(response))
    assert (added.first_name, added.last_name) == ("Grace", "Hopper")
    assert added.organization == csp.organization
    assert added.created_by == csp.global_admin
    assert added.must_change_password
    assert set(added.role_assignments.values_list("role__key", flat=True)) == {MPN, BILLING}
    events = AuditEvent.objects.about(added)
    assert events.filter(action=AuditAction.USER_CREATED, actor=csp.global_admin).count() == 1
    assert sorted(
        events.filter(action=AuditAction.ROLE_GRANTED).values_list("after__role", flat=True)
    ) == ["Billing admin", "MPN Partner Admin"]


def test_the_answer_to_add_shows_the_temporary_password_once_and_keeps_it_nowhere(client, csp):
    go_to_review(client, csp.global_admin, MPN)

    response = send_add(client)

    password = shown_password(response)
    added = User.objects.get(email=GRACE["email"])
    assert "User added" in response.content.decode()
    assert added.check_password(password)
    # Not in the session store, a cookie, the address or a cache: only in this answer.
    assert password not in json.dumps(dict(client.session.items()), default=str)
    assert not any(password in morsel.value for morsel in client.cookies.values())
    assert password not in response.wsgi_request.get_full_path()
    assert "no-store" in response["Cache-Control"]
    # Reloading sends Add again: nothing is added, and the password is not shown again; the
    # page keeps its heading and says why the password is not there.
    again = send_add(client)
    assert again.status_code == 302
    assert again.url == reverse("user_added", args=[added.public_id])
    page = client.get(again.url).content.decode()
    assert password not in page
    assert re.search(r"<h1[^>]*>User added</h1>", page)
    assert "was already added with this Add user form" in page
    assert "The temporary password was shown once" in page
    assert User.objects.filter(email=GRACE["email"]).count() == 1


def test_the_page_after_add_lists_the_roles_given_and_offers_another(client, csp):
    go_to_review(client, csp.global_admin, MPN, REFERRALS)

    for page in (
        send_add(client).content.decode(),  # the temporary password
        client.get(send_add(client).url).content.decode(),  # sent again: "User added"
    ):
        roles = re.search(r'data-testid="added-roles">(.*?)</dd>', page, re.S).group(1)
        given = re.findall(r'badge[^"]*">([^<]+)<', roles)
        assert given == ["MPN Partner Admin", "Referrals admin"]
        assert f'href="{URL}" data-testid="add-another">Add another user</a>' in page


def test_the_page_after_an_invitation_lists_the_roles_given_and_offers_another(client, csp):
    go_to_review(client, csp.global_admin, MPN)

    page = send_add(client, sign_in="invitation", follow=True).content.decode()

    assert "An invitation was sent" in page
    assert "MPN Partner Admin" in re.search(r'data-testid="added-roles">(.*?)</dd>', page, re.S)[1]
    assert "Add another user</a>" in page


def test_a_user_may_be_added_with_no_role(client, csp):
    go_to_review(client, csp.global_admin)

    assert send_add(client).status_code == 200
    added = User.objects.get(email=GRACE["email"])
    assert not added.role_assignments.exists()


def test_a_user_management_admin_adds_a_user(client, csp):
    go_to_review(client, csp.user_admin, HELPDESK, REFERRALS)

    assert send_add(client).status_code == 200
    added = User.objects.get(email=GRACE["email"])
    assert set(added.role_assignments.values_list("role__key", flat=True)) == {HELPDESK, REFERRALS}


# Who may


@pytest.mark.parametrize(
    ("cast", "who", "status"),
    [
        ("csp", "global_admin", 200),
        ("csp", "user_admin", 200),
        ("csp", "account_admin", 403),
        ("csp", "mpn_admin", 403),
        ("csp", "billing_admin", 403),
        ("csp", "member", 403),
        ("non_csp", "global_admin", 200),
        ("non_csp", "user_admin", 403),  # the role does not exist in a non-CSP organization
    ],
)
def test_only_global_and_user_management_admins_add_users(client, db, request, cast, who, status):
    # `db` named here: pytest-django orders tests by the fixtures they name, not those fetched.
    people = request.getfixturevalue(cast)
    client.force_login(getattr(people, who))

    assert client.get(URL, follow=True).status_code == status
    assert post(client, sent("details", **GRACE), url=SOME_RUN).status_code == status
    assert client.get(PREVIEW).status_code == status


@pytest.mark.parametrize("who", ["account_admin", "mpn_admin", "member"])
def test_every_step_is_refused_to_those_who_may_not(client, csp, who):
    users_before = User.objects.count()
    client.force_login(getattr(csp, who))

    for body in (sent("details", **GRACE), sent("roles", roles=[MPN]), sent("review")):
        assert client.post(SOME_RUN, body).status_code == 403
    assert client.post(SOME_RUN, sent("roles", back_to="details")).status_code == 403
    assert client.get(SOME_RUN).status_code == 403
    assert User.objects.count() == users_before


def test_the_refusal_names_the_roles_that_may_add_users(client, csp):
    client.force_login(csp.account_admin)

    page = client.get(URL).content.decode()

    assert "Only a Global admin or User management admin can add users." in page
    assert "It needs one of these roles" in page
    assert csp.user_admin.email in page  # who to ask


def test_support_staff_use_the_support_admin(client, support):
    client.force_login(support)

    assert client.get(URL).status_code == 403
    assert client.post(SOME_RUN, sent("details", **GRACE)).status_code == 403
    assert client.get(PREVIEW).status_code == 403


def test_it_needs_sign_in(client, db):
    for response in (client.get(URL), client.post(SOME_RUN, sent("details", **GRACE))):
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    assert client.get(PREVIEW).url.startswith(reverse("login"))
    assert not User.objects.exists()


def test_the_pages_are_not_cached(client, csp):
    client.force_login(csp.global_admin)

    assert "no-store" in client.get(URL)["Cache-Control"]
    assert "no-store" in client.get(PREVIEW)["Cache-Control"]


# Step 1: details


def test_the_details_step_asks_for_first_name_last_name_and_email(client, csp):
    response = start(client, csp.global_admin)
    form = form_of(response)
    page = response.content.decode()

    assert [form[name].label for name in ("first_name", "last_name", "email")] == [
        "First name",
        "Last name",
        "Email",
    ]
    for name, length in (("first_name", 150), ("last_name", 150), ("email", 254)):
        assert re.search(rf'<label\s+for="id_details-{name}"', page)
        assert re.search(rf'<input [^>]*name="details-{name}"[^>]*maxlength="{length}"', page)
    assert ">Next</button>" in page
    assert "wizard_goto_step" not in page  # no Back on the first step
    assert "This is a different person" not in page


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("first_name", "", "This field is required."),
        ("first_name", "   ", "This field is required."),
        ("last_name", "", "This field is required."),
        ("email", "", "This field is required."),
        ("first_name", "G" * 151, "Ensure this value has at most 150 characters (it has 151)."),
        ("last_name", "H" * 151, "Ensure this value has at most 150 characters (it has 151)."),
        ("email", "g" * 64 + "@" + "x" * 60 + ".example" * 18, "at most 254 characters"),
        ("email", "grace.hopper", "Enter an email address, such as name@example.com."),
        ("email", "grace@", "Enter an email address, such as name@example.com."),
        ("first_name", "Gr\x00ace", "control characters"),
        ("last_name", "Hop\tper", "control characters"),
        ("last_name", "Hopper\u202e", "control characters"),
        ("email", "grace\x00@contoso.example", "control characters"),
    ],
)
def test_a_bad_detail_is_refused_at_its_field(client, csp, field, typed, message):
    users_before = User.objects.in_organization(csp.organization).count()
    start(client, csp.global_admin)

    response = send_details(client, **{field: typed})

    assert response.status_code == 200
    assert step_of(response) == "details"
    errors = form_of(response).errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    page = response.content.decode()
    assert message.replace("'", "&#x27;") in page
    for other in {"first_name", "last_name", "email"} - {field}:
        assert f'value="{GRACE[other]}"' in page  # what was typed stays
    if typed.strip() and "\x00" not in typed:
        assert form_of(response)[field].value() == typed
    assert nothing_written(csp.organization, users_before)


def test_an_email_of_the_organization_stops_with_a_link_to_that_user(client, csp):
    start(client, csp.global_admin)

    response = send_details(client, email=csp.member.email.upper())

    assert form_of(response).errors["email"] == ["A user with this email already exists."]
    page = response.content.decode()
    assert reverse("user_detail", args=[csp.member.public_id]) in page
    assert f'value="{csp.member.email.upper()}"' in page
    # The link is tied to the field.
    described_by = re.search(
        r'<input [^>]*name="details-email"[^>]*aria-describedby="([^"]+)"', page
    )
    assert "id_details-email_helptext" in described_by.group(1).split()
    assert 'id="id_details-email_helptext"' in page


def test_an_email_of_another_organization_stops_without_saying_whose(client, csp, outsider):
    start(client, csp.global_admin)

    response = send_details(client, email=outsider.email)

    assert form_of(response).errors["email"] == ["A user with this email already exists."]
    page = response.content.decode()
    assert str(outsider.public_id) not in page
    assert outsider.first_name not in page
    assert outsider.last_name not in page
    assert "Elsewhere" not in page


def test_an_email_of_support_staff_stops_too(client, csp, support):
    start(client, csp.global_admin)

    response = send_details(client, email=support.email)

    assert form_of(response).errors["email"] == ["A user with this email already exists."]
    assert str(support.public_id) not in response.content.decode()


# Possible duplicates


@pytest.mark.parametrize(
    ("existing", "typed", "reason"),
    [
        (
            {"first_name": "John", "last_name": "Smith"},
            {"first_name": "Jon", "last_name": "Smith"},
            "Similar name",
        ),
        (
            {"first_name": "Sarah", "last_name": "Connor"},
            {"first_name": "Sara", "last_name": "Connor"},
            "Similar name",
        ),
        (
            {"first_name": "Zoë", "last_name": "Müller"},
            {"first_name": "Zoe", "last_name": "Muller"},
            "Same name",
        ),
        (
            {"first_name": "John", "last_name": "Smith", "email": "john.smith@contoso.example"},
            {
                "first_name": "Johnny",
                "last_name": "S",
                "email": "john.smith+partner@contoso.example",
            },
            "Same email apart from a +tag",
        ),
    ],
)
def test_possible_duplicates_are_listed_and_passed_over_knowingly(
    client, csp, existing, typed, reason
):
    twin = UserFactory(organization=csp.organization, **existing)
    users_before = User.objects.in_organization(csp.organization).count()
    start(client, csp.global_admin)

    listed = send_details(client, **typed)

    assert step_of(listed) == "details"
    assert list(form_of(listed).errors) == ["different_person"]
    page = listed.content.decode()
    assert "This is a different person: add anyway" in page
    assert reverse("user_detail", args=[twin.public_id]) in page
    assert reason in page
    assert nothing_written(csp.organization, users_before)

    acknowledged = form_of(listed)["acknowledged_duplicates"].value()
    passed = send_details(
        client, **typed, different_person="on", acknowledged_duplicates=acknowledged
    )

    assert step_of(passed) == "roles"


def test_a_tick_given_for_other_possible_duplicates_does_not_count(client, csp):
    UserFactory(organization=csp.organization, first_name="John", last_name="Smith")
    sarah = UserFactory(organization=csp.organization, first_name="Sarah", last_name="Connor")
    start(client, csp.global_admin)
    listed = send_details(client, first_name="Jon", last_name="Smith")
    acknowledged = form_of(listed)["acknowledged_duplicates"].value()

    # Ticked for John Smith, then the name changed to one close to Sarah Connor's.
    response = send_details(
        client,
        first_name="Sara",
        last_name="Connor",
        different_person="on",
        acknowledged_duplicates=acknowledged,
    )

    assert step_of(response) == "details"
    assert list(form_of(response).errors) == ["different_person"]
    assert reverse("user_detail", args=[sarah.public_id]) in response.content.decode()
    assert not form_of(response)["different_person"].value()  # to be ticked again, knowingly


def test_no_possible_duplicates_no_question(client, csp):
    start(client, csp.global_admin)

    assert step_of(send_details(client, first_name="Grace", last_name="Hopper")) == "roles"


# Step 2: roles


def test_every_role_is_offered_in_its_group_with_what_it_unlocks(client, csp):
    start(client, csp.global_admin)

    response = send_details(client)

    page = response.content.decode()
    assert "<legend" in page
    assert "Directory roles</legend>" in page
    assert "Membership roles</legend>" in page
    for spec in CATALOGUE:
        assert f">{spec.name}</label>" in page
        assert spec.unlocks.replace("'", "&#x27;") in page
        assert " disabled" not in checkbox(page, spec.key)
    assert page.index("Directory roles") < page.index("Membership roles")
    assert 'aria-live="polite"' in page
    assert ">Back</button>" in page
    assert ">Next</button>" in page


def test_a_user_management_admin_cannot_grant_global_admin(client, csp):
    start(client, csp.user_admin)

    page = send_details(client).content.decode()

    box = checkbox(page, GA)
    assert " disabled" in box
    reason = "Only a Global admin can grant or revoke Global admin."
    reason_id = re.search(r'id="([^"]+_reason)"', page).group(1)
    assert reason_id in re.search(r'aria-describedby="([^"]+)"', box).group(1)
    assert f'id="{reason_id}">{reason}</div>' in page
    assert " disabled" not in checkbox(page, BILLING)


def test_a_crafted_post_with_a_role_the_admin_may_not_grant_is_refused_at_the_field(client, csp):
    users_before = User.objects.in_organization(csp.organization).count()
    start(client, csp.user_admin)
    send_details(client)

    response = send_roles(client, REFERRALS, GA)

    assert response.status_code == 200
    assert step_of(response) == "roles"
    assert form_of(response).errors["roles"] == [
        "Only a Global admin can grant or revoke Global admin."
    ]
    assert "Only a Global admin can grant or revoke Global admin." in response.content.decode()
    # Sent anyway, Add still refuses: every step is validated again.
    assert step_of(send_add(client, follow=True)) == "roles"
    assert nothing_written(csp.organization, users_before)


def test_an_unknown_role_is_refused_at_the_field(client, csp):
    users_before = User.objects.in_organization(csp.organization).count()
    start(client, csp.global_admin)
    send_details(client)

    response = send_roles(client, "owner")

    assert step_of(response) == "roles"
    assert "owner is not one of the available choices" in form_of(response).errors["roles"][0]
    assert nothing_written(csp.organization, users_before)


def test_in_a_non_csp_organization_the_csp_roles_are_disabled_with_the_reason(client, non_csp):
    start(client, non_csp.global_admin)

    page = send_details(client).content.decode()

    for spec in CATALOGUE:
        box = checkbox(page, spec.key)
        if spec.csp_only:
            assert " disabled" in box
            reason = f"{spec.name} is a CSP role: a non-CSP organization cannot grant it."
            assert reason in page
        else:
            assert " disabled" not in box


def test_a_csp_role_sent_in_a_non_csp_organization_is_refused(client, non_csp):
    start(client, non_csp.global_admin)
    send_details(client)

    response = send_roles(client, BILLING)

    assert step_of(response) == "roles"
    assert form_of(response).errors["roles"] == [
        "Billing admin is a CSP role: a non-CSP organization cannot grant it."
    ]


def test_without_javascript_the_preview_is_of_the_roles_last_sent(client, csp):
    start(client, csp.global_admin)
    first_visit = send_details(client)
    assert "None: they will see only My profile." in first_visit.content.decode()

    review = send_roles(client, MPN)
    back = post(client, sent("review", back_to="roles"))

    assert step_of(back) == "roles"
    assert " checked" in checkbox(back.content.decode(), MPN)
    preview = back.context["access"]
    assert [workspace.label for workspace in preview.workspaces] == [
        "User management",
        "Membership",
    ]
    assert "Purchase MAPS" in review.content.decode()


def test_no_step_has_an_inline_script_or_style(client, csp):
    # The Content-Security-Policy will forbid both.
    UserFactory(organization=csp.organization, first_name="Jon", last_name="Hopper")
    pages = {
        "details": start(client, csp.global_admin),
        "details with possible duplicates": send_details(client, first_name="John"),
        "roles": send_details(client),
        "review": send_roles(client, MPN),
    }

    for name, response in pages.items():
        page = response.content.decode()
        assert "style=" not in page, name
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", page), name
        assert not re.search(r"<[^>]+\son[a-z]+=", page), name  # no inline event handlers
    assert "Possible duplicates" in pages["details with possible duplicates"].content.decode()
    roles_page = pages["roles"].content.decode()
    assert 'src="/static/js/access-preview.js"' in roles_page
    assert f'data-access-preview-url="{PREVIEW}"' in roles_page


# Two runs, and the browser's Back and Forward


def test_two_runs_in_two_tabs_keep_their_own_details_and_roles(client, csp):
    start(client, csp.global_admin)
    tab_a = run_url(client)
    post(client, sent("details", **GRACE), url=tab_a)
    post(client, sent("roles", roles=[MPN]), url=tab_a)
    client.get(URL, follow=True)
    tab_b = run_url(client)
    ada = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@contoso.example"}
    post(client, sent("details", **ada), url=tab_b)
    post(client, sent("roles", roles=[REFERRALS]), url=tab_b)

    review_a = client.get(step_url(UUID(tab_a.split("/")[3]), "review"))
    assert GRACE["email"] in review_a.content.decode()
    assert "ada@contoso.example" not in review_a.content.decode()
    post(client, sent("review", sign_in="invitation"), url=tab_a)
    post(client, sent("review", sign_in="invitation"), url=tab_b)

    grace = User.objects.get(email=GRACE["email"])
    ada_added = User.objects.get(email="ada@contoso.example")
    assert (grace.first_name, [a.role.key for a in grace.role_assignments.all()]) == (
        "Grace",
        [MPN],
    )
    assert (ada_added.first_name, [a.role.key for a in ada_added.role_assignments.all()]) == (
        "Ada",
        [REFERRALS],
    )


def test_every_post_between_steps_answers_with_a_redirect_to_a_step(client, csp):
    start(client, csp.global_admin)
    details, roles, review = (run_url(client, step) for step in ("details", "roles", "review"))

    refused = post(client, sent("details", **{**GRACE, "email": "nope"}), follow=False)
    assert (refused.status_code, refused.url) == (302, details)
    # The refused page, shown by its address, keeps what was typed and says why.
    again = client.get(details)
    assert form_of(again).errors["email"]
    assert 'value="nope"' in again.content.decode()
    forward = post(client, sent("details", **GRACE), follow=False)
    assert (forward.status_code, forward.url) == (302, roles)
    assert post(client, sent("roles", roles=[MPN]), follow=False).url == review
    back = post(client, sent("review", back_to="roles"), follow=False)
    assert (back.status_code, back.url) == (302, roles)


def test_the_browsers_back_and_forward_show_each_step_with_what_it_holds(client, csp):
    go_to_review(client, csp.global_admin, MPN)

    # Back (a GET of an earlier step's address): the step, as it was sent.
    details = client.get(run_url(client, "details"))
    assert step_of(details) == "details"
    assert form_of(details)["email"].value() == GRACE["email"]
    roles = client.get(run_url(client, "roles"))
    assert form_of(roles)["roles"].value() == [MPN]
    # Forward again: the review.
    assert step_of(client.get(run_url(client, "review"))) == "review"


def test_a_later_step_before_the_earlier_ones_sends_to_the_first_not_done(client, csp):
    start(client, csp.global_admin)

    response = client.get(run_url(client, "review"))

    assert response.url == run_url(client, "details")


def test_a_run_this_session_did_not_begin_starts_over(client, csp):
    client.force_login(csp.global_admin)

    response = client.get(SOME_RUN, follow=True)

    assert "Nothing was added" in response.content.decode()
    assert step_of(response) == "details"
    assert client.get(step_url(UUID(int=0), "nothing")).status_code == 404


def test_old_runs_are_dropped_from_the_session(client, csp):
    start(client, csp.global_admin)
    first = client.session[RUNS][-1]
    send_details(client)
    assert f"wizard_add_user_wizard_{first}" in client.session

    for _ in range(add_user_views.RUNS_KEPT):
        client.get(URL)

    assert first not in client.session[RUNS]
    assert f"wizard_add_user_wizard_{first}" not in client.session
    assert len(client.session[RUNS]) == add_user_views.RUNS_KEPT


# Back


def test_back_keeps_what_was_entered(client, csp):
    start(client, csp.global_admin)
    send_details(client, first_name="Grace", last_name="Hopper")

    # Roles ticked, then Back: the details are as typed...
    back = post(client, sent("roles", back_to="details", roles=[MPN, REFERRALS]))

    assert step_of(back) == "details"
    assert form_of(back)["first_name"].value() == "Grace"
    assert form_of(back)["email"].value() == GRACE["email"]
    # ...and on the way forward, the roles are still ticked.
    forward = send_details(client, first_name="Grace", last_name="Hopper")
    assert step_of(forward) == "roles"
    assert form_of(forward)["roles"].value() == [MPN, REFERRALS]

    review = send_roles(client, MPN, REFERRALS)
    back_to_roles = post(client, sent("review", back_to="roles"))
    assert step_of(back_to_roles) == "roles"
    assert form_of(back_to_roles)["roles"].value() == [MPN, REFERRALS]
    assert step_of(review) == "review"


def test_changing_the_details_after_back_is_what_gets_added(client, csp):
    go_to_review(client, csp.global_admin, MPN)
    post(client, sent("review", back_to="roles"))
    post(client, sent("roles", back_to="details", roles=[MPN]))
    send_details(client, first_name="Amazing Grace")
    send_roles(client, MPN)

    send_add(client)

    assert User.objects.get(email=GRACE["email"]).first_name == "Amazing Grace"


# Step 3: review and Add


def test_the_review_offers_add_and_back(client, csp):
    page = go_to_review(client, csp.global_admin, MPN).content.decode()

    assert ">Add</button>" in page
    assert ">Back</button>" in page
    assert 'value="roles"' in page


# Step 3: how the new user signs in the first time


def checked_sign_in(page: str) -> list[str]:
    """The values of the checked sign-in choices on the review page."""
    radios = re.findall(r'<input type="radio"[^>]*name="review-sign_in"[^>]*>', page)
    return [re.search(r'value="([^"]+)"', radio).group(1) for radio in radios if "checked" in radio]


def test_the_review_offers_an_invitation_by_default(client, csp):
    page = go_to_review(client, csp.global_admin, MPN).content.decode()

    assert "Email an invitation" in page
    assert "Show a temporary password" in page
    assert checked_sign_in(page) == ["invitation"]


def test_adding_with_an_invitation_emails_the_user_and_shows_no_password(
    client, csp, django_capture_on_commit_callbacks, settings
):
    settings.PARTNERHUB_BASE_URL = "https://partnerhub.example"
    go_to_review(client, csp.global_admin, MPN)

    with django_capture_on_commit_callbacks(execute=True):
        response = send_add(client, sign_in="invitation")

    added = User.objects.get(email=GRACE["email"])
    assert response.status_code == 302
    assert response.url == reverse("user_added", args=[added.public_id])
    assert not added.has_usable_password()
    assert not added.must_change_password
    created = AuditEvent.objects.about(added).get(action=AuditAction.USER_CREATED)
    assert created.after["sign_in"] == "invitation"
    [message] = sent_mail()
    assert message.to == [GRACE["email"]]
    assert "https://partnerhub.example/invitation/" in message.body
    page = client.get(response.url).content.decode()
    assert f"An invitation was sent to <bdi>{GRACE['email']}</bdi>" in page
    assert "expires on" in page
    assert 'id="temporary-password"' not in page


def test_adding_with_a_temporary_password_sends_no_email(
    client, csp, django_capture_on_commit_callbacks
):
    go_to_review(client, csp.global_admin, MPN)

    with django_capture_on_commit_callbacks(execute=True):
        send_add(client, sign_in="temporary_password")

    assert User.objects.get(email=GRACE["email"]).must_change_password
    assert sent_mail() == []


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("", "Choose how the new user will sign in the first time."),
        ("both", "Select a valid choice. both is not one of the available choices."),
    ],
)
def test_a_missing_or_unknown_sign_in_choice_is_explained(client, csp, choice, message):
    go_to_review(client, csp.global_admin, MPN)

    response = send_add(client, sign_in=choice, follow=True)

    assert response.status_code == 200
    assert step_of(response) == "review"
    assert form_of(response).errors["sign_in"] == [message]
    assert not User.objects.filter(email=GRACE["email"]).exists()


def test_the_sign_in_choice_survives_the_password_question(client, csp):
    # Granting Global admin asks for the admin's password first (accounts.reauth).
    go_to_review(client, csp.global_admin, GA)
    session = client.session
    session[SESSION_KEY] = 0.0  # entered long ago
    session.save()
    asked = send_add(client, sign_in="temporary_password")
    confirmed = client.post(asked.url, {"password": PASSWORD})

    review = client.get(confirmed.url)

    assert step_of(review) == "review"
    assert checked_sign_in(review.content.decode()) == ["temporary_password"]
    added = send_add(client, sign_in="temporary_password")
    assert User.objects.get(email=GRACE["email"]).check_password(shown_password(added))


def test_the_page_after_an_invitation_is_for_the_directorys_readers(client, csp):
    go_to_review(client, csp.global_admin, MPN)
    added_url = send_add(client, sign_in="invitation").url

    client.force_login(csp.member)

    assert client.get(added_url).status_code == 403
    # A reader who may not add users is not offered to add another.
    client.force_login(csp.mpn_admin)
    page = client.get(added_url).content.decode()
    assert "User added" in page
    assert "Add another user" not in page


def test_a_replayed_add_creates_one_user(client, csp):
    go_to_review(client, csp.global_admin, MPN)
    assert send_add(client).status_code == 200

    replayed = send_add(client)

    added = User.objects.get(email=GRACE["email"])
    assert replayed.status_code == 302
    assert replayed.url == reverse("user_added", args=[added.public_id])
    assert "was already added" in client.get(replayed.url).content.decode()
    # So does Back to the review after Add, and Add there again.
    review = client.get(run_url(client, "review"))
    assert review.url == reverse("user_added", args=[added.public_id])


def test_a_lone_later_step_without_a_flow_in_progress_starts_over(client, csp):
    client.force_login(csp.global_admin)
    client.get(URL)  # a run begun, whose page was never shown

    for body in (sent("roles", roles=[MPN]), sent("review"), sent("review", back_to="roles")):
        response = post(client, body, follow=False)
        assert response.status_code == 302
        assert response.url == URL
    assert not User.objects.filter(email=GRACE["email"]).exists()


@pytest.mark.parametrize(
    "body",
    [{}, {MANAGEMENT: "\x00"}, {MANAGEMENT: "done"}, {MANAGEMENT: "review\x00"}],
    ids=["no step", "NUL", "unknown step", "step with NUL"],
)
def test_a_tampered_step_is_a_bad_request_not_a_server_error(client, csp, body):
    start(client, csp.global_admin)

    assert post(client, body).status_code == 400


def test_a_jump_to_the_review_without_details_goes_back_to_the_details(client, csp):
    start(client, csp.global_admin)

    response = post(client, sent("details", back_to="review"))

    assert step_of(response) == "details"


def test_an_email_taken_meanwhile_returns_to_the_details(client, csp):
    go_to_review(client, csp.global_admin, MPN)
    someone = UserFactory(organization=csp.organization, email=GRACE["email"].lower())

    response = send_add(client, follow=True)

    assert response.status_code == 200
    assert step_of(response) == "details"
    assert form_of(response).errors["email"] == ["A user with this email already exists."]
    assert reverse("user_detail", args=[someone.public_id]) in response.content.decode()
    assert User.objects.with_email(GRACE["email"]).count() == 1


def test_an_email_taken_in_the_last_instant_returns_to_the_details(client, csp, monkeypatch):
    # Taken after the steps were checked, before the user was saved: the service says so.
    go_to_review(client, csp.global_admin, MPN)
    create_user = add_user_views.create_user

    def someone_else_first(*args, **kwargs):
        UserFactory(organization=csp.organization, email=GRACE["email"])
        return create_user(*args, **kwargs)

    monkeypatch.setattr(add_user_views, "create_user", someone_else_first)

    response = send_add(client, follow=True)

    assert step_of(response) == "details"
    assert form_of(response).errors["email"] == ["A user with this email already exists."]
    assert User.objects.filter(email=GRACE["email"]).count() == 1


def test_a_role_no_longer_grantable_at_add_returns_to_the_roles(client, csp):
    go_to_review(client, csp.global_admin, MPN, BILLING)
    # The organization left the CSP program meanwhile: Billing admin cannot be granted there.
    csp.organization.program_type = "non_csp"
    csp.organization.save()

    response = send_add(client, follow=True)

    assert step_of(response) == "roles"
    assert form_of(response).errors["roles"] == [
        "Billing admin is a CSP role: a non-CSP organization cannot grant it."
    ]
    assert not User.objects.filter(email=GRACE["email"]).exists()


def test_a_refusal_by_the_service_shows_on_the_review(client, csp, monkeypatch):
    go_to_review(client, csp.global_admin, MPN)

    def refuse(*args, **kwargs):
        raise RuleRefused("Only a Global admin or User management admin can add users.")

    monkeypatch.setattr(add_user_views, "create_user", refuse)

    response = send_add(client, follow=True)

    assert response.status_code == 200
    assert step_of(response) == "review"
    assert "Only a Global admin or User management admin can add users." in (
        response.content.decode()
    )
    # What was entered is kept for another try.
    monkeypatch.undo()
    assert send_add(client).status_code == 200
    assert User.objects.filter(email=GRACE["email"]).exists()


def test_a_role_refused_by_the_service_shows_at_the_roles(client, csp, monkeypatch):
    go_to_review(client, csp.global_admin, MPN)

    def refuse(*args, **kwargs):
        raise RuleRefused("Nobody changes their own roles.", action=AuditAction.ROLE_GRANTED)

    monkeypatch.setattr(add_user_views, "create_user", refuse)

    response = send_add(client, follow=True)

    assert step_of(response) == "roles"
    assert "Nobody changes their own roles." in response.content.decode()


def test_an_admin_who_lost_the_role_meanwhile_is_refused_and_the_attempt_recorded(client, csp):
    go_to_review(client, csp.user_admin, MPN)
    csp.user_admin.role_assignments.all().delete()

    response = send_add(client)

    assert response.status_code == 403
    assert not User.objects.filter(email=GRACE["email"]).exists()
    assert not AuditEvent.objects.filter(outcome=AuditOutcome.DONE).exists()


# The access preview endpoint


def preview(client, *keys: str):
    return client.get(PREVIEW, {"roles": list(keys)})


def listed(page: str, testid: str) -> list[str]:
    block = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(ul|p)>', page, re.S).group(1)
    return re.findall(r"<li>(.*?)</li>", block)


def test_the_preview_says_what_roles_give(client, csp):
    client.force_login(csp.global_admin)

    page = preview(client, MPN).content.decode()

    assert listed(page, "preview-workspaces") == ["User management", "Membership"]
    assert listed(page, "preview-actions") == ["See the directory", "Purchase MAPS"]
    assert "<html" not in page  # a fragment, for the roles step to put in place


def test_the_preview_of_several_roles(client, csp):
    client.force_login(csp.global_admin)

    page = preview(client, BILLING, REFERRALS).content.decode()

    assert listed(page, "preview-workspaces") == ["Billing", "Referrals"]
    assert listed(page, "preview-actions") == []


def test_the_preview_of_global_admin_is_everything(client, csp):
    client.force_login(csp.global_admin)

    page = preview(client, GA).content.decode()

    assert "Reset passwords" in listed(page, "preview-actions")
    assert len(listed(page, "preview-workspaces")) == 11


def test_the_preview_ignores_unknown_keys_and_roles_the_admin_may_not_grant(client, csp):
    client.force_login(csp.user_admin)

    page = preview(client, "owner", "\x00", GA, REFERRALS).content.decode()

    assert listed(page, "preview-workspaces") == ["Referrals"]


def test_the_preview_with_no_roles(client, csp):
    client.force_login(csp.global_admin)

    page = preview(client).content.decode()

    assert "None: they will see only My profile." in page


def test_in_a_non_csp_organization_csp_roles_give_nothing(client, non_csp):
    client.force_login(non_csp.global_admin)

    page = preview(client, BILLING).content.decode()

    assert "None: they will see only My profile." in page


@pytest.mark.parametrize("who", ["account_admin", "mpn_admin", "member"])
def test_the_preview_is_refused_to_those_who_may_not_add_users(client, csp, who):
    client.force_login(getattr(csp, who))

    assert preview(client, MPN).status_code == 403


def test_the_preview_answers_get_only(client, csp):
    client.force_login(csp.global_admin)

    assert client.post(PREVIEW, {"roles": [MPN]}).status_code == 405


# Queries: a fixed number, whatever the size of the organization


def organization_of(size: int, partner_id: str) -> User:
    """An organization of `size` users, the first a Global admin; the others hold roles and are
    namesakes of the user to be added (candidates for the duplicates check, none close)."""
    organization = OrganizationFactory(partner_id=partner_id)
    admin = UserFactory(organization=organization, roles=[GA])
    for number in range(size - 1):
        UserFactory(
            organization=organization,
            first_name=f"Maximilian{number}",
            last_name="Hopper",
            roles=[REFERRALS, BILLING] if number % 2 else [MPN],
        )
    return admin


def queries_per_step(client, admin: User, email: str) -> dict[str, int]:
    client.force_login(admin)
    steps = {
        "GET details": lambda: client.get(URL, follow=True),
        "POST details": lambda: send_details(client, email=email),
        "POST roles": lambda: send_roles(client, MPN, BILLING),
        "POST back": lambda: post(client, sent("review", back_to="roles")),
        "POST roles again": lambda: send_roles(client, MPN, BILLING),
        "POST add": lambda: send_add(client),
        "GET preview": lambda: preview(client, MPN, BILLING, REFERRALS),
    }
    counts = {}
    for name, step in steps.items():
        with CaptureQueriesContext(connection) as queries:
            response = step()
        assert response.status_code in {200, 302}, name
        counts[name] = len(queries)
    assert User.objects.filter(email=email).exists()
    return counts


def test_each_step_costs_the_same_queries_for_3_users_as_for_40(client, db):
    small = queries_per_step(client, organization_of(3, "2000001"), "grace@small.example")
    large = queries_per_step(client, organization_of(40, "2000002"), "grace@large.example")

    assert small == large
    # Add writes the user, its roles and an audit event each, every event chained under a lock.
    assert max(small.values()) <= 40, small


def test_the_roles_in_the_table_are_the_catalogue(client, csp):
    # The roles step offers exactly the catalogue, in its order.
    start(client, csp.global_admin)

    form = form_of(send_details(client))

    offered = [choice.key for group in form.role_groups() for choice in group.choices]
    assert sorted(offered) == sorted(SPECS)
    for group in form.role_groups():
        keys = [choice.key for choice in group.choices]
        assert keys == [key for key in SPECS if key in keys]
