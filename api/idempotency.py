"""Idempotency-Key on creates: a client that retries a create after a timeout gets the first
answer again instead of a second user (or a 409 for the email it just added).

Decisions: the key is the client's, per address; only a successful create is kept (a refused
or invalid request is not, so the client may fix the body and retry with the same key); the
same key with another body answers 409; keys are kept IDEMPOTENCY_HOURS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from api.models import IdempotentRequest

HEADER = "Idempotency-Key"
IDEMPOTENCY_HOURS = 24
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


def idempotent(request: Request, create: Callable[[], Response]) -> Response:
    """Answer the create, or the stored answer to the same key and body."""
    key = request.headers.get(HEADER)
    if key is None:
        return create()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        return Response(
            {"detail": f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters."},
            status=400,
        )
    client = request.user.client
    body_hash = hashlib.sha256(request.body).hexdigest()
    since = timezone.now() - timedelta(hours=IDEMPOTENCY_HOURS)
    stored = IdempotentRequest.objects.filter(
        client=client, key=key, path=request.path, created_at__gte=since
    ).first()
    if stored is not None:
        if stored.body_hash != body_hash:
            return Response(
                {
                    "detail": f"This {HEADER} was used with another request body: use a new "
                    "key for another request.",
                    "code": "conflict",
                },
                status=409,
            )
        response = Response(stored.response_body, status=stored.status_code)
        response[REPLAYED_HEADER] = "true"
        return response
    response = create()
    if 200 <= response.status_code < 300:
        IdempotentRequest.objects.filter(client=client, created_at__lt=since).delete()
        try:
            with transaction.atomic():
                IdempotentRequest.objects.update_or_create(
                    client=client,
                    key=key,
                    path=request.path,
                    defaults={
                        "body_hash": body_hash,
                        "status_code": response.status_code,
                        "response_body": response.data,
                        "created_at": timezone.now(),
                    },
                )
        except IntegrityError:
            pass  # the same key at the same moment: the other request kept its answer
    return response
