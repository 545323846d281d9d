"""Drop the role assignments' index of the user alone.

The unique (user, role) constraint's index leads with the user: a user's roles, and the
cascade that deletes them with the user, are read from it. The single-column index only cost
time on every assignment written (an import writes one per role of each row).

Dropped CONCURRENTLY on PostgreSQL (not atomic), so assignments keep being written meanwhile;
plain statements on SQLite.
"""

from django.conf import settings
from django.db import migrations, models

TABLE, COLUMN = "roles_roleassignment", "user_id"


def _concurrently(schema_editor) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def _name(schema_editor) -> str:
    # The name Django gave the foreign key's index when it created it.
    return schema_editor._create_index_name(TABLE, [COLUMN])


def forwards(apps, schema_editor) -> None:
    schema_editor.execute(
        f'DROP INDEX {_concurrently(schema_editor)}IF EXISTS "{_name(schema_editor)}"'
    )


def backwards(apps, schema_editor) -> None:
    schema_editor.execute(
        f'CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS "{_name(schema_editor)}" '
        f'ON "{TABLE}" ("{COLUMN}")'
    )


class Migration(migrations.Migration):
    # DROP and CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("roles", "0007_roleassignment_organization_role_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="roleassignment",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="role_assignments",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        )
    ]
