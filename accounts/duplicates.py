"""Possible duplicates of a user about to be added (DOMAIN.md, "The add-user flow", step 2).

Guidance, not a rule: before the admin adds someone, the organization's users whose name is the
same or a typo away, whose email differs only by a +tag, or whose email looks like it (the same
Unicode TR39 skeleton: a Cyrillic letter in the domain, "rn" for "m", "0" for "o"), are listed
so that the admin can open them and avoid adding the same person twice. An email that already
exists is not a possible duplicate: the add-user form stops on it.

The cost is bounded whatever the size of the organization: one query narrows the candidates
(at most MAX_CANDIDATES), then the distances are computed in Python. Look-alike emails are one
equality on User.email_skeleton, indexed with the organization.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Q, Value, When

from accounts.identity import canonical_email, email_skeleton
from accounts.models import PartnerOrganization, User
from accounts.search import fold

# Enough for any real organization's namesakes; a cap so that a very common name costs no more.
MAX_CANDIDATES = 300

# Edits (a letter added, dropped, changed, or two neighbours swapped) that still make a name
# "similar": Jon/John Smith is one, Jhon/John Smtih two.
SIMILAR_NAME_DISTANCE = 2
SIMILAR_FIRST_NAME_DISTANCE = 1

SAME_NAME = "Same name"
SIMILAR_NAME = "Similar name"
SAME_EMAIL_APART_FROM_TAG = "Same email apart from a +tag"
LOOKALIKE_EMAIL = "Email looks the same"


@dataclass(frozen=True)
class PossibleDuplicate:
    """A user of the organization who may be the person being added, and why they may be."""

    user: User
    reasons: tuple[str, ...]  # SAME_NAME, SIMILAR_NAME, SAME_EMAIL_APART_FROM_TAG, LOOKALIKE_EMAIL


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """The number of edits (insert, delete, substitute, swap two neighbours) turning a into b.

    The optimal string alignment form of the Damerau-Levenshtein distance. With a limit, stops as
    soon as the distance is known to exceed it and answers limit + 1.
    """
    if a == b:
        return 0
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    before_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            current[j] = min(
                previous[j] + 1,  # delete
                current[j - 1] + 1,  # insert
                previous[j - 1] + (char_a != char_b),  # substitute (or keep)
            )
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], before_previous[j - 2] + 1)  # swap neighbours
        # No row's minimum is below the previous row's: past the limit, it stays past it.
        if limit is not None and min(current) > limit:
            return limit + 1
        before_previous, previous = previous, current
    distance = previous[-1]
    return distance if limit is None or distance <= limit else limit + 1


def _email_without_tag(email: str) -> tuple[str, str] | None:
    """('john.smith', 'contoso.com') for 'John.Smith+partner@Contoso.com'; None if no email."""
    local, at, domain = email.strip().casefold().rpartition("@")
    base = local.split("+", 1)[0]
    if not at or not base or not domain:
        return None
    return base, domain


def _candidates(
    organization: PartnerOrganization,
    first: str,
    last: str,
    email_parts: tuple[str, str] | None,
    skeleton: str | None,
) -> list[User]:
    """The organization's users that may match, by a cheap test the database can answer."""
    match = Q()
    likeliest = Q()
    if skeleton:
        match |= Q(email_skeleton=skeleton)
        likeliest |= Q(email_skeleton=skeleton)
    for part in (last, first):
        if part:
            match |= Q(search_text__contains=part)
    if first and last:
        # search_text is "first last email", folded (User.refresh_search_text).
        likeliest |= Q(search_text__startswith=f"{first} {last} ")
    if email_parts is not None:
        base, domain = email_parts
        same_email_base = Q(email__istartswith=base, email__iendswith=f"@{domain}")
        match |= same_email_base
        likeliest |= same_email_base
    if not match:
        return []
    # The cap must never hide a same name or a +tag email behind a crowd of namesakes.
    closeness = (
        Case(When(likeliest, then=Value(0)), default=Value(1), output_field=IntegerField())
        if likeliest
        else Value(1)
    )
    return list(
        User.objects.in_organization(organization)
        .filter(match)
        .order_by(closeness, "last_name", "first_name", "pk")[:MAX_CANDIDATES]
    )


def possible_duplicates(
    organization: PartnerOrganization, first_name: str, last_name: str, email: str
) -> list[PossibleDuplicate]:
    """The organization's users who may be the person about to be added, likeliest first.

    Names are compared folded (case and accents ignored): the same name, a name within
    SIMILAR_NAME_DISTANCE edits, or a first name within one edit with the same last name.
    Emails are compared ignoring case and any +tag, and by their look-alike skeleton; an
    identical email is left to the form. `email` is canonical (accounts.identity).
    """
    first, last = fold(first_name), fold(last_name)
    full_name = f"{first} {last}".strip()
    email_parts = _email_without_tag(email)
    try:
        email = canonical_email(email)
        skeleton: str | None = email_skeleton(email)
    except ValidationError:
        skeleton = None  # not an email: the form says so; names are still compared
    found: list[tuple[int, int, PossibleDuplicate]] = []
    for user in _candidates(organization, first, last, email_parts, skeleton):
        their_first, their_last = fold(user.first_name), fold(user.last_name)
        distance = edit_distance(
            full_name, f"{their_first} {their_last}".strip(), limit=SIMILAR_NAME_DISTANCE
        )
        reasons: list[str] = []
        if distance == 0:
            reasons.append(SAME_NAME)
        elif distance <= SIMILAR_NAME_DISTANCE or (
            their_last == last
            and edit_distance(first, their_first, limit=SIMILAR_FIRST_NAME_DISTANCE)
            <= SIMILAR_FIRST_NAME_DISTANCE
        ):
            reasons.append(SIMILAR_NAME)
        if (
            email_parts is not None
            and _email_without_tag(user.email) == email_parts
            and user.email.casefold() != email.strip().casefold()
        ):
            reasons.append(SAME_EMAIL_APART_FROM_TAG)
        if skeleton and user.email_skeleton == skeleton and user.email != email:
            reasons.append(LOOKALIKE_EMAIL)
        if reasons:
            strongest = 0 if SIMILAR_NAME not in reasons or len(reasons) > 1 else 1
            found.append((strongest, distance, PossibleDuplicate(user, tuple(reasons))))
    found.sort(key=lambda item: item[:2])
    return [duplicate for _, _, duplicate in found]


# At most this many look-alike users for one chunk of a CSV file: a bound, never met in practice.
MAX_LOOKALIKES = 5000


def lookalike_emails(
    organization: PartnerOrganization, skeletons: Iterable[str]
) -> dict[str, list[User]]:
    """The organization's users whose email has one of these skeletons, by skeleton: one query
    on the (organization, email_skeleton) index, for a CSV file's chunk of rows."""
    found: dict[str, list[User]] = {}
    users = (
        User.objects.in_organization(organization)
        .filter(email_skeleton__in=set(skeletons))
        .only("public_id", "first_name", "last_name", "email", "email_skeleton")
        .order_by("pk")[:MAX_LOOKALIKES]
    )
    for user in users:
        found.setdefault(user.email_skeleton, []).append(user)
    return found
