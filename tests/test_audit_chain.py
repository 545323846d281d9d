"""The audit trail is tamper-evident: each organization's events form a hash chain.

Changes made through the ORM are refused (tests/test_models.py); these tests change rows behind
its back, with SQL, as someone with database access would, and expect verify_audit to say where.
"""

from __future__ import annotations

from functools import partial
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor

from accounts import audit, services
from accounts.audit import HASH_MISMATCH, LINK_MISMATCH, SEQUENCE_GAP, Origin
from accounts.models import AuditAction, AuditEvent, PartnerOrganization, User
from roles import services as role_services
from roles.catalogue import RoleKey
from roles.rules import RuleRefused
from tests.conftest import Cast
from tests.factories import OrganizationFactory, UserFactory
from tests.test_concurrency import at_once

ORIGIN = Origin(ip_address="203.0.113.7", user_agent="Tests/1.0")


def chain(organization: PartnerOrganization | None) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(organization=organization).order_by("sequence"))


def verify(*args: str) -> str:
    """Run verify_audit; its output if the trail is intact."""
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def verify_broken(*args: str) -> str:
    """Run verify_audit, expecting it to fail; what it printed."""
    out = StringIO()
    with pytest.raises(CommandError, match="broken"):
        call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def run_sql(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def some_changes(cast: Cast, name: str = "grace") -> None:
    """A few events in the cast's organization: a user added with two roles, then deactivated."""
    new = services.create_user(
        cast.global_admin,
        organization=cast.organization,
        first_name="Grace",
        last_name="Hopper",
        email=f"{name}@{cast.organization.partner_id}.example",
        role_keys=[RoleKey.MPN_PARTNER_ADMIN, RoleKey.REFERRALS_ADMIN],
        origin=ORIGIN,
    )
    services.deactivate_user(cast.global_admin, new.user, origin=ORIGIN)


# The chain


def test_each_event_links_to_the_one_before(csp):
    some_changes(csp)

    events = chain(csp.organization)

    assert len(events) == 4
    assert [event.sequence for event in events] == [1, 2, 3, 4]
    assert events[0].previous_hash == ""
    for before, after in pairwise(events):
        assert after.previous_hash == before.hash
    assert all(event.hash == event.content_hash() for event in events)
    assert len({event.hash for event in events}) == 4


def test_each_organization_has_its_own_chain(csp, non_csp):
    some_changes(csp)
    some_changes(non_csp)
    some_changes(csp, name="alan")

    for organization in (csp.organization, non_csp.organization):
        events = chain(organization)
        assert events[0].sequence == 1
        assert events[0].previous_hash == ""
        assert [event.sequence for event in events] == list(range(1, len(events) + 1))
    assert len(chain(csp.organization)) == 8
    assert len(chain(non_csp.organization)) == 4


def test_events_without_an_organization_form_their_own_chain(csp):
    for name in ("Forged Ltd", "Forged Inc"):
        with pytest.raises(RuleRefused):
            services.create_organization(
                csp.global_admin, name=name, partner_id="7654321", program_type="csp_direct"
            )

    events = chain(None)

    assert [(event.sequence, event.target_label) for event in events] == [
        (1, "Forged Ltd"),
        (2, "Forged Inc"),
    ]
    assert events[1].previous_hash == events[0].hash


def test_the_hash_ignores_the_actor_and_target_ids_that_deleting_a_user_clears(csp):
    some_changes(csp)
    event = chain(csp.organization)[0]

    event.actor_id = event.target_id = None

    assert event.content_hash() == event.hash


def test_the_hash_covers_what_the_event_says(csp):
    some_changes(csp)
    event = chain(csp.organization)[0]

    event.after = {**event.after, "roles": []}

    assert event.content_hash() != event.hash


def test_the_hash_of_an_event_loaded_without_some_fields_loads_them(csp):
    some_changes(csp)
    event = AuditEvent.objects.defer("after", "user_agent").get(pk=chain(csp.organization)[0].pk)

    assert event.content_hash() == event.hash
    event = AuditEvent.objects.defer("after").get(pk=event.pk)
    event.after = {**chain(csp.organization)[0].after, "roles": []}
    assert event.content_hash() != event.hash


# verify_audit on an untouched trail


def test_it_says_intact_after_a_realistic_series_of_changes(csp, non_csp, support):
    new = services.create_user(
        csp.user_admin,
        organization=csp.organization,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@contoso.example",
        role_keys=[RoleKey.REFERRALS_ADMIN],
        origin=ORIGIN,
    )
    role_services.grant_role(csp.global_admin, new.user, RoleKey.MPN_PARTNER_ADMIN, origin=ORIGIN)
    role_services.revoke_role(csp.global_admin, new.user, RoleKey.REFERRALS_ADMIN, origin=ORIGIN)
    services.update_user_details(
        csp.user_admin,
        new.user,
        first_name="Augusta Ada",
        last_name="Lovelace",
        email="ada@contoso.example",
        origin=ORIGIN,
    )
    services.deactivate_user(csp.global_admin, new.user, origin=ORIGIN)
    services.reactivate_user(csp.global_admin, new.user, origin=ORIGIN)
    services.reset_password(csp.global_admin, new.user, origin=ORIGIN)
    with pytest.raises(RuleRefused):
        services.deactivate_user(csp.member, csp.global_admin, origin=ORIGIN)
    some_changes(non_csp)
    services.create_organization(
        support, name="Northwind", partner_id="7654321", program_type="non_csp", origin=ORIGIN
    )
    # Deleting users sets actor_id and target_id to NULL on their events.
    services.delete_user(csp.global_admin, new.user, origin=ORIGIN)
    services.delete_user(csp.global_admin, csp.user_admin, origin=ORIGIN)

    assert AuditEvent.objects.filter(actor_label=str(csp.user_admin), actor=None).count() == 3
    assert AuditEvent.objects.filter(target_label__contains="ada@", target=None).exists()
    total = AuditEvent.objects.count()
    assert verify() == f"intact: {total} events in 3 chains\n"


def test_it_says_intact_with_no_events(db):
    assert verify() == "intact: 0 events in 0 chains\n"


def test_it_checks_one_organization_when_asked(csp, non_csp):
    some_changes(csp)
    some_changes(non_csp)
    run_sql(
        "UPDATE accounts_auditevent SET reason = %s WHERE id = %s",
        ["edited", chain(non_csp.organization)[0].pk],
    )

    assert verify("--organization", csp.organization.partner_id) == (
        "intact: 4 events in 1 chain\n"
    )
    assert str(non_csp.organization) in verify_broken(
        "--organization", non_csp.organization.partner_id
    )


def test_it_refuses_an_unknown_organization(db):
    with pytest.raises(CommandError, match="No organization has the partner ID 9999999"):
        call_command("verify_audit", "--organization", "9999999", stdout=StringIO())


# verify_audit on a tampered trail


def test_it_names_an_event_edited_in_the_database(csp):
    some_changes(csp)
    edited = chain(csp.organization)[1]

    run_sql(
        "UPDATE accounts_auditevent SET reason = %s WHERE id = %s", ["nothing to see", edited.pk]
    )

    output = verify_broken()
    assert output == (
        f"broken: {csp.organization}: event {edited.public_id} (sequence 2): {HASH_MISMATCH}\n"
    )


def test_it_notices_an_edit_that_also_recomputed_the_events_hash(csp):
    some_changes(csp)
    edited, following = chain(csp.organization)[1:3]
    edited.after = {"role": "Global admin"}
    run_sql(
        "UPDATE accounts_auditevent SET after = %s, hash = %s WHERE id = %s",
        ['{"role": "Global admin"}', edited.content_hash(), edited.pk],
    )

    output = verify_broken()

    assert f"event {following.public_id} (sequence 3): {LINK_MISMATCH}" in output


def test_it_notices_an_event_deleted_in_the_database(csp):
    some_changes(csp)
    deleted, following = chain(csp.organization)[1:3]

    run_sql("DELETE FROM accounts_auditevent WHERE id = %s", [deleted.pk])

    output = verify_broken()
    assert f"event {following.public_id} (sequence 3): {SEQUENCE_GAP}; {LINK_MISMATCH}" in output


def test_it_notices_the_first_event_deleted(csp):
    some_changes(csp)
    first, second = chain(csp.organization)[:2]

    run_sql("DELETE FROM accounts_auditevent WHERE id = %s", [first.pk])

    output = verify_broken()
    assert f"event {second.public_id} (sequence 2): {SEQUENCE_GAP}; {LINK_MISMATCH}" in output


def test_it_notices_events_reordered(csp):
    some_changes(csp)
    second, third = chain(csp.organization)[1:3]

    # Through a free place: the chain's unique constraint holds at every step.
    run_sql("UPDATE accounts_auditevent SET sequence = 1000 WHERE id = %s", [second.pk])
    run_sql("UPDATE accounts_auditevent SET sequence = 2 WHERE id = %s", [third.pk])
    run_sql("UPDATE accounts_auditevent SET sequence = 3 WHERE id = %s", [second.pk])

    output = verify_broken()
    assert f"event {third.public_id} (sequence 2): {HASH_MISMATCH}; {LINK_MISMATCH}" in output


def test_it_notices_a_forged_event_slipped_in(csp):
    some_changes(csp)
    second, third = chain(csp.organization)[1:3]
    run_sql(
        "UPDATE accounts_auditevent SET sequence = sequence + 1000 "
        "WHERE organization_id = %s AND sequence >= 3",
        [csp.organization.pk],
    )
    run_sql(
        "UPDATE accounts_auditevent SET sequence = sequence - 999 "
        "WHERE organization_id = %s AND sequence >= 1000",
        [csp.organization.pk],
    )
    # A well-formed event linked after the second one, inserted past the application (a plain
    # QuerySet's bulk_create is a bare INSERT: our AuditEventQuerySet refuses it).
    forged = AuditEvent(
        organization=csp.organization,
        action=AuditAction.ROLE_GRANTED,
        outcome="done",
        actor_label=str(csp.member),
        target_label=str(csp.member),
        after={"role": "Global admin"},
        sequence=3,
        previous_hash=second.hash,
    )
    forged.hash = forged.content_hash()
    models.QuerySet(AuditEvent).bulk_create([forged])

    output = verify_broken()

    # The forged event itself is consistent; the one it pushed along gives it away.
    assert f"event {third.public_id} (sequence 4): {HASH_MISMATCH}; {LINK_MISMATCH}" in output


def test_it_reports_the_first_break_of_each_chain(csp, non_csp):
    some_changes(csp)
    some_changes(non_csp)
    for event in (chain(csp.organization)[3], chain(non_csp.organization)[0]):
        run_sql("UPDATE accounts_auditevent SET reason = 'x' WHERE id = %s", [event.pk])
    run_sql(
        "UPDATE accounts_auditevent SET reason = 'y' WHERE id = %s",
        [chain(non_csp.organization)[2].pk],
    )

    out = StringIO()
    with pytest.raises(CommandError, match="broken in 2 of 2 chains"):
        call_command("verify_audit", stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert any("(sequence 4)" in line and str(csp.organization) in line for line in lines)
    assert any("(sequence 1)" in line and str(non_csp.organization) in line for line in lines)


# The migration links the events written before it


@pytest.mark.django_db(transaction=True)
def test_the_migration_links_events_written_before_it():
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0003_organization_audit_actions")])
    try:
        old_apps = executor.loader.project_state(
            [("accounts", "0003_organization_audit_actions")]
        ).apps
        Organization = old_apps.get_model("accounts", "PartnerOrganization")
        Event = old_apps.get_model("accounts", "AuditEvent")
        first = Organization.objects.create(
            name="First", partner_id="1111111", program_type="csp_direct"
        )
        second = Organization.objects.create(
            name="Second", partner_id="2222222", program_type="csp_direct"
        )
        for organization in (first, second, None, first, None, first):
            Event.objects.create(
                organization=organization,
                action=AuditAction.USER_EDITED,
                outcome="done",
                actor_label="Someone",
                before={"first_name": "Jane", "nested": {"b": 1, "a": [1, 2]}},
                after={"first_name": "Janet"},
                ip_address="2001:db8::1",
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert [event.sequence for event in chain(PartnerOrganization.objects.get(pk=first.pk))] == [
        1,
        2,
        3,
    ]
    assert [event.sequence for event in chain(None)] == [1, 2]
    assert verify() == "intact: 6 events in 3 chains\n"


# Concurrency: real threads, real PostgreSQL


def record_some(actor: User, organization: PartnerOrganization | None, count: int) -> None:
    for number in range(count):
        audit.record(
            actor,
            AuditAction.USER_EDITED,
            organization=organization,
            after={"number": number},
        )


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_organization", [True, False], ids=["organization", "none"])
def test_events_recorded_at_once_stay_in_one_line(with_organization):
    organization = OrganizationFactory()
    actors = [UserFactory(organization=organization) for _ in range(4)]
    chained = organization if with_organization else None

    results = at_once(*(partial(record_some, actor, chained, 5) for actor in actors))

    assert results == [None] * 4
    events = chain(chained)
    assert [event.sequence for event in events] == list(range(1, 21))
    assert len({event.previous_hash for event in events}) == 20
    assert verify() == "intact: 20 events in 1 chain\n"
