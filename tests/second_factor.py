"""Second factors in tests: an authenticator app with a key the test knows, and its codes
computed by pyotp, as a person's phone would."""

from __future__ import annotations

import base64
import time

import pyotp
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import User
from mfa.models import AuthenticatorApp

# The key of the app given to test users: 20 bytes, as the enrolment page makes them.
TEST_KEY = b"partnerhub-test-key!"
STEP = 30


def give_authenticator_app(user: User, key: bytes = TEST_KEY) -> AuthenticatorApp:
    """The user's authenticator app, holding `key`; made when they have none."""
    device = AuthenticatorApp.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = AuthenticatorApp(user=user, name="Authenticator app", confirmed=True)
        device.set_key(key)
        device.save()
    return device


def code_at(key: bytes, step: int) -> str:
    return pyotp.TOTP(base64.b32encode(key).decode()).at(step * STEP)


def current_step() -> int:
    return int(time.time()) // STEP


def next_code(device: AuthenticatorApp) -> str:
    """A code the app shows and the server has not accepted yet: the current one, or the
    next step's (one step of drift is allowed). A test signing in a third time within 30
    seconds winds the device's last step back, as if the time had passed."""
    device.refresh_from_db()
    step = max(current_step(), device.last_t + 1)
    if step > current_step() + 1:
        device.last_t = current_step() - 1
        device.save(update_fields=["last_t"])
        step = current_step()
    return code_at(device.bin_key, step)


def pass_second_factor(client: Client, user: User) -> None:
    """The second step of sign-in, with a code of the user's app (given one if they have none)."""
    device = give_authenticator_app(user)
    response = client.post(reverse("second_factor"), {"code": next_code(device)})
    assert response.status_code == 302, response.content[:500]


def sign_in(client: Client, email: str, password: str) -> None:
    """Both steps of sign-in, through the pages."""
    response = client.post(reverse("login"), {"username": email, "password": password})
    assert response.status_code == 302, response.content[:500]
    pass_second_factor(client, User.objects.get(email=email))


def mark_verified(client: Client, user: User) -> None:
    """The client's session has passed the second factor with the user's app."""
    device = give_authenticator_app(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
