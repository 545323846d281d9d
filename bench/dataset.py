"""A realistic PartnerHub dataset, loaded by COPY: organizations, users, roles, audit events.

One large organization (the largest: the one measured), many small ones (a long tail), names
that repeat the way real surnames do (Smith, Garcia, Müller...), accents, emails on each
organization's own domain. Every organization keeps at least one Global admin. Users are written
in the order they joined, organizations interleaved, as a production table holds them: an
organization's users are spread over the whole table, not stored side by side. Audit events
are chained by hash exactly as AuditEvent.save() chains them (verify_audit passes), half of them
in the large organization. No password is hashed per user: every user shares one unusable
password (the bench signs in with the test client's force_login).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, models, transaction

from accounts.identity import email_skeleton
from accounts.models import AuditAction, AuditOutcome, PartnerOrganization, ProgramType, User
from accounts.search import fold
from accounts.support import SUPPORT_GROUP, ensure_support_group
from roles.catalogue import SPECS, RoleKey
from roles.models import Role

# The large organization is found again by its partner ID (a run may skip loading).
LARGE_PARTNER_ID = "1000000"
SUPPORT_EMAIL = "bench-support@partnerhub.example"
LOADED_TABLES = (
    "accounts_partnerorganization",
    "accounts_user",
    "roles_roleassignment",
    "accounts_user_groups",
    "accounts_auditevent",
)
# The share of the audit events that fall in the large organization (its admins are busy).
LARGE_ORGANIZATION_EVENTS = 0.5
# Rows per COPY: bounds the memory a million users take.
CHUNK = 50_000

# Common surnames first: a Zipf-like weighting makes "Smith" (about 6%) and "Garcia" repeat.
# fmt: off
SURNAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernández", "López", "González", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Pérez", "Thompson", "White", "Müller", "Schmidt",
    "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Dubois",
    "Lefèvre", "Bernard", "Durand", "Moreau", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi",
    "Nowak", "Kowalski", "Wiśniewski", "Nielsen", "Jensen", "Hansen", "Johansson", "Y\u0131lmaz",
    "Kaya", "Demir", "Öztürk", "Nguyen", "Tran", "Kim", "Park", "Chen", "Wang", "Li", "Zhang",
    "Singh", "Kumar", "Patel", "Sharma", "O'Brien", "Murphy", "Kelly", "Silva", "Santos",
    "Oliveira", "Costa", "Ivanov", "Novák", "Dvořák", "Horváth", "Nagy", "Kovačević",
    "Łukasiewicz", "Ødegaard", "Håkansson", "Żak", "Fernández", "Núñez", "García-Márquez",
    "Van der Berg", "De Jong", "Janssen", "Peeters", "Bäckström", "Søndergaard", "Mäkinen",
    "Virtanen", "Papadopoulos", "Çelik", "Đorđević",
)
FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Maria", "José", "Zoë", "Chloé", "Renée", "André", "François",
    "Jürgen", "Björn", "Søren", "Åsa", "Łukasz", "Małgorzata", "Ümit", "Çağla", "İlker", "Noémie",
    "Inès", "Raphaël", "Siobhán", "Seán", "Niamh", "Anaïs", "Jörg", "Zoltán", "Dóra", "Mohammed",
    "Fatima", "Wei", "Mei", "Hiroshi", "Yuki", "Priya", "Arjun", "Olga", "Dmitri", "Ana", "Lucía",
    "Sofía", "Mateo", "Emma", "Liam", "Noah", "Olivia", "Ava", "Lucas", "Mia", "Leon", "Hannah",
    "Jon", "Sarah", "Daniel", "Laura", "Thomas", "Anna", "Peter", "Julia", "Paul", "Sophie",
    "Mark", "Eva", "Kevin", "Léa", "Stefan", "Ingrid", "Nikolaj", "Agnieszka", "Tomás", "Joaquín",
    "Françoise", "Hélène", "Gustav", "Märta", "Ahmet", "Elif", "Thu", "Minh",
)
WORDS_A = (
    "Contoso", "Fabrikam", "Northwind", "Tailspin", "Adventure", "Litware", "Proseware",
    "Woodgrove", "Alpine", "Coho", "Lucerne", "Margie's", "Wingtip", "Trey", "Blue Yonder",
    "Fourth Coffee", "Humongous", "Wide World", "Graphic", "Datum", "Relecloud", "Nordlicht",
    "Île", "Bergström", "Cœur", "Zürich", "Łódź", "Østfold", "Sol", "Estrella", "Aurora", "Kiwi",
    "Maple", "Cedar", "Harbor",
)
WORDS_B = (
    "Consulting", "Solutions", "Systems", "Technologies", "Partners", "Cloud", "Networks",
    "Software", "Digital", "Services", "Data", "Labs", "Integrations", "Group", "Informatik",
    "Conseil", "Soluciones", "Sistemas", "Tecnologia", "IT",
)
# fmt: on
SUFFIXES = ("Ltd", "Inc", "GmbH", "SARL", "S.L.", "B.V.", "AB", "Pty Ltd", "LLC", "S.p.A.", "")

PROGRAM_TYPES = (
    (ProgramType.CSP_INDIRECT_RESELLER, 40),
    (ProgramType.CSP_DIRECT, 20),
    (ProgramType.CSP_INDIRECT_PROVIDER, 10),
    (ProgramType.NON_CSP, 30),
)
# How often each role is held by an ordinary user (admins get theirs on top).
ROLE_WEIGHTS = {
    RoleKey.USER_MANAGEMENT_ADMIN: 2,
    RoleKey.ACCOUNT_ADMIN: 2,
    RoleKey.MPN_PARTNER_ADMIN: 4,
    RoleKey.BILLING_ADMIN: 6,
    RoleKey.ADMIN_AGENT: 14,
    RoleKey.SALES_AGENT: 22,
    RoleKey.HELPDESK_AGENT: 18,
    RoleKey.REFERRALS_ADMIN: 8,
    RoleKey.INCENTIVES_ADMIN: 5,
    RoleKey.BUSINESS_PROFILE_ADMIN: 5,
    RoleKey.EXECUTIVE_REPORT_VIEWER: 14,
}
ADMIN_EXTRA_ROLES = (
    RoleKey.USER_MANAGEMENT_ADMIN,
    RoleKey.ACCOUNT_ADMIN,
    RoleKey.MPN_PARTNER_ADMIN,
    RoleKey.BILLING_ADMIN,
    RoleKey.EXECUTIVE_REPORT_VIEWER,
)


@dataclass
class LoadResult:
    """What was loaded, and how long it took."""

    organizations: int = 0
    users: int = 0
    role_assignments: int = 0
    global_admins: int = 0
    audit_events: int = 0
    large_organization_users: int = 0
    large_organization_events: int = 0
    program_types: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


# Cached: a few hundred names make up a million users.
@cache
def _ascii_local(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(text))


@cache
def _folded_name(first: str, last: str) -> str:
    return fold(f"{first} {last}")


def _weighted(names: Sequence[str], exponent: float) -> list[float]:
    return [1 / (rank + 1) ** exponent for rank in range(len(names))]


def organization_sizes(users: int, organizations: int, large: int) -> list[int]:
    """The large organization first, then a long tail; each organization has at least one user."""
    large = max(1, min(large, users - (organizations - 1)))
    rest, others = users - large, organizations - 1
    if others == 0:
        return [users]
    weights = [1 / (i + 1) ** 0.9 for i in range(others)]
    total = sum(weights)
    sizes = [max(1, int(rest * w / total)) for w in weights]
    # Rounding leaves a few users over (or under): even it out from the largest down.
    # The large organization is the largest (the one measured): the tail's head is cut below it
    # and what is cut goes to the rest of the tail.
    sizes = [min(size, max(1, large - 1)) for size in sizes]
    diff, i = rest - sum(sizes), 0
    while diff != 0:
        step = 1 if diff > 0 else -1
        index = others - 1 - (i % others) if step > 0 else i % others
        if 1 <= sizes[index] + step < large:
            sizes[index] += step
            diff -= step
        i += 1
    return [large, *sizes]


def _csv_chunk(rows: list[tuple]) -> io.StringIO:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    return buffer


def _copy(
    cursor, table: str, columns: Sequence[str], rows: list[tuple], not_null: Sequence[str] = ()
) -> None:
    # CSV: an unquoted empty field is NULL, which is how csv.writer writes None; in the
    # `not_null` columns it is an empty string.
    forced = f", FORCE_NOT_NULL ({', '.join(not_null)})" if not_null else ""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv{forced})"
    cursor.copy_expert(sql, _csv_chunk(rows))


USER_COLUMNS = (
    "id",
    "password",
    "last_login",
    "is_superuser",
    "public_id",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "is_staff",
    "must_change_password",
    "created_at",
    "created_by_id",
    "organization_id",
    "search_text",
    "email_skeleton",
    "role_count",
)
ASSIGNMENT_COLUMNS = ("id", "granted_at", "granted_by_id", "role_id", "user_id", "organization_id")
EVENT_COLUMNS = (
    "id",
    "public_id",
    "created_at",
    "organization_id",
    "action",
    "outcome",
    "reason",
    "actor_id",
    "actor_label",
    "target_id",
    "target_label",
    "before",
    "after",
    "ip_address",
    "user_agent",
    "sequence",
    "previous_hash",
    "hash",
    "repeats",
)
# Text columns that may be empty (never NULL).
EVENT_TEXT = ("reason", "previous_hash", "target_label", "user_agent")
# What the audit trail mostly holds, roughly as often as admins do each.
EVENT_KINDS = (
    (AuditAction.ROLE_GRANTED, AuditOutcome.DONE, 30),
    (AuditAction.ROLE_REVOKED, AuditOutcome.DONE, 10),
    (AuditAction.USER_EDITED, AuditOutcome.DONE, 20),
    (AuditAction.USER_CREATED, AuditOutcome.DONE, 20),
    (AuditAction.USER_DEACTIVATED, AuditOutcome.DONE, 5),
    (AuditAction.PASSWORD_RESET, AuditOutcome.DONE, 5),
    (AuditAction.ROLE_GRANTED, AuditOutcome.REFUSED, 5),
    (AuditAction.MAPS_PURCHASED, AuditOutcome.DONE, 5),
)
# Users of each organization remembered as actors and targets of its events.
EVENT_PEOPLE = 200


class _Generator:
    """Makes the rows, deterministically for a seed."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
        self.now = now
        # Cumulative weights, computed once: random.choices would add them up on every call.
        self.surname_weights = list(accumulate(_weighted(SURNAMES, 0.6)))
        self.first_weights = list(accumulate(_weighted(FIRST_NAMES, 0.5)))
        self.password = make_password(None)  # unusable, shared by every user
        self.roles = {role.key: role.pk for role in Role.objects.all()}
        self.csp_only = {spec.key.value for spec in SPECS.values() if spec.csp_only}
        self.allowed = {
            csp: [key for key in ROLE_WEIGHTS if csp or key.value not in self.csp_only]
            for csp in (True, False)
        }
        self.allowed_weights = {
            csp: list(accumulate(ROLE_WEIGHTS[key] for key in keys))
            for csp, keys in self.allowed.items()
        }

    def names(self, count: int) -> list[tuple[str, str]]:
        """`count` (first name, last name) pairs."""
        firsts = self.rng.choices(FIRST_NAMES, cum_weights=self.first_weights, k=count)
        lasts = self.rng.choices(SURNAMES, cum_weights=self.surname_weights, k=count)
        return list(zip(firsts, lasts, strict=True))

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moment(self) -> str:
        return (self.now - timedelta(seconds=self.rng.randrange(3 * 365 * 86400))).isoformat()

    def organization_name(self) -> str:
        a, b = self.rng.choice(WORDS_A), self.rng.choice(WORDS_B)
        suffix = self.rng.choice(SUFFIXES)
        return " ".join(part for part in (a, b, suffix) if part)

    def user_roles(self, csp: bool, admin: bool) -> list[str]:
        if admin:
            extras = [key for key in ADMIN_EXTRA_ROLES if csp or key.value not in self.csp_only]
            chosen = {RoleKey.GLOBAL_ADMIN, *self.rng.sample(extras, self.rng.randint(0, 3))}
            return [key.value for key in chosen]
        draw = self.rng.random()  # 5% no role, 60% one, 30% two, 5% three (fewer if repeated)
        count = 0 if draw < 0.05 else 1 if draw < 0.65 else 2 if draw < 0.95 else 3
        picked = self.rng.choices(self.allowed[csp], cum_weights=self.allowed_weights[csp], k=count)
        return sorted({key.value for key in picked})


def _truncate() -> None:
    # CASCADE: also whatever else refers to users or organizations (sessions are kept apart).
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE accounts_user, accounts_partnerorganization, roles_roleassignment, "
            "accounts_auditevent, django_session RESTART IDENTITY CASCADE"
        )


def _set_aside_keys_and_indexes(cursor) -> list[str]:
    """Drops the loaded tables' foreign keys and secondary indexes; returns what recreates them.

    Row by row, each foreign key is a deferred check per row at commit, and each index an insert
    per row; recreated after the COPY, a key is one join and an index one sort. Primary keys
    and unique constraints stay. All in the load's transaction: a failed load changes nothing.
    """
    tables = list(LOADED_TABLES)
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) ORDER BY conname",
        [tables],
    )
    keys = cursor.fetchall()
    cursor.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid::regclass::text = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint WHERE conindid = indexrelid) ORDER BY 1",
        [tables],
    )
    indexes = cursor.fetchall()
    for table, name, _definition in keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, definition in keys
    ]


def _reset_sequences(tables: Sequence[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )


@dataclass
class _OrganizationState:
    """What the generator remembers of one organization while its users are written."""

    org_id: int
    domain: str
    csp: bool
    admins: int
    position: int = 0
    first_admin: int | None = None
    taken: dict[str, int] = field(default_factory=dict)
    # (id, label) of its admins and of its first EVENT_PEOPLE users, for the audit events.
    admin_people: list[tuple[int, str]] = field(default_factory=list)
    people: list[tuple[int, str]] = field(default_factory=list)


def _users(
    gen: _Generator, sizes: list[int], orgs: list[tuple], states: list[_OrganizationState]
) -> Iterator[tuple[tuple, list[tuple]]]:
    """Yields (user row, its role assignment rows) in the order users joined: organizations
    interleaved at random, so that no organization's users sit together in the table."""
    joined = [index for index, size in enumerate(sizes) for _ in range(size)]
    gen.rng.shuffle(joined)
    for index, _size in enumerate(sizes):
        org_id, domain, csp = orgs[index]
        states.append(
            _OrganizationState(org_id, domain, csp, admins=1 + min(2, sizes[index] // 50))
        )
    assignment_id = 0
    for user_id, index in enumerate(joined, start=1):
        state = states[index]
        [(first, last)] = gen.names(1)
        if gen.rng.random() < 0.15:
            local = f"{_ascii_local(first)[:1]}{_ascii_local(last)}"
        else:
            local = f"{_ascii_local(first)}.{_ascii_local(last)}"
        seen = state.taken.get(local, 0)
        state.taken[local] = seen + 1
        email = f"{local}{seen + 1 if seen else ''}@{state.domain}"
        # The first users of an organization are its Global admins (at least one, active).
        admin = state.position < state.admins
        state.position += 1
        active = admin or gen.rng.random() > 0.03
        created_at = gen.moment()
        row = (
            user_id,
            gen.password,
            None,
            False,
            gen.uuid(),
            email,
            first,
            last,
            active,
            False,
            False,
            created_at,
            state.first_admin,
            state.org_id,
            # What User.refresh_search_text stores: fold(f"{first} {last} {email}"); the
            # email is already folded (ASCII, lower case, no spaces).
            f"{_folded_name(first, last)} {email}",
            # What User.refresh_email_skeleton stores.
            email_skeleton(email),
        )
        assignments = []
        for key in gen.user_roles(state.csp, admin):
            assignment_id += 1
            assignments.append(
                (
                    assignment_id,
                    created_at,
                    state.first_admin,
                    gen.roles[key],
                    user_id,
                    state.org_id,
                )
            )
        # What the role assignments' triggers keep (migration accounts 0022), set aside while
        # loading.
        row = (*row, len(assignments))
        label = f"{first} {last} <{email}>"
        if admin:
            state.admin_people.append((user_id, label))
        if len(state.people) < EVENT_PEOPLE:
            state.people.append((user_id, label))
        if state.first_admin is None:
            state.first_admin = user_id
        yield row, assignments


def _event_hash(content: dict) -> str:
    """AuditEvent.content_hash, for a row about to be copied (the same canonical JSON)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _audit_events(
    gen: _Generator, count: int, states: list[_OrganizationState], sizes: list[int]
) -> Iterator[tuple]:
    """`count` events, oldest first, organizations interleaved in time; each organization's
    chain numbered and hashed as AuditEvent.save() does."""
    large_share = round(count * LARGE_ORGANIZATION_EVENTS) if len(states) > 1 else count
    weights = list(accumulate(sizes[1:])) if len(states) > 1 else None
    organizations = [0] * large_share
    if weights:
        organizations += [
            1 + i
            for i in gen.rng.choices(
                range(len(states) - 1), cum_weights=weights, k=count - large_share
            )
        ]
    gen.rng.shuffle(organizations)
    kinds = [(action, outcome) for action, outcome, _weight in EVENT_KINDS]
    kind_weights = list(accumulate(weight for _a, _o, weight in EVENT_KINDS))
    role_names = [spec.name for spec in SPECS.values()]
    # Three years of events, one every few minutes at a million: evenly spread, oldest first.
    start = gen.now - timedelta(days=3 * 365)
    step = (3 * 365 * 86400) / max(count, 1)
    chains: dict[int, tuple[int, str]] = {}
    for event_id, index in enumerate(organizations, start=1):
        state = states[index]
        created_at = start + timedelta(seconds=event_id * step, microseconds=event_id % 997)
        action, outcome = gen.rng.choices(kinds, cum_weights=kind_weights)[0]
        actor_id, actor_label = gen.rng.choice(state.admin_people)
        target_id, target_label = gen.rng.choice(state.people)
        if action in (AuditAction.ROLE_GRANTED, AuditAction.ROLE_REVOKED):
            role = gen.rng.choice(role_names)
            before, after = ({"roles": []}, {"roles": [role]})
            if action == AuditAction.ROLE_REVOKED:
                before, after = after, before
        elif action == AuditAction.USER_EDITED:
            before, after = {"last_name": "Before"}, {"last_name": target_label.split(" <")[0]}
        else:
            before, after = {}, {}
        reason = (
            "Only a Global admin can grant or revoke Global admin." if outcome == "refused" else ""
        )
        sequence, previous_hash = chains.get(state.org_id, (0, ""))
        sequence += 1
        public_id = gen.uuid()
        ip_address = f"198.51.100.{event_id % 250 + 1}"
        user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edge/131.0"
        content = {
            "public_id": public_id,
            "sequence": sequence,
            "organization": state.org_id,
            "created_at": created_at.isoformat(timespec="microseconds"),
            "action": action.value,
            "outcome": outcome.value,
            "reason": reason,
            "actor_label": actor_label,
            "target_label": target_label,
            "before": before,
            "after": after,
            "ip_address": ip_address,
            "user_agent": user_agent,
            "previous_hash": previous_hash,
        }
        event_hash = _event_hash(content)
        chains[state.org_id] = (sequence, event_hash)
        yield (
            event_id,
            public_id,
            created_at.isoformat(),
            state.org_id,
            action.value,
            outcome.value,
            reason,
            actor_id,
            actor_label,
            target_id,
            target_label,
            json.dumps(before, ensure_ascii=False),
            json.dumps(after, ensure_ascii=False),
            ip_address,
            user_agent,
            sequence,
            previous_hash,
            event_hash,
            0,
        )


@transaction.atomic
def load(
    users: int = 100_000,
    organizations: int = 2_000,
    large: int = 10_000,
    seed: int = 2026,
    audit_events: int = 0,
) -> LoadResult:
    """Replace every organization, user and audit event with a generated dataset; ANALYZE."""
    started = time.perf_counter()
    organizations = max(1, min(organizations, users))
    gen = _Generator(seed, datetime.now(UTC))
    _truncate()
    sizes = organization_sizes(users, organizations, large)
    partner_ids = gen.rng.sample(range(100_000, 10_000_000), organizations + 1)
    partner_ids = [str(pid) for pid in partner_ids if str(pid) != LARGE_PARTNER_ID]
    program_types, program_weights = zip(*PROGRAM_TYPES, strict=True)
    orgs, org_rows = [], []
    for index in range(organizations):
        if index == 0:
            name, partner_id, program = "Contoso Worldwide Ltd", LARGE_PARTNER_ID, "csp_direct"
        else:
            name, partner_id = gen.organization_name(), partner_ids[index]
            program = gen.rng.choices(program_types, weights=program_weights)[0].value
        slug = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:40]
        domain = f"{slug}-{partner_id}.example"
        org_rows.append((index + 1, gen.uuid(), name, partner_id, program, gen.moment()))
        orgs.append((index + 1, domain, program != ProgramType.NON_CSP))

    result = LoadResult(organizations=organizations)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        restore = _set_aside_keys_and_indexes(cursor)
        # The users' role counts are loaded with them: not counted again per COPY, nor at
        # commit (a user's count waits for the commit as a deferred trigger event, and a table
        # with events pending cannot have its indexes rebuilt in the same transaction).
        for table in ("accounts_user", "roles_roleassignment"):
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        _copy(
            cursor,
            "accounts_partnerorganization",
            ("id", "public_id", "name", "partner_id", "program_type", "created_at"),
            org_rows,
        )
        user_rows: list[tuple] = []
        assignment_rows: list[tuple] = []
        states: list[_OrganizationState] = []
        for row, assignments in _users(gen, sizes, orgs, states):
            user_rows.append(row)
            assignment_rows.extend(assignments)
            if len(user_rows) >= CHUNK:
                _copy(cursor, "accounts_user", USER_COLUMNS, user_rows)
                _copy(cursor, "roles_roleassignment", ASSIGNMENT_COLUMNS, assignment_rows)
                result.users += len(user_rows)
                result.role_assignments += len(assignment_rows)
                user_rows, assignment_rows = [], []
        _copy(cursor, "accounts_user", USER_COLUMNS, user_rows)
        _copy(cursor, "roles_roleassignment", ASSIGNMENT_COLUMNS, assignment_rows)
        result.users += len(user_rows)
        result.role_assignments += len(assignment_rows)
        event_rows: list[tuple] = []
        for event in _audit_events(gen, audit_events, states, sizes):
            event_rows.append(event)
            if event[3] == states[0].org_id:
                result.large_organization_events += 1
            if len(event_rows) >= CHUNK:
                _copy(cursor, "accounts_auditevent", EVENT_COLUMNS, event_rows, EVENT_TEXT)
                result.audit_events += len(event_rows)
                event_rows = []
        _copy(cursor, "accounts_auditevent", EVENT_COLUMNS, event_rows, EVENT_TEXT)
        result.audit_events += len(event_rows)
        for statement in restore:
            cursor.execute(statement)
        for table in ("accounts_user", "roles_roleassignment"):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    _reset_sequences([*LOADED_TABLES[:3], "accounts_auditevent"])
    _add_support_staff()
    with connection.cursor() as cursor:
        # The loaded tables only: a database-wide ANALYZE also takes the shared catalogs, and
        # waits for anyone creating or dropping a database on the same server.
        cursor.execute(f"ANALYZE {', '.join(LOADED_TABLES)}")
    result.global_admins = Role.objects.get(key=RoleKey.GLOBAL_ADMIN).assignments.count()
    result.large_organization_users = sizes[0]
    for program, _label in ProgramType.choices:
        result.program_types[program] = sum(1 for org in org_rows if org[4] == program)
    result.seconds = time.perf_counter() - started
    return result


def _add_support_staff() -> User:
    ensure_support_group()
    staff = User(
        email=SUPPORT_EMAIL, first_name="Sam", last_name="Support", is_staff=True, organization=None
    )
    staff.set_unusable_password()
    staff.save()
    staff.groups.add(Group.objects.get(name=SUPPORT_GROUP))
    return staff


def vacuum() -> None:
    """VACUUM ANALYZE the loaded tables (outside a transaction), as autovacuum would within
    minutes of such a load on a production server (unless --no-vacuum).

    Freshly copied rows are not yet in the visibility map: until a vacuum, every index-only scan
    also reads the table. A production table of a million slowly changing users is almost all
    visible; a server with autovacuum off (the report says) would never make it so.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(LOADED_TABLES)}")


@dataclass(frozen=True)
class Actors:
    """The people and objects the measurements act as or look at."""

    large_organization: PartnerOrganization
    global_admin: User
    other_global_admin: User  # whose page, and whose change, the Global admin path times
    sample_user: User
    support: User
    # One user of the large organization per role, holding no role above it (for the
    # permission table's visitors), by role key.
    by_role: dict[str, User]


def find_actors() -> Actors:
    """The large organization's Global admins, a user per role, support staff."""
    organization = PartnerOrganization.objects.get(partner_id=LARGE_PARTNER_ID)
    members = User.objects.in_organization(organization).filter(is_active=True)
    admins = list(
        members.filter(role_assignments__role__key=RoleKey.GLOBAL_ADMIN).order_by("pk")[:2]
    )
    admin = admins[0]
    sample = (
        members.filter(role_assignments__role__key=RoleKey.SALES_AGENT)
        .exclude(pk=admin.pk)
        .order_by("pk")
        .first()
    ) or admin
    by_role = {RoleKey.GLOBAL_ADMIN.value: admin}
    for key in SPECS:
        if key == RoleKey.GLOBAL_ADMIN:
            continue
        holder = (
            members.filter(role_assignments__role__key=key)
            .exclude(role_assignments__role__key=RoleKey.GLOBAL_ADMIN)
            .annotate(held=models.Count("role_assignments"))
            .filter(held=1)
            .order_by("pk")
            .first()
        )
        if holder is not None:
            by_role[key] = holder
    return Actors(
        organization,
        admin,
        admins[-1],
        sample,
        User.objects.get(email=SUPPORT_EMAIL),
        by_role,
    )
