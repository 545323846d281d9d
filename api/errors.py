"""Errors of the REST API and SCIM are JSON, always: DRF's own errors (400, 401, 403, 404, 405,
406, 415, 429, parse errors), the rulebook's refusals (recorded), and, for requests that never
reach a view (an unknown address, a body too large, a crash), the JSON that
partnerhub.views and partnerhub.request_size answer on these prefixes."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from accounts import audit
from accounts.services import EmailInUse
from api.clients import NameInUse
from api.paths import SCIM_ERROR  # noqa: F401
from roles.rules import RuleRefused

logger = logging.getLogger(__name__)


def recorded_refusal(request: object, refusal: RuleRefused) -> None:
    """Record a refusal the view raised itself; a service's was recorded already."""
    if not refusal.audit_context:
        audit.record_page_refusal(request, refusal)


def validation_messages(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in error.message_dict.items()}
    return {"non_field_errors": list(error.messages)}


def rest_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus the rulebook's refusals (403, recorded), an email in use (409) and a
    model's validation (400, by field)."""
    request = context["request"]
    if isinstance(exc, RuleRefused):
        recorded_refusal(request, exc)
        return Response({"detail": exc.reason, "code": "refused"}, status=403)
    if isinstance(exc, EmailInUse):
        return Response({"email": [EmailInUse.message], "code": "conflict"}, status=409)
    if isinstance(exc, NameInUse):
        return Response({"name": [NameInUse.message], "code": "conflict"}, status=409)
    if isinstance(exc, ValidationError):
        return Response(validation_messages(exc), status=400)
    response = exception_handler(exc, context)
    # A machine-readable code beside the message: "not_authenticated", "throttled"...
    codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", codes if isinstance(codes, str) else "invalid")
    return response
