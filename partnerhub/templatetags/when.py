"""One date and time format everywhere, in the viewer's time zone (partnerhub.time_zones).

{% when value %} is a moment: "4 Dec 2026, 22:15"; {% day value %} a date: "4 Dec 2026". Both
are <time> elements whose datetime attribute holds the exact value for machines.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dates import MONTHS_3
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

MOMENT = "j M Y, H:i"
DAY = "j M Y"


@register.simple_tag
def when(value: datetime | None) -> SafeString | str:
    """A moment in the viewer's zone, in PartnerHub's one format."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    # MOMENT written out: date_format parses the format on every call, and a page of the audit
    # log shows fifty moments. "M" is DateFormat.M: the month's translated abbreviation, titled.
    shown = f"{local.day} {MONTHS_3[local.month].title()} {local.year}, {local:%H:%M}"
    return format_html('<time datetime="{}">{}</time>', local.isoformat(timespec="seconds"), shown)


@register.simple_tag
def day(value: date | None) -> SafeString | str:
    """A date (a day, no time of day), in PartnerHub's one format."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), date_format(value, DAY))
