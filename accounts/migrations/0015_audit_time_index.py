"""The audit log's order across organizations, (created_at DESC, id DESC), replaces the index on
created_at alone.

The support admin lists every organization's events in that order; and with created_at alone,
PostgreSQL chose it for one organization's newest page too (filtering out the organization's
neighbours and sorting by id: 20 ms where another organization had just written thousands of
events), instead of the organization's own (organization, created_at, id) index (0.3 ms).
Built and dropped CONCURRENTLY on PostgreSQL (not atomic); plain statements on SQLite.
"""

import django.utils.timezone
from django.db import migrations, models

TABLE = "accounts_auditevent"
TIME = models.Index(fields=["-created_at", "-id"], name="accounts_audit_time_idx")


def _created_at_indexes(schema_editor) -> list[str]:
    """The indexes on created_at alone, whatever Django named them."""
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef ~ %s",
                [TABLE, r"\(created_at\)$"],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
                " AND sql LIKE %s",
                [TABLE, '%("created_at")'],
            )
        return [name for (name,) in cursor.fetchall()]


def _concurrently(schema_editor) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def forwards(apps, schema_editor) -> None:
    model = apps.get_model("accounts", "AuditEvent")
    sql = str(TIME.create_sql(model, schema_editor))
    schema_editor.execute(
        sql.replace("CREATE INDEX", f"CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS", 1)
    )
    for name in _created_at_indexes(schema_editor):
        schema_editor.execute(f'DROP INDEX {_concurrently(schema_editor)}IF EXISTS "{name}"')


def backwards(apps, schema_editor) -> None:
    schema_editor.execute(
        f"CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS "
        f'"accounts_auditevent_created_at_idx" ON {TABLE} (created_at)'
    )
    schema_editor.execute(f'DROP INDEX {_concurrently(schema_editor)}IF EXISTS "{TIME.name}"')


class Migration(migrations.Migration):
    # CREATE and DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("accounts", "0014_directory_organization_trigram_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="created_at",
                    field=models.DateTimeField(default=django.utils.timezone.now),
                ),
                migrations.AddIndex(model_name="auditevent", index=TIME),
            ],
        )
    ]
