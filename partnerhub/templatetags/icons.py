"""Icons: heroicons' template tags, with each drawn icon kept.

heroicons draws an icon by copying its parsed SVG and writing it out again, a quarter of a
millisecond each time; a directory page shows dozens (status and role badges on every row), so
that was a tenth of the page's time. An icon's markup depends only on its style, name, size and
attributes, all constants in our templates, so each combination is drawn once per process.
Templates load `icons` and use the same tags as heroicons' own library.
"""

from __future__ import annotations

import functools

from django import template
from django.utils.safestring import SafeString, mark_safe
from heroicons.templatetags import heroicons as drawn

register = template.Library()

STYLES = {
    "micro": drawn.heroicon_micro,
    "mini": drawn.heroicon_mini,
    "outline": drawn.heroicon_outline,
    "solid": drawn.heroicon_solid,
}


@functools.lru_cache(maxsize=1024)
def _icon(style: str, name: str, size: int | None, attrs: tuple[tuple[str, str], ...]) -> str:
    return str(STYLES[style](name, size=size, **dict(attrs)))


def _draw(style: str, name: str, size: int | None, attrs: dict[str, object]) -> SafeString:
    # Attribute values arrive as (safe) strings or numbers from the template: plain strings as
    # keys, so that equal attributes share one entry.
    key = tuple(sorted((k, str(v) + "") for k, v in attrs.items()))
    return mark_safe(_icon(style, str(name), size, key))  # noqa: S308 - heroicons escapes it


@register.simple_tag
def heroicon_micro(name: str, *, size: int | None = 16, **attrs: object) -> SafeString:
    return _draw("micro", name, size, attrs)


@register.simple_tag
def heroicon_mini(name: str, *, size: int | None = 20, **attrs: object) -> SafeString:
    return _draw("mini", name, size, attrs)


@register.simple_tag
def heroicon_outline(name: str, *, size: int | None = 24, **attrs: object) -> SafeString:
    return _draw("outline", name, size, attrs)


@register.simple_tag
def heroicon_solid(name: str, *, size: int | None = 24, **attrs: object) -> SafeString:
    return _draw("solid", name, size, attrs)
