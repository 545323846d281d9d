"""A request id for every request, and one log line per request that carries it."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from partnerhub.logging import NO_REQUEST, loggable_path, request_id

logger = logging.getLogger("partnerhub.request")

HEADER = "X-Request-ID"
# A load balancer's id (a UUID, a hex string, AWS's "Root=1-...") passes; anything longer or
# with other characters is replaced, so a log line never carries what a client made up.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}")
QUIET_PATHS = {"/healthz"}  # probed every few seconds by the load balancer: logged when failing


class RequestIdMiddleware:
    """Takes the load balancer's X-Request-ID or makes one, exposes it to logging for the length
    of the request, returns it on the response, and logs the request when it is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        identifier = incoming_request_id(request) or uuid.uuid4().hex
        request.request_id = identifier
        # Kept until the response is finished (forget_request_id), not only until this returns:
        # Django logs a 4xx or 5xx (django.request) after the middleware is done with it.
        request_id.set(identifier)
        response = self.get_response(request)
        response[HEADER] = identifier
        _log(request, response.status_code, started)
        return response


@receiver(request_finished)
def forget_request_id(**kwargs: object) -> None:
    """After the response: what a worker logs between requests belongs to none."""
    request_id.set(NO_REQUEST)


def incoming_request_id(request: HttpRequest) -> str | None:
    """The id the load balancer sent, when there is a trusted one in front and the id is sane."""
    if settings.PARTNERHUB_TRUSTED_PROXIES < 1:
        return None  # no proxy in front: the header would be the client's invention
    value = request.headers.get(HEADER, "")
    return value if SANE_REQUEST_ID.fullmatch(value) else None


def _log(request: HttpRequest, status: int, started: float) -> None:
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    level = logging.DEBUG if request.path in QUIET_PATHS and status < 400 else logging.INFO
    # The path without its query string (searches carry names and emails) or one-time tokens.
    path = loggable_path(request.path)
    logger.log(
        level,
        "%s %s %s %sms",
        request.method,
        path,
        status,
        duration_ms,
        extra={
            "method": request.method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "user_id": _user_id(request),
        },
    )


def _user_id(request: HttpRequest) -> int | None:
    """The signed-in user's id, when the request loaded the user anyway: logging alone must not
    cost a session read and a query."""
    user = request.__dict__.get("user")
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    return user.pk if user.is_authenticated else None
