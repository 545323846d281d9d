from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def sync_role_catalogue(**kwargs: Any) -> None:
    from roles.models import Role

    Role.objects.sync_with_catalogue()


class RolesConfig(AppConfig):
    name = "roles"
    verbose_name = "Roles"

    def ready(self) -> None:
        post_migrate.connect(
            sync_role_catalogue, sender=self, dispatch_uid="roles.sync_role_catalogue"
        )
