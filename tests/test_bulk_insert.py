"""accounts.bulk_insert: the CSV import's INSERT ... SELECT FROM unnest on PostgreSQL writes
exactly the rows bulk_create writes, and the audit events it appends keep the hash chain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.forms.models import model_to_dict

from accounts import audit, bulk_insert
from accounts.audit import Origin
from accounts.models import AuditAction, AuditEvent, User
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


def users(organization, creator):
    made = []
    for n, (first, last) in enumerate([("Zoë", "Ørsted"), ("Ann", "O'Neil"), ("", "Li")]):
        user = User(
            organization=organization,
            email=f"person{n}@example.com",
            first_name=first,
            last_name=last,
            created_by=creator,
            public_id=uuid.UUID(int=n + 1),
            created_at=WHEN,
            password=f"!unusable{n}",
        )
        user.refresh_search_text()
        user.refresh_email_skeleton()
        made.append(user)
    return made


def test_it_writes_the_users_bulk_create_writes(db):
    organization = OrganizationFactory()
    creator = UserFactory(organization=organization)
    ours = users(organization, creator)
    ids = bulk_insert.insert(User, ours)
    assert ids == [user.pk for user in ours]
    assert all(not user._state.adding for user in ours)
    written = stored(User, ids)
    User.objects.filter(pk__in=ids).delete()
    theirs = User.objects.bulk_create(users(organization, creator))
    assert written == stored(User, [user.pk for user in theirs])
    assert written[0]["first_name"] == "Zoë"
    assert written[0]["created_at"] == WHEN


def test_it_writes_role_assignments_and_invitations_as_bulk_create_does(db):
    organization = OrganizationFactory()
    admin = UserFactory(organization=organization)
    people = UserFactory.create_batch(2, organization=organization)
    role = Role.objects.get(key=RoleKey.SALES_AGENT)

    def assignments():
        return [
            RoleAssignment(
                user_id=p.pk,
                role_id=role.pk,
                granted_by_id=admin.pk,
                organization_id=organization.pk,
                granted_at=WHEN,
            )
            for p in people
        ]

    def invitations(inviter):
        return [
            OutgoingEmail(
                user=p,
                kind=OutgoingEmail.Kind.INVITATION,
                invited_by=inviter,
                inviter_name="Ann Admin",
                base_url="https://partnerhub.example",
                created_at=WHEN,
            )
            for p in people
        ]

    for model, build in (
        (RoleAssignment, assignments),
        (OutgoingEmail, lambda: invitations(admin)),
        (OutgoingEmail, lambda: invitations(None)),  # NULL foreign keys
    ):
        written = stored(model, bulk_insert.insert(model, build()))
        model.objects.all().delete()
        assert written == stored(model, [row.pk for row in model.objects.bulk_create(build())])
        model.objects.all().delete()


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
        audit.unsaved_event(
            admin,
            AuditAction.USER_CREATED,
            organization=organization,
            target=person,
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
    audit.record_batch(events)
    assert audit.verify_chains(organization).intact
    saved = list(AuditEvent.objects.filter(organization=organization).order_by("sequence"))
    assert [e.sequence for e in saved] == [1, 2, 3, 4]
    assert [e.previous_hash for e in saved[1:]] == [e.hash for e in saved[:-1]]
    for event, back in zip(events, saved[1:], strict=True):
        assert model_to_dict(back) == model_to_dict(event)
        assert (back.public_id, back.created_at, back.hash) == (
            event.public_id,
            event.created_at,
            event.hash,
        )
    assert saved[1].ip_address == "2001:db8::1"
    assert saved[2].ip_address is None
    assert saved[3].after["none"] is None
    assert saved[3].after["ok"] is True
