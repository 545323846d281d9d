"""`fill` writes what Django's format_html writes."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from partnerhub.markup import fill, text

VALUES = [
    "plain",
    "<script>alert('x')</script> & \"quoted\"",
    mark_safe("<b>already safe</b>"),
    gettext_lazy("Active"),
    42,
    3.5,
    None,
    uuid.UUID(int=7),
    date(2026, 12, 5),
    "",
    "Zo\u00eb \u0141ukasz Y\u0131lmaz \u202eevil",
]


@pytest.mark.parametrize("value", VALUES)
def test_each_value_is_escaped_as_format_html_does(value):
    assert fill('<td title="{}">{}</td>', value, value) == format_html(
        '<td title="{}">{}</td>', value, value
    )
    assert text(value) == str(format_html("{}", value))


def test_the_result_is_safe_markup():
    assert isinstance(fill("<p>{}</p>", "x"), SafeString)


def test_joined_is_format_html_join():
    from django.utils.html import format_html_join

    from partnerhub.markup import joined

    assert joined(", ", VALUES) == format_html_join(", ", "{}", ((value,) for value in VALUES))
    assert joined("<br>", []) == format_html_join("<br>", "{}", [])
