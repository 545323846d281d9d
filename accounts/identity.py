"""What an email address is in PartnerHub: the one form every path stores and compares.

DOMAIN.md rule 8: emails are unique across the product by one canonical form that sign-in, the
lockout, the database's constraint, the forms, the importer and the admin all use. That form is
`canonical_email`'s answer, and it is always lower-case printable ASCII:

- surrounding spaces go, then Unicode NFKC folds compatibility characters into the letters they
  stand for (full-width letters, the long s U+017F to "s", the Kelvin sign to "K", ligatures);
- the part before the last "@" must then be an RFC 5322 dot-atom of ASCII characters, and is
  lower-cased. Anything else (the dotless i U+0131, Cyrillic or Greek letters, quoted strings) is
  refused, never folded: no mail system agrees on what such a mailbox is the same as;
- the domain may be internationalized: UTS 46 (the `idna` package) maps it and it is stored as
  its ASCII form (A-labels, "xn--..."), lower case; its labels must be valid host names;
- at most 254 characters in all, and Django's EmailValidator accepts the result.

Look-alike addresses (a Cyrillic o U+043E in a domain, "rn" for "m", "0" for "o") are different
addresses, possibly the same person: `email_skeleton` gives the form in which they compare equal
(Unicode TR39's skeleton), which accounts.duplicates uses to flag them.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache

import idna
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Manager, Model, QuerySet

from accounts.search import fold

MAX_LENGTH = 254  # RFC 5321's limit for a path, less the angle brackets
MAX_LOCAL_LENGTH = 64
# Longer input is refused before any Unicode work is done on it.
MAX_TYPED_LENGTH = 1000

NOT_AN_EMAIL = "Enter an email address, such as name@example.com."
TOO_LONG = f"An email address can be at most {MAX_LENGTH} characters."
LOCAL_TOO_LONG = f"The part before the @ can be at most {MAX_LOCAL_LENGTH} characters."
LOCAL_CHARACTERS = (
    "Use only the letters a to z, digits and . _ - + before the @ (no accents, no other "
    "alphabets, no spaces)."
)
LOCAL_DOTS = "A dot cannot start or end the part before the @, or follow another dot."
BAD_DOMAIN = (
    "The part after the @ is not a domain name that can receive email, such as example.com."
)

# RFC 5322 atext: the characters of a dot-atom, between the dots.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*\Z")
_ATEXT_ONLY = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]*\Z")


def canonical_email(value: str) -> str:
    """The one stored and compared form of an email; ValidationError with a message for the
    person at the field when the value cannot be one."""
    if not isinstance(value, str):
        raise ValidationError(NOT_AN_EMAIL, code="invalid")
    if len(value) > MAX_TYPED_LENGTH:
        raise ValidationError(TOO_LONG, code="too_long")
    value = unicodedata.normalize("NFKC", value.strip())
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError(NOT_AN_EMAIL, code="invalid")
    local = _canonical_local_part(local)
    domain = _canonical_domain(domain)
    email = f"{local}@{domain}"
    if len(email) > MAX_LENGTH:
        raise ValidationError(TOO_LONG, code="too_long")
    try:
        validate_email(email)
    except ValidationError:
        # A case the rules above missed: refuse it rather than store what Django would not.
        raise ValidationError(NOT_AN_EMAIL, code="invalid") from None
    return email


def _canonical_local_part(local: str) -> str:
    if not _ATEXT_ONLY.match(local):
        raise ValidationError(LOCAL_CHARACTERS, code="local_characters")
    if not _DOT_ATOM.match(local):
        raise ValidationError(LOCAL_DOTS, code="local_dots")
    if len(local) > MAX_LOCAL_LENGTH:
        raise ValidationError(LOCAL_TOO_LONG, code="local_too_long")
    return local.lower()


def _canonical_domain(domain: str) -> str:
    # A file of 200,000 rows names a few domains: UTS 46 (most of an email's checking time)
    # runs once per domain, not per row. A refused domain raises, so it is never cached; a
    # longer one than a domain can be (characters UTS 46 ignores) is not cached either, which
    # bounds the cache's memory whatever a file holds.
    if len(domain) <= MAX_LENGTH:
        return _canonical_domain_cached(domain)
    return _canonical_domain_uncached(domain)


@lru_cache(maxsize=4096)
def _canonical_domain_cached(domain: str) -> str:
    return _canonical_domain_uncached(domain)


def _canonical_domain_uncached(domain: str) -> str:
    try:
        # Non-transitional UTS 46 (IDNA 2008 as browsers apply it): "ß" stays "ß".
        ascii_domain = idna.encode(domain, uts46=True, std3_rules=True, transitional=False)
    except (idna.IDNAError, UnicodeError):
        raise ValidationError(BAD_DOMAIN, code="domain") from None
    labels = ascii_domain.decode("ascii").split(".")
    if len(labels) < 2 or not all(labels):
        raise ValidationError(BAD_DOMAIN, code="domain")
    return ".".join(labels).lower()


def is_canonical(value: str) -> bool:
    """Is the value already an email in its canonical form?"""
    try:
        return canonical_email(value) == value
    except ValidationError:
        return False


def sign_in_key(value: str) -> str:
    """The name that failed sign-ins are counted against: the canonical email, or for input that
    cannot be one, a fixed-length key shared by all its look-alikes (so "user@" with a dotless
    i, written a hundred ways still count as one), with nothing in it that a store cannot keep."""
    try:
        return canonical_email(value)
    except ValidationError:
        folded = unicodedata.normalize("NFKC", value[:MAX_TYPED_LENGTH].strip()).casefold()
        digest = hashlib.sha256(skeleton(folded).encode("utf-8", "surrogatepass")).hexdigest()
        return f"not-an-email:{digest[:40]}"


# Look-alikes (Unicode TR39, section 4: confusable detection)


def email_skeleton(email: str) -> str:
    """The form in which look-alike emails are equal: the TR39 skeleton of the canonical email
    with its domain in Unicode, folded to lower case (so "0" matches "o", "1" matches "l")."""
    local, _, domain = email.rpartition("@")
    domain = _unicode_domain(domain) if len(domain) <= MAX_LENGTH else _unicode(domain)
    once = skeleton(f"{local}@{domain}").lower()
    return skeleton(once)


@lru_cache(maxsize=4096)
def _unicode_domain(domain: str) -> str:
    """A domain's Unicode form, once per domain (a file's rows share a few)."""
    return _unicode(domain)


def _unicode(domain: str) -> str:
    # Not a valid A-label after all: compared as it is.
    with contextlib.suppress(idna.IDNAError, UnicodeError):
        return idna.decode(domain)
    return domain


def skeleton(text: str) -> str:
    """TR39's skeleton: NFD, each character replaced by its prototype, NFD again."""
    mapped = unicodedata.normalize("NFD", text).translate(_prototype_table())
    return unicodedata.normalize("NFD", mapped)


@cache
def _prototype_table() -> dict[int, str]:
    """_prototypes() as str.translate wants it: each character mapped in one pass in C."""
    return {ord(char): prototype for char, prototype in _prototypes().items()}


@cache
def _prototypes() -> dict[str, str]:
    """Each confusable character's prototype, from Unicode's confusables.txt.

    The data comes from the confusable-homoglyphs package, which keeps each line of
    confusables.txt ("source → prototype") as a pair in both directions. A source is one code
    point that maps to exactly one prototype, and a prototype is never a source, so each pair
    of single characters forms a star around its prototype: the one joined to all the others.
    A two-character pair on its own is ambiguous; its ASCII (else lower) member is taken as
    the prototype, which keeps "equal skeletons" exactly as TR39 has it.
    """
    from confusable_homoglyphs.confusables import confusables_data

    def plain(text: str) -> str:
        # confusables.txt's comments wrap right-to-left characters in left-to-right marks.
        return text.replace("\u200e", "") if len(text) > 1 else text

    neighbours: dict[str, set[str]] = defaultdict(set)
    prototypes: dict[str, str] = {}
    for key, entries in confusables_data.items():
        source = plain(key)
        if len(source) != 1:
            continue  # a multi-character prototype, listing its sources: seen from them
        for entry in entries:
            target = plain(entry["c"])
            if len(target) > 1:
                prototypes[source] = target  # only a source maps to several characters
            elif target != source:
                neighbours[source].add(target)
                neighbours[target].add(source)
    seen: set[str] = set()
    for start in sorted(neighbours):
        if start in seen or start in prototypes:
            continue
        group = _connected(start, neighbours, prototypes)
        seen |= group
        centre = max(group, key=lambda char: (len(neighbours[char]), char.isascii(), -ord(char)))
        for char in group - {centre}:
            prototypes[char] = centre
    return {
        source: unicodedata.normalize("NFD", prototype) for source, prototype in prototypes.items()
    }


def _connected(start: str, neighbours: dict[str, set[str]], skip: dict[str, str]) -> set[str]:
    group, todo = {start}, [start]
    while todo:
        for char in neighbours[todo.pop()]:
            if char not in group and char not in skip:
                group.add(char)
                todo.append(char)
    return group


# Rows stored before this form existed (the migration that introduced it)

QUARANTINE_DOMAIN = "quarantined.invalid"  # RFC 2606: .invalid never delivers mail


@dataclass(frozen=True)
class Quarantined:
    """A user whose email could not stay: taken by another's canonical form, or not an email."""

    public_id: str
    email: str  # as it was stored
    moved_to: str
    reason: str


def canonicalize_stored_emails(
    user_model: type[Model], using: str = "default", batch_size: int = 1000
) -> list[Quarantined]:
    """Store every user's email in its canonical form, and fill email_skeleton.

    Where several users' emails have one canonical form, the oldest user keeps it; the others,
    and the users whose email cannot be canonicalized at all, are deactivated, their sessions
    ended, and moved to `<public_id>@quarantined.invalid`, to be sorted out by support staff.
    Returns those moved, for the migration to print.
    """
    keepers: dict[str, tuple[int, str, str]] = {}  # canonical form → (pk, public_id, email)
    moved: dict[int, Quarantined] = {}
    users = user_model._default_manager.using(using)
    rows = users.order_by("created_at", "pk").values_list("pk", "public_id", "email")
    for pk, public_id, email in rows.iterator(chunk_size=batch_size):
        try:
            canonical = canonical_email(email)
        except ValidationError as error:
            moved[pk] = _quarantine(public_id, email, "; ".join(error.messages))
            continue
        kept = keepers.setdefault(canonical, (pk, str(public_id), email))
        if kept[0] != pk:
            # The oldest keeps the address (rows come oldest first): a look-alike added later,
            # even one typed in the canonical form, is the newcomer, whoever added it.
            moved[pk] = _quarantine(str(public_id), email, f"{canonical} is another user's")
    # Out of the way first, so that no canonical form meets a row that still holds it.
    _store(
        users, {pk: (quarantined.moved_to, False) for pk, quarantined in moved.items()}, batch_size
    )
    _store(users, {pk: (canonical, None) for canonical, (pk, _, _) in keepers.items()}, batch_size)
    return list(moved.values())


def _store(users: Manager, emails: dict[int, tuple[str, bool | None]], size: int) -> None:
    """Write each user's (email, is_active unless None) and email_skeleton, a batch at a time."""
    pks = sorted(emails)
    for start in range(0, len(pks), size):
        batch = list(users.filter(pk__in=pks[start : start + size]))
        for user in batch:
            user.email, active = emails[user.pk]
            user.email_skeleton = email_skeleton(user.email)
            # A historical model has no methods: User.refresh_search_text, written out.
            user.search_text = fold(f"{user.first_name} {user.last_name} {user.email}")
            if active is not None:
                user.is_active = active
            if active is False:
                # Deactivation ends every session, for good (accounts.services.end_sessions).
                user.session_generation = secrets.token_hex(16)
        # Django's own bulk_update: UserQuerySet's (the manager is used in migrations) would
        # call methods a historical model does not have; the fields are filled above.
        QuerySet.bulk_update(
            users.all(),
            batch,
            ["email", "email_skeleton", "search_text", "is_active", "session_generation"],
        )


def _quarantine(public_id: object, email: str, reason: str) -> Quarantined:
    return Quarantined(str(public_id), email, f"{public_id}@{QUARANTINE_DOMAIN}", reason)
