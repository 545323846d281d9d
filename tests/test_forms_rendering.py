"""The widgets drawn in Python (partnerhub.forms_rendering) give Django's own markup."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from partnerhub.forms_rendering import DRAWN_IN_PYTHON, WidgetRenderer

DJANGO = DjangoTemplates()
OURS = WidgetRenderer()

HOSTILE = "a \"quoted\" <b>bold</b> & 'single' é"
CHOICES = [("", "Any"), ("a", "Alpha"), ("b&c", HOSTILE), (3, 3), (1234, "1234")]
GROUPED = [
    ("", "None"),
    ("Group <one>", [("x", "X"), ("y", mark_safe("<i>Y</i>"))]),
    ("Group two", [("z", gettext_lazy("Zed"))]),
    ("w", "Plain after groups"),
]

CASES = [
    (forms.TextInput(), "name", "value"),
    (forms.TextInput(), "name", None),
    (forms.TextInput(), "name", ""),
    (
        forms.TextInput(attrs={"placeholder": HOSTILE, "required": True, "disabled": False}),
        "q",
        HOSTILE,
    ),
    (forms.TextInput(attrs={"type": "search", "class": "form-control"}), "q", "smith"),
    (forms.TextInput(), "safe", mark_safe("<em>safe</em>")),
    (forms.EmailInput(attrs={"autocomplete": "email", "maxlength": 254}), "email", "zoë@例え.jp"),
    (forms.PasswordInput(render_value=False), "password", "secret"),
    (forms.PasswordInput(render_value=True), "password", "secret"),
    (forms.HiddenInput(), "hidden", 42),
    (forms.NumberInput(attrs={"min": 1, "step": 0.5}), "number", 1234.5),
    (forms.DateInput(), "date", datetime.date(2026, 12, 5)),
    (forms.DateTimeInput(), "when", datetime.datetime(2026, 12, 5, 9, 30)),
    (forms.URLInput(), "url", "https://example.com/?a=1&b=2"),
    (forms.CheckboxInput(), "tick", True),
    (forms.CheckboxInput(), "tick", False),
    (forms.Select(choices=CHOICES), "s", "b&c"),
    (forms.Select(choices=CHOICES), "s", None),
    (forms.Select(choices=CHOICES), "s", 3),
    (
        forms.Select(choices=CHOICES, attrs={"class": "form-select", "aria-describedby": "h"}),
        "s",
        "a",
    ),
    (forms.Select(choices=GROUPED), "g", "y"),
    (forms.Select(choices=[(25, 25), (50, 50), (1000, 1000)]), "per_page", 1000),
    (forms.SelectMultiple(choices=CHOICES), "m", ["a", "b&c"]),
    (forms.SelectMultiple(choices=GROUPED), "m", ["x", "z"]),
    (forms.NullBooleanSelect(), "nb", True),
]


@pytest.mark.parametrize(("widget", "name", "value"), CASES)
def test_markup_equals_djangos(widget: forms.Widget, name: str, value: object) -> None:
    attrs = {"id": f"id_{name}"}
    expected = widget.render(name, value, attrs=attrs, renderer=DJANGO)
    drawn = widget.render(name, value, attrs=attrs, renderer=OURS)
    assert drawn == expected
    # and it was drawn in Python, not by the template
    assert widget.template_name in DRAWN_IN_PYTHON


@pytest.mark.parametrize(
    "widget",
    [
        forms.RadioSelect(choices=CHOICES),
        forms.Textarea(),
        forms.CheckboxSelectMultiple(choices=CHOICES),
    ],
)
def test_other_widgets_go_to_the_templates(widget: forms.Widget) -> None:
    assert widget.template_name not in DRAWN_IN_PYTHON
    assert widget.render("r", "a", renderer=OURS) == widget.render("r", "a", renderer=DJANGO)


def test_a_select_with_options_of_another_template_goes_to_the_templates() -> None:
    class FancySelect(forms.Select):
        option_template_name = "django/forms/widgets/radio_option.html"

    widget = FancySelect(choices=CHOICES)
    assert widget.render("s", "a", renderer=OURS) == widget.render("s", "a", renderer=DJANGO)
    assert "<input" in widget.render("s", "a", renderer=OURS)


def test_localized_labels_as_the_template_shows_them(settings) -> None:
    settings.USE_THOUSAND_SEPARATOR = True
    widget = forms.Select(choices=[(1000, 1000), (2, datetime.date(2026, 1, 2))])
    assert widget.render("n", 1000, renderer=OURS) == widget.render("n", 1000, renderer=DJANGO)


def test_the_project_uses_it_and_overrides_none_of_its_templates() -> None:
    """An app's template of the same name would be the renderer's choice: there is none."""
    assert isinstance(get_default_renderer(), WidgetRenderer)
    for name in DRAWN_IN_PYTHON:
        origin = OURS.get_template(name).origin.name.replace("\\", "/")
        assert origin.endswith(f"/django/forms/templates/{name}"), origin
