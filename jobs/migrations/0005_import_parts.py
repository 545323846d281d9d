"""The addition in parts: a check records which rows repeat an earlier line's email, and an
import its addition's chunk size. Two nullable columns, added without rewriting a table."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('jobs', '0004_outgoing_email_inviter_name'),
    ]

    operations = [
        migrations.AddField(
            model_name='importchunk',
            name='repeated_emails',
            field=models.JSONField(blank=True, default=None, null=True),
        ),
        migrations.AddField(
            model_name='userimport',
            name='add_chunk_size',
            field=models.IntegerField(blank=True, null=True),
        ),
    ]
