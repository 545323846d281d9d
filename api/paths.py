"""The addresses of the REST API and SCIM, and the JSON error every request to them gets when
it never reaches a view (an unknown address, a body too large, a crash). Imported by the
middleware and the error handlers: nothing heavy here."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

API_PREFIXES = ("/api/", "/scim/")
SCIM_PREFIX = "/scim/"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_CONTENT_TYPE = "application/scim+json"


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIXES)


def json_error(request: HttpRequest, status: int, detail: str) -> JsonResponse:
    """An error answered outside the views, as the prefix expects: SCIM's error body on /scim/,
    {"detail": ...} on /api/."""
    if request.path_info.startswith(SCIM_PREFIX):
        response = JsonResponse(
            {"schemas": [SCIM_ERROR], "status": str(status), "detail": detail},
            status=status,
            content_type=SCIM_CONTENT_TYPE,
        )
    else:
        response = JsonResponse({"detail": detail}, status=status)
    response["X-Content-Type-Options"] = "nosniff"
    return response
