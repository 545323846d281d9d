"""accounts.bulk_insert: the CSV import's INSERT ... SELECT FROM unnest on PostgreSQL writes
exactly the rows bulk_create writes from the same plain values, and the audit events it appends
keep the hash chain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection

from accounts import audit, bulk_insert
from accounts.audit import Origin
from accounts.identity import email_skeleton
from accounts.models import AuditAction, AuditEvent, User, search_text
from jobs.models import OutgoingEmail
from roles.catalogue import RoleKey
from roles.models import Role, RoleAssignment
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.postgresql

WHEN = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def stored(model, pks):
    """Every column of the rows, as read back, but the id."""
    rows = model.objects.filter(pk__in=pks).order_by("pk").values()
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def test_the_events_it_appends_keep_the_chain_and_say_what_they_said(db):
    organization = OrganizationFactory()
    admin = UserFactory(organization=organization)
    people = UserFactory.create_batch(3, organization=organization)
    audit.record(admin, AuditAction.USER_EDITED, organization=organization, target=people[0])
    origins = [
        Origin(ip_address="2001:db8::1", user_agent="ü"),
        Origin(),
        Origin("203.0.113.9", "x"),
    ]
    events = [
        audit.event_values(
            admin,
            AuditAction.USER_CREATED,
            organization=organization,
            target_id=person.pk,
            target_label=str(person),
            after={
                "email": person.email,
                "roles": ["Sales agent"],
                "n": n,
                "ok": True,
                "none": None,
            },
            origin=origin,
        )
        for n, (person, origin) in enumerate(zip(people, origins, strict=True))
    ]
    audit.record_batch_values(events)
    assert audit.verify_chains(organization).intact
    saved = list(AuditEvent.objects.filter(organization=organization).order_by("sequence"))
    assert [e.sequence for e in saved] == [1, 2, 3, 4]
    assert [e.previous_hash for e in saved[1:]] == [e.hash for e in saved[:-1]]
    for event, back in zip(events, saved[1:], strict=True):
        assert {name: getattr(back, name) for name in event} == event
        assert (back.public_id, back.created_at, back.hash) == (
            event["public_id"],
            event["created_at"],
            event["hash"],
        )
    assert saved[1].ip_address == "2001:db8::1"
    assert saved[2].ip_address is None
    assert saved[3].after["none"] is None
    assert saved[3].after["ok"] is True


# Rows given as plain values (insert_columns), as the CSV import writes them


def user_columns(organization, creator):
    """Three users as plain values, the other columns left to their defaults."""
    first, last = ["Zoë", "Ann", ""], ["Ørsted", "O'Neil", "Li"]
    emails = [f"plain{n}@example.com" for n in range(3)]
    return {
        "public_id": [uuid.UUID(int=n + 10) for n in range(3)],
        "organization_id": [organization.pk] * 3,
        "email": emails,
        "first_name": first,
        "last_name": last,
        "created_by_id": [creator.pk] * 3,
        "created_at": [WHEN] * 3,
        "password": [f"!unusable{n}" for n in range(3)],
        "search_text": [search_text(*names) for names in zip(first, last, emails, strict=True)],
        "email_skeleton": [email_skeleton(email) for email in emails],
    }


def instances(model, columns):
    names = list(columns)
    return [
        model(**dict(zip(names, row, strict=True))) for row in zip(*columns.values(), strict=True)
    ]


def test_rows_from_plain_values_are_the_rows_bulk_create_writes_for_them(db):
    organization = OrganizationFactory()
    admin = UserFactory(organization=organization)
    role = Role.objects.get(key=RoleKey.SALES_AGENT)

    def assignments(people):
        return {
            "user_id": [p.pk for p in people],
            "role_id": [role.pk] * len(people),
            "granted_by_id": [admin.pk] * len(people),
            "organization_id": [organization.pk] * len(people),
            "granted_at": [WHEN] * len(people),
        }

    def invitations(people, inviter):
        return {
            "user_id": [p.pk for p in people],
            "kind": [OutgoingEmail.Kind.INVITATION.value] * len(people),
            "invited_by_id": [inviter.pk if inviter else None] * len(people),
            "inviter_name": ["Ann Admin"] * len(people),
            "base_url": ["https://partnerhub.example"] * len(people),
            "created_at": [WHEN] * len(people),
        }

    columns = user_columns(organization, admin)
    ids = bulk_insert.insert_columns(User, columns)
    written = stored(User, ids)
    User.objects.filter(pk__in=ids).delete()
    theirs = User.objects.bulk_create(instances(User, columns))
    assert written == stored(User, [user.pk for user in theirs])
    # The defaults the values left out: as a new User(...) has them.
    assert {(row["is_active"], row["is_staff"], row["theme_preference"]) for row in written} == {
        (True, False, "system")
    }
    assert written[0]["last_login"] is None

    people = UserFactory.create_batch(2, organization=organization)
    for model, build in (
        (RoleAssignment, lambda: assignments(people)),
        (OutgoingEmail, lambda: invitations(people, admin)),
        (OutgoingEmail, lambda: invitations(people, None)),  # NULL foreign keys
    ):
        written = stored(model, bulk_insert.insert_columns(model, build()))
        model.objects.all().delete()
        ids = [row.pk for row in model.objects.bulk_create(instances(model, build()))]
        assert written == stored(model, ids)
        model.objects.all().delete()


def test_plain_values_are_refused_unless_they_fit_the_model(db):
    with pytest.raises(ValueError, match="no columns"):
        bulk_insert.insert_columns(Role, {"colour": ["red"]})
    with pytest.raises(ValueError, match="different lengths"):
        bulk_insert.insert_columns(RoleAssignment, {"user_id": [1, 2], "role_id": [1]})
    assert bulk_insert.insert_columns(RoleAssignment, {"user_id": [], "role_id": []}) == []


def test_new_uuids_are_random_version_4_uuids(db):
    made = bulk_insert.new_uuids(1000)
    assert len(set(made)) == 1000
    assert {(u.version, u.variant) for u in made} == {(4, uuid.RFC_4122)}
    assert {str(u)[14] for u in made} == {"4"}


def test_events_from_plain_values_are_the_rows_and_hashes_save_writes(db):
    """The chain's hash over plain values (append_values_to_chain) is byte for byte the one
    AuditEvent.save() computes: the same events, written both ways, give the same rows."""
    organization = OrganizationFactory()
    admin = UserFactory(organization=organization)
    people = UserFactory.create_batch(3, organization=organization)
    audit.record(admin, AuditAction.USER_EDITED, organization=organization, target=people[0])
    details = [
        {"first_name": "Zoë", "roles": ["Sales agent", "Billing admin"], "is_active": True},
        {"role": 'Ørsted "quoted" \\ back', "n": 3, "none": None, "nested": {"b": [1, 2.5]}},
        {},
    ]
    origins = [Origin("2001:DB8:0:0::1", "ü"), Origin(None, ""), Origin("203.0.113.9", "x")]

    def values():
        return [
            audit.event_values(
                admin,
                action,
                organization=organization,
                target_id=person.pk,
                target_label=str(person),
                after=after,
                origin=origin,
                public_id=uuid.UUID(int=100 + n),
                created_at=WHEN,
            )
            for n, (action, person, after, origin) in enumerate(
                zip(
                    [AuditAction.USER_CREATED, AuditAction.ROLE_GRANTED, AuditAction.USER_EDITED],
                    people,
                    details,
                    origins,
                    strict=True,
                )
            )
        ]

    ids = audit.record_batch_values(values())
    written = stored(AuditEvent, ids)
    assert audit.verify_chains(organization).intact
    with connection.cursor() as cursor:  # behind the ORM's back: events are never deleted
        cursor.execute("DELETE FROM accounts_auditevent WHERE id = ANY(%s)", [ids])
    saved = []
    for event in values():
        organization_id = event.pop("organization_id")
        one = AuditEvent(organization_id=organization_id, **event)
        one.save()
        saved.append(one.pk)
    assert written == stored(AuditEvent, saved)
    assert [row["sequence"] for row in written] == [2, 3, 4]
    assert written[0]["ip_address"] == "2001:db8::1"
    assert written[1]["ip_address"] is None
    assert written[1]["after"]["nested"] == {"b": [1, 2.5]}
