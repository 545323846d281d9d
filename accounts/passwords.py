"""How strong a new password must be: long enough, and hard to guess by zxcvbn's estimate.

No composition rules (a digit, a capital, a symbol): they make passwords harder to remember, not
to guess (NIST SP 800-63B, 5.1.1.2). Instead, at least 12 characters (Django's
MinimumLengthValidator, settings.AUTH_PASSWORD_VALIDATORS) and zxcvbn's estimate of how many
guesses the password would take, which sees through "Password1!", keyboard rows, dates, repeats,
common words and the person's own name, email and organization. Every place a person chooses
a password runs the same validators: change password, an invitation link, a reset link.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from zxcvbn import zxcvbn

from accounts.models import User

# zxcvbn's score: 3 is "safely unguessable: moderate protection from an offline attack on a
# slow hash" (fewer than 10^10 guesses scores 2 or less).
MIN_SCORE = 3
# zxcvbn refuses longer input (its work grows fast with the length). A longer password is at
# least as hard to guess as its first 72 characters, so those are what is estimated.
ESTIMATED_LENGTH = 72
DEFAULT_ADVICE = "Add another word or two: a few unrelated words make a strong password."


def _hints(user: User | None) -> list[str]:
    """What a guesser who knows the person would try first."""
    hints = ["partnerhub", "partner", "hub"]
    if user is None:
        return hints
    email = user.email or ""
    hints += [user.first_name, user.last_name, email, email.split("@")[0]]
    hints += email.split("@")[-1].split(".")[:1]  # contoso of contoso.example
    if user.organization_id is not None:
        hints += [user.organization.name, *user.organization.name.split()]
    return [hint for hint in hints if hint]


class StrengthValidator:
    """Refuses a password that zxcvbn estimates easy to guess, saying why and what to do."""

    def __init__(self, min_score: int = MIN_SCORE) -> None:
        self.min_score = min_score

    def validate(self, password: str, user: User | None = None) -> None:
        result = zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=_hints(user))
        if result["score"] >= self.min_score:
            return
        feedback = result["feedback"]
        advice = " ".join(
            part for part in [feedback.get("warning", ""), *feedback.get("suggestions", [])] if part
        )
        raise ValidationError(
            "This password would be easy to guess. %(advice)s",
            code="password_too_guessable",
            params={"advice": advice or DEFAULT_ADVICE},
        )

    def get_help_text(self) -> str:
        return (
            "It must be hard to guess: a few unrelated words make a strong password that is "
            "easy to remember. No need for digits or symbols."
        )
