"""The organization of each role assignment, copied from its user (filled by 0006).

Nullable, and for this release it stays so: while an upgrade rolls out, old code writes
assignments without it (docs/deploy.md); the next release fills those and sets NOT NULL.
Adding a nullable column without a default changes only the catalog on PostgreSQL, however
many assignments there are. No index of its own: 0007 builds the
(organization, role) INCLUDE (user) index concurrently, which starts with it.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_directory_name_and_sign_in_indexes"),
        ("roles", "0004_global_admin_request_user_email"),
    ]

    operations = [
        migrations.AddField(
            model_name="roleassignment",
            name="organization",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.partnerorganization",
            ),
        ),
    ]
