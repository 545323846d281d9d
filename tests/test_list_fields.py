"""The directory's filter fields drawn without crispy's templates: the same markup as crispy's
Bootstrap 5 field, whitespace aside, with and without errors, help text and a required mark."""

from __future__ import annotations

import pytest
from django import forms
from django.template import Context, Template
from django.test import SimpleTestCase

from partnerhub.templatetags.list_fields import list_field


class Filters(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or email"}),
    )
    role = forms.ChoiceField(
        label="Role", required=False, choices=[("", "Any role"), ("sales", "Sales <agent>")]
    )
    email = forms.EmailField(label="Person", help_text="Who acted, or to whom.")
    size = forms.TypedChoiceField(label="Per page", coerce=int, choices=[(25, "25"), (50, "50")])


def same_html(ours: str, theirs: str) -> None:
    """Equal as HTML: whitespace, attribute order and class order aside."""
    SimpleTestCase().assertHTMLEqual(ours, theirs)


def crispy(field: forms.BoundField) -> str:
    return Template("{% load crispy_forms_tags %}{{ field|as_crispy_field }}").render(
        Context({"field": field})
    )


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"q": "smith", "role": "sales", "email": "a@b.example", "size": "50"},
        {"q": "x" * 30, "role": "bogus", "email": "not an email", "size": "7"},
    ],
    ids=["unbound-like", "valid", "every-field-wrong"],
)
@pytest.mark.parametrize("name", ["q", "role", "email", "size"])
def test_the_markup_is_crispys(data, name):
    def field() -> forms.BoundField:  # a form each: crispy writes its classes into the widget
        form = Filters(data or None)
        if data:
            form.is_valid()
        return form[name]

    ours = str(list_field(field()))
    same_html(ours, crispy(field()))
    if data.get(name) not in (None, "sales", "smith", "a@b.example", "50"):
        assert "is-invalid" in ours
        assert 'aria-invalid="true"' in ours


def test_radios_stay_with_crispy():
    class Scope(forms.Form):
        scope = forms.ChoiceField(choices=[("a", "A")], widget=forms.RadioSelect)

    with pytest.raises(TypeError):
        list_field(Scope()["scope"])
