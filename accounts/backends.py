"""Sign-in by email, with the user's organization loaded in the same query."""

from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class EmailBackend(ModelBackend):
    """Django's ModelBackend (email as the user name, in its canonical form: accounts.identity;
    inactive users refused, including on every request of a session they already hold:
    DOMAIN.md rule 7)."""

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.select_related("organization").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
