"""The viewer's time zone: the browser's, as static/js/time-zone.js reports it in a cookie.

Every time PartnerHub shows is in that zone, in one format ({% when %}, {% day %}); without the
cookie (no JavaScript, the first page), in UTC. Each page that shows times names the zone. The
cookie is only ever a zone name from the IANA database: anything else is ignored.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "partnerhub_tz"


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_of(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    """The zone the browser said it is in, if it is a real one."""
    name = unquote(request.COOKIES.get(COOKIE, ""))[:64]
    return zoneinfo.ZoneInfo(name) if name in _known_zones() else None


class TimeZoneMiddleware:
    """Shows the request's times in the browser's time zone (UTC when unknown)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = zone_of(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
