"""Every role assignment has its organization from now on (0006 filled them).

On PostgreSQL, SET NOT NULL reads the table once under a short exclusive lock (a fraction of a
second for two million assignments); no row is rewritten.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("roles", "0006_fill_roleassignment_organization")]

    operations = [
        migrations.AlterField(
            model_name="roleassignment",
            name="organization",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.partnerorganization",
            ),
        ),
    ]
