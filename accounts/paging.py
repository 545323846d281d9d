"""Paging the support admin's list of users, which is too long to count (a million rows).

Django's change list counts the rows that match before showing a page: on a million users that
COUNT costs more than everything else on the page together. This one never counts. It reads one
row more than a page holds, which says whether there is a next page, and shows Previous / Next.
How many users there are is said exactly when the list ends on the page shown; for the whole,
unfiltered list on PostgreSQL it is the planner's estimate (pg_class.reltuples), read in the same
query as the page; otherwise the page says "more than" the users shown so far.
"""

from __future__ import annotations

from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.db import connections
from django.db.models.expressions import RawSQL
from django.http import HttpRequest

# Beyond any list PartnerHub holds (25 million rows at 25 a page), and far below the 64-bit
# OFFSET a larger page number in a hand-made URL would overflow in the database.
MAX_PAGE_NUMBER = 1_000_000


class UncountedChangeList(ChangeList):
    """A ChangeList that shows a page and whether another follows, without a COUNT query."""

    has_next: bool = False
    count_text: str = ""

    def get_results(self, request: HttpRequest) -> None:
        per_page = self.list_per_page
        self.page_num = min(max(self.page_num, 1), MAX_PAGE_NUMBER)
        offset = (self.page_num - 1) * per_page
        queryset = self.queryset
        estimating = self._unfiltered() and connections[queryset.db].vendor == "postgresql"
        if estimating:
            # An uncorrelated scalar subquery: PostgreSQL evaluates it once, not per row.
            queryset = queryset.annotate(
                table_estimate=RawSQL(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    (self.model._meta.db_table,),
                )
            )
        rows = list(queryset[offset : offset + per_page + 1])
        self.has_next = len(rows) > per_page
        self.result_list = rows[:per_page]
        shown = offset + len(self.result_list)
        estimate = getattr(rows[0], "table_estimate", 0) if rows and estimating else 0
        names = self.opts.verbose_name_plural
        if not self.has_next:
            self.result_count = shown
            self.count_text = f"{shown} {self.opts.verbose_name if shown == 1 else names}"
        elif estimate > shown:
            self.result_count = estimate
            self.count_text = f"about {estimate:,} {names}"
        else:
            self.result_count = shown
            self.count_text = f"more than {shown:,} {names}"
        # What Django's get_results sets, for its templates. The result count is never compared
        # with a full count (there is none): the search box shows no "N results (Show all)".
        self.full_result_count = self.result_count
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.can_show_all = False
        self.show_all = False
        self.multi_page = self.has_next or self.page_num > 1
        self.paginator = self.model_admin.get_paginator(request, self.result_list, per_page)

    def _unfiltered(self) -> bool:
        return not self.query and not self.has_active_filters

    def page_url(self, number: int) -> str:
        return self.get_query_string({PAGE_VAR: number})

    @property
    def previous_url(self) -> str:
        return self.page_url(self.page_num - 1)

    @property
    def next_url(self) -> str:
        return self.page_url(self.page_num + 1)
