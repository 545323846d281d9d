from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Partner organizations and users"

    def ready(self) -> None:
        from accounts.support import ensure_support_group

        # Permissions exist only once every app has migrated, hence post_migrate, not a migration.
        post_migrate.connect(ensure_support_group, dispatch_uid="accounts.ensure_support_group")

        from accounts.signals import password_entered_at_sign_in, session_clock_started_at_sign_in

        user_logged_in.connect(
            password_entered_at_sign_in, dispatch_uid="accounts.password_entered_at_sign_in"
        )
        user_logged_in.connect(
            session_clock_started_at_sign_in,
            dispatch_uid="accounts.session_clock_started_at_sign_in",
        )
