"""Every refused attempt is recorded, by construction, in one place (DOMAIN.md, Audit): a page the
rulebook refuses, a role a form refuses, the CSV check, a service. Identical refusals by one
person within a minute are one event with a count, so a script cannot flood the trail."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from django.db import transaction
from django.urls import reverse

from accounts import audit, services
from accounts.models import AuditAction, AuditEvent, User
from jobs.models import AuditExport
from jobs.testing import run_ready_jobs
from roles import rules
from roles.catalogue import RoleKey
from roles.rules import Action, RuleRefused
from tests.factories import OrganizationFactory
from tests.test_add_user import post, send_details, sent, start

pytestmark = pytest.mark.django_db

GA = RoleKey.GLOBAL_ADMIN
REFERRALS = RoleKey.REFERRALS_ADMIN


def refused() -> list[AuditEvent]:
    return list(AuditEvent.objects.refused().order_by("pk"))


def edit_details(client, actor: User, target: User):
    client.force_login(actor)
    return client.post(
        reverse("edit_user", args=[target.public_id]),
        {"first_name": "Mallory", "last_name": "X", "email": target.email},
        REMOTE_ADDR="198.51.100.7",
    )


def test_a_refused_page_is_recorded_with_what_was_attempted(client, csp):
    # An Account admin may change membership roles, never a user's details.
    response = edit_details(client, csp.account_admin, csp.member)

    assert response.status_code == 403
    [event] = refused()
    assert event.action == AuditAction.USER_EDITED
    assert event.actor == csp.account_admin
    assert event.target == csp.member
    assert event.organization == csp.organization
    assert (
        event.reason
        == "Only a Global admin or User management admin can edit a user's name or email."
    )
    assert event.after == {"page": f"POST /users/{csp.member.public_id}/edit/"}
    assert event.ip_address == "198.51.100.7"
    assert event.repeats == 0
    assert audit.verify_chains().intact


def test_identical_refusals_within_a_minute_are_one_event_with_a_count(client, csp):
    for _ in range(25):
        edit_details(client, csp.account_admin, csp.member)

    [event] = refused()
    assert event.repeats == 24
    assert event.last_repeated_at >= event.created_at
    # The count is outside the hash: the chain still holds.
    assert audit.verify_chains().intact


def test_another_target_or_action_is_another_event(client, csp):
    edit_details(client, csp.account_admin, csp.member)
    edit_details(client, csp.account_admin, csp.billing_admin)
    client.post(reverse("delete_user", args=[csp.member.public_id]))

    assert [(event.action, event.target) for event in refused()] == [
        (AuditAction.USER_EDITED, csp.member),
        (AuditAction.USER_EDITED, csp.billing_admin),
        (AuditAction.USER_DELETED, csp.member),
    ]


def test_a_minute_later_the_same_refusal_is_a_new_event(client, csp, monkeypatch):
    edit_details(client, csp.account_admin, csp.member)
    later = time.time() + audit.REPEAT_WINDOW.total_seconds() + 1
    monkeypatch.setattr(time, "time", lambda: later)  # the cache forgets the first

    edit_details(client, csp.account_admin, csp.member)

    assert [event.repeats for event in refused()] == [0, 0]


def test_a_refusal_rolled_back_is_not_counted_on(csp):
    def refuse() -> None:
        audit.record_refused_attempt(
            csp.account_admin,
            AuditAction.USER_EDITED,
            "No.",
            organization=csp.organization,
            target=csp.member,
        )

    def refuse_then_fail() -> None:
        with transaction.atomic():
            refuse()
            raise RuntimeError("the request failed after recording")

    with pytest.raises(RuntimeError):
        refuse_then_fail()
    refuse()

    [event] = refused()
    assert event.repeats == 0


def test_a_refused_attempt_always_names_its_action(csp):
    with pytest.raises(ValueError, match="names the action"):
        audit.record_refused_attempt(csp.member, "", "No.", organization=csp.organization)


@pytest.mark.parametrize("permission", list(Action))
def test_every_permission_a_page_may_refuse_has_an_audit_action(permission):
    assert audit.AUDIT_ACTION_FOR_PERMISSION[permission] in AuditAction.values


def test_a_service_refusal_without_its_own_action_is_recorded_as_the_services(csp):
    gone = csp.user_admin
    User.objects.filter(pk=gone.pk).delete()

    with pytest.raises(RuleRefused, match="Your account no longer exists"):
        services.deactivate_user(gone, csp.member)

    [event] = refused()
    assert event.action == AuditAction.USER_DEACTIVATED
    assert event.actor is None
    assert event.actor_label == str(gone)


def test_a_role_refused_by_edit_roles_is_recorded(client, csp):
    # A crafted request: a User management admin ticks Global admin, which the page offers closed.
    client.force_login(csp.user_admin)

    response = client.post(
        reverse("edit_roles", args=[csp.member.public_id]),
        {"directory_roles": [GA], "membership_roles": [REFERRALS]},
    )

    assert response.status_code == 200
    [event] = refused()
    assert event.action == AuditAction.ROLE_GRANTED
    assert event.actor == csp.user_admin
    assert event.target == csp.member
    assert event.after == {"role": GA}
    assert event.reason == "Only a Global admin can grant or revoke Global admin."


def test_a_role_refused_by_the_add_user_wizard_is_recorded(client, csp):
    start(client, csp.user_admin)
    send_details(client, email="grace@contoso.example")

    response = post(client, sent("roles", roles=[GA]))

    assert "Only a Global admin can grant or revoke Global admin." in response.content.decode()
    [event] = refused()
    assert event.action == AuditAction.ROLE_GRANTED
    assert event.actor == csp.user_admin
    assert event.target_label == "grace@contoso.example"
    assert event.after == {"role": GA}
    assert not User.objects.filter(email="grace@contoso.example").exists()


def test_a_form_that_refuses_without_knowing_who_asked_fails_loudly(csp):
    from accounts.forms.add_user import RolesForm

    form = RolesForm(
        {"roles": [GA]}, actor=csp.user_admin, new_user=User(organization=csp.organization)
    )
    form.refusals_actor = None

    with pytest.raises(TypeError, match="knows no actor"):
        form.is_valid()


def test_the_refusal_page_names_whom_to_ask_without_their_emails(client, csp):
    # A Billing admin sees no directory: names and roles, never the admins' addresses.
    client.force_login(csp.billing_admin)

    page = client.get(reverse("directory")).content.decode()

    text = re.sub(r"<[^>]+>", "", page)
    assert f"{csp.global_admin.get_full_name()} (Global admin)" in text
    assert f"<bdi>{csp.global_admin.get_full_name()}</bdi>" in page  # isolated: RTL names
    assert csp.global_admin.email not in page
    assert rules.can(csp.billing_admin, Action.SEE_DIRECTORY).allowed is False


def test_the_audit_log_says_how_often_a_refusal_was_repeated(client, csp):
    for _ in range(3):
        edit_details(client, csp.account_admin, csp.member)
    client.force_login(csp.global_admin)

    page = client.get(reverse("audit_log")).content.decode()
    client.post(reverse("audit_log_export"))
    run_ready_jobs()
    written = AuditExport.objects.get()
    download = client.get(reverse("audit_log_export_file", args=[written.pk]))
    export = b"".join(download.streaming_content).decode()

    assert "and 2 more times within a minute" in page
    header, row = list(csv.reader(io.StringIO(export.lstrip("\ufeff"))))[:2]
    assert row[header.index("Repeated within a minute")] == "2"


def test_a_script_walking_every_user_adds_a_bounded_number_of_events(csp):
    for n in range(audit.REFUSALS_PER_WINDOW + 10):
        audit.record_refused_attempt(
            csp.account_admin,
            AuditAction.USER_EDITED,
            "No.",
            organization=csp.organization,
            target_label=f"user{n}@contoso.example",
        )

    events = refused()
    assert len(events) == audit.REFUSALS_PER_WINDOW + 1
    overflow = events[-1]
    assert overflow.reason == audit.TOO_MANY_REFUSALS
    assert overflow.actor == csp.account_admin
    assert overflow.after["first"]["target"] == f"user{audit.REFUSALS_PER_WINDOW}@contoso.example"
    assert overflow.repeats == 9
    # Someone else's refusals have their own budget.
    audit.record_refused_attempt(
        csp.user_admin, AuditAction.USER_EDITED, "No.", organization=csp.organization
    )
    assert refused()[-1].actor == csp.user_admin
    assert refused()[-1].reason == "No."


def test_the_bound_holds_across_organizations_too(support):
    # Support staff act in every organization: the budget is the person's, not per organization.
    organizations = [OrganizationFactory() for _ in range(audit.REFUSALS_PER_WINDOW + 5)]
    for organization in organizations:
        audit.record_refused_attempt(
            support, AuditAction.USER_DEACTIVATED, "No.", organization=organization
        )

    assert len(refused()) == audit.REFUSALS_PER_WINDOW + 1
    assert refused()[-1].repeats == 4
