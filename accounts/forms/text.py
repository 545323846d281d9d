"""Fields for one line of text typed by a person: a name, an email (in its canonical form).

Refused, with one clear message before the field's other checks: control characters (NUL, which
PostgreSQL cannot store; tabs; line breaks; the Unicode line and paragraph separators) and the
characters that override the direction text reads in (U+202A to U+202E, U+2066 to U+2069): with
them one name can be made to read as another. Right-to-left and left-to-right marks (U+200E,
U+200F) stay allowed: they are part of how some names are written.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

from accounts.identity import MAX_LENGTH, NOT_AN_EMAIL, canonical_email

CONTROL_CHARACTERS = (
    "Remove the invisible control characters (such as a NUL byte, a tab, a line break or a "
    "text-direction override): this must be one line of plain text."
)


# The same characters as a pattern the regular expression engine scans in C (a CSV import checks
# millions of characters): Cc is U+0000-U+001F and U+007F-U+009F, Zl U+2028, Zp U+2029, for good
# (Unicode's stability policy), then the overrides. tests/test_text_fast_paths.py holds them
# equal to the categories over every code point.
_NOT_PLAIN_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def has_control_characters(value: str) -> bool:
    """Control characters or direction overrides in the text?"""
    return _NOT_PLAIN_ONE_LINE.search(value) is not None


class _OneLine:
    """Explains control characters once, before any other check of the field runs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Our message covers NUL bytes more clearly than Django's "Null characters are not
        # allowed."; keeping both would say it twice.
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(validator, ProhibitNullCharactersValidator)
        ]

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if isinstance(value, str) and has_control_characters(value):
            raise ValidationError(CONTROL_CHARACTERS, code="control_characters")
        return value


class OneLineField(_OneLine, forms.CharField):
    """One line of text: a name."""


class EmailAddressField(_OneLine, forms.CharField):
    """An email address, cleaned to its canonical form (accounts.identity): every form that
    takes an email uses this field, so each refuses and folds exactly alike. The page keeps
    what was typed; cleaned_data holds the form that is stored and compared."""

    widget = forms.EmailInput
    default_error_messages = {"invalid": NOT_AN_EMAIL}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_LENGTH)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        return canonical_email(value)
