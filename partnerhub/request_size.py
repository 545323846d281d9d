"""Request bodies are capped before anything reads them.

Django refuses an oversized form only once something reads request.POST, and a multipart body
(a file) is streamed to a temporary file on disk as it is parsed: a 2 GB POST to the sign-in
page would be read to the end first. RequestSizeLimitMiddleware stands near the top of
MIDDLEWARE and answers from the request's declared length alone, before the body is touched:

- a body longer than the view accepts: 413, a short plain page;
- a body without a length (Transfer-Encoding, e.g. chunked): 411. Django reads such a body as
  empty (it reads CONTENT_LENGTH bytes, and there is none), so it could never reach a form;
  refusing says so instead of answering as if nothing was sent. Browsers send a length with
  every form, and the load balancer in front buffers bodies and sends one too;
- a length that is not a number: 400.

Every view accepts settings.PARTNERHUB_MAX_REQUEST_BYTES; a view that takes a file says how much
more with @accepts_body_up_to (the CSV import).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

# What a multipart form adds around its file: the boundaries, each part's headers, the CSRF
# token and the submit button's name. A few hundred bytes in practice; this leaves room.
MULTIPART_ENVELOPE_BYTES = 64 * 1024

View = TypeVar("View", bound=Callable[..., HttpResponse])


def accepts_body_up_to(max_bytes: int) -> Callable[[View], View]:
    """Lets a view receive request bodies up to max_bytes instead of the site-wide limit.

    Put it outermost, so that the URL's view function carries it.
    """

    def decorate(view: View) -> View:
        view.max_body_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return decorate


def body_limit(request: HttpRequest) -> int:
    """The longest body the view at this request's address accepts, in bytes."""
    default: int = settings.PARTNERHUB_MAX_REQUEST_BYTES
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return default
    return getattr(match.func, "max_body_bytes", default)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _refusal(status: int, text: str, request: HttpRequest | None = None) -> HttpResponse:
    from api.paths import is_api_request, json_error

    if request is not None and is_api_request(request):
        return json_error(request, status, text)  # an API or SCIM client reads JSON
    # Plain text, written before the security middleware runs: nothing in it could execute,
    # and nosniff keeps a browser from guessing otherwise.
    response = HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response


class RequestSizeLimitMiddleware:
    """Refuses a request whose body is too long, or of unknown length, before it is read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("HTTP_TRANSFER_ENCODING"):
            return _refusal(
                411,
                "Length required: PartnerHub accepts request bodies with a Content-Length.",
                request,
            )
        declared = request.META.get("CONTENT_LENGTH") or "0"
        # ASCII digits only: "²" is a digit to isdigit(), and no number to int().
        if not (declared.isascii() and declared.isdigit()):
            return _refusal(400, "Bad request: the Content-Length is not a number.", request)
        limit = body_limit(request)
        if int(declared) > limit:
            return _refusal(
                413,
                f"Request too large: this page accepts at most {_megabytes(limit)} MB. "
                "Nothing was read or saved; go back and send less.",
                request,
            )
        return self.get_response(request)
