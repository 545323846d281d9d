from django.db import migrations, models


class Migration(migrations.Migration):
    """An import keeps its file as bytes: a row may hold a NUL, which a text column refuses."""

    dependencies = [("jobs", "0002_audit_export_time_zone")]

    operations = [
        migrations.RemoveField(model_name="userimport", name="text"),
        migrations.AddField(
            model_name="userimport",
            name="content",
            field=models.BinaryField(default=b""),
            preserve_default=False,
        ),
    ]
