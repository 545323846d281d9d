"""Adding users from a CSV file: reading, checking and writing rows, a chunk at a time. The jobs
that run a file's check (a dry run that adds nobody) and its addition, each chunk in a short
transaction of its own, are in jobs.user_imports; new users are invited by email.

The file is read row by row with `csv` and handled in chunks of CHUNK_SIZE rows: one query per
chunk finds the emails already in use, one insert per table writes the chunk's users and role
assignments from plain column values (accounts.bulk_insert.create: an unnest insert on
PostgreSQL, `bulk_create` elsewhere), and accounts.audit.record_batch_values appends the chunk's
audit events to the organization's hash chain. So memory holds one chunk of rows, and the
number of queries grows with the chunks, never with the rows.

Each row is checked with the add-user form's fields (accounts.forms.text) and the rulebook
(roles.rules.can_grant_role), exactly as the add-user flow checks one user. Decisions (also in
docs/architecture.md):
- A dry run adds nothing. Roles the actor may not grant are refused attempts all the same (a
  script probing what it may grant is one), recorded as one refused ROLE_GRANTED event per
  check of a file, with their count and the first rows, never one event per row.
- On import, a role the actor may not grant refuses its row (the other rows are added), and the
  refused rows are one refused ROLE_GRANTED event, as in the dry run.
- New users get an unusable password and an emailed one-time link (accounts.invitations), a job
  enqueued in the chunk's transaction: nobody is invited to an account that was rolled back.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, UNUSABLE_PASSWORD_SUFFIX_LENGTH
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit, bulk_insert
from accounts.audit import Origin
from accounts.duplicates import lookalike_emails
from accounts.forms.text import EmailAddressField, OneLineField
from accounts.identity import email_skeleton, is_canonical
from accounts.models import AuditAction, PartnerOrganization, User, search_text, user_label
from accounts.services import EmailInUse, snapshot_of
from roles import rules
from roles.catalogue import CATALOGUE, SPECS, in_catalogue_order
from roles.models import Role, RoleAssignment
from roles.rules import Action, Decision

logger = logging.getLogger(__name__)

HEADER = ("First name", "Last name", "Email", "Roles")
ROLE_SEPARATOR = ";"
# 200,000 rows of long names and several roles each fit in 32 MB; the rows are checked and added
# by a worker (jobs.user_imports), a chunk at a time.
MAX_BYTES = 32 * 1024 * 1024
MAX_ROWS = 200_000
CHUNK_SIZE = 1000

TOO_BIG = (
    f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB: split it into smaller files "
    f"(at most {MAX_ROWS:,} rows each) and add them one after the other."
)
TOO_MANY_ROWS = (
    f"The file has more than {MAX_ROWS:,} rows: split it into files of at most {MAX_ROWS:,} "
    "rows and add them one after the other."
)
NOT_UTF8 = (
    "The file is not UTF-8 text. In your spreadsheet, save it as “CSV UTF-8 (comma "
    "delimited)” and choose it again."
)
EMPTY = "The file is empty: download the template, fill in one row per user and choose it again."
BAD_HEADER = (
    "The first row must name the columns: First name,Last name,Email,Roles (in any order, any "
    "case). Download the template to start from one that has it."
)

# The template's example row. A file sent back with it still in is refused at that row: Ada would
# otherwise be added (and invited) by accident.
EXAMPLE_ROW = ("Ada", "Lovelace", "ada.lovelace@example.com", "Referrals admin")
EXAMPLE_LEFT_IN = (
    "This is the template's example row: replace it with a person of your organization, or "
    "delete it."
)

# The role names an admin types, matched ignoring case: "Billing admin; sales agent".
ROLES_BY_NAME = {spec.name.casefold(): spec.key.value for spec in CATALOGUE}


class BadFile(Exception):
    """The file as a whole cannot be read; the message says what to do."""


def decode(data: bytes) -> str:
    """The uploaded file's text (UTF-8, with or without the byte-order mark Excel writes)."""
    if len(data) > MAX_BYTES:
        raise BadFile(TOO_BIG)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadFile(NOT_UTF8) from None


# Reading the rows


@dataclass
class ImportRow:
    """One row of the file, and what checking (and adding) it found."""

    line: int
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    roles: str = ""  # the cell as written
    role_keys: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (role key, the reason)
    warnings: list[str] = field(default_factory=list)  # possible duplicates: guidance only
    added: bool = False

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def role_names(self) -> list[str]:
        return [SPECS[key].name for key in self.role_keys]

    def copy(self) -> ImportRow:
        """The row as it stands, its lists its own (copy.deepcopy is more than twice as slow):
        an attempt at adding it may change the copy and leave this row as it was."""
        return replace(
            self,
            role_keys=[*self.role_keys],
            errors=[*self.errors],
            refused=[*self.refused],
            warnings=[*self.warnings],
        )


def _is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _columns(header: list[str]) -> dict[str, int]:
    """Where each column of HEADER is; BadFile unless the header names exactly those four."""
    names = [cell.strip().casefold() for cell in header]
    wanted = {name.casefold(): name for name in HEADER}
    if sorted(names) != sorted(wanted):
        raise BadFile(BAD_HEADER)
    return {wanted[name]: position for position, name in enumerate(names)}


# A line and its end, as io.StringIO(text, newline="") splits them (CRLF, LF or CR alone), or
# the last line without one.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def lines(text: str) -> Iterator[str]:
    """The text's lines one at a time, for csv.reader: io.StringIO would hold a second copy of
    the whole file, at four bytes a character (32 MB of text held 128 MB more)."""
    return (match.group() for match in _LINE.finditer(text))


def _rows(text: str) -> Iterator[ImportRow]:
    reader = csv.reader(lines(text))
    try:
        header = next((cells for cells in reader if not _is_blank(cells)), None)
        if header is None:
            raise BadFile(EMPTY)
        columns = _columns(header)
        count = 0
        for cells in reader:
            if _is_blank(cells):
                continue
            count += 1
            if count > MAX_ROWS:
                raise BadFile(TOO_MANY_ROWS)
            row = ImportRow(line=reader.line_num)
            if len(cells) != len(HEADER):
                cells_found = f"{len(cells)} cell" + ("" if len(cells) == 1 else "s")
                row.errors.append(
                    f"This row has {cells_found}, the header {len(HEADER)}: put a cell that "
                    "holds a comma in double quotes."
                )
                cells = (cells + [""] * len(HEADER))[: len(HEADER)]
            row.first_name, row.last_name, row.email, row.roles = (
                cells[columns[name]] for name in HEADER
            )
            yield row
    except csv.Error as error:
        raise BadFile(
            f"Line {reader.line_num} cannot be read as CSV ({error}). Save the file as CSV from "
            "your spreadsheet and choose it again."
        ) from None


NO_ROWS = "The file has a header but no users."


def glance(text: str) -> None:
    """What the upload request checks of a decoded file, reading only its first lines: the
    header names the columns and a row follows it. BadFile otherwise. The rows themselves,
    their count and the file's later lines are the check job's (scan, then the chunks): the
    request answers at once whatever the file's size."""
    reader = csv.reader(lines(text))
    try:
        header = next((cells for cells in reader if not _is_blank(cells)), None)
        if header is None:
            raise BadFile(EMPTY)
        _columns(header)
        if next((cells for cells in reader if not _is_blank(cells)), None) is None:
            raise BadFile(NO_ROWS)
    except csv.Error as error:
        raise BadFile(
            f"Line {reader.line_num} cannot be read as CSV ({error}). Save the file as CSV from "
            "your spreadsheet and choose it again."
        ) from None


@dataclass(frozen=True)
class Scan:
    """What the check job learns of a file in one fast pass before its chunks: its rows, and
    whether any row names Global admin (valid or not: a row invalid at the check may be valid
    on Add, so the page asks for the password for any such row)."""

    rows: int
    names_global_admin: bool


def scan(text: str) -> Scan:
    """Count the user rows and look for Global admin, with csv alone (no per-row objects): a
    200,000-row file takes a fraction of a second. BadFile as the job's reading would raise."""
    reader = csv.reader(lines(text))
    try:
        header = next((cells for cells in reader if not _is_blank(cells)), None)
        if header is None:
            raise BadFile(EMPTY)
        roles_at = _columns(header)["Roles"]
        rows, global_admin = 0, False
        for cells in reader:
            if not any(cells) or _is_blank(cells):
                continue
            rows += 1
            if rows > MAX_ROWS:
                raise BadFile(TOO_MANY_ROWS)
            if not global_admin and roles_at < len(cells) and "global" in cells[roles_at].lower():
                global_admin = rules.GA in _role_keys(cells[roles_at])[0]
    except csv.Error as error:
        raise BadFile(
            f"Line {reader.line_num} cannot be read as CSV ({error}). Save the file as CSV from "
            "your spreadsheet and choose it again."
        ) from None
    return Scan(rows=rows, names_global_admin=global_admin)


def names_global_admin(text: str) -> bool:
    """Does any row of the file name Global admin, valid or not?"""
    try:
        return scan(text).names_global_admin
    except BadFile:
        return False


def count_rows(text: str) -> int:
    """How many user rows the file has; BadFile when it cannot be imported at all."""
    return scan(text).rows


def chunks(text: str, size: int) -> Iterator[list[ImportRow]]:
    chunk: list[ImportRow] = []
    for row in _rows(text):
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# Checking the rows


class RowForm(forms.Form):
    """One row's cells, checked with the add-user form's fields (same lengths, same refusal of
    control characters and direction overrides)."""

    first_name = OneLineField(
        label="First name", max_length=150, error_messages={"required": "this cell is empty."}
    )
    last_name = OneLineField(
        label="Last name", max_length=150, error_messages={"required": "this cell is empty."}
    )
    email = EmailAddressField(
        label="Email", max_length=254, error_messages={"required": "this cell is empty."}
    )
    roles = OneLineField(label="Roles", max_length=1000, required=False)


def _role_keys(cell: str) -> tuple[list[str], list[str]]:
    """The roles a cell names (by name, any case, separated by semicolons), and the unknown."""
    keys, unknown = [], []
    for name in cell.split(ROLE_SEPARATOR):
        name = " ".join(name.split())
        if not name:
            continue
        key = ROLES_BY_NAME.get(name.casefold())
        if key is None:
            unknown.append(name)
        else:
            keys.append(key)
    return in_catalogue_order(keys), unknown


class Checker:
    """Checks rows as the add-user flow checks one user, remembering the file's emails."""

    def __init__(self, actor: User, organization: PartnerOrganization) -> None:
        self.organization = organization
        # An unsaved user of the organization: "may they grant this role to a new user here?"
        # The answer is the same for every row, so it is asked once.
        self.decisions: dict[str, Decision] = rules.grantable_roles(
            actor, User(organization=organization)
        )
        self.first_line_of: dict[str, int] = {}
        # The rows found repeating an earlier line's email, {line: that line}, for the job to
        # record (take_repeated); or, given (`repeats`), the check's record of them, read
        # instead of the earlier rows: a job of the addition sees only the chunks it adds.
        self.repeated: dict[int, int] = {}
        self.repeats: dict[int, int] | None = None
        # Each look-alike skeleton's first valid row: (line, email).
        self.first_line_of_skeleton: dict[str, tuple[int, str]] = {}

    def check(self, chunk: list[ImportRow], *, lookalikes: bool = True) -> None:
        """Check the chunk's rows; lookalikes=False skips the possible duplicates (guidance the
        check showed already, which adding does not need)."""
        for row in chunk:
            self._check_cells(row)
        self.mark_emails_in_use([row for row in chunk if row.email])
        if lookalikes:
            self.mark_lookalikes([row for row in chunk if row.valid])

    def _check_cells(self, row: ImportRow) -> None:
        invalid = set()
        # The form's fields, without a form per row: a form copies its fields when it is made,
        # which would be most of the time a 10,000-row file takes to check.
        for name, form_field in RowForm.base_fields.items():
            try:
                setattr(row, name, form_field.clean(getattr(row, name)))
            except ValidationError as error:
                invalid.add(name)
                row.errors.extend(f"{form_field.label}: {message}" for message in error.messages)
        if "email" in invalid:
            row.email = row.email.strip()
        elif row.email == EXAMPLE_ROW[2]:
            row.errors.append(EXAMPLE_LEFT_IN)
        else:
            first = self._first_line_with(row)
            if first != row.line:
                row.errors.append(f"Email: line {first} of this file has the same email.")
        if "roles" in invalid:
            return
        row.role_keys, unknown = _role_keys(row.roles)
        row.errors.extend(f"Roles: there is no role named “{name}”." for name in unknown)
        for key in row.role_keys:
            if not self.decisions[key]:
                row.refused.append((key, self.decisions[key].reason))
                row.errors.append(f"Roles: {self.decisions[key].reason}")

    def _first_line_with(self, row: ImportRow) -> int:
        """The first line of the file with the row's email (its own when none before)."""
        if self.repeats is not None:
            return self.repeats.get(row.line, row.line)
        # Cleaned by the field: canonical, so look-alikes that fold together meet here.
        first = self.first_line_of.setdefault(row.email, row.line)
        if first != row.line:
            self.repeated[row.line] = first
        return first

    def take_repeated(self) -> dict[int, int]:
        """The repeated emails found since the last call (a chunk's, for its record)."""
        found, self.repeated = self.repeated, {}
        return found

    @staticmethod
    def mark_emails_in_use(rows: list[ImportRow]) -> None:
        """One query for the chunk: emails are unique across the product, by canonical form."""
        # Only canonical emails are looked up: the others (a NUL byte, which PostgreSQL refuses
        # in a query, or anything the field refused) have their error already.
        wanted = {row.email for row in rows if is_canonical(row.email)}
        # Every organization's users, on purpose: rule 8 is product-wide. Nothing about the
        # other organization is shown, only the add-user flow's message.
        in_use = set(User.objects.filter(email__in=wanted).values_list("email", flat=True))
        for row in rows:
            if row.email in in_use and EMAIL_IN_USE not in row.errors:
                row.errors.append(EMAIL_IN_USE)

    def mark_lookalikes(self, rows: list[ImportRow]) -> None:
        """One query for the chunk: the organization's users whose email looks like a row's
        (accounts.duplicates, as the add-user flow lists them). A warning, not an error."""
        skeletons = {row.line: email_skeleton(row.email) for row in rows}
        users = lookalike_emails(self.organization, set(skeletons.values()))
        for row in rows:
            row.warnings = [
                f"Possible duplicate: the email looks like {user.get_full_name()}'s, {user.email}."
                for user in users.get(skeletons[row.line], [])
                if user.email != row.email
            ]
            # And like an earlier row's of the same file (the same email is an error already).
            earlier = self.first_line_of_skeleton.get(skeletons[row.line])
            if earlier is None:
                self.first_line_of_skeleton[skeletons[row.line]] = (row.line, row.email)
            elif earlier[1] != row.email:
                line, email = earlier
                row.warnings.append(
                    f"Possible duplicate: the email looks like line {line}'s, {email}."
                )


EMAIL_IN_USE = f"Email: {EmailInUse.message}"


# The report: counts, the rows to show, the result file


SHOWN_ROWS = 200  # rows with errors, on the page (the result file has every row)
REFUSALS_RECORDED = 20  # refused roles named in the audit event of a file (all are counted)
SHOWN_READY = 20  # rows ready to add: a sample, to see that the columns were read right
SHOWN_ADDED = 200  # rows added, on the result page (the result file has every row)
RESULT_HEADER = [*HEADER, "Outcome", "Errors", "Warnings"]
RESULT_FILE_HEADER = ["Line", *RESULT_HEADER]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    # A leading apostrophe makes a spreadsheet show the text instead of running it.
    # Leading spaces too: some spreadsheets drop them before they look.
    return f"'{text}" if text.lstrip(" ").startswith(FORMULA_STARTS) else text


@dataclass
class ImportReport:
    """What a dry run or an import found: counts, the first rows to show, the result file."""

    dry_run: bool
    header: bool = True  # False: one chunk's rows of a result file kept in parts
    rows: int = 0
    valid: int = 0  # a dry run: ready to add; an import: added
    invalid: int = 0
    grants_global_admin: bool = False
    invitations_sent: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # the first SHOWN_ROWS
    refused_roles: int = 0  # (row, role) pairs the rulebook refused
    refused_shown: list[dict[str, Any]] = field(default_factory=list)  # REFUSALS_RECORDED
    warned: int = 0  # rows with a possible duplicate
    lookalikes: list[dict[str, Any]] = field(default_factory=list)  # the first SHOWN_ROWS
    ready: list[dict[str, Any]] = field(default_factory=list)  # the first SHOWN_READY
    _result: io.StringIO = field(default_factory=io.StringIO, repr=False)

    def __post_init__(self) -> None:
        self._writer = csv.writer(self._result, lineterminator="\r\n")
        if self.header:
            self._writer.writerow(RESULT_FILE_HEADER)

    def add(self, chunk: list[ImportRow]) -> None:
        for row in chunk:
            self.rows += 1
            for key, reason in row.refused:
                self.refused_roles += 1
                if len(self.refused_shown) < REFUSALS_RECORDED:
                    # The email as typed, for the audit trail: no NUL (PostgreSQL refuses it
                    # in JSON), no longer than an email may be.
                    email = row.email.replace("\x00", "")[:320]
                    self.refused_shown.append(
                        {"line": row.line, "email": email, "role": key, "reason": reason}
                    )
            ok = row.valid if self.dry_run else row.added
            if ok:
                self.valid += 1
                self.grants_global_admin |= rules.GA in row.role_keys
            else:
                self.invalid += 1
            shown = {
                "line": row.line,
                "name": f"{row.first_name} {row.last_name}".strip(),
                "email": row.email,
                "roles": row.role_names if row.valid else [],
                "roles_cell": row.roles,
                "errors": row.errors,
                "warnings": row.warnings,
            }
            if ok and len(self.ready) < (SHOWN_READY if self.dry_run else SHOWN_ADDED):
                self.ready.append(shown)
            elif not ok and len(self.problems) < SHOWN_ROWS:
                self.problems.append(shown)
            if row.warnings:
                self.warned += 1
                if len(self.lookalikes) < SHOWN_ROWS:
                    self.lookalikes.append(shown)
            self._writer.writerow(
                [
                    row.line,
                    *(
                        _cell(value)
                        for value in (row.first_name, row.last_name, row.email, row.roles)
                    ),
                    self.outcome(row),
                    _cell(" | ".join(row.errors)),
                    _cell(" | ".join(row.warnings)),
                ]
            )

    def outcome(self, row: ImportRow) -> str:
        if self.dry_run:
            return "ready to add" if row.valid else "has errors"
        return "added" if row.added else "not added"

    @property
    def result_csv(self) -> str:
        """Every row with its outcome and errors: the file offered for download."""
        return self._result.getvalue()

    def summary(self) -> dict[str, Any]:
        """What a page shows, as plain data the session can keep."""
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "valid": self.valid,
            "invalid": self.invalid,
            "grants_global_admin": self.grants_global_admin,
            "invitations_sent": self.invitations_sent,
            "invitations_not_sent": 0 if self.dry_run else self.valid - self.invitations_sent,
            "problems": self.problems,
            "lookalikes": self.lookalikes,
            "more_lookalikes": max(0, self.warned - len(self.lookalikes)),
            "ready": self.ready,
            "more_problems": max(0, self.invalid - len(self.problems)),
            "more_ready": max(0, self.valid - len(self.ready)),
        }


Progress = Callable[[list[ImportRow], int], None]


def refuse_unless_may_add(actor: User, organization: PartnerOrganization) -> None:
    audit.require(rules.can(actor, Action.ADD_USER, organization), AuditAction.USER_CREATED)


def record_refused_roles(
    report: ImportReport, *, actor: User, organization: PartnerOrganization, origin: Origin
) -> None:
    """One refused "Role granted" attempt for all the rows of a file that ask for roles the
    actor may not grant, naming the first of them: a file of 10,000 such rows, sent again and
    again, is one event per file and check, never one per row."""
    if not report.refused_roles or actor.pk is None:
        # No actor (support staff's dry run from the command line names nobody): nothing to
        # attribute, and nothing is attempted.
        return
    checked = "checked" if report.dry_run else "added"
    audit.record_refused_attempt(
        actor,
        AuditAction.ROLE_GRANTED,
        f"{report.refused_roles} roles in the CSV file are roles you may not grant.",
        organization=organization,
        target_label=f"{report.rows} users from a CSV file ({checked})",
        detail={"refused": report.refused_roles, "first": report.refused_shown},
        origin=origin,
    )


class Writer:
    """Adds a chunk's valid rows: users and role assignments (insert), then their audit events
    (record, under the organization's lock), a few queries each.

    The rows are built as plain column values and written with accounts.bulk_insert.create
    (one INSERT ... SELECT FROM unnest per table on PostgreSQL, bulk_create elsewhere): a model
    instance per user, role, event and invitation was a quarter of the addition's time."""

    def __init__(self, actor: User, organization: PartnerOrganization, origin: Origin) -> None:
        self.actor, self.organization, self.origin = actor, organization, origin
        self.checker = Checker(actor, organization)
        self.roles = {role.key: role for role in Role.objects.all()}
        self.now = timezone.now()  # the chunk's time, set by insert()

    def insert(self, chunk: list[ImportRow]) -> list[int]:
        """The chunk's valid rows' users and role assignments; their ids, in the rows' order.
        Their audit events are record()'s, in the same transaction."""
        # One time for the chunk's rows: they are written in one transaction.
        now = self.now = timezone.now()
        user_ids = self._insert_users(chunk, now)
        rows = [row for row in chunk if row.valid]
        assignments = [
            (user_id, self.roles[key].pk)
            for user_id, row in zip(user_ids, rows, strict=True)
            for key in row.role_keys
        ]
        count = len(assignments)
        bulk_insert.create(
            RoleAssignment,
            {
                "user_id": [user_id for user_id, _ in assignments],
                "role_id": [role_id for _, role_id in assignments],
                "granted_by_id": [self.actor.pk] * count,
                "organization_id": [self.organization.pk] * count,
                "granted_at": [now] * count,
            },
        )
        return user_ids

    def record(self, chunk: list[ImportRow], user_ids: list[int]) -> None:
        """The audit events of the users insert() wrote: each user's creation, then each role
        granted to them, appended to the organization's chain (its lock held)."""
        now = self.now
        rows = [row for row in chunk if row.valid]
        events = []
        for user_id, row in zip(user_ids, rows, strict=True):
            row.added = True
            label = user_label(row.first_name, row.last_name, row.email)
            after = snapshot_of(row.first_name, row.last_name, row.email, is_active=True)
            events.append(
                (AuditAction.USER_CREATED, user_id, label, {**after, "roles": row.role_names})
            )
            events.extend(
                (AuditAction.ROLE_GRANTED, user_id, label, {"role": name})
                for name in row.role_names
            )
        public_ids = bulk_insert.new_uuids(len(events))
        audit.record_batch_values(
            [
                audit.event_values(
                    self.actor,
                    action,
                    organization=self.organization,
                    target_id=user_id,
                    target_label=label,
                    after=after,
                    origin=self.origin,
                    public_id=public_id,
                    created_at=now,
                )
                for (action, user_id, label, after), public_id in zip(
                    events, public_ids, strict=True
                )
            ]
        )

    def _insert_users(self, chunk: list[ImportRow], now: datetime) -> list[int]:
        try:
            with transaction.atomic():
                return self._create_users(chunk, now)
        except IntegrityError:
            # Someone (in another organization: our lock does not cover theirs) took one of
            # these emails since the check. Check again and add the others; a second failure
            # stops the whole import.
            Checker.mark_emails_in_use([row for row in chunk if row.valid])
            return self._create_users(chunk, now)

    def _create_users(self, chunk: list[ImportRow], now: datetime) -> list[int]:
        """The users of the chunk's valid rows, as User(...) with these values would be
        written (the other fields their defaults; search_text and email_skeleton as save()
        and bulk_create set them)."""
        rows = [row for row in chunk if row.valid]
        count = len(rows)
        return bulk_insert.create(
            User,
            {
                "public_id": bulk_insert.new_uuids(count),
                "organization_id": [self.organization.pk] * count,
                "email": [row.email for row in rows],
                "first_name": [row.first_name for row in rows],
                "last_name": [row.last_name for row in rows],
                "created_by_id": [self.actor.pk] * count,
                "created_at": [now] * count,
                "must_change_password": [False] * count,
                # The invitation's link sets the password: nothing to hash.
                "password": [unusable_password() for _ in rows],
                "search_text": [
                    search_text(row.first_name, row.last_name, row.email) for row in rows
                ],
                "email_skeleton": [email_skeleton(row.email) for row in rows],
                # The roles insert() assigns next: the assignments' trigger then finds every
                # count right and writes no user twice (migration accounts 0022).
                "role_count": [len(row.role_keys) for row in rows],
            },
        )


def unusable_password() -> str:
    """What set_unusable_password() stores (the "!" prefix and a random suffix that the
    invitation's token covers, different for every user), from one call to the operating
    system's random source instead of forty: a 100,000-row import spent seconds there."""
    return (
        UNUSABLE_PASSWORD_PREFIX
        + secrets.token_urlsafe(UNUSABLE_PASSWORD_SUFFIX_LENGTH)[:UNUSABLE_PASSWORD_SUFFIX_LENGTH]
    )


def role_names_for(actor: User, organization: PartnerOrganization) -> list[tuple[str, str]]:
    """The roles a file may name in the organization, each with "" when the actor may grant it
    or the reason why not (the page lists them; a refused one keeps its row out)."""
    decisions = rules.grantable_roles(actor, User(organization=organization))
    return [
        (spec.name, "" if decisions[spec.key.value] else decisions[spec.key.value].reason)
        for spec in CATALOGUE
        if organization.is_csp or not spec.csp_only
    ]


def template_csv() -> str:
    """The file to start from: the header and one example row."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerow(EXAMPLE_ROW)
    return text.getvalue()
