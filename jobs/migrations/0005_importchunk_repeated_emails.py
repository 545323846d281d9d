"""A check records which rows repeat an earlier line's email, for the addition's parts: a
nullable column, added without rewriting the table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0004_outgoing_email_inviter_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="importchunk",
            name="repeated_emails",
            field=models.JSONField(blank=True, default=None, null=True),
        ),
    ]
