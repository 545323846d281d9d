"""The header's search: find a user by name or email from any page and go to their page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.formats import number_format
from django.views.decorators.http import require_GET

from accounts.filters import DirectoryFilter
from accounts.views.common import organization_users
from accounts.views.directory import MATCH_COUNT_CAP, match_ids
from roles import rules
from roles.rules import Action

# The directory's own limit on a search's length: a longer one is refused there, at its field.
MAX_QUERY_LENGTH = DirectoryFilter.base_filters["q"].extra["max_length"]


def _search_data(text: str) -> QueryDict:
    query = QueryDict(mutable=True)
    query["q"] = text
    return query


def _directory_searching(text: str) -> str:
    return f"{reverse('directory')}?{_search_data(text).urlencode()}"


@require_GET
@login_required
def find_user(request: HttpRequest) -> HttpResponse:
    """Goes to the user's page when the search finds one user of the organization (or the email
    is one user's exactly), otherwise to the directory searching for it, saying how many match.

    The same search as the directory's (accounts.search: every word, case and accents ignored),
    over the same users: the viewer's organization, for those the rulebook lets see it.
    """
    rules.require(rules.can(request.user, Action.SEARCH_DIRECTORY), Action.SEARCH_DIRECTORY)
    text = request.GET.get("q", "").strip()
    if not text:
        return redirect("directory")
    if len(text) > MAX_QUERY_LENGTH:
        return redirect(_directory_searching(text))  # the directory says what is wrong, at q
    users = organization_users(request)
    exact = users.with_email(text).values_list("public_id", flat=True).first()
    if exact is not None:
        return redirect("user_detail", exact)
    # Up to one more than the directory counts (how many, or "1,000+"), found as the directory
    # finds them: a word most of the organization holds is walked, not looked up.
    searching = DirectoryFilter(_search_data(text), queryset=users)
    if "q" not in searching.applied():  # a search the directory refuses says why, at q
        return redirect(_directory_searching(text))
    found, _how = match_ids(searching)
    if len(found) == 1:
        # None if the user was deleted meanwhile: then to the directory, as for several.
        one = users.filter(pk=found[0]).values_list("public_id", flat=True).first()
        if one is not None:
            return redirect("user_detail", one)
    if not found:
        messages.info(request, f"No user matches “{text}”.")
    else:
        count = (
            f"{number_format(MATCH_COUNT_CAP, force_grouping=True)}+"
            if len(found) > MATCH_COUNT_CAP
            else number_format(len(found), force_grouping=True)
        )
        messages.info(request, f"{count} users match “{text}”: choose one below.")
    return redirect(_directory_searching(text))
