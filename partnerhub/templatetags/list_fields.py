"""A list's filter field, drawn as crispy-forms' Bootstrap 5 field without its templates.

The directory draws five filter fields on every view; through crispy's field templates they
were a third of the page's time. This tag writes the same markup (label, the widget with
Bootstrap's class, its error and help text tied to it by aria-describedby) from Python; the
widget itself is still Django's. For text inputs and selects: radios and checkboxes, whose
markup is richer, stay with crispy.
"""

from __future__ import annotations

from django import forms, template
from django.forms import BoundField
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _bootstrap_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.RadioSelect | forms.CheckboxInput | forms.CheckboxSelectMultiple):
        raise TypeError(f"list_field draws text inputs and selects, not {type(widget).__name__}")
    bootstrap = "form-select" if isinstance(widget, forms.Select) else "form-control"
    return f"{type(widget).__name__.lower()} {bootstrap}"


@register.simple_tag
def list_field(field: BoundField) -> SafeString:
    widget = field.field.widget
    classes = f"{widget.attrs.get('class', '')} {_bootstrap_class(widget)}".split()
    attrs = {"class": " ".join(dict.fromkeys(classes))}
    errors = help_text = required = ""
    label_class = "form-label"
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}_helptext")
        help_text = format_html(
            '<div id="{}_helptext" class="form-text">{}</div>', field.auto_id, field.help_text
        )
    if field.errors:
        attrs["class"] += " is-invalid"
        attrs["aria-invalid"] = "true"
        described_by.append(f"{field.auto_id}_error")
        errors = format_html(
            '<div id="{}_error" class="invalid-feedback">{}</div>',
            field.auto_id,
            format_html_join(
                "",
                '<p id="error_{}_{}"><strong>{}</strong></p>',
                ((number, field.auto_id, error) for number, error in enumerate(field.errors, 1)),
            ),
        )
    if field.errors:  # (help text alone: Django's widget attributes point to it themselves)
        attrs["aria-describedby"] = " ".join(described_by)
    if field.field.required:
        label_class += " requiredField"
        required = mark_safe('<span class="asteriskField">*</span>')
    return format_html(
        '<div id="div_{}" class="mb-3"><label for="{}" class="{}">{}{}</label>{}{}{}</div>',
        field.auto_id,
        field.id_for_label,
        label_class,
        field.label,
        required,
        field.as_widget(attrs=attrs),
        errors,
        help_text,
    )
