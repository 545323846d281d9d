"""New passwords: at least 12 characters and hard to guess by zxcvbn's estimate, with no
composition rules, wherever a person chooses one (change password, an invitation link, a reset
link); the messages next to the field say what to do. Passwords the app makes (temporary ones)
and the demo password pass the same rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.management.commands.seed_demo import DEMO_PASSWORD
from accounts.passwords import ESTIMATED_LENGTH, StrengthValidator
from accounts.services import generate_temporary_password
from tests.factories import PASSWORD, UserFactory
from tests.jobs import sent_mail
from tests.test_forgot_password import link_path as reset_link_path
from tests.test_forgot_password import reset
from tests.test_invitations import accept, add_invited
from tests.test_invitations import link_path as invitation_link_path


@dataclass
class Place:
    """Where a person chooses a password: choose(password) posts it; the response's form."""

    choose: Callable[[str], object]
    form_field: str
    unchanged: Callable[[], bool]


@pytest.fixture(params=["change_password", "invitation", "reset_link"])
def place(request, client, csp, django_capture_on_commit_callbacks) -> Place:
    user = csp.member
    if request.param == "change_password":
        client.force_login(user)

        def choose(password: str):
            data = {"old_password": PASSWORD, "new_password1": password, "new_password2": password}
            return client.post(reverse("change_password"), data)

        return Place(choose, "new_password2", lambda: _still(user, PASSWORD))
    if request.param == "invitation":
        with django_capture_on_commit_callbacks(execute=True):
            invited = add_invited(csp.global_admin, csp.organization).user
        path = invitation_link_path(sent_mail()[-1])
        return Place(
            lambda password: accept(client, path, password),
            "new_password2",
            lambda: not _reloaded(invited).has_usable_password(),
        )
    client.post(reverse("password_reset"), {"email": user.email})
    path = reset_link_path(sent_mail()[-1])
    return Place(
        lambda password: reset(client, path, password),
        "new_password2",
        lambda: _still(user, PASSWORD),
    )


def _reloaded(user):
    user.refresh_from_db()
    return user


def _still(user, password: str) -> bool:
    return _reloaded(user).check_password(password)


def errors(response, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])


# Refused, with a message that says what to do, and nothing changes


@pytest.mark.parametrize(
    ("password", "says"),
    [
        # Long enough for the old rule (8), strong, and still too short.
        ("Qv7-Lm2-Xp9", "This password is too short. It must contain at least 12 characters."),
        # 12 characters and more, none of them "entirely numeric" or on Django's common list.
        ("aaaaaaaaaaaa", "Avoid repeated words and characters."),
        ("abcdefghijkl", "Avoid sequences."),
        ("qwertyuiopas", "Add another word or two."),
        ("passwordpassword", "Add another word or two."),
    ],
)
def test_a_short_or_guessable_password_is_refused_with_what_to_do(place, password, says):
    response = place.choose(password)

    assert response.status_code == 200
    messages = " ".join(errors(response, place.form_field))
    assert says in messages
    assert place.unchanged()


# Accepted: length and unpredictability, not composition


@pytest.mark.parametrize(
    "password",
    [
        "tangerine lighthouse orbit",  # lower-case words only
        "83920174659302",  # digits only, but random
        "Correct-Horse-Copper-Kettle",
    ],
)
def test_no_composition_rule_stands_in_the_way(place, password):
    response = place.choose(password)

    assert response.status_code == 302
    assert not place.unchanged()


def test_the_page_says_what_a_good_password_is(client, csp):
    client.force_login(csp.member)

    page = client.get(reverse("change_password")).content.decode()

    assert "at least 12 characters" in page
    assert "a few unrelated words make a strong password" in page


def test_the_help_text_names_no_composition_rule():
    help_text = password_validators_help_text_html()

    assert "numeric" not in help_text
    assert "No need for digits or symbols." in help_text


# The person's own details are the first guesses


@pytest.mark.parametrize("password", ["contososiobhan", "PartnerHubContoso"])
def test_a_password_made_of_the_persons_organization_and_name_is_refused(csp, password):
    user = UserFactory(
        organization=csp.organization,
        first_name="Siobhan",
        last_name="Byrne",
        email="siobhan.byrne@contoso.example",
    )
    # Strong for a stranger; the person's own words are what a guesser tries first.
    StrengthValidator().validate(password, user=None)

    with pytest.raises(ValidationError) as refused:
        StrengthValidator().validate(password, user)

    assert "This password would be easy to guess." in " ".join(refused.value.messages)


def test_a_very_long_password_is_estimated_by_its_beginning():
    # zxcvbn refuses input over 72 characters; a longer password is judged by its start.
    validator = StrengthValidator()
    validator.validate("tangerine lighthouse orbit " * 10)
    with pytest.raises(ValidationError):
        validator.validate("a" * (ESTIMATED_LENGTH + 500))


# What the app itself hands out passes the same rules


def test_temporary_passwords_pass_the_validators(csp):
    for _ in range(200):
        validate_password(generate_temporary_password(), csp.member)


def test_the_demo_password_passes_the_validators(csp):
    for email in ("globaladmin@contoso.example", "support@partnerhub.example"):
        validate_password(DEMO_PASSWORD, UserFactory.build(email=email))


def test_seed_demo_refuses_a_password_anyone_would_guess(db):
    with pytest.raises(CommandError, match="Choose another demo password: This password is too"):
        call_command("seed_demo", "--password", "password123")
