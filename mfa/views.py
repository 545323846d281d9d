"""The second step of sign-in, enrolment, recovery codes, and a person's own sign-in methods
(Settings > My profile > Sign-in methods)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from urllib.parse import quote, urlencode
from uuid import UUID

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timeuntil
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp_webauthn.models import WebAuthnCredential

from accounts.audit import Origin
from accounts.lockout import clear_lockout
from accounts.reauth import ask_for_password, password_recently_confirmed, safe_next
from accounts.views.common import user_in_directory
from mfa import crypto, services
from mfa.forms import CodeForm, EnrolForm
from mfa.models import AuthenticatorApp, format_recovery_code, new_authenticator_key
from roles import rules
from roles.rules import Action, RuleRefused

# The new authenticator app's secret between showing it and its first code; and recovery codes
# just made, until the person says they kept them. Both encrypted like the stored secrets: the
# session table is in a database dump too, and a person who closes the tab instead of saying
# "I kept them" leaves the codes there for as long as the session row lives.
PENDING_KEY = "mfa-pending-key"
NEW_RECOVERY_CODES = "mfa-new-recovery-codes"


def _keep_new_codes(request: HttpRequest, codes: list[str]) -> None:
    request.session[NEW_RECOVERY_CODES] = crypto.encrypt(json.dumps(codes).encode())


def _new_codes(request: HttpRequest) -> list[str] | None:
    """The recovery codes waiting to be shown, or None (none, or a key rotated meanwhile)."""
    token = request.session.get(NEW_RECOVERY_CODES)
    if not isinstance(token, str):
        return None
    try:
        codes = json.loads(crypto.decrypt(token))
    except ImproperlyConfigured:
        return None
    return codes if isinstance(codes, list) else None


WRONG_CODE = (
    "This code is not right, or was used already. Check it, wait a few seconds and try again "
    "(an app's code with the new one it shows)."
)
WRONG_ENROLMENT_CODE = (
    "This is not the code the app shows for this secret. Check that the app's clock is right "
    "and enter the code it shows now."
)


def verify_session(request: HttpRequest, device: object) -> None:
    """The session has passed its second factor with the device; as at sign-in, it gets a new
    key, so that a session id learned before the second step is worth nothing after it."""
    request.session.cycle_key()
    otp_login(request, device)


def _keep_verified(request: HttpRequest) -> None:
    """The session passed its second factor: removing or replacing the device it used (the
    app just removed, the recovery codes just made anew) does not undo that. Without this the
    next page would ask for the second step again."""
    persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id or Device.from_persistent_id(persistent_id) is not None:
        return
    remaining = services.methods_of(request.user) or [services.recovery_codes_of(request.user)]
    if remaining[0] is not None:
        otp_login(request, remaining[0])


def _next(request: HttpRequest, default: str = "home") -> str:
    return safe_next(request) or reverse(default)


def _with_next(url_name: str, request: HttpRequest) -> str:
    following = safe_next(request)
    url = reverse(url_name)
    return f"{url}?{urlencode({'next': following})}" if following else url


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app, a recovery code, or a passkey.
    A wrong code counts toward the same lockout as a wrong password (accounts.lockout)."""
    user = request.user
    if user.is_verified():
        return redirect(_next(request))
    if not services.has_method(user):
        return redirect(_with_next("enrol_authenticator_app", request))
    credentials = {"username": user.email}
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not AxesProxyHandler.is_allowed(request, credentials):
            # AxesMiddleware answers with the lockout page, which signs this session out.
            request.axes_locked_out = True
            request.axes_credentials = credentials
            return HttpResponse(status=settings.AXES_HTTP_RESPONSE_CODE)
        if form.is_valid():
            code, origin = form.cleaned_data["code"], Origin.from_request(request)
            waiting = services.waiting_until(user, code, origin=origin)
            verified = None if waiting else services.verify_code(user, code, origin=origin)
            if waiting:
                # Not checked, so no guess; still an attempt, counted like one (a script
                # retrying during the wait meets the lockout as before).
                user_login_failed.send(sender=__name__, credentials=credentials, request=request)
                form.add_error("code", _waiting_message(code, waiting))
            elif verified is not None:
                verify_session(request, verified.device)
                clear_lockout(user.email)
                if verified.recovery_codes_left is not None:
                    messages.warning(
                        request,
                        f"You used a recovery code: {verified.recovery_codes_left} left. "
                        "Make new ones from My profile > Sign-in methods.",
                    )
                return redirect(_next(request))
            else:
                # Counted against the email like a wrong password; the fifth locks it.
                user_login_failed.send(sender=__name__, credentials=credentials, request=request)
                form.add_error("code", WRONG_CODE)
    form.helper.form_action = request.get_full_path()
    has_app = AuthenticatorApp.objects.filter(user=user, confirmed=True).exists()
    has_passkey = WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    return render(
        request,
        "mfa/second_factor.html",
        {"form": form, "has_app": has_app, "has_passkey": has_passkey, "next": _next(request)},
    )


def _waiting_message(code: str, until: datetime) -> str:
    seconds = (until - timezone.now()).total_seconds()
    wait = timeuntil(until) if seconds >= 60 else "less than a minute"
    if services.is_app_code(code):
        return (
            f"Too many wrong codes: your authenticator app's codes are taken again in {wait}. "
            "Meanwhile, use a recovery code or a passkey."
        )
    return (
        f"Too many wrong recovery codes: they are taken again in {wait}. Meanwhile, use "
        "your authenticator app or a passkey."
    )


def _pending_key(request: HttpRequest) -> bytes:
    token = request.session.get(PENDING_KEY)
    if isinstance(token, str):
        try:
            return crypto.decrypt(token)
        except ImproperlyConfigured:
            pass  # the key was rotated meanwhile: a new secret
    key = new_authenticator_key()
    request.session[PENDING_KEY] = crypto.encrypt(key)
    return key


def _otpauth_uri(email: str, key: bytes) -> str:
    issuer = settings.PARTNERHUB_MFA_ISSUER.replace(":", "")
    secret = base64.b32encode(key).decode().rstrip("=")
    label = quote(f"{issuer}:{email}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer)}&digits=6&period=30"


def _qr_svg(uri: str) -> str:
    # Drawn here, as inline SVG: no image request, no third-party QR service sees the secret.
    svg = segno.make(uri, error="m").svg_inline(scale=4, svgclass="mfa-qr", lineclass=None)
    return mark_safe(svg)  # noqa: S308 - segno's own markup; the data is inside the path


def _grouped(key: bytes) -> str:
    secret = base64.b32encode(key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def enrol_authenticator_app(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: a QR code and the secret as text, confirmed by one code.
    The first method ever is enrolment (required before any page), followed by ten recovery
    codes; another app, added from My profile, needs a verified session and a recent password."""
    user = request.user
    first = not services.has_method(user)
    if not first:
        if not user.is_verified():
            return redirect(_with_next("second_factor", request))
        if not password_recently_confirmed(request):
            return ask_for_password(request, request.get_full_path())
    key = _pending_key(request)
    form = EnrolForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        origin = Origin.from_request(request)
        device = services.enrol_authenticator_app(
            user, key, form.cleaned_data["code"], origin=origin
        )
        if device is not None:
            del request.session[PENDING_KEY]
            if not user.is_verified():
                # The first app, confirmed by its code: the sign-in is complete, as after the
                # second step, and clears the lockout count (the password alone did not).
                verify_session(request, device)
                clear_lockout(user.email)
            if services.recovery_codes_of(user) is None:
                _keep_new_codes(request, services.make_recovery_codes(user, origin=origin))
                messages.success(request, "Your authenticator app is set up.")
                return redirect(_with_next("recovery_codes", request))
            messages.success(request, "The authenticator app is added.")
            return redirect("sign_in_methods")
        form.add_error("code", WRONG_ENROLMENT_CODE)
    form.helper.form_action = request.get_full_path()
    uri = _otpauth_uri(user.email, key)
    return render(
        request,
        "mfa/enrol.html",
        {"form": form, "first": first, "qr_svg": _qr_svg(uri), "secret": _grouped(key)},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """The recovery codes just made, shown once: to download or print, then gone."""
    codes = _new_codes(request)
    if request.method == "POST" or not codes:
        request.session.pop(NEW_RECOVERY_CODES, None)
        return redirect(_next(request, "sign_in_methods"))
    return render(
        request,
        "mfa/recovery_codes.html",
        {"codes": [format_recovery_code(code) for code in codes], "next": safe_next(request)},
    )


@never_cache
@require_http_methods(["GET"])
@login_required
def recovery_codes_download(request: HttpRequest) -> HttpResponse:
    """The codes on the page, as a text file; only while the page can still show them."""
    codes = _new_codes(request)
    if not codes:
        raise Http404("These recovery codes were shown already.")
    lines = [
        f"PartnerHub recovery codes for {request.user.email}",
        "Each code works once, instead of your authenticator app or passkey.",
        "",
        *[format_recovery_code(code) for code in codes],
        "",
    ]
    response = HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="partnerhub-recovery-codes.txt"'
    return response


# Settings > My profile > Sign-in methods


@never_cache
@require_http_methods(["GET"])
@login_required
def sign_in_methods(request: HttpRequest) -> HttpResponse:
    """The person's own methods, when each was last used, and what they may change."""
    user = request.user
    methods = services.methods_of(user)
    return render(
        request,
        "mfa/sign_in_methods.html",
        {
            "methods": [(services.kind_of(m), _method_key(m), m) for m in methods],
            "only_one": len(methods) == 1,
            "recovery": services.recovery_codes_of(user),
        },
    )


METHOD_KINDS = {"app": AuthenticatorApp, "passkey": WebAuthnCredential}


def _method_key(device: object) -> str:
    return "app" if isinstance(device, AuthenticatorApp) else "passkey"


@never_cache
@require_POST
@login_required
def remove_sign_in_method(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Remove one of the person's methods, never the last one; asks for the password first
    when it was entered too long ago."""
    if kind not in METHOD_KINDS:
        raise Http404
    device = get_object_or_404(METHOD_KINDS[kind], user=request.user, pk=pk)
    if not password_recently_confirmed(request):
        return ask_for_password(request, reverse("sign_in_methods"))
    try:
        services.remove_method(request.user, device, origin=Origin.from_request(request))
    except RuleRefused as refusal:
        messages.error(request, refusal.reason)
    else:
        update_session_auth_hash(request, request.user)  # the others ended (services)
        _keep_verified(request)
        messages.success(request, format_html("<bdi>{}</bdi> is removed.", device.name))
    return redirect("sign_in_methods")


@never_cache
@require_POST
@login_required
def new_recovery_codes(request: HttpRequest) -> HttpResponse:
    """Ten new recovery codes, shown once; the old ones stop working."""
    if not password_recently_confirmed(request):
        return ask_for_password(request, reverse("sign_in_methods"))
    _keep_new_codes(
        request, services.make_recovery_codes(request.user, origin=Origin.from_request(request))
    )
    update_session_auth_hash(request, request.user)  # the others ended (services)
    _keep_verified(request)
    messages.success(request, "New recovery codes are made: the old ones no longer work.")
    return redirect(
        reverse("recovery_codes") + "?" + urlencode({"next": reverse("sign_in_methods")})
    )


@never_cache
@require_http_methods(["GET"])
@login_required
def add_passkey(request: HttpRequest) -> HttpResponse:
    """Register a passkey or security key in the browser (django-otp-webauthn's script)."""
    if not password_recently_confirmed(request):
        return ask_for_password(request, reverse("add_passkey"))
    return render(request, "mfa/add_passkey.html")


# A Global admin resets another user's second factor (DOMAIN.md rule 10)


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def reset_second_factor(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Asks to confirm, saying what a reset does; then removes every second factor of the
    user, who enrols again at their next sign-in, and ends their sessions."""
    target = user_in_directory(request, public_id)
    rules.require(
        rules.can_manage_user(request.user, target, Action.RESET_SECOND_FACTOR),
        Action.RESET_SECOND_FACTOR,
        target,
    )
    if request.method != "POST":
        return render(
            request,
            "mfa/reset_second_factor.html",
            {
                "shown_user": target,
                "methods": [services.kind_of(m) for m in services.methods_of(target)],
            },
        )
    url = reverse("reset_second_factor", args=[target.public_id])
    if not password_recently_confirmed(request):
        return ask_for_password(request, url)
    try:
        services.reset_second_factor(request.user, target, origin=Origin.from_request(request))
    except RuleRefused as refusal:
        messages.error(request, refusal.reason)
        return redirect("user_detail", target.public_id)
    messages.success(
        request,
        format_html(
            "The second factor of <bdi>{}</bdi> is reset: they set one up again at their next "
            "sign-in, and every session they had open has ended.",
            target.get_full_name() or target.email,
        ),
    )
    return redirect("user_detail", target.public_id)
