"""Settings > User management: the organization's users, searchable, sortable, paged."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.views.common import organization_users
from roles import rules
from roles.rules import Action

PAGE_SIZE = 25

# The columns one may sort by, and what each sorts on; a leading "-" reverses.
SORTS = {
    "name": ("last_name", "first_name", "pk"),
    "email": ("email", "pk"),
    "status": ("-is_active", "last_name", "first_name", "pk"),
    "created": ("created_at", "pk"),
}


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


@require_GET
@login_required
def directory(request: HttpRequest) -> HttpResponse:
    """Lists the organization's users; the same page, read-only, for those who change nothing."""
    rules.require(rules.can(request.user, Action.SEE_DIRECTORY), Action.SEE_DIRECTORY)
    form = DirectorySearchForm(request.GET)
    query, sort = "", "name"
    if form.is_valid():
        query, sort = form.cleaned_data["q"], form.cleaned_data["sort"] or "name"
    users = (
        organization_users(request)
        .search(query)
        .prefetch_related("role_assignments__role")
        .order_by(*_ordering(sort))
    )
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/directory.html",
        {
            "form": form,
            "query": query,
            "sort": sort,
            "page": page,
            "page_query": _paging_query(query, sort),
            "can_add_user": rules.can(request.user, Action.ADD_USER),
        },
    )
