"""The directory's bulk actions (accounts.bulk, accounts.views.bulk): each selected user is
decided by the rulebook on its own, changed by the one-by-one service with one audit event,
or skipped with the reason; refusals are recorded when the admin goes ahead."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import bulk
from accounts.bulk import BulkAction
from accounts.models import AuditAction, AuditEvent, AuditOutcome, User
from accounts.reauth import SESSION_KEY
from roles import rules
from roles.catalogue import RoleKey
from roles.models import RoleAssignment
from tests.conftest import Cast
from tests.factories import OrganizationFactory, SupportStaffFactory, UserFactory
from tests.jobs import sent_mail

pytestmark = pytest.mark.django_db


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def picked(action: str, users: list[User], role: str = "") -> dict:
    return {
        "action": action,
        "target_role": role,
        "scope": "picked",
        "user": [str(user.public_id) for user in users],
    }


def confirm(client: Client, data: dict) -> HttpResponse:
    return client.get(reverse("bulk_confirm"), data)


def apply(client: Client, data: dict) -> HttpResponse:
    return client.post(reverse("bulk_apply"), data)


def text_of(response: HttpResponse) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def pending(cast: Cast, **kwargs: object) -> User:
    """A user invited who has not set a password yet."""
    user = UserFactory(organization=cast.organization, **kwargs)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


def changes(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, outcome=AuditOutcome.DONE))


def holds(user: User, role: str) -> bool:
    return RoleAssignment.objects.filter(user=user, role__key=role).exists()


# Each skip reason, decided by the rulebook for one user on its own (or: nothing to do)


@dataclass(frozen=True)
class Skip:
    actor: str
    target: str  # a member of the cast, "self", "deactivated" or "pending_deactivated"
    action: BulkAction
    role: str
    reason: str
    refused: bool  # a refusal of the rulebook (recorded), rather than nothing to do
    non_csp: bool = False


ONLY_GA_USER = "Only a Global admin can change a user who holds Global admin."
ONLY_GA_ROLES = "Only a Global admin can change the roles of a Global admin."
NOT_SELF = "You cannot deactivate or delete your own account."
CSP_ROLE = "Billing admin is a CSP role: a non-CSP organization cannot grant it."
REACTIVATE_FIRST = "This user is deactivated: reactivate them before resending the invitation."
A, D = BulkAction, RoleKey

SKIPS = [
    Skip("user_admin", "global_admin", A.DEACTIVATE, "", ONLY_GA_USER, True),
    Skip("user_admin", "global_admin", A.DELETE, "", ONLY_GA_USER, True),
    Skip("user_admin", "global_admin", A.ASSIGN_ROLE, D.SALES_AGENT, ONLY_GA_ROLES, True),
    Skip("account_admin", "global_admin", A.ASSIGN_ROLE, D.REFERRALS_ADMIN, ONLY_GA_ROLES, True),
    Skip("global_admin", "self", A.DEACTIVATE, "", NOT_SELF, True),
    Skip("global_admin", "self", A.DELETE, "", NOT_SELF, True),
    Skip("global_admin", "self", A.REMOVE_ROLE, D.GLOBAL_ADMIN, "Nobody changes their own roles: ask another admin.", True),  # noqa: E501
    Skip("global_admin", "member", A.ASSIGN_ROLE, D.BILLING_ADMIN, CSP_ROLE, True, non_csp=True),
    Skip("global_admin", "pending_deactivated", A.RESEND_INVITATION, "", REACTIVATE_FIRST, True),
    Skip("global_admin", "member", A.ASSIGN_ROLE, D.REFERRALS_ADMIN, "Holds Referrals admin already.", False),  # noqa: E501
    Skip("global_admin", "member", A.REMOVE_ROLE, D.SALES_AGENT, "Does not hold Sales agent.", False),  # noqa: E501
    Skip("global_admin", "member", A.REACTIVATE, "", "Active already.", False),
    Skip("global_admin", "deactivated", A.DEACTIVATE, "", "Deactivated already.", False),
    Skip("global_admin", "member", A.RESEND_INVITATION, "", "Has set a password already", False),
]  # fmt: skip


def state_of(user: User) -> tuple[bool, list[str]]:
    roles = RoleAssignment.objects.filter(user=user).values_list("role__key", flat=True)
    return user.is_active, sorted(roles)


def _target(cast: Cast, skip: Skip) -> User:
    if skip.target == "self":
        return getattr(cast, skip.actor)
    if skip.target == "deactivated":
        return UserFactory(organization=cast.organization, is_active=False)
    if skip.target == "pending_deactivated":
        return pending(cast, is_active=False)
    return getattr(cast, skip.target)


@pytest.mark.parametrize("skip", SKIPS, ids=lambda s: f"{s.actor}-{s.action}-{s.target}-{s.role}")
def test_a_skipped_user_is_named_with_the_reason_and_left_unchanged(
    client: Client, csp: Cast, non_csp: Cast, skip: Skip
) -> None:
    cast = non_csp if skip.non_csp else csp
    actor, target = getattr(cast, skip.actor), _target(cast, skip)
    before = (
        target.is_active,
        sorted(RoleAssignment.objects.filter(user=target).values_list("role__key", flat=True)),
    )
    signed_in(client, actor)
    data = picked(skip.action, [target], skip.role)

    page = confirm(client, data)
    assert page.status_code == 200
    assert skip.reason in text_of(page)
    assert "Nothing to do" in text_of(page)
    assert not page.context["plan"].changing

    assert apply(client, data).status_code == 302
    result = client.get(reverse("bulk_result"))
    assert f"Skipped: {skip.reason}" in text_of(result) or skip.reason in text_of(result)
    assert state_of(User.objects.get(pk=target.pk)) == before
    refusals = AuditEvent.objects.filter(outcome=AuditOutcome.REFUSED, target=target)
    assert refusals.exists() == skip.refused
    if skip.refused:
        assert skip.reason in refusals.get().reason
        assert refusals.get().action == bulk.AUDIT_ACTION[skip.action]


def test_the_last_global_admin_is_skipped(csp: Cast) -> None:
    """Only someone who may act on Global admins without being one meets rule 4 here (support
    staff; in the partner pages the acting Global admin is always another): the rulebook skips
    the last one."""
    organization = OrganizationFactory(name="Lone")
    lone = UserFactory(organization=organization, roles=[RoleKey.GLOBAL_ADMIN])
    staff = SupportStaffFactory()
    users = User.objects.in_organization(organization)
    [chunk] = bulk.users_in_chunks(users, [lone.pk])
    verdict = bulk.decide(staff, BulkAction.DEACTIVATE, "", chunk[0])
    assert (verdict.change, verdict.reason, verdict.refused) == (
        False,
        rules.LAST_GLOBAL_ADMIN,
        True,
    )
    verdict = bulk.decide(staff, BulkAction.REMOVE_ROLE, RoleKey.GLOBAL_ADMIN, chunk[0])
    assert verdict.reason == rules.LAST_GLOBAL_ADMIN


# Each action, on users it may change: the one-by-one service, one audit event per user


def test_assign_a_role(client: Client, csp: Cast) -> None:
    targets = [csp.member, csp.billing_admin]
    signed_in(client, csp.user_admin)
    data = picked(BulkAction.ASSIGN_ROLE, targets, RoleKey.SALES_AGENT)
    page = confirm(client, data)
    assert page.context["plan"].changing == 2
    assert "Each gets Sales agent" in text_of(page)
    assert apply(client, data).url == reverse("bulk_result")
    assert all(holds(user, RoleKey.SALES_AGENT) for user in targets)
    assert {event.target_id for event in changes(AuditAction.ROLE_GRANTED)} == {
        u.pk for u in targets
    }
    assert len(changes(AuditAction.ROLE_GRANTED)) == 2
    result = text_of(client.get(reverse("bulk_result")))
    assert "2 users changed" in result
    assert "Sales agent assigned." in result


def test_remove_a_role(client: Client, csp: Cast) -> None:
    signed_in(client, csp.global_admin)
    data = picked(
        BulkAction.REMOVE_ROLE, [csp.second_global_admin, csp.member], RoleKey.GLOBAL_ADMIN
    )
    page = confirm(client, data)
    assert (page.context["plan"].changing, page.context["plan"].skipping) == (1, 1)
    apply(client, data)
    assert not holds(csp.second_global_admin, RoleKey.GLOBAL_ADMIN)
    assert len(changes(AuditAction.ROLE_REVOKED)) == 1


def test_deactivate(client: Client, csp: Cast) -> None:
    targets = [csp.member, csp.billing_admin, csp.mpn_admin]
    signed_in(client, csp.user_admin)
    data = picked(BulkAction.DEACTIVATE, targets)
    assert "can no longer sign in" in text_of(confirm(client, data))
    apply(client, data)
    assert not User.objects.filter(pk__in=[u.pk for u in targets], is_active=True).exists()
    assert len(changes(AuditAction.USER_DEACTIVATED)) == 3


def test_reactivate(client: Client, csp: Cast) -> None:
    gone = [UserFactory(organization=csp.organization, is_active=False) for _ in range(2)]
    signed_in(client, csp.user_admin)
    apply(client, picked(BulkAction.REACTIVATE, gone))
    assert User.objects.filter(pk__in=[u.pk for u in gone], is_active=True).count() == 2
    assert len(changes(AuditAction.USER_REACTIVATED)) == 2


def test_resend_invitation(
    client: Client, csp: Cast, django_capture_on_commit_callbacks: object
) -> None:
    invited = [pending(csp), pending(csp)]
    signed_in(client, csp.user_admin)
    with django_capture_on_commit_callbacks(execute=True):
        apply(client, picked(BulkAction.RESEND_INVITATION, [*invited, csp.member]))
    assert sorted(message.to[0] for message in sent_mail()) == sorted(u.email for u in invited)
    assert len(changes(AuditAction.INVITATION_SENT)) == 2
    assert "Has set a password already" in text_of(client.get(reverse("bulk_result")))


def test_delete(client: Client, csp: Cast) -> None:
    targets = [csp.member, csp.billing_admin]
    signed_in(client, csp.global_admin)
    data = picked(BulkAction.DELETE, targets)
    assert "cannot be undone" in text_of(confirm(client, data))
    apply(client, data)
    assert not User.objects.filter(pk__in=[u.pk for u in targets]).exists()
    assert len(changes(AuditAction.USER_DELETED)) == 2
    assert "Deleted." in text_of(client.get(reverse("bulk_result")))


def test_one_refused_user_does_not_stop_the_others(client: Client, csp: Cast) -> None:
    signed_in(client, csp.user_admin)
    apply(client, picked(BulkAction.DEACTIVATE, [csp.global_admin, csp.member]))
    assert User.objects.get(pk=csp.global_admin.pk).is_active
    assert not User.objects.get(pk=csp.member.pk).is_active
    result = client.get(reverse("bulk_result"))
    assert "1 user changed, 1 not changed" in text_of(result)


# All that match: the filters, never a list of ids


def test_all_that_match_acts_on_the_filters_matches_only(client: Client, csp: Cast) -> None:
    signed_in(client, csp.global_admin)
    data = {"action": BulkAction.DEACTIVATE, "scope": "matching", "role": RoleKey.BILLING_ADMIN}
    assert confirm(client, data).context["plan"].selected == 1
    apply(client, data)
    assert list(User.objects.filter(is_active=False)) == [csp.billing_admin]
    # Back to the directory as it was filtered.
    assert (
        client.get(reverse("bulk_result")).context["directory_url"].endswith("?role=billing_admin")
    )


def test_all_that_match_with_a_filter_in_error_acts_on_nobody(client: Client, csp: Cast) -> None:
    signed_in(client, csp.global_admin)
    data = {"action": BulkAction.DEACTIVATE, "scope": "matching", "role": "no-such-role"}
    page = confirm(client, data)
    assert "plan" not in page.context
    assert "correct it there" in str(page.context["form"].errors["scope"])
    apply(client, data)
    assert not User.objects.filter(is_active=False).exists()


def test_more_than_the_limit_is_refused_with_a_message(
    client: Client, csp: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "MAX_BULK_USERS", 3)
    signed_in(client, csp.global_admin)
    data = {"action": BulkAction.DEACTIVATE, "scope": "matching"}
    page = confirm(client, data)
    assert "7 users are selected. A bulk action takes at most 3 users" in text_of(page)
    assert b"bulk-apply" not in page.content
    apply(client, data)
    assert not User.objects.filter(is_active=False).exists()


def test_the_confirmation_reads_users_in_chunks_at_a_constant_cost(
    client: Client, csp: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "CHUNK_SIZE", 10)
    signed_in(client, csp.global_admin)
    data = {"action": BulkAction.DEACTIVATE, "scope": "matching", "role": "none"}
    UserFactory.create_batch(5, organization=csp.organization)
    with CaptureQueriesContext(connection) as few:
        confirm(client, data)
    UserFactory.create_batch(5, organization=csp.organization)
    with CaptureQueriesContext(connection) as more:
        page = confirm(client, data)
    assert page.context["plan"].selected == 10
    assert len(more) == len(few)


# Bad input: a clear message at the field, nothing written


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"action": A.ASSIGN_ROLE, "scope": "picked"}, "target_role", "Choose the role to assign"),
        ({"action": BulkAction.DEACTIVATE, "scope": "picked"}, "scope", "Tick at least one user"),
        ({"action": "explode", "scope": "matching"}, "action", "Select a valid choice"),
        # Roles the admin may grant to nobody are not offered (the rulebook decides).
        ({"action": A.ASSIGN_ROLE, "target_role": D.GLOBAL_ADMIN, "scope": "matching"}, "target_role", "Select a valid choice"),  # noqa: E501
        ({"action": A.DEACTIVATE, "scope": "picked", "user": "not-an-id"}, "user", "not be read"),
    ],
)  # fmt: skip
def test_bad_input_is_said_at_the_field(
    client: Client, csp: Cast, data: dict, field: str, message: str
) -> None:
    signed_in(client, csp.user_admin)
    page = confirm(client, data)
    assert page.status_code == 200
    assert message in str(page.context["form"].errors[field])
    assert apply(client, data).status_code == 302
    assert not AuditEvent.objects.filter(outcome=AuditOutcome.DONE).exists()


# Who is offered what; the password asked again


def test_only_those_who_may_act_see_checkboxes(client: Client, csp: Cast) -> None:
    signed_in(client, csp.global_admin)
    assert b"data-bulk-user" in client.get(reverse("directory")).content
    signed_in(client, csp.mpn_admin)
    page = client.get(reverse("directory"))
    assert page.status_code == 200
    assert b"data-bulk-user" not in page.content


def test_an_account_admin_is_offered_the_membership_roles_only(client: Client, csp: Cast) -> None:
    signed_in(client, csp.account_admin)
    form = client.get(reverse("directory")).context["bulk_form"]
    assert [value for value, _ in form.fields["action"].choices] == [
        "",
        "assign_role",
        "remove_role",
    ]
    roles = [value for value, _ in form.fields["target_role"].choices]
    assert RoleKey.REFERRALS_ADMIN in roles
    assert RoleKey.BILLING_ADMIN not in roles


def test_another_organizations_users_are_not_selected(
    client: Client, csp: Cast, outsider: User
) -> None:
    signed_in(client, outsider)
    apply(client, picked(BulkAction.DEACTIVATE, [csp.member]))
    assert User.objects.get(pk=csp.member.pk).is_active
    assert client.get(reverse("bulk_result")).context["outcomes"] == []


@pytest.mark.parametrize(
    ("action", "role", "asks"),
    [
        (BulkAction.DEACTIVATE, "", True),
        (BulkAction.DELETE, "", True),
        (BulkAction.ASSIGN_ROLE, RoleKey.GLOBAL_ADMIN, True),
        (BulkAction.ASSIGN_ROLE, RoleKey.SALES_AGENT, False),
        (BulkAction.REACTIVATE, "", False),
    ],
)
def test_the_password_is_asked_again_for_deactivate_delete_and_global_admin(
    client: Client, csp: Cast, action: str, role: str, asks: bool
) -> None:
    signed_in(client, csp.global_admin)
    session = client.session
    session[SESSION_KEY] = 0.0  # entered long ago
    session.save()
    data = picked(action, [csp.member], role)
    page = confirm(client, data)
    assert (page.status_code == 302 and page.url.startswith(reverse("confirm_password"))) == asks
    before = AuditEvent.objects.filter(outcome=AuditOutcome.DONE).count()
    answer = apply(client, data)
    if asks:
        assert answer.url.startswith(reverse("confirm_password"))
        # Back to the confirmation, with the same selection.
        assert "bulk" in answer.url
        assert str(csp.member.public_id) in answer.url
        assert AuditEvent.objects.filter(outcome=AuditOutcome.DONE).count() == before


def test_a_reloaded_result_applies_nothing_again(client: Client, csp: Cast) -> None:
    signed_in(client, csp.global_admin)
    apply(client, picked(BulkAction.DEACTIVATE, [csp.member]))
    client.get(reverse("bulk_result"))
    client.get(reverse("bulk_result"))
    assert len(changes(AuditAction.USER_DEACTIVATED)) == 1


def test_the_result_without_a_bulk_action_goes_to_the_directory(client: Client, csp: Cast) -> None:
    signed_in(client, csp.global_admin)
    assert client.get(reverse("bulk_result")).url == reverse("directory")


def test_an_action_that_changes_nobody_offers_those_that_would(client: Client, csp: Cast) -> None:
    signed_in(client, csp.user_admin)
    page = confirm(client, picked(BulkAction.REACTIVATE, [csp.global_admin, csp.member]))
    assert "Nothing to do" in text_of(page)
    other = page.context["other_actions"]
    offered = [value for value, _ in other.fields["action"].choices if value]
    assert offered == ["assign_role", "remove_role", "deactivate", "delete"]
    roles = [value for value, _ in other.fields["target_role"].choices if value]
    # The member holds Referrals admin: it may be removed, and every other role the user admin
    # may grant assigned; nothing may be done to the Global admin.
    assert RoleKey.REFERRALS_ADMIN in roles
    assert RoleKey.GLOBAL_ADMIN not in roles
    assert b"bulk-other-actions" in page.content
