"""The directory's filters: search, role, status and last sign-in, read from the address.

A FilterSet (django-filter) rather than parameters parsed by hand: each filter is a form field
with its choices, so a value that is not a choice is an error at its field and filters nothing,
and the page, its CSV export and the Roles page's links all mean the same by the same address.
"""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.models import UserQuerySet, UserStatus
from accounts.search import fold
from roles.catalogue import CATALOGUE
from roles.models import Role, RoleAssignment

NO_ROLE = "none"
NEVER = "never"
# "More than N days ago": the user has signed in, but not for N days.
SIGNED_IN_DAYS = {"30": 30, "90": 90}

ROLE_CHOICES = [(spec.key, spec.name) for spec in CATALOGUE] + [(NO_ROLE, "No role")]
LAST_SIGN_IN_CHOICES = [
    (NEVER, "Never signed in"),
    ("30", "More than 30 days ago"),
    ("90", "More than 90 days ago"),
]


class DirectoryFilter(django_filters.FilterSet):
    """Narrows the organization's users; every filter combines with the others and the search."""

    q = django_filters.CharFilter(
        label="Search",
        max_length=200,
        method="filter_search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or email"}),
    )
    role = django_filters.ChoiceFilter(
        label="Role", choices=ROLE_CHOICES, empty_label="Any role", method="filter_role"
    )
    status = django_filters.ChoiceFilter(
        label="Status", choices=UserStatus.choices, empty_label="Any status", method="filter_status"
    )
    last_sign_in = django_filters.ChoiceFilter(
        label="Last sign-in",
        choices=LAST_SIGN_IN_CHOICES,
        empty_label="Any time",
        method="filter_last_sign_in",
    )

    # False while walked_qs is built: the search asked as positions in the text.
    indexed_search = True

    def filter_search(self, users: UserQuerySet, name: str, value: str) -> UserQuerySet:
        return users.search(value, indexed=self.indexed_search)

    @cached_property
    def walked_qs(self) -> UserQuerySet:
        """The same matches as `qs`, the search asked as positions in the text, which no index
        answers: found by walking another index (a word most of the organization holds;
        accounts.views.directory.match_ids). Built from the same form, checked once."""
        self.form.is_valid()
        self.indexed_search = False
        try:
            return self.filter_queryset(self.queryset.all())
        finally:
            self.indexed_search = True

    def filter_role(self, users: UserQuerySet, name: str, value: str) -> UserQuerySet:
        # The count the database keeps (User.role_count), on the organization's partial index
        # of users without a role: an absence of assignments has no index of its own.
        if value == NO_ROLE:
            return users.filter(role_count=0)
        # The assignment's organization too: a plan that reads the role's holders first reads
        # the organization's, on the (organization, role) index, not every organization's.
        # The role as a scalar subquery on its id, not a join on its key: the planner then
        # estimates the holders from the (organization, role) statistics (about a tenth of the
        # organization) instead of a join's guess (under 1%), and walks the page's index,
        # probing each user's assignments, rather than reading every holder and sorting them.
        role = Role.objects.filter(key=value).values("pk")[:1]
        holds = RoleAssignment.objects.filter(
            user=OuterRef("pk"), organization=OuterRef("organization_id"), role=Subquery(role)
        )
        return users.filter(Exists(holds))

    def filter_status(self, users: UserQuerySet, name: str, value: str) -> UserQuerySet:
        return users.with_status_of(value)

    def filter_last_sign_in(self, users: UserQuerySet, name: str, value: str) -> UserQuerySet:
        if value == NEVER:
            return users.filter(last_login__isnull=True)
        return users.filter(last_login__lt=timezone.now() - timedelta(days=SIGNED_IN_DAYS[value]))

    @property
    def search_words(self) -> list[str]:
        """The search's words as UserQuerySet.search reads them (folded); none without one."""
        return fold(self.applied().get("q", "")).split()

    @property
    def narrows(self) -> bool:
        """Whether any filter or a search is applied (then the matches are counted, not all)."""
        return any(self.applied().values())

    def applied(self) -> dict[str, str]:
        """The filters applied: those given with a valid value (one with an error is left out,
        the others still apply)."""
        if not self.is_bound:
            return {}
        self.form.is_valid()
        return {name: value for name in self.filters if (value := self.form.cleaned_data.get(name))}
