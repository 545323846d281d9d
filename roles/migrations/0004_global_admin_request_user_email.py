"""The email a Global admin request's user had when asked for: an approval for a user whose email
changed since is refused. Requests made before are given their user's email as it is now."""

from django.db import migrations, models


def remember_emails(apps, schema_editor):
    GlobalAdminGrantRequest = apps.get_model("roles", "GlobalAdminGrantRequest")
    for grant_request in GlobalAdminGrantRequest.objects.filter(user__isnull=False).select_related(
        "user"
    ):
        grant_request.user_email = grant_request.user.email
        grant_request.save(update_fields=["user_email"])


class Migration(migrations.Migration):
    dependencies = [
        ("roles", "0003_global_admin_grant_request"),
    ]

    operations = [
        migrations.AddField(
            model_name="globaladmingrantrequest",
            name="user_email",
            field=models.CharField(blank=True, default="", max_length=254),
        ),
        migrations.RunPython(remember_emails, migrations.RunPython.noop),
    ]
