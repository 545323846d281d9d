from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Background jobs: imports, emails, audit exports, run by manage.py run_worker."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"
    verbose_name = "Background jobs"
