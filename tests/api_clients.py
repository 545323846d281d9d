"""Helpers for the tests of the REST API and SCIM: API clients made by the real service, and
Django's test client calling with their tokens."""

from __future__ import annotations

import json
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from accounts.models import User
from api import clients
from api.models import ApiClient


def make_client(
    creator: User, roles: list[str], *, name: str | None = None, days: int = 90
) -> tuple[ApiClient, str]:
    """A client of the creator's organization, created by them (a Global admin)."""
    new = clients.create_client(
        creator,
        name=name or f"Client {ApiClient.objects.count() + 1}",
        role_keys=roles,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return new.client, new.token


class ApiCaller:
    """Calls the API as one client (or with no token): JSON bodies, the bearer header."""

    def __init__(self, token: str | None, client: Client | None = None) -> None:
        self.token = token
        self.http = client or Client()

    def call(
        self,
        method: str,
        url: str,
        body: object = None,
        content_type: str = "application/json",
        secure: bool = False,
        **headers: str,
    ):
        extra: dict = {
            f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()
        }
        extra["secure"] = secure
        if self.token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        data = json.dumps(body) if body is not None else None
        kwargs = {"content_type": content_type} if data is not None else {}
        return (
            getattr(self.http, method)(url, data, **kwargs, **extra)
            if data is not None
            else getattr(self.http, method)(url, **extra)
        )

    def get(self, url: str, **headers: str):
        return self.call("get", url, **headers)

    def post(self, url: str, body: object = None, **headers: str):
        return self.call("post", url, body if body is not None else {}, **headers)

    def patch(self, url: str, body: object, **headers: str):
        return self.call("patch", url, body, **headers)

    def put(self, url: str, body: object = None, **headers: str):
        return self.call("put", url, body, **headers)

    def delete(self, url: str, **headers: str):
        return self.call("delete", url, **headers)
