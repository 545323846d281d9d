"""Our icon tags draw exactly what heroicons' own draw, once per icon and attributes."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from partnerhub.templatetags import icons


@pytest.mark.parametrize(
    "tag",
    [
        '{% heroicon_micro "check-circle" aria_hidden="true" %}',
        '{% heroicon_mini "user-plus" aria_hidden="true" %}',
        '{% heroicon_outline "users" size=20 class="me-2" %}',
        '{% heroicon_solid "squares-2x2" size=20 class="ph-brand-mark" %}',
        "{% heroicon_outline name size=20 %}",
    ],
)
def test_the_markup_is_heroicons_own(tag):
    context = {"name": "home"}
    ours = Template("{% load icons %}" + tag).render(Context(context))
    theirs = Template("{% load heroicons %}" + tag).render(Context(context))

    assert ours == theirs
    assert ours.startswith("<svg")


def test_each_icon_is_drawn_once():
    icons._icon.cache_clear()
    page = Template(
        "{% load icons %}{% for _ in rows %}"
        '{% heroicon_micro "check-circle" aria_hidden="true" %}{% endfor %}'
        '{% heroicon_micro "check-circle" aria_hidden="false" %}'
    ).render(Context({"rows": range(25)}))

    assert page.count("<svg") == 26
    assert icons._icon.cache_info().misses == 2  # one per distinct attributes
    assert icons._icon.cache_info().hits == 24


def test_an_attribute_value_is_escaped_as_heroicons_escapes_it():
    ours = Template('{% load icons %}{% heroicon_mini "user" title=label %}').render(
        Context({"label": 'a "quoted" <b>'})
    )
    assert "<b>" not in ours
    assert "&lt;b&gt;" in ours
