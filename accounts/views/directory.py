"""Settings > User management: the organization's users, searchable, sortable, paged.

Counting (a decision, also in docs/architecture.md): an organization has at most tens of
thousands of users, so the page says exactly how many users it has and how many match a search.
Neither count ever reads the table: the organization's users are counted on an index, and a
search is counted in the same query that picks the page's users (a window count), which walks
the organization's entries of the name index (it carries search_text; migration 0005) or, for a
rare word, the trigram index. The cost is bounded by the organization's size, never by the
product's million users. Searches of one or two letters, which trigrams cannot narrow, take that
bounded walk too, and are allowed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from math import ceil
from uuid import UUID

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Count, Window
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import User, UserQuerySet
from accounts.paging import MAX_PAGE_NUMBER
from accounts.views.common import organization_users
from roles import rules
from roles.models import RoleAssignment
from roles.rules import Action

PAGE_SIZE = 25

# The columns one may sort by, and what each sorts on; a leading "-" reverses. Each ordering has
# its index (organization first, pk last: migration 0005), so a page is read, not sorted.
SORTS = {
    "name": ("last_name", "first_name", "pk"),
    "email": ("email", "pk"),
    "status": ("-is_active", "last_name", "first_name", "pk"),
    "created": ("created_at", "pk"),
}


_ANY_ID = UUID(int=0)

# What a row shows of a user: the page reads no more of the table than this.
SHOWN_FIELDS = ("public_id", "first_name", "last_name", "email", "is_active", "created_at")


@dataclass(frozen=True)
class Row:
    """One user as the directory lists them, computed once rather than in the template's loop."""

    member: User
    url: str
    role_names: list[str]
    created: str


class DirectorySearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200, strip=True)
    sort = forms.ChoiceField(
        required=False,
        choices=[(key, key) for name in SORTS for key in (name, f"-{name}")],
    )


def _ordering(sort: str) -> tuple[str, ...]:
    fields = SORTS[sort.removeprefix("-")]
    if not sort.startswith("-"):
        return fields
    return tuple(field[1:] if field.startswith("-") else f"-{field}" for field in fields)


def _paging_query(query: str, sort: str) -> QueryDict:
    """The search and the sort, which the paging links keep (nothing else of the URL)."""
    kept = QueryDict(mutable=True)
    if query:
        kept["q"] = query
    kept["sort"] = sort
    return kept


def _page_number(text: str | None) -> int:
    try:
        return min(max(int(text or 1), 1), MAX_PAGE_NUMBER)
    except ValueError:
        return 1


def _last_page(count: int) -> int:
    return max(ceil(count / PAGE_SIZE), 1)


def _page_of_users(users: UserQuerySet, number: int, ordering: tuple[str, ...]) -> UserQuerySet:
    """The users of one page, found on the ordering's index before any row is read."""
    offset = (number - 1) * PAGE_SIZE
    on_page = users.order_by(*ordering).values("pk")[offset : offset + PAGE_SIZE]
    return users.filter(pk__in=on_page)


def _page_of_matches(
    matches: UserQuerySet, number: int, ordering: tuple[str, ...]
) -> tuple[UserQuerySet, int, int]:
    """A page of a search's matches and how many match, counted in the same query."""
    offset = (number - 1) * PAGE_SIZE
    rows = list(
        matches.order_by(*ordering)
        .annotate(matching=Window(Count("*")))
        .values_list("pk", "matching")[offset : offset + PAGE_SIZE]
    )
    if rows or number == 1:
        return matches.filter(pk__in=[pk for pk, _ in rows]), rows[0][1] if rows else 0, number
    # Past the last page (a stale link): show the last one, as Paginator.get_page does.
    return _page_of_matches(matches, _last_page(matches.count()), ordering)


def _rows(members: list[User]) -> list[Row]:
    """The page's users with their role names (one query for all of them)."""
    role_names: dict[int, list[str]] = defaultdict(list)
    assignments = RoleAssignment.objects.filter(user__in=members).order_by("user", "role__position")
    for user_id, name in assignments.values_list("user", "role__name"):
        role_names[user_id].append(name)
    # One reverse() for the page, not one per row: only the user's id differs.
    url = reverse("user_detail", args=[_ANY_ID])
    rows = []
    for member in members:
        created = timezone.localtime(member.created_at)
        rows.append(
            Row(
                member=member,
                url=url.replace(str(_ANY_ID), str(member.public_id)),
                role_names=role_names[member.pk],
                created=f"{created.day} {created:%b %Y}",  # as the date filter's "j M Y"
            )
        )
    return rows


@require_GET
@login_required
def directory(request: HttpRequest) -> HttpResponse:
    """Lists the organization's users; the same page, read-only, for those who change nothing."""
    rules.require(rules.can(request.user, Action.SEE_DIRECTORY), Action.SEE_DIRECTORY)
    form = DirectorySearchForm(request.GET)
    query, sort = "", "name"
    if form.is_valid():
        query, sort = form.cleaned_data["q"], form.cleaned_data["sort"] or "name"
    ordering, number = _ordering(sort), _page_number(request.GET.get("page"))
    users = organization_users(request)
    if query:
        on_page, count, number = _page_of_matches(users.search(query), number, ordering)
    else:
        count = users.count()
        number = min(number, _last_page(count))
        on_page = _page_of_users(users, number, ordering)
    members: list[User] = list(on_page.only(*SHOWN_FIELDS).order_by(*ordering))
    # A Paginator over the known count: it counts nothing itself.
    page = Page(members, number, Paginator(range(count), PAGE_SIZE))
    return render(
        request,
        "accounts/directory.html",
        {
            "form": form,
            "query": query,
            "sort": sort,
            "page": page,
            "rows": _rows(members),
            "page_query": _paging_query(query, sort),
            "can_add_user": rules.can(request.user, Action.ADD_USER),
        },
    )
