"""{% stepper titles current %}: the steps of a flow as a numbered list, the current one marked
with aria-current="step" and the ones before it done (with a check)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django import template

register = template.Library()


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    done: bool
    current: bool


def steps(titles: Sequence[str] | str, current: int | str) -> list[Step]:
    """The steps, given as titles (a list, or one string separated by commas) and the current
    step's 1-based number or title; past the last, every step is done."""
    names = [title.strip() for title in titles.split(",")] if isinstance(titles, str) else titles
    at = names.index(current) + 1 if current in names else int(current)
    return [
        Step(number=number, title=title, done=number < at, current=number == at)
        for number, title in enumerate(names, start=1)
    ]


@register.inclusion_tag("partials/stepper.html")
def stepper(titles: Sequence[str] | str, current: int | str, label: str = "Steps") -> dict:
    """The stepper of a flow (partials/stepper.html)."""
    return {"steps": steps(titles, current), "label": label}
