"""Passkeys and security keys (django-otp-webauthn), fitted to PartnerHub: the relying party
and the origins a passkey is accepted from."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from accounts import audit
from accounts.audit import Origin
from accounts.lockout import clear_lockout
from accounts.models import AuditAction
from accounts.reauth import password_recently_confirmed
from mfa import services


def relying_party_id(request: HttpRequest) -> str:
    """The site's host name: PARTNERHUB_BASE_URL's in production; in development the host the
    browser reached (localhost or 127.0.0.1 on any port)."""
    if settings.PARTNERHUB_WEBAUTHN_LOCAL_ORIGINS:
        return request.get_host().rsplit(":", 1)[0].strip("[]")
    return urlsplit(settings.PARTNERHUB_BASE_URL).hostname or ""


class PasskeyHelper(WebAuthnHelper):
    def get_allowed_origins(self) -> list[str]:
        origins = list(super().get_allowed_origins())
        if settings.PARTNERHUB_WEBAUTHN_LOCAL_ORIGINS:
            # The host is one of ALLOWED_HOSTS (get_host checks it): the site's own origin.
            origins.append(f"{self.request.scheme}://{self.request.get_host()}")
        return origins


# The ceremonies, as django-otp-webauthn runs them, with PartnerHub's conditions and audit.


class SignInFirst(exceptions.OTPWebAuthnApiError):
    status_code = 401
    code = "not_authenticated"
    default_detail = "Sign in with your password first."


def _require_signed_in(request: HttpRequest) -> None:
    if not request.user.is_authenticated:
        raise SignInFirst()


class ConfirmPasswordFirst(exceptions.OTPWebAuthnApiError):
    status_code = 403
    code = "confirm_password"
    default_detail = "For your security, confirm your password first: reload the page."


class BeginPasskeyRegistration(BeginCredentialRegistrationView):
    """Only a session past its second factor, with the password entered recently, adds one."""

    def initial(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        _require_signed_in(request)
        super().initial(request, *args, **kwargs)

    def check_can_register(self) -> None:
        _check_may_add_passkey(self.request)


class CompletePasskeyRegistration(CompleteCredentialRegistrationView):
    def initial(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        _require_signed_in(request)
        super().initial(request, *args, **kwargs)

    def check_can_register(self) -> None:
        _check_may_add_passkey(self.request)

    def post(self, *args: Any, **kwargs: Any) -> JsonResponse:
        response = super().post(*args, **kwargs)
        device = WebAuthnCredential.objects.get(
            pk=json.loads(response.content)["id"], user=self.request.user
        )
        if not device.name:
            device.name = "Passkey"
            device.save(update_fields=["name"])
        services.record_passkey_added(
            self.request.user, device, origin=Origin.from_request(self.request)
        )
        return response


def _check_may_add_passkey(request: HttpRequest) -> None:
    if not request.user.is_verified():
        raise exceptions.NotVerified()
    if not password_recently_confirmed(request):
        raise ConfirmPasswordFirst()


class BeginPasskeyAuthentication(BeginCredentialAuthenticationView):
    """The second step with a passkey: only for a person signed in with their password."""

    def check_can_authenticate(self) -> None:
        _require_signed_in(self.request)
        super().check_can_authenticate()


class CompletePasskeyAuthentication(CompleteCredentialAuthenticationView):
    def check_can_authenticate(self) -> None:
        _require_signed_in(self.request)
        super().check_can_authenticate()

    def check_device_usable(self, device: WebAuthnCredential) -> None:
        super().check_device_usable(device)
        if device.user_id != self.request.user.pk:
            raise exceptions.CredentialNotFound()

    def handle_exception(self, exc: Exception) -> JsonResponse:
        # A passkey refused is a failed second factor, in the audit trail like a wrong code.
        # Not counted toward the lockout: a passkey's signature cannot be guessed.
        user = self.request.user
        if isinstance(exc, exceptions.OTPWebAuthnApiError) and user.is_authenticated:
            audit.record_refused_attempt(
                user,
                AuditAction.SECOND_FACTOR_FAILED,
                "The passkey was not accepted.",
                organization=user.organization,
                target=user,
                origin=Origin.from_request(self.request),
            )
        return super().handle_exception(exc)

    def complete_auth(self, device: WebAuthnCredential) -> None:
        self.request.session.cycle_key()  # as after a code (mfa.views.verify_session)
        super().complete_auth(device)
        clear_lockout(self.request.user.email)
