"""{% when %} writes MOMENT out by hand: the same text as Django's date format gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django.utils.dateformat import format as date_format

from partnerhub.templatetags.when import MOMENT, when

MOMENTS = [
    datetime(2026, month, day, hour, minute, tzinfo=UTC)
    for month in range(1, 13)
    for day, hour, minute in ((1, 0, 0), (9, 9, 5), (28, 23, 59))
]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Asia/Kolkata", "America/St_Johns"])
def test_it_says_what_the_date_format_says(zone):
    with timezone.override(zone):
        for moment in MOMENTS + [
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC) + timedelta(minutes=m)
            for m in range(0, 120, 15)
        ]:
            local = timezone.localtime(moment)
            exact = local.isoformat(timespec="seconds")
            assert when(moment) == f'<time datetime="{exact}">{date_format(local, MOMENT)}</time>'


def test_nothing_for_no_moment():
    assert when(None) == ""
