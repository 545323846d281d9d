"""Django's form renderer, with its most drawn widget templates written in Python.

A select is Django's `select.html`, which includes `select_option.html` for every option, each
including `attrs.html`: a directory page drew about a hundred such template renders for its
filters and bulk actions, more than its twenty-five rows cost. `WidgetRenderer` writes the same
markup for `select.html`, `input.html` and the input templates that only include it, in Python;
every other template (radios, checkboxes, textareas, multi-widgets, crispy's own) is rendered by
Django's template engine as before.

The markup is Django's, character for character: each value goes through the template engine's
own `render_value_in_context` (localized and escaped as `{{ value }}` would be), and
`stringformat:'s'` keeps a safe string safe as the filter does. tests/test_forms_rendering.py
renders many widgets through both renderers and compares. A project that overrides one of these
templates would not see its override used here: the test also checks that none is overridden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.utils.safestring import SafeData, SafeString, mark_safe

_CONTEXT = Context()  # autoescape on, localization and time zone as the settings say


def _shown(value: Any) -> str:
    """`{{ value }}`."""
    return render_value_in_context(value, _CONTEXT)


def _formatted(value: Any) -> str:
    """`{{ value|stringformat:'s' }}`."""
    text = "%s" % (str(value) if isinstance(value, tuple) else value)
    # The filter is_safe: a safe value stays safe once formatted, as the template keeps it.
    return _shown(mark_safe(text) if isinstance(value, SafeData) else text)  # noqa: S308


def _attrs(attrs: dict[str, Any]) -> str:
    """`django/forms/widgets/attrs.html`."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(
            f" {_shown(name)}" if value is True else f' {_shown(name)}="{_formatted(value)}"'
        )
    return "".join(parts)


def _input(widget: dict[str, Any]) -> str:
    """`django/forms/widgets/input.html` (and the templates that only include it)."""
    value = widget["value"]
    shown_value = "" if value is None else f' value="{_formatted(value)}"'
    return (
        f'<input type="{_shown(widget["type"])}" name="{_shown(widget["name"])}"'
        f"{shown_value}{_attrs(widget['attrs'])}>"
    )


def _option(option: dict[str, Any]) -> str:
    """`django/forms/widgets/select_option.html`."""
    return (
        f'<option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
        f"{_shown(option['label'])}</option>"
    )


def _select(widget: dict[str, Any]) -> str:
    """`django/forms/widgets/select.html`."""
    parts = [f'<select name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>']
    groups: Iterable[tuple[Any, list[dict[str, Any]], int]] = widget["optgroups"]
    for group_name, group_choices, _index in groups:
        if group_name:
            parts.append(f'\n  <optgroup label="{_shown(group_name)}">')
        for option in group_choices:
            if option["template_name"] != "django/forms/widgets/select_option.html":
                raise _NotOurs
            parts.append(f"\n  {_option(option)}\n")  # the included file's own last newline
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class _NotOurs(Exception):
    """A widget whose parts name another template: drawn by the template engine."""


_INPUTS = (
    "checkbox",
    "color",
    "date",
    "datetime",
    "email",
    "hidden",
    "input",
    "number",
    "password",
    "search",
    "tel",
    "text",
    "time",
    "url",
)
DRAWN_IN_PYTHON: dict[str, Callable[[dict[str, Any]], str]] = {
    **{f"django/forms/widgets/{name}.html": _input for name in _INPUTS},
    "django/forms/widgets/select.html": _select,
}


class WidgetRenderer(DjangoTemplates):
    """FORM_RENDERER: Django's template renderer, but for the widgets above."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        draw = DRAWN_IN_PYTHON.get(template_name)
        if draw is not None:
            try:
                return SafeString(draw(context["widget"]))
            except _NotOurs:
                pass
        return super().render(template_name, context, request)
