"""The actor an API client's calls are made by: what the rulebook and the services ask of a
person (is_authenticated, is_active, organization, roles), but never a User.

It has no primary key, so it is nobody's "self", is never written as a user in a foreign key,
never counts as a Global admin for rule 4 (which counts role assignments of users), and cannot
sign in to the web pages (no session can name it). roles.rules.held_roles answers its roles
from `api_client_roles`.
"""

from __future__ import annotations

from accounts.models import PartnerOrganization, User
from api.models import ApiClient
from roles import rules


class ClientActor:
    """An API client acting; `is_active` says whether it may act now
    (roles.rules.can_client_act)."""

    pk = None
    id = None
    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    must_change_password = False

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.organization: PartnerOrganization = client.organization
        self.organization_id = client.organization_id
        self.api_client_roles: frozenset[str] = frozenset(client.role_keys)
        self.refusal = rules.ALLOWED
        self._decide()

    def _decide(self) -> None:
        client = self.client
        if client.is_revoked:
            self.refusal = rules.refused("This API client was revoked.")
        elif client.is_expired:
            self.refusal = rules.refused("This API client has expired.")
        else:
            self.refusal = rules.can_client_act(
                client.created_by, client.organization_id, client.role_keys
            )
        self.is_active = bool(self.refusal)

    def refresh_from_db(self, fields: list[str] | None = None) -> None:
        """Read the client (and its creator) again: services call it under the organization's
        lock, so a client revoked, or whose creator was demoted, a moment ago acts no more."""
        try:
            self.client = ApiClient.objects.select_related("created_by__organization").get(
                pk=self.client.pk
            )
        except ApiClient.DoesNotExist:
            raise User.DoesNotExist from None
        self.api_client_roles = frozenset(self.client.role_keys)
        self._decide()

    def __str__(self) -> str:
        return str(self.client)

    def get_full_name(self) -> str:
        return str(self.client)

    def get_short_name(self) -> str:
        return self.client.name

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def has_perms(self, perms: object, obj: object = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False
