"""Settings > User management: the organization's users, searchable, filtered, sortable, paged,
and exported as CSV as filtered.

Counting (a decision, also in docs/architecture.md): the organization's users are counted
exactly up to COUNT_CAP; a larger organization reads "10,000+ users", pages on with Next (no
Last page: counting 80,000 users on every view cost 10 to 17 ms). A search's or filter's
matches are counted up to MATCH_COUNT_CAP ("1,000+ users match"). Each count is a walk that
stops at its cap, in no order, on whichever index suits the filters; when the matches are few
(under the cap) the page is cut from them, when many it is read on the ordering's index, in
order, stopping at the page. Neither grows with the product's million users.
"""

from __future__ import annotations

import csv
import enum
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from math import ceil
from uuid import UUID

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models.expressions import RawSQL
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.bulk import actions_offered
from accounts.filters import DirectoryFilter
from accounts.forms.bulk import BulkActionForm
from accounts.models import User, UserQuerySet
from accounts.page_cache import cached_page
from accounts.paging import MAX_PAGE_NUMBER
from accounts.search import looked_up
from accounts.spreadsheet import Echo, spreadsheet_cell
from accounts.views.common import organization_users
from roles import rules
from roles.catalogue import SPECS, RoleSpec
from roles.models import RoleAssignment
from roles.rules import Action

PAGE_SIZES = (25, 50, 100)
PAGE_SIZE = PAGE_SIZES[0]
# The organization's users are counted exactly up to this many; beyond, "10,000+".
COUNT_CAP = 10_000
# A search's or a filter's matches, up to this many; beyond, "1,000+ users match". Counting
# every "smith" of an organization of 100,000 walks its whole name index (or reads thousands
# of rows scattered over the table); 1,000 is a short walk, and more than anyone pages through.
MATCH_COUNT_CAP = 1_000
# A search is walked, not looked up in its trigram index, when at least DENSE_MATCHES of the
# organization's first DENSE_PROBE users (in the name index) hold it: one in 20 or more, so
# that a walk finds the 1,001st match within about 20,000 users (match_ids_sql).
DENSE_PROBE = 2_000
DENSE_MATCHES = 100

# The columns one may sort by, and what each sorts on; a leading "-" reverses. Each ordering has
# its index (organization first, pk last: migrations 0005 and 0011), so a page is read, not
# sorted. The name sorts as it is shown, first name first.
SORTS = {
    "name": ("first_name", "last_name", "pk"),
    "email": ("email", "pk"),
    "status": ("-is_active", "first_name", "last_name", "pk"),
    "created": ("created_at", "pk"),
}


_ANY_ID = UUID(int=0)

# What a row shows of a user: the page reads no more of the table than this (the status is
# computed by the database, from the password's first character: no hash is loaded).
SHOWN_FIELDS = (
    "public_id",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "created_at",
    "last_login",
)


@dataclass(frozen=True)
class Row:
    """One user as the directory lists them, computed once rather than in the template's loop."""

    member: User
    url: str
    roles: list[RoleSpec]
    created: str
    last_sign_in: str


class DirectoryViewForm(forms.Form):
    """How the list is shown: its order and page size (the filters are DirectoryFilter's)."""

    sort = forms.ChoiceField(
        required=False,
        choices=[(key, key) for name in SORTS for key in (name, f"-{name}")],
    )
    per_page = forms.TypedChoiceField(
        label="Users per page",
        required=False,
        coerce=int,
        choices=[(size, size) for size in PAGE_SIZES],
        empty_value=PAGE_SIZE,
    )


def _ordering(sort: str) -> tuple[str, ...]:
    fields = SORTS[sort.removeprefix("-")]
    if not sort.startswith("-"):
        return fields
    return tuple(field[1:] if field.startswith("-") else f"-{field}" for field in fields)


def _state_query(filterset: DirectoryFilter, sort: str, per_page: int) -> QueryDict:
    """The filters, search, sort and page size: what the paging and sorting links keep, and
    what the export reads (nothing else of the URL)."""
    kept = QueryDict(mutable=True)
    kept.update(filterset.applied())
    kept["sort"] = sort
    if per_page != PAGE_SIZE:
        kept["per_page"] = str(per_page)
    return kept


def _page_number(text: str | None) -> int:
    try:
        return min(max(int(text or 1), 1), MAX_PAGE_NUMBER)
    except ValueError:
        return 1


def _last_page(count: int, per_page: int) -> int:
    return max(ceil(count / per_page), 1)


def _page_of_users(
    users: UserQuerySet,
    matches: UserQuerySet,
    number: int,
    per_page: int,
    ordering: tuple[str, ...],
    *,
    extra: int = 0,
) -> UserQuerySet:
    """The users of one page of the matches (and `extra` after it), found on the ordering's
    index (walked in order, stopping at the page) before any row is read."""
    offset = (number - 1) * per_page
    on_page = matches.order_by(*ordering).values("pk")[offset : offset + per_page + extra]
    return users.filter(pk__in=on_page)


def match_ids_sql(
    filterset: DirectoryFilter, words: list[str], ordering: tuple[str, ...]
) -> tuple[str, list[object]]:
    """One query for the ids of up to MATCH_COUNT_CAP + 1 matches of a search (and the other
    filters), found the way the search's share of the organization calls for.

    A word few users hold is found on its trigram index (the index hands over its holders).
    A word most of the organization holds ("contoso", the organization's own domain) is not:
    the index would first build a bitmap of every holder (100,000 users: 31 ms) to keep the
    first 1,001. The query first counts the word's holders among the organization's first
    DENSE_PROBE users in the name index, which holds each user's search text (a read of the
    index alone); with DENSE_MATCHES of them or more, the matches are walked on an index
    instead, the search asked as positions in the text (UserQuerySet.search(indexed=False))
    so that no trigram index is offered, and the walk stops at the 1,001st. Each branch is
    gated by the count, which PostgreSQL evaluates once, before either (a one-time filter):
    the other branch is never run. Both branches ask the same conditions: the same users.
    Every part is the ORM's SQL for the filterset's users (the viewer's organization), put
    together; every value is a parameter.

    Each row is (id, walked, rank). Looked up, when the index answers every word, the
    matches are all read anyway: they are sorted in the page's order and the first 1,001
    kept, each with its rank in that order, so that a page among them is cut from these ids
    (_page_of_matches) rather than found again and sorted by a second query (6 ms for the
    1,672 "maria" of 100,000 users)."""
    first_users = filterset.queryset.order_by(*SORTS["name"]).values("search_text")
    first_sql, first_params = first_users[:DENSE_PROBE].query.sql_with_params()
    walked_sql, walked_params = _first_ids(filterset.walked_qs).query.sql_with_params()
    # A word shorter than a trigram gives the index nothing to look up: sorting every match
    # would read most of the organization, so such a search's matches are kept unsorted and
    # its pages walked.
    if all(looked_up(word) for word in words):
        found, found_params, order = _found_apart(filterset.qs, ordering)
        indexed_sql = (
            f"SELECT found.id, row_number() OVER (ORDER BY {order}) FROM {found}"  # noqa: S608
            f" ORDER BY {order} LIMIT %s"
        )
        indexed_params = [*found_params, MATCH_COUNT_CAP + 1]
    else:
        unsorted_sql, indexed_params = _first_ids(filterset.qs).query.sql_with_params()
        indexed_sql = f"SELECT unsorted.*, NULL::bigint FROM ({unsorted_sql}) AS unsorted"  # noqa: S608
    held = " AND ".join(["strpos(first_users.search_text, %s) > 0"] * len(words))
    sql = (
        "WITH probe AS MATERIALIZED ("  # noqa: S608
        f"SELECT count(*) >= %s AS dense FROM ({first_sql}) AS first_users WHERE {held}) "
        f"SELECT walked.*, true, NULL::bigint FROM ({walked_sql}) AS walked"
        " WHERE (SELECT dense FROM probe) "
        "UNION ALL "
        f"SELECT indexed.id, false, indexed.rank FROM ({indexed_sql}) AS indexed (id, rank)"
        " WHERE NOT (SELECT dense FROM probe)"
    )
    params = [DENSE_MATCHES, *first_params, *words]
    return sql, [*params, *walked_params, *indexed_params]


def _first_ids(matches: UserQuerySet) -> UserQuerySet:
    return matches.order_by().values("pk")[: MATCH_COUNT_CAP + 1]


class Found(enum.Enum):
    """How a search's matches were found (match_ids), and so how a page of them is read."""

    PLANNED = "planned"  # no search, or not on PostgreSQL: as the planner chooses
    LOOKED_UP = "looked up"  # on the search's trigram index: a few of the organization
    SORTED = "sorted"  # looked up, every match sorted: the first ones, in the page's order
    WALKED = "walked"  # on an index, in order: most of the organization holds the search


def match_ids(
    filterset: DirectoryFilter, ordering: tuple[str, ...] = SORTS["name"]
) -> tuple[list[int], Found]:
    """The ids of up to MATCH_COUNT_CAP + 1 of the filters' matches and how they were found:
    on PostgreSQL a search by match_ids_sql, the rest as the planner finds them. In no order,
    but for Found.SORTED: the first matches in the page's order, in that order."""
    words = filterset.search_words
    if not words or connection.vendor != "postgresql":
        ids = filterset.qs.order_by().values_list("pk", flat=True)[: MATCH_COUNT_CAP + 1]
        return list(ids), Found.PLANNED
    sql, params = match_ids_sql(filterset, words, ordering)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return [], Found.LOOKED_UP
    _pk, walked, rank = rows[0]
    if walked or rank is None:
        return [pk for pk, _walked, _rank in rows], Found.WALKED if walked else Found.LOOKED_UP
    return [pk for pk, _walked, _rank in sorted(rows, key=lambda row: row[2])], Found.SORTED


def _page_of_looked_up(
    users: UserQuerySet,
    matches: UserQuerySet,
    number: int,
    per_page: int,
    ordering: tuple[str, ...],
    *,
    extra: int = 0,
) -> UserQuerySet:
    """One page of more than MATCH_COUNT_CAP matches of a search that few of the organization's
    first users hold: every match found on the trigram index, then sorted.

    Walked on the ordering's index, such a page can read most of the organization before its
    first match: the 1,672 "maria" of 100,000 users are named from M on, and the walk read
    60,000 entries (12 ms). Found on the index and sorted, they cost what they number. The
    matches are a subquery with OFFSET 0, which PostgreSQL plans apart from the ORDER BY and
    LIMIT around it (it cannot be merged into them): alone, the search is looked up."""
    offset = (number - 1) * per_page
    found, params, order = _found_apart(matches, ordering)
    sql = f"SELECT found.id FROM {found} ORDER BY {order} LIMIT %s OFFSET %s"  # noqa: S608
    return users.filter(pk__in=RawSQL(sql, [*params, per_page + extra, offset]))  # noqa: S611


def _found_apart(matches: UserQuerySet, ordering: tuple[str, ...]) -> tuple[str, list[object], str]:
    """The matches as a derived table `found` with the ordering's columns, found apart from
    that order, and the ORDER BY over it: a subquery with OFFSET 0, which PostgreSQL plans
    apart from the ORDER BY around it (it cannot be merged into it), so the search is looked
    up on its trigram index and its matches sorted, not the ordering's index walked."""
    # The ordering's fields as the derived table's columns ("pk" is the id; each once).
    sorted_by = [
        ("id" if field.removeprefix("-") == "pk" else field.removeprefix("-"), field[0] == "-")
        for field in ordering
    ]
    columns = list(dict.fromkeys(["id", *(column for column, _descending in sorted_by)]))
    found_sql, found_params = matches.order_by().values(*columns).query.sql_with_params()
    order = ", ".join(
        f'found."{column}" {"DESC" if descending else "ASC"}' for column, descending in sorted_by
    )
    # Only Django's compiled SQL and fixed column names are put together; values are parameters.
    return f"({found_sql} OFFSET 0) AS found", list(found_params), order


def _page_of_matches(
    users: UserQuerySet,
    filterset: DirectoryFilter,
    ids: list[int],
    found: Found,
    number: int,
    per_page: int,
    ordering: tuple[str, ...],
) -> tuple[UserQuerySet, int, int, bool]:
    """The page of a search's or filter's matches, how many match (up to MATCH_COUNT_CAP), the
    page number shown and whether the count stopped at the cap.

    One query has read the ids of up to MATCH_COUNT_CAP + 1 matches, in no order (match_ids):
    the database finds them on whichever index is cheapest for the filters (the role's holders
    on the (organization, role) index, a word few hold on the trigram index, those never signed
    in on the sign-in index), reading no more than the cap; sorting them all by name first cost
    more than the rest of the page (the 27,450 Sales agents of an organization each read in the
    table to keep the first 1,001 by name). Then:

    - at most the cap match (sparse): every match is known, and the page is cut from them in
      the page's order by the query that reads the page's rows;
    - more (dense): the page is read on the ordering's index, walked in order and stopping
      at the page, each user checked against the filters as it comes (a dense filter keeps
      one in a few, so the walk is short);
    - more, of a search that few of the organization's first users hold (looked up): every
      match is found on the trigram index and sorted (_page_of_looked_up), as the walk could
      read most of the organization before the page.
    """
    count, capped = len(ids), len(ids) > MATCH_COUNT_CAP
    if found is Found.SORTED and (not capped or number * per_page < len(ids)):
        # The page, and whether another follows, are among the first matches, in order.
        if not capped:
            number = min(number, _last_page(count, per_page))
        offset = (number - 1) * per_page
        on_page = ids[offset : offset + per_page + int(capped)]
        return users.filter(pk__in=on_page), count, number, capped
    if capped:
        if found is Found.SORTED:
            on_page = _page_of_looked_up(users, filterset.qs, number, per_page, ordering, extra=1)
        else:
            matches = filterset.walked_qs if found is Found.WALKED else filterset.qs
            on_page = _page_of_users(users, matches, number, per_page, ordering, extra=1)
        return on_page, count, number, capped
    number = min(number, _last_page(count, per_page))
    offset = (number - 1) * per_page
    on_page = users.filter(pk__in=ids).order_by(*ordering).values("pk")[offset : offset + per_page]
    return users.filter(pk__in=on_page), count, number, capped


class OpenEndedPage(Page):
    """A page of a list counted only up to COUNT_CAP: whether another follows is known by
    reading one row more, and the last page's number is not known."""

    capped = True

    def __init__(self, members: list[User], number: int, per_page: int, has_next: bool) -> None:
        # A paginator long enough for Previous and Next to be valid page numbers.
        super().__init__(members, number, Paginator(range((number + 1) * per_page), per_page))
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next


def _day(moment: datetime | None) -> str:
    """A date as the directory shows it, in the viewer's time zone ("4 Dec 2026")."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y}"  # as the date filter's "j M Y"


def role_names_of(members: list[User]) -> dict[int, list[str]]:
    """The role names of each user, in the catalogue's order, in one query for all of them."""
    role_names: dict[int, list[str]] = defaultdict(list)
    assignments = RoleAssignment.objects.filter(user__in=members).order_by("user", "role__position")
    for user_id, name in assignments.values_list("user", "role__name"):
        role_names[user_id].append(name)
    return role_names


def roles_of(members: list[User]) -> dict[int, list[RoleSpec]]:
    """The catalogue's facts of each user's roles (name and kind, for the badges), in the
    catalogue's order, in one query for all of them."""
    roles: dict[int, list[RoleSpec]] = defaultdict(list)
    assignments = RoleAssignment.objects.filter(user__in=members).order_by("user", "role__position")
    for user_id, key in assignments.values_list("user", "role__key"):
        if key in SPECS:
            roles[user_id].append(SPECS[key])
    return roles


def _rows(members: list[User]) -> list[Row]:
    """The page's users with their roles (one query for all of them)."""
    roles = roles_of(members)
    # One reverse() for the page, not one per row: only the user's id differs.
    url = reverse("user_detail", args=[_ANY_ID])
    return [
        Row(
            member=member,
            url=url.replace(str(_ANY_ID), str(member.public_id)),
            roles=roles[member.pk],
            created=_day(member.created_at),
            last_sign_in=_day(member.last_login),
        )
        for member in members
    ]


def _directory_state(request: HttpRequest) -> tuple[DirectoryFilter, DirectoryViewForm, str, int]:
    """The filters, the view form, the sort and the page size the address asks for."""
    rules.require(rules.can(request.user, Action.SEE_DIRECTORY), Action.SEE_DIRECTORY)
    filterset = DirectoryFilter(request.GET, queryset=organization_users(request))
    view_form = DirectoryViewForm(request.GET)
    view_form.is_valid()  # a value that is not a choice falls back alone, the other is kept
    sort = view_form.cleaned_data.get("sort") or "name"
    per_page = view_form.cleaned_data.get("per_page") or PAGE_SIZE
    return filterset, view_form, sort, per_page


@require_GET
@login_required
def directory(request: HttpRequest) -> HttpResponse:
    """Lists the organization's users; the same page, read-only, for those who change nothing.
    Drawn once per change in the organization, per viewer and address (accounts.page_cache,
    which asks the rulebook first)."""
    return cached_page(
        request, "directory", Action.SEE_DIRECTORY, lambda extra: _draw_directory(request, extra)
    )


def _draw_directory(request: HttpRequest, extra: dict[str, object]) -> HttpResponse:
    filterset, view_form, sort, per_page = _directory_state(request)
    ordering, number = _ordering(sort), _page_number(request.GET.get("page"))
    users = organization_users(request)
    if filterset.narrows:
        ids, found = match_ids(filterset, ordering)
        on_page, count, number, capped = _page_of_matches(
            users, filterset, ids, found, number, per_page, ordering
        )
        cap = MATCH_COUNT_CAP
    else:
        cap = COUNT_CAP
        # At most COUNT_CAP + 1 entries of the organization's index are read.
        count = users.order_by()[: cap + 1].count()
        capped = count > cap
        if not capped:
            # Past the last page (a stale link, "Last" after users left): the last one, as
            # Paginator.get_page does.
            number = min(number, _last_page(count, per_page))
        on_page = _page_of_users(users, users, number, per_page, ordering, extra=int(capped))
    members: list[User] = list(on_page.with_status().only(*SHOWN_FIELDS).order_by(*ordering))
    if capped:
        page: Page = OpenEndedPage(members[:per_page], number, per_page, len(members) > per_page)
        members, count = members[:per_page], cap
    else:
        # A Paginator over the known count: it counts nothing itself.
        page = Page(members, number, Paginator(range(count), per_page))
    state = _state_query(filterset, sort, per_page)
    can_add_user = rules.can(request.user, Action.ADD_USER)
    return render(
        request,
        "accounts/directory.html",
        {
            "filter": filterset,
            "view_form": view_form,
            "narrowed": filterset.narrows,
            "query": filterset.applied().get("q", ""),
            "sort": sort,
            "per_page": per_page,
            "page": page,
            "count_capped": f"{cap:,}" if capped else "",
            "rows": _rows(members),
            "page_query": state,
            "sort_query": _without(state, "sort"),
            "export_query": _without(state, "per_page"),
            "can_add_user": can_add_user,
            "empty": None if members else _empty_state(filterset, can_add_user),
            # Checkboxes and the bulk actions only for those who may take one on someone.
            "bulk_form": (
                BulkActionForm(actor=request.user, matching=count)
                if actions_offered(request.user)
                else None
            ),
            "bulk_filters": filterset.applied().items(),
            **extra,
        },
    )


def _empty_state(filterset: DirectoryFilter, can_add_user: bool) -> dict[str, object]:
    """What the directory says when the page has nobody, and the next step: clear the filters,
    or add the first users (offered only to those who may add)."""
    if filterset.narrows:
        query = filterset.applied().get("q", "")
        filtered = any(filterset.applied().get(name) for name in ("role", "status", "last_sign_in"))
        return {
            "icon": "magnifying-glass",
            "text": format_html(
                "No user matches{}{}.",
                format_html(" “<bdi>{}</bdi>”", query) if query else "",
                " with these filters" if filtered else "",
            ),
            "detail": "Check the spelling, or search by another part of the name or email.",
            "action_url": reverse("directory"),
            "action_label": "Clear the search and filters",
        }
    empty: dict[str, object] = {
        "icon": "users",
        "text": "No users yet.",
        "detail": "The people of your organization are listed here once they are added.",
    }
    if can_add_user:
        empty |= {
            "action_url": reverse("add_user"),
            "action_label": "Add user",
            "secondary_url": reverse("import_users"),
            "secondary_label": "Add users from CSV",
        }
    return empty


def _without(query: QueryDict, name: str) -> QueryDict:
    kept = query.copy()
    kept.pop(name, None)
    return kept


EXPORT_HEADER = ["Name", "Email", "Status", "Roles", "Created", "Last sign-in"]
# Users read per query while exporting: the export's memory holds one chunk, whatever the size.
EXPORT_CHUNK_SIZE = 2000


def _chunks(users: Iterator[User], size: int) -> Iterator[list[User]]:
    while chunk := list(islice(users, size)):
        yield chunk


def _moment(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else ""


def export_lines(users: UserQuerySet) -> Iterator[str]:
    """The export, line by line: a header, then one row per user, each cell spreadsheet-safe;
    the users are read in chunks, with one query for each chunk's roles."""
    writer = csv.writer(Echo())
    yield "\ufeff" + writer.writerow(EXPORT_HEADER)
    rows = users.iterator(chunk_size=EXPORT_CHUNK_SIZE)
    for chunk in _chunks(rows, EXPORT_CHUNK_SIZE):
        role_names = role_names_of(chunk)
        for member in chunk:
            yield writer.writerow(
                [
                    spreadsheet_cell(value)
                    for value in (
                        member.get_full_name(),
                        member.email,
                        member.status.label,
                        "; ".join(role_names[member.pk]),
                        _moment(member.created_at),
                        _moment(member.last_login),
                    )
                ]
            )


@never_cache
@require_GET
@login_required
def directory_export(request: HttpRequest) -> HttpResponse:
    """The directory as filtered and sorted, every matching user (not one page), as CSV."""
    filterset, _view_form, sort, _per_page = _directory_state(request)
    if filterset.is_bound and not filterset.form.is_valid():
        # The page says what is wrong with the filters, at the field.
        return HttpResponseRedirect(f"{reverse('directory')}?{request.GET.urlencode()}")
    users = filterset.qs.with_status().only(*SHOWN_FIELDS).order_by(*_ordering(sort))
    organization = request.user.organization
    filename = f"users-{organization.partner_id}-{timezone.now():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(export_lines(users), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
